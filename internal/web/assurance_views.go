package web

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/vigil-health/vigil/internal/assurance"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/supply"
)

// The published scoring method, profile comparison, disputes, sharing
// levels and the supply-chain views of issue 20. The assurance service
// decides what each caller sees; these handlers only render.

var assuranceViewPageNames = []string{"assurance_methodology", "assurance_heatmap", "assurance_gaps", "assurance_priorities", "assurance_compare"}

func (w *Web) registerAssuranceViews(h func(method, pattern string, access httpd.Access, summary string, fn httpd.Handler)) {
	authd := httpd.Authenticated
	h("GET", "/assurance/methodology", authd, "The published scoring method, generated from the scoring code, with its change log", w.assuranceMethodology)
	h("GET", "/assurance/heatmap", authd, "Adherence heat map: suppliers × requirements (CSV with format=csv)", w.assuranceHeatMap)
	h("GET", "/assurance/gaps", authd, "Gaps by requirement across the supply chain, by tier and criticality", w.assuranceGaps)
	h("GET", "/assurance/priorities", authd, "Prioritisation: assurance gap, systemic importance and live exposure combined, each shown", w.assurancePriorities)
	h("GET", "/assurance/statements/{id}/compare", authd, "A statement against a profile's targets", w.assuranceCompare)
	h("POST", "/assurance/statements/{id}/disputes", authd, "Dispute a statement's score or a review decision (supplier representatives)", w.assuranceDispute)
	h("POST", "/assurance/disputes/{id}/comments", authd, "Add to a dispute's thread", w.assuranceDisputeComment)
	h("POST", "/assurance/disputes/{id}/answer", authd, "Uphold or amend a disputed decision (assessors)", w.assuranceDisputeAnswer)
	h("POST", "/suppliers/s/{id}/sharing", authd, "Choose how the supplier's reviewed statements are shared (supplier representatives)", w.supplierSharing)
}

func (w *Web) assuranceMethodology(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	v := w.page(r, sc, "Scoring methodology", "assurance")
	v.D = assurance.GetMethodology()
	w.render(rw, r, http.StatusOK, "assurance_methodology", v)
}

func (w *Web) assuranceHeatMap(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	hm, err := w.o.Assurance.GetHeatMap(r.Context(), sc, r.URL.Query().Get("set"))
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	if r.URL.Query().Get("format") == "csv" {
		name := "heatmap-" + strings.NewReplacer("@", "-", "/", "-").Replace(hm.SetID) + ".csv"
		rw.Header().Set("Content-Type", "text/csv; charset=utf-8")
		rw.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
		rw.Header().Set("X-Content-Type-Options", "nosniff")
		_ = hm.WriteCSV(rw) // a failed write: the client has gone
		return
	}
	v := w.page(r, sc, "Adherence heat map", "assurance")
	v.D = hm
	w.render(rw, r, http.StatusOK, "assurance_heatmap", v)
}

type gapsData struct {
	assurance.Gaps
	Criticalities []supply.Criticality
	Error         string
}

func (w *Web) assuranceGaps(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	q := r.URL.Query()
	gq := assurance.GapQuery{SetID: q.Get("set"), Requirement: q.Get("requirement"), Tier: q.Get("tier"), Criticality: supply.Criticality(q.Get("criticality"))}
	g, err := w.o.Assurance.GetGaps(r.Context(), sc, gq)
	status := http.StatusOK
	d := gapsData{Criticalities: supply.Criticalities()}
	if err != nil {
		msg := invalidMessage(err)
		if msg == "" {
			w.fail(rw, r, sc, err)
			return
		}
		// Show the form again with the reason and the unfiltered gaps.
		status, d.Error = http.StatusBadRequest, msg
		if g, err = w.o.Assurance.GetGaps(r.Context(), sc, assurance.GapQuery{SetID: gq.SetID}); err != nil {
			g = assurance.Gaps{Query: gq}
		}
		g.Query = gq
	}
	d.Gaps = g
	v := w.page(r, sc, "Gaps by requirement", "assurance")
	v.D = d
	w.render(rw, r, status, "assurance_gaps", v)
}

func (w *Web) assurancePriorities(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	p, err := w.o.Assurance.GetPriorities(r.Context(), sc, "")
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	v := w.page(r, sc, "Prioritisation", "assurance")
	v.D = p
	w.render(rw, r, http.StatusOK, "assurance_priorities", v)
}

func (w *Web) assuranceCompare(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	pc, err := w.o.Assurance.CompareProfile(r.Context(), sc, r.PathValue("id"), r.URL.Query().Get("profile"))
	if err != nil {
		if msg := invalidMessage(err); msg != "" && pc.StatementID != "" {
			w.statementBack(rw, r, sc, pc.StatementID, 0, "", err)
			return
		}
		w.fail(rw, r, sc, err)
		return
	}
	v := w.page(r, sc, "Statement against profile "+pc.Profile, "assurance")
	v.D = pc
	w.render(rw, r, http.StatusOK, "assurance_compare", v)
}

func (w *Web) assuranceDispute(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	id := r.PathValue("id")
	seq, _ := strconv.Atoi(r.PostFormValue("seq"))
	_, err := w.o.Assurance.RaiseDispute(r.Context(), sc, id, assurance.NewDispute{Seq: seq, Reason: r.PostFormValue("reason")})
	w.disputeBack(rw, r, sc, id, "disputed", err)
}

// disputeBack returns to the statement's disputes with a message, or the
// reason the action was refused.
func (w *Web) disputeBack(rw http.ResponseWriter, r *http.Request, sc scope.Scope, statement, done string, err error) {
	target := "/assurance/statements/" + url.PathEscape(statement)
	if err != nil {
		msg := invalidMessage(err)
		if msg == "" && errors.Is(err, fault.ErrConflict) {
			msg = sentence(err.Error())
		}
		if msg == "" {
			w.fail(rw, r, sc, err)
			return
		}
		http.Redirect(rw, r, target+"?error="+url.QueryEscape(msg)+"#disputes", http.StatusSeeOther)
		return
	}
	http.Redirect(rw, r, target+"?done="+done+"#disputes", http.StatusSeeOther)
}

func (w *Web) assuranceDisputeComment(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	d, err := w.o.Assurance.GetDispute(r.Context(), sc, r.PathValue("id"))
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	_, err = w.o.Assurance.CommentDispute(r.Context(), sc, d.ID, r.PostFormValue("body"))
	w.disputeBack(rw, r, sc, d.StatementID, "commented", err)
}

func (w *Web) assuranceDisputeAnswer(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	d, err := w.o.Assurance.GetDispute(r.Context(), sc, r.PathValue("id"))
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	seq, _ := strconv.Atoi(r.PostFormValue("seq"))
	_, err = w.o.Assurance.AnswerDispute(r.Context(), sc, d.ID, assurance.DisputeAnswer{Decision: r.PostFormValue("decision"), Note: r.PostFormValue("note"),
		Seq: seq, Review: assurance.Review(r.PostFormValue("review"))})
	w.disputeBack(rw, r, sc, d.StatementID, "dispute-answered", err)
}

func (w *Web) supplierSharing(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	id := r.PathValue("id")
	_, err := w.o.Assurance.SetSharing(r.Context(), sc, assurance.Sharing{SupplierID: id, Level: r.PostFormValue("level"),
		Products: splitList(r.PostFormValue("products")), Subsidiaries: r.PostFormValue("subsidiaries") != ""})
	target := "/suppliers/s/" + url.PathEscape(id)
	if err != nil {
		msg := invalidMessage(err)
		if msg == "" {
			w.fail(rw, r, sc, err)
			return
		}
		http.Redirect(rw, r, target+"?sharing="+url.QueryEscape(msg)+"#posture", http.StatusSeeOther)
		return
	}
	http.Redirect(rw, r, target+"?sharing=saved#posture", http.StatusSeeOther)
}

// supplierPosture fills the supplier page's posture section.
func (w *Web) supplierPosture(r *http.Request, sc scope.Scope, d *supplierData) error {
	ctx := r.Context()
	p, err := w.o.Assurance.GetPriorities(ctx, sc, d.Supplier.ID)
	if err != nil {
		return err
	}
	if len(p.Rows) == 1 {
		d.Posture, d.GraphHidden = &p.Rows[0], p.GraphHidden
	}
	sh, err := w.o.Assurance.GetSharing(ctx, sc, d.Supplier.ID)
	if err != nil {
		return err
	}
	d.Sharing = &sh
	d.CanShare = w.o.Assurance.MaySetSharing(ctx, sc, d.Supplier.ID)
	if d.Disputes, err = w.o.Assurance.ListDisputes(ctx, sc, assurance.DisputeFilter{SupplierID: d.Supplier.ID}); err != nil {
		return err
	}
	if d.Supplier.ParentID != "" {
		if d.ParentStatements, err = w.o.Assurance.ParentStatements(ctx, sc, d.Supplier.ID); err != nil {
			return err
		}
	}
	if note := r.URL.Query().Get("sharing"); note == "saved" {
		d.SharingNote = "Sharing level saved."
	} else {
		d.SharingNote = note
	}
	return nil
}
