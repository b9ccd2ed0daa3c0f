package enum_test

import (
	"errors"
	"testing"

	"github.com/vigil-health/vigil/internal/enum"
	"github.com/vigil-health/vigil/internal/fault"
)

type colour string

func TestSet(t *testing.T) {
	e := enum.Of[colour]("red", "amber", "green").Aliases(map[string]colour{"yellow": "amber"})
	for in, want := range map[string]colour{" Red ": "red", "YELLOW": "amber", "green": "green"} {
		if got, ok := e.Parse(in); !ok || got != want {
			t.Errorf("Parse(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if _, ok := e.Parse(""); ok {
		t.Error(`"" parsed without Optional`)
	}
	if _, ok := enum.Of[colour]("red").Optional().Parse(""); !ok {
		t.Error(`"" refused with Optional`)
	}
	if e.Rank("red") != 1 || e.Rank("green") != 3 || e.Rank("blue") != 0 {
		t.Errorf("ranks %d %d %d", e.Rank("red"), e.Rank("green"), e.Rank("blue"))
	}
	vs := e.Values()
	vs[0] = "changed"
	if e.Values()[0] != "red" {
		t.Error("Values shares its slice")
	}
	err := e.Check("light", "blue")
	var inv *fault.Invalid
	if !errors.As(err, &inv) || inv.Field != "light" || err.Error() == "" || e.Check("light", "amber") != nil {
		t.Errorf("Check: %v", err)
	}
	if want := `"blue" is not one of red, amber, green`; inv == nil || inv.Reason != want {
		t.Errorf("Check reason %+v, want %q", inv, want)
	}
}
