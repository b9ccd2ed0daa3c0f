package supply

import (
	"slices"
	"testing"

	"github.com/vigil-health/vigil/internal/enum"
)

// TestEnums: every enumeration of the register parses its values and the
// other spellings in any case, refuses anything else naming the values,
// and lists them in order.
func TestEnums(t *testing.T) {
	for _, c := range []struct {
		in   string
		got  func(string) (string, bool)
		want string
		ok   bool
	}{
		{" Managed Service ", parseAs(productKinds), "managed-service", true},
		{"SAAS", parseAs(productKinds), "saas", true},
		{"shared_service", parseAs(productKinds), "shared-service", true},
		{"idp", parseAs(dependencyKinds), "identity", true},
		{"SBOM", parseAs(dependencyKinds), "component", true},
		{"identity-provider", parseAs(dependencyKinds), "identity", true},
		{"High", parseAs(criticalities), "high", true},
		{"", parseAs(criticalities), "", false},
		{"severe", parseAs(criticalities), "", false},
		{"", parseAs(substitutabilities), "", true},
		{" Hard", parseAs(substitutabilities), "hard", true},
		{"impossible", parseAs(substitutabilities), "", false},
		{"managed-services", parseAs(productKinds), "", false},
	} {
		if got, ok := c.got(c.in); got != c.want || ok != c.ok {
			t.Errorf("Parse(%q) = %q %v, want %q %v", c.in, got, ok, c.want, c.ok)
		}
	}
	if !Critical.Valid() || Criticality("").Valid() || Criticality("HIGH").Valid() || !Substitutability("").Valid() || !DepNetwork.Valid() || ProductKind("idp").Valid() {
		t.Error("Valid disagrees with the values")
	}
	if l := criticalities.List(); l != "critical, high, medium, low" {
		t.Errorf("List = %q", l)
	}
	// Values is a copy: nobody can change the set through it.
	v := Criticalities()
	v[0] = "trivial"
	if !slices.Equal(Criticalities(), []Criticality{Critical, High, Medium, Low}) {
		t.Errorf("Criticalities changed to %v", Criticalities())
	}
	var ps problems
	sub := Substitutability("impossible")
	checkEnum(&ps, substitutabilities, "substitutability", &sub)
	if len(ps) != 1 || ps[0].field != "substitutability" || ps[0].reason != `"impossible" is not one of easy, moderate, hard, none` || sub != "" {
		t.Errorf("check = %v, value %q", ps, sub)
	}
}

func parseAs[T ~string](e *enum.Set[T]) func(string) (string, bool) {
	return func(s string) (string, bool) {
		v, ok := e.Parse(s)
		return string(v), ok
	}
}
