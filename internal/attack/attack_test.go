package attack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-health/vigil/internal/testneed"
)

const shared = "../../../shared/data/"

func load(t *testing.T, name string) *Matrix {
	t.Helper()
	p := filepath.Join(shared, "attack", name)
	if _, err := os.Stat(p); err != nil {
		testneed.Missing(t, "../shared/data/attack", err)
	}
	m, err := LoadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestEnterprise(t *testing.T) {
	m := load(t, "enterprise-attack-v18.1-stix20.json.gz")
	if m.Name != "Enterprise ATT&CK" || len(m.Tactics) != 14 {
		t.Fatalf("%q with %d tactics, want Enterprise ATT&CK with 14", m.Name, len(m.Tactics))
	}
	if m.Tactics[0].ID != "TA0043" || m.Tactics[0].Short != "reconnaissance" || m.Tactics[13].Short != "impact" {
		t.Errorf("tactics in the wrong order: first %+v, last %+v", m.Tactics[0], m.Tactics[13])
	}
	subs := 0
	for _, te := range m.Techniques {
		subs += len(te.Subs)
	}
	// Release 18.1: 691 current attack-patterns, 475 of them sub-techniques.
	if len(m.Techniques) != 216 || subs != 475 {
		t.Errorf("%d techniques and %d sub-techniques, want 216 and 475", len(m.Techniques), subs)
	}
	ps, ok := m.Technique("t1059.001")
	if !ok || ps.Name != "PowerShell" || ps.Parent != "T1059" || strings.Join(ps.Tactics, ",") != "execution" {
		t.Fatalf("T1059.001 = %+v (%v)", ps, ok)
	}
	if p, _ := m.Technique("T1059"); p == nil || len(p.Subs) < 10 || p.Subs[0].ID != "T1059.001" {
		t.Errorf("T1059's sub-techniques: %+v", p)
	}
	// T1078 Valid Accounts serves four tactics, kept in matrix order.
	if va, _ := m.Technique("T1078"); va == nil || strings.Join(va.Tactics, ",") != "initial-access,persistence,privilege-escalation,defense-evasion" {
		t.Errorf("T1078's tactics: %+v", va)
	}
	cols := m.Columns()
	n := 0
	for _, c := range cols {
		for i := 1; i < len(c.Techniques); i++ {
			if c.Techniques[i-1].Name > c.Techniques[i].Name {
				t.Errorf("%s: %q before %q", c.Tactic.Short, c.Techniques[i-1].Name, c.Techniques[i].Name)
			}
		}
		n += len(c.Techniques)
	}
	if n < len(m.Techniques) {
		t.Errorf("the columns hold %d technique cells for %d techniques", n, len(m.Techniques))
	}
	for tag, want := range map[string]TagKind{
		"attack.t1059.001":            TagTechnique,
		"attack.T1003":                TagTechnique,
		"attack.execution":            TagTactic,
		"attack.credential_access":    TagTactic,
		"attack.ta0005":               TagTactic,
		"attack.g0016":                TagOther,
		"attack.s0002":                TagOther,
		"attack.ds0005":               TagOther,
		"attack.t1685":                TagUnknown, // ATT&CK v19, newer than this bundle
		"attack.no-such-tactic":       TagUnknown,
		"cve.2021-44228":              NotATT,
		"detection.emerging-threats":  NotATT,
		" attack.defense-evasion ":    TagTactic,
		"attack.privilege-escalation": TagTactic,
	} {
		if got := m.ResolveTag(tag).Kind; got != want {
			t.Errorf("ResolveTag(%q) = %v, want %v", tag, got, want)
		}
	}
}

// TestOtherDomains reads the Mobile bundles in both STIX versions and ICS
// in STIX 2.1.
func TestOtherDomains(t *testing.T) {
	for name, want := range map[string]string{
		"mobile-attack-v18.1-stix20.json.gz": "Mobile ATT&CK",
		"mobile-attack-v17.1.json.gz":        "Mobile ATT&CK",
		"ics-attack-v18.1.json.gz":           "ATT&CK for ICS",
	} {
		m := load(t, name)
		if m.Name != want || len(m.Tactics) < 10 || len(m.Techniques) < 50 {
			t.Errorf("%s: %q, %d tactics, %d techniques", name, m.Name, len(m.Tactics), len(m.Techniques))
		}
	}
}

// TestSigmaTags resolves every attack.* tag of SigmaHQ's Windows rules:
// all but the newer release's IDs name something in 18.1.
func TestSigmaTags(t *testing.T) {
	m := load(t, "enterprise-attack-v18.1-stix20.json.gz")
	dir := filepath.Join(shared, "sigma", "rules", "windows")
	if _, err := os.Stat(dir); err != nil {
		testneed.Missing(t, "../shared/data/sigma", err)
	}
	kinds := map[TagKind]int{}
	unknown := map[string]int{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yml") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var r struct {
			Tags []string `yaml:"tags"`
		}
		if err := yaml.Unmarshal(b, &r); err != nil {
			return err
		}
		for _, tag := range r.Tags {
			k := m.ResolveTag(tag)
			kinds[k.Kind]++
			if k.Kind == TagUnknown {
				unknown[tag]++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if kinds[TagTechnique] < 2000 || kinds[TagTactic] < 2000 {
		t.Errorf("tags: %v", kinds)
	}
	for tag := range unknown {
		// Only ATT&CK v19's new techniques (T1685–T1690 and their
		// sub-techniques) and its two tactics split from Defense Evasion
		// may be unknown to 18.1.
		id := strings.TrimPrefix(tag, "attack.t")
		if !strings.HasPrefix(id, "168") && !strings.HasPrefix(id, "169") && tag != "attack.stealth" && tag != "attack.defense-impairment" {
			t.Errorf("tag %q (%d rules) resolves to nothing", tag, unknown[tag])
		}
	}
	t.Logf("tags in rules/windows: %d techniques, %d tactics, %d groups/software, %d unknown (%d distinct, ATT&CK v19)",
		kinds[TagTechnique], kinds[TagTactic], kinds[TagOther], kinds[TagUnknown], len(unknown))
}
