package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/app"
	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/config"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/supply"
	"github.com/vigil-health/vigil/internal/testneed"
)

// incidentSupplier is the generated national register's security-agent
// supplier (supplygen.National(42)): its agent sits under most products,
// so its compromise reaches 9,947 of the 10,000 organisations.
const incidentSupplier = "S00008"

// TestNationalIncidentPerformance holds issue 15's floor: over the
// national-scale synthetic register (`vigil supply generate`), a supplier
// incident with ~10,000 affected organisations opens with all its child
// cases in under 10 s on SQLite. It times OpenIncident in process (the
// impact query, the parent and every child with its tags, tasks, clocks,
// timeline entry, membership and audit entry, one transaction) and checks
// the children are exactly supply's impact. docs/performance.md has the
// figures; VIGIL_INCIDENT_BUDGET (a Go duration) loosens the bound on a
// loaded machine.
// cpuTime is the process's user and system CPU time so far.
func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestNationalIncidentPerformance(t *testing.T) {
	if testing.Short() || testneed.Race {
		t.Skip("generates and imports the national register (about 15 s; minutes under the race detector, which make test runs it without)")
	}
	work := t.TempDir()
	dir, data := filepath.Join(work, "db"), filepath.Join(work, "national")
	if r := run(t, "", nil, "--data-dir", dir, "supply", "generate", "--out", data, "--create-orgs"); r.code != 0 {
		t.Fatalf("generate: %s %s", r.stdout, r.stderr)
	}
	if r := run(t, "", nil, "--data-dir", dir, "supply", "import", data); r.code != 0 || !strings.Contains(r.stdout, "applied") {
		t.Fatalf("import: %s %s", r.stdout, r.stderr)
	}
	ctx := context.Background()
	cfg := config.Default()
	cfg.DataDir = dir
	a, err := app.Open(ctx, cfg, nil, app.MigrateAuto)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	sys := scope.System("perf")
	start := time.Now()
	res, err := a.Supply.Impact(ctx, sys, supply.Query{Supplier: incidentSupplier})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("impact of %s alone (graph built on first use): %d organisations in %s", incidentSupplier, len(res.Affected), time.Since(start).Round(time.Millisecond))
	if len(res.Affected) < 9000 {
		t.Fatalf("the generated register's %s affects %d organisations, want about 10,000", incidentSupplier, len(res.Affected))
	}
	cpu0 := cpuTime(t)
	start = time.Now()
	inc, err := a.Cases.OpenIncident(ctx, sys, cases.NewIncident{Supplier: incidentSupplier, Title: "Security agent supplier compromised", Severity: cases.Critical})
	took := time.Since(start)
	cpu := cpuTime(t) - cpu0
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("opened incident %s with %d child cases in %s (process CPU %s)", inc.ID, len(inc.Children), took.Round(time.Millisecond), cpu.Round(time.Millisecond))
	if len(inc.Children) != len(res.Affected) {
		t.Fatalf("%d children, impact has %d organisations", len(inc.Children), len(res.Affected))
	}
	want := map[string]string{}
	for _, x := range res.Affected {
		want[x.ODS] = string(x.Impact)
	}
	for _, c := range inc.Children {
		if want[c.Org] != c.Impact {
			t.Fatalf("child %s impact %s, register says %q", c.Org, c.Impact, want[c.Org])
		}
	}
	budget := 10 * time.Second
	if d, err := time.ParseDuration(os.Getenv("VIGIL_INCIDENT_BUDGET")); err == nil && d > 0 {
		budget = d
	}
	// On the shared machine other work takes the CPU: the wall time then
	// says more about the load than about Vigil. Past the budget, the test
	// fails when Vigil itself used the time (CPU over half the wall time)
	// and only says so when it waited for the machine.
	switch {
	case cpu > budget:
		t.Errorf("opening used %s of CPU, over the %s budget", cpu, budget)
	case took > budget && 2*cpu > took:
		t.Errorf("opening took %s (CPU %s), over the %s budget", took, cpu, budget)
	case took > budget:
		t.Logf("opening took %s, over the %s budget, but used %s of CPU: the machine is loaded", took, budget, cpu)
	}
	start = time.Now()
	again, err := a.Cases.RefreshIncident(ctx, sys, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("refresh with nothing changed: %s (%d added)", time.Since(start).Round(time.Millisecond), len(again.Refresh.Added))
	start = time.Now()
	if _, err := a.Cases.GetIncident(ctx, sys, inc.ID); err != nil {
		t.Fatal(err)
	}
	t.Logf("national view (GetIncident): %s", time.Since(start).Round(time.Millisecond))
}
