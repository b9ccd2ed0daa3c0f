package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/intel/match"
	"github.com/vigil-health/vigil/internal/scope"
)

// Alert dispositions feed the indicator lifecycle (issue 19 item 6,
// docs/intel.md): when an analyst gives an IOC alert a verdict (the
// disposition or close triage actions), the indicator it names gets a
// verdict from the origin "alert:ID" in the alert's organisation — a true
// positive refreshes the indicator's score, a false positive lowers it
// (intel.Decay.ScoreWith), any other disposition takes back what the
// alert said before. The alert's triage is the audited act; the verdict
// is recorded once it commits, in the process that triaged.

// iocVerdicts is the cases hook doing that.
func iocVerdicts(cs *cases.Service, st *intel.Store, log *slog.Logger) func(cases.Event) {
	return func(e cases.Event) {
		if e.Kind != "alert.triaged" || (e.Detail["action"] != string(cases.TriageDisposition) && e.Detail["action"] != string(cases.TriageClose)) {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a, err := cs.GetAlert(ctx, scope.System("ioc-verdicts"), e.Alert)
		if err != nil {
			log.Warn("ioc: an alert's verdict was not read for its indicator", "alert", e.Alert, "err", err)
			return
		}
		ind := a.Fields["indicator_id"]
		if a.Source != match.AlertSource || ind == "" {
			return
		}
		v := intel.Verdict{Indicator: ind, Origin: "alert:" + a.ID, Org: a.Org, By: e.Actor, At: e.At}
		switch a.Disposition {
		case cases.TruePositive:
			v.Verdict = intel.VerdictTruePositive
		case cases.FalsePositive:
			v.Verdict = intel.VerdictFalsePositive
		}
		if err := st.RecordVerdict(ctx, v); err != nil {
			log.Warn("ioc: an alert's verdict was not recorded on its indicator", "alert", a.ID, "indicator", ind, "err", err)
		}
	}
}
