package auth

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A caller that finds every slot taken waits, within its context and the
// bounded wait, and then gives up saying the server is busy.
func TestHasherWaitIsBounded(t *testing.T) {
	h := NewHasher(1, 50*time.Millisecond)
	hold, held := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() { done <- h.run(context.Background(), func() { close(held); <-hold }) }()
	<-held

	start := time.Now()
	_, err := h.Check(context.Background(), "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$a2V5", "pw")
	if !errors.Is(err, ErrBusy) || !errors.Is(err, ErrThrottled) {
		t.Errorf("with the only slot taken = %v, want ErrBusy (an ErrThrottled)", err)
	}
	if waited := time.Since(start); waited < 50*time.Millisecond {
		t.Errorf("gave up after %s, before the bounded wait", waited)
	}
	if h.Busy() != 1 {
		t.Errorf("Busy() = %d, want 1", h.Busy())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "a long enough password"); !errors.Is(err, context.Canceled) {
		t.Errorf("a caller whose context ended = %v, want context.Canceled", err)
	}

	close(hold)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if ok, err := h.Check(context.Background(), "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$a2V5", "pw"); err != nil || ok {
		t.Errorf("with the slot free = %v, %v; want a checked wrong password", ok, err)
	}
	if h.Peak() != 1 || h.Active() != 0 {
		t.Errorf("Peak %d Active %d, want 1 and 0", h.Peak(), h.Active())
	}
}
