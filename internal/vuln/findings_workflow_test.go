package vuln

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/supply"
)

func refsOf(fs []StoredFinding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Ref
	}
	return out
}

// The national findings view, scoped and filtered, and the workflow on
// it: bulk all or none, audited, kept across a re-match; an accepted risk
// lapses at its expiry; the KPIs count what is overdue by priority.
func TestFindingsNationalViewAndWorkflow(t *testing.T) {
	osv := goOSV(t)
	data := readFile(t, flux2SBOM)
	eachAlertDB(t, func(t *testing.T, e *alertEnv) {
		ctx := context.Background()
		svc := newSBOMs(t, e, osv)
		sys := scope.System("test")
		rj1, err := svc.AddInventory(ctx, sys, "RJ1", InventoryMeta{Name: "GitOps", Criticality: "high"}, "flux.json", data)
		if err != nil {
			t.Fatal(err)
		}
		rjz, err := svc.AddInventory(ctx, sys, "RJZ", InventoryMeta{Name: "Build"}, "flux.json", data)
		if err != nil {
			t.Fatal(err)
		}
		all := func(sc scope.Scope, q FindingQuery) FindingPage {
			t.Helper()
			q.Limit = MaxFindingPage
			p, err := svc.Search(ctx, sc, q)
			if err != nil {
				t.Fatalf("%s %+v: %v", sc.Email, q, err)
			}
			return p
		}
		nat := all(e.nadia, FindingQuery{})
		own := all(e.alice, FindingQuery{})
		if own.Total == 0 || nat.Total != 2*own.Total {
			t.Fatalf("national sees %d, alice %d: want twice alice's", nat.Total, own.Total)
		}
		for _, f := range own.Findings {
			if f.SBOMID != rj1.ID {
				t.Fatalf("alice sees %s", f.Ref)
			}
		}
		if p := all(e.rex, FindingQuery{}); p.Total != 0 {
			t.Errorf("the South West lead sees %d London findings", p.Total)
		}
		if _, err := svc.Search(ctx, e.bob, FindingQuery{Org: "RJ1"}); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("bob filtering by RJ1: %v", err)
		}
		if p := all(e.bob, FindingQuery{ICB: "QKK"}); p.Total != own.Total || p.Findings[0].SBOMID != rjz.ID {
			t.Errorf("bob by his ICB: %d", p.Total)
		}
		if p := all(e.nadia, FindingQuery{ICB: "QKK"}); p.Total != nat.Total {
			t.Errorf("national by ICB QKK: %d of %d", p.Total, nat.Total)
		}
		if p := all(e.nadia, FindingQuery{ICB: "QJK"}); p.Total != 0 {
			t.Errorf("national by ICB QJK: %d", p.Total)
		}
		cve := all(e.alice, FindingQuery{CVE: "cve-2023-44487"})
		if cve.Total != 2 || !slices.Contains([]string{"GO-2023-2102", "GO-2023-2153"}, cve.Findings[0].ID) {
			t.Errorf("by CVE-2023-44487: %v", refsOf(cve.Findings))
		}
		if p := all(e.alice, FindingQuery{Ecosystem: "Go"}); p.Total != own.Total {
			t.Errorf("by ecosystem Go: %d of %d", p.Total, own.Total)
		}
		if p := all(e.alice, FindingQuery{Ecosystem: "npm"}); p.Total != 0 {
			t.Errorf("by ecosystem npm: %d", p.Total)
		}
		p1 := all(e.alice, FindingQuery{Level: "p2"})
		for _, f := range p1.Findings {
			if f.Priority.Level != P2 {
				t.Errorf("priority filter kept %s %s", f.Ref, f.Priority.Level)
			}
		}
		// Pages: together the whole listing, in the same order.
		first, err := svc.Search(ctx, e.alice, FindingQuery{Limit: 5})
		if err != nil || len(first.Findings) != 5 || first.Next == "" || first.Total != own.Total {
			t.Fatalf("first page %d %q %v", len(first.Findings), first.Next, err)
		}
		second, err := svc.Search(ctx, e.alice, FindingQuery{Limit: 5, Cursor: first.Next})
		if err != nil || !slices.Equal(append(refsOf(first.Findings), refsOf(second.Findings)...), refsOf(own.Findings[:10])) {
			t.Errorf("pages %v + %v (%v)", refsOf(first.Findings), refsOf(second.Findings), err)
		}
		_, err = svc.Search(ctx, e.alice, FindingQuery{Cursor: "x"})
		wantField(t, err, "cursor")

		a, b := own.Findings[0].Ref, own.Findings[1].Ref
		theirs := all(e.bob, FindingQuery{}).Findings[0].Ref
		// All or none: one finding alice may not touch stops the lot.
		if _, err := svc.Act(ctx, e.alice, FindingAction{Findings: []string{a, theirs}, Action: FindAcknowledge}); !errors.Is(err, fault.ErrNotFound) {
			t.Fatalf("acting on RJZ's finding: %v", err)
		}
		if _, err := svc.Act(ctx, e.audrey, FindingAction{Findings: []string{a}, Action: FindAcknowledge}); !errors.Is(err, fault.ErrForbidden) {
			t.Fatalf("the auditor acting: %v", err)
		}
		if p := all(e.alice, FindingQuery{State: StateAcknowledged}); p.Total != 0 {
			t.Fatalf("a refused bulk action wrote %d", p.Total)
		}
		for _, bad := range []struct {
			a     FindingAction
			field string
		}{
			{FindingAction{Findings: []string{a}, Action: FindAcceptRisk, Expires: alertT0.Add(24 * time.Hour)}, "reason"},
			{FindingAction{Findings: []string{a}, Action: FindAcceptRisk, Reason: "segregated"}, "expires"},
			{FindingAction{Findings: []string{a}, Action: FindAcceptRisk, Reason: "segregated", Expires: alertT0.Add(-time.Hour)}, "expires"},
			{FindingAction{Findings: []string{a}, Action: FindClose, Resolution: ResolutionNotAffct}, "reason"},
			{FindingAction{Findings: []string{a}, Action: FindClose}, "resolution"},
			{FindingAction{Findings: []string{"nonsense"}, Action: FindAcknowledge}, "findings"},
			{FindingAction{Findings: []string{a}, Action: "ignore"}, "action"},
		} {
			_, err := svc.Act(ctx, e.alice, bad.a)
			wantField(t, err, bad.field)
		}
		got, err := svc.Act(ctx, e.alice, FindingAction{Findings: []string{a, b}, Action: FindAcknowledge})
		if err != nil || len(got) != 2 || got[0].State.State != StateAcknowledged || got[0].State.By != "alice@rj1.nhs.test" {
			t.Fatalf("acknowledged %+v %v", got, err)
		}
		if _, err := svc.Act(ctx, e.alice, FindingAction{Findings: []string{a}, Action: FindAcknowledge}); !errors.Is(err, fault.ErrConflict) {
			t.Errorf("acknowledged twice: %v", err)
		}
		if _, err := svc.Act(ctx, e.alice, FindingAction{Findings: []string{a}, Action: FindAcceptRisk, Reason: "host is segregated", Expires: alertT0.Add(10 * 24 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Act(ctx, e.alice, FindingAction{Findings: []string{b}, Action: FindClose, Resolution: ResolutionFixed}); err != nil {
			t.Fatal(err)
		}
		if p := all(e.alice, FindingQuery{}); p.Total != own.Total-2 || slices.Contains(refsOf(p.Findings), a) {
			t.Errorf("still to deal with: %d of %d", p.Total, own.Total)
		}
		if p := all(e.alice, FindingQuery{State: StateRiskAccepted}); p.Total != 1 || p.Findings[0].State.Reason != "host is segregated" {
			t.Errorf("risk accepted %+v", p.Findings)
		}
		// A full re-match writes the findings again; their states stay.
		if _, err := svc.Match(ctx, e.nadia, MatchRequest{Full: true}); err != nil {
			t.Fatal(err)
		}
		if p := all(e.alice, FindingQuery{State: StateClosed}); p.Total != 1 || p.Findings[0].Ref != b || p.Findings[0].State.Resolution != ResolutionFixed {
			t.Errorf("after a re-match, closed %v", refsOf(p.Findings))
		}
		// Audited, the bulk flagged.
		es, _, err := e.al.List(ctx, scope.System("test"), audit.Filter{Action: "vuln.finding.", Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		var acts []string
		for _, en := range es {
			if strings.HasPrefix(en.Action, "vuln.finding.") {
				acts = append(acts, en.Action+" "+en.ObjectID)
			}
		}
		if len(acts) != 4 || !slices.Contains(acts, "vuln.finding.accept "+a) || !slices.Contains(acts, "vuln.finding.close "+b) {
			t.Errorf("audited %v", acts)
		}
		// Past its due time (P1…P4: 3…90 days) and after the acceptance's
		// expiry, the KPIs count overdue findings by priority, the lapsed
		// acceptance among them.
		before, err := svc.FindingKPIs(ctx, e.alice, FindingQuery{Org: "RJ1"})
		if err != nil {
			t.Fatal(err)
		}
		e.clk.Advance(91 * 24 * time.Hour)
		after, err := svc.FindingKPIs(ctx, e.alice, FindingQuery{Org: "RJ1"})
		if err != nil {
			t.Fatal(err)
		}
		active, overdue, closed := 0, 0, 0
		for i, k := range after {
			active, overdue, closed = active+k.Active, overdue+k.Overdue, closed+k.Closed
			if before[i].Overdue != 0 || k.Overdue != k.Active || k.RiskAccepted != 0 {
				t.Errorf("%s before %+v after %+v", k.Level, before[i], k)
			}
		}
		if active != own.Total-1 || overdue != active || closed != 1 {
			t.Errorf("KPIs: %d active, %d overdue, %d closed of %d", active, overdue, closed, own.Total)
		}
		if p := all(e.alice, FindingQuery{Overdue: true}); p.Total != own.Total-1 || !slices.Contains(refsOf(p.Findings), a) {
			t.Errorf("overdue %d; the lapsed acceptance in it: %v", p.Total, slices.Contains(refsOf(p.Findings), a))
		}
		if _, err := svc.Act(ctx, e.alice, FindingAction{Findings: []string{b}, Action: FindReopen}); err != nil {
			t.Fatal(err)
		}
		if p := all(e.alice, FindingQuery{State: StateClosed}); p.Total != 0 {
			t.Errorf("reopened but still closed")
		}
	})
}

// VEX stored for an organisation suppresses its inventories' findings,
// each showing the statement; it holds after a re-match and lifts when
// removed. Only who may change the inventory stores it.
func TestStoredVEXSuppresses(t *testing.T) {
	osv := goOSV(t)
	data := readFile(t, flux2SBOM)
	vex := readFile(t, filepath.Join("testdata", "formats", "flux2-xnet.openvex.json"))
	eachAlertDB(t, func(t *testing.T, e *alertEnv) {
		ctx := context.Background()
		svc := newSBOMs(t, e, osv)
		if _, err := svc.AddInventory(ctx, e.alice, "RJ1", InventoryMeta{Name: "GitOps"}, "flux.spdx.json", data); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.AddOrgVEX(ctx, e.bob, "RJ1", "x.json", vex); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("bob storing RJ1's VEX: %v", err)
		}
		if _, err := svc.AddOrgVEX(ctx, e.audrey, "RJ1", "x.json", vex); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("the auditor storing VEX: %v", err)
		}
		_, err := svc.AddOrgVEX(ctx, e.alice, "RJ1", "x.json", []byte(`{"bomFormat": 3`))
		wantField(t, err, "file")
		if err == nil || !strings.Contains(err.Error(), "x.json") {
			t.Errorf("broken VEX: %v", err)
		}
		x, err := svc.AddOrgVEX(ctx, e.alice, "RJ1", "flux2-xnet.openvex.json", vex)
		if err != nil {
			t.Fatal(err)
		}
		if x.Format != "OpenVEX" || x.Statements != 4 || x.Suppressed != 1 {
			t.Fatalf("stored %+v", x)
		}
		check := func(when string) {
			t.Helper()
			p, err := svc.Search(ctx, e.alice, FindingQuery{State: StateSuppressed})
			if err != nil || p.Total != 1 {
				t.Fatalf("%s: suppressed %d %v", when, p.Total, err)
			}
			f := p.Findings[0]
			if f.ID != "GO-2023-2102" || f.Suppressed.VEX != x.ID || f.Suppressed.Statement != "statements[0]" || f.Suppressed.Justification != "vulnerable_code_not_in_execute_path" || f.Active() {
				t.Errorf("%s: %s suppressed by %+v", when, f.ID, f.Suppressed)
			}
			open, _ := svc.Search(ctx, e.alice, FindingQuery{Limit: MaxFindingPage})
			if slices.Contains(refsOf(open.Findings), f.Ref) {
				t.Errorf("%s: a suppressed finding is listed as to do", when)
			}
		}
		check("on upload")
		if _, err := svc.Match(ctx, e.nadia, MatchRequest{Full: true}); err != nil {
			t.Fatal(err)
		}
		check("after a re-match")
		if l, err := svc.ListVEX(ctx, e.bob, SBOMFilter{Org: "RJ1"}); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("bob lists RJ1's VEX: %v %v", l, err)
		}
		if err := svc.DeleteVEX(ctx, e.bob, x.ID); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("bob removes RJ1's VEX: %v", err)
		}
		if err := svc.DeleteVEX(ctx, e.alice, x.ID); err != nil {
			t.Fatal(err)
		}
		if p, _ := svc.Search(ctx, e.alice, FindingQuery{State: StateSuppressed}); p.Total != 0 {
			t.Errorf("still suppressed after the VEX went: %d", p.Total)
		}
		// The uploaded file is kept, and seen only by who sees the inventory.
		xs, _ := svc.List(ctx, e.alice, SBOMFilter{Org: "RJ1"})
		f, err := svc.File(ctx, e.alice, xs[0].ID)
		if err != nil || f.ContentType != "application/json" || len(f.Data) != len(data) || f.Name != "GitOps" {
			t.Errorf("file %q %q %d %v", f.Name, f.ContentType, len(f.Data), err)
		}
		if _, err := svc.File(ctx, e.bob, xs[0].ID); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("bob downloads RJ1's inventory: %v", err)
		}
	})
}

// The register changes after issue: an organisation newly deploying the
// affected product is added and told; one no longer deploying it keeps
// its row, marked out of scope, and its clocks stop.
func TestAlertScopeRefresh(t *testing.T) {
	eachAlertDB(t, func(t *testing.T, e *alertEnv) {
		ctx := context.Background()
		sys := scope.System("test")
		a, err := e.svc.Issue(ctx, e.nadia, cveAlert())
		if err != nil {
			t.Fatal(err)
		}
		_ = e.svc.Close()
		e.box.take()
		if r, err := e.svc.RefreshScope(ctx, e.nadia, a.ID); err != nil || !r.Empty() {
			t.Fatalf("nothing changed: %+v %v", r, err)
		}
		if _, err := e.sup.PutDeployment(ctx, sys, supply.Deployment{OrgODS: "RBA", ProductID: "ACME-EPR", Service: "epr", Criticality: supply.High}); err != nil {
			t.Fatal(err)
		}
		if err := e.sup.DeleteDeployment(ctx, sys, "RA7", "ACME-TLS", "web"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.RefreshScope(ctx, e.alice, a.ID); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("alice refreshing: %v", err)
		}
		if _, err := e.svc.RefreshScope(ctx, e.bob, a.ID); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("bob refreshing: %v", err)
		}
		rs, err := e.svc.RefreshAlerts(ctx)
		if err != nil || len(rs) != 1 {
			t.Fatalf("refresh: %+v %v", rs, err)
		}
		if r := rs[0]; !slices.Equal(r.Added, []string{"RBA"}) || !slices.Equal(r.Removed, []string{"RA7"}) {
			t.Errorf("refresh %+v", r)
		}
		if rs, _ := e.svc.RefreshAlerts(ctx); len(rs) != 0 {
			t.Errorf("refreshed again with the register unchanged: %+v", rs)
		}
		msgs := e.box.take()
		if len(msgs) != 1 || msgs[0].Kind != KindIssued || msgs[0].Payload.(Payload).Org != "RBA" {
			t.Errorf("told %+v", msgs)
		}
		got, err := e.svc.Get(ctx, e.nadia, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		state := map[string]bool{}
		for _, m := range got.Orgs {
			state[m.Org] = m.InScope
		}
		if len(state) != 3 || state["RA7"] || !state["RBA"] || !state["RJ1"] {
			t.Errorf("rows %v", state)
		}
		if got.Stats.Organisations != 2 {
			t.Errorf("the alert's statistics count %d organisations, want the 2 in scope", got.Stats.Organisations)
		}
		// RA7 is out of scope: no escalation for it at 48 hours; RJ1 and RBA are.
		e.clk.Advance(49 * time.Hour)
		if _, err := e.svc.CheckClocks(ctx); err != nil {
			t.Fatal(err)
		}
		for _, m := range e.box.take() {
			if m.Payload.(Payload).Org == "RA7" {
				t.Errorf("RA7, out of scope, was told %s", m.Kind)
			}
		}
		d, err := e.svc.Dashboard(ctx, e.nadia, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range d.Overdue {
			if m.Org == "RA7" {
				t.Errorf("RA7, out of scope, is listed overdue")
			}
		}
	})
}

// FuzzParseFindingRef: a ref from a form or a command line never panics,
// and one that parses prints back the same.
func FuzzParseFindingRef(f *testing.F) {
	for _, s := range []string{"SB-ABC/12/GO-2023-2102", "SB-1/0/CVE-2023-44487", "x", "a//b", "SB/-1/X", "SB/1/a/b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseFindingRef(s)
		if err != nil {
			return
		}
		if r.SBOM == "" || r.Vuln == "" || r.Component < 0 {
			t.Fatalf("%q parsed to %+v", s, r)
		}
	})
}

// VEX stored before its vulnerability is known suppresses the finding
// when an incremental match first finds it, and the suppression goes with
// the finding when the advisory is withdrawn.
func TestStoredVEXIncremental(t *testing.T) {
	data := readFile(t, flux2SBOM)
	vex := readFile(t, filepath.Join("testdata", "formats", "flux2-xnet.openvex.json"))
	eachAlertDB(t, func(t *testing.T, e *alertEnv) {
		osv := goOSV(t) // each engine's own: the test changes it
		adv := filepath.Join(osv, "Go", "GO-2023-2102.json")
		kept := readFile(t, adv)
		if err := os.Remove(adv); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		svc := newSBOMs(t, e, osv)
		if _, err := svc.AddInventory(ctx, e.alice, "RJ1", InventoryMeta{Name: "GitOps"}, "flux.spdx.json", data); err != nil {
			t.Fatal(err)
		}
		x, err := svc.AddOrgVEX(ctx, e.alice, "RJ1", "flux2-xnet.openvex.json", vex)
		if err != nil || x.Suppressed != 0 {
			t.Fatalf("stored %+v %v: nothing to suppress yet", x, err)
		}
		suppressed := func(when string, want int) {
			t.Helper()
			p, err := svc.Search(ctx, e.alice, FindingQuery{State: StateSuppressed})
			if err != nil || p.Total != want {
				t.Fatalf("%s: %d suppressed, want %d: %v", when, p.Total, want, err)
			}
			if want > 0 && (p.Findings[0].ID != "GO-2023-2102" || p.Findings[0].Suppressed.VEX != x.ID) {
				t.Errorf("%s: %s suppressed by %+v", when, p.Findings[0].ID, p.Findings[0].Suppressed)
			}
			var rows int
			if err := e.db.Q().QueryRowContext(ctx, `SELECT COUNT(*) FROM vuln_suppressions`).Scan(&rows); err != nil || rows != want {
				t.Errorf("%s: %d suppression rows, want %d: %v", when, rows, want, err)
			}
		}
		if _, err := svc.Match(ctx, e.nadia, MatchRequest{}); err != nil {
			t.Fatal(err)
		}
		suppressed("before the advisory", 0)
		if err := os.WriteFile(adv, kept, 0o644); err != nil {
			t.Fatal(err)
		}
		rep, err := svc.Match(ctx, e.nadia, MatchRequest{})
		if err != nil || rep.Mode != "incremental" || rep.Changed != 1 || rep.FindingsWritten == 0 {
			t.Fatalf("advisory added: %+v %v", rep, err)
		}
		suppressed("advisory added", 1)
		withdrawn := strings.Replace(string(kept), `"id":`, `"withdrawn": "2026-12-01T00:00:00Z", "id":`, 1)
		if err := os.WriteFile(adv, []byte(withdrawn), 0o644); err != nil {
			t.Fatal(err)
		}
		if rep, err = svc.Match(ctx, e.nadia, MatchRequest{}); err != nil || rep.Mode != "incremental" || rep.FindingsWritten == 0 {
			t.Fatalf("advisory withdrawn: %+v %v", rep, err)
		}
		suppressed("advisory withdrawn", 0)
	})
}
