package analytics

import (
	"testing"

	"github.com/vigil-health/vigil/internal/events"
)

// BenchmarkObserve runs the shipped analytics over the OTRF lab's real
// events (every event through every filter; the matching ones through
// first seen, rare and both volumes), once the state is warm.
func BenchmarkObserve(b *testing.B) {
	evs := theshire(b)
	e, err := New(nil)
	if err != nil {
		b.Fatal(err)
	}
	for i := range evs {
		e.Observe(&evs[i])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.Observe(&evs[i%len(evs)])
	}
}

// BenchmarkObserveSignIn is one sign-in through the shipped analytics
// (new country and impossible travel read it).
func BenchmarkObserveSignIn(b *testing.B) {
	e, err := New(nil)
	if err != nil {
		b.Fatal(err)
	}
	evs := []events.Event{entraSignIn(b, false, "a", "alice@rj1.nhs.test", london, t9), entraSignIn(b, false, "b", "alice@rj1.nhs.test", leeds, t9)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.Observe(&evs[i%2])
	}
}
