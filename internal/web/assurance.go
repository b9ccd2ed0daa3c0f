package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/vigil-health/vigil/internal/assurance"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/scope"
)

// registerAssurance adds a requirement set's page (issue 20); the list,
// /assurance, is an area (areas.go). The sets
// are published reference data that every signed-in person may read.
func (w *Web) registerAssurance(h func(method, pattern string, access httpd.Access, summary string, fn httpd.Handler)) {
	h("GET", "/assurance/sets/{id}", httpd.Authenticated, "One requirement set: its tree, indicators and profiles", w.assuranceSet)
	if w.o.Supply != nil {
		w.registerCampaigns(h)
		w.registerSchemes(h)
		w.registerAssuranceViews(h)
		w.registerAssuranceVersions(h)
	}
}

func (w *Web) assuranceSets(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	list, err := w.o.Assurance.List(r.Context())
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	v := w.page(r, sc, "Requirement sets", "assurance")
	v.D = list
	w.render(rw, r, http.StatusOK, "assurance", v)
}

// setRow is one node of a set's tree with its indicators and each
// profile's target for it (the zero Level where the profile sets none).
type setRow struct {
	Node       assurance.Node
	Indicators []assurance.Indicator
	Targets    []assurance.Level
}

type setData struct {
	Set      assurance.Set
	Summary  assurance.Summary
	Profiles []string
	Rows     []setRow
}

func (w *Web) assuranceSet(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	set, err := w.o.Assurance.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	d := setData{Set: *set, Summary: set.Summarise()}
	d.Profiles = d.Summary.Profiles
	ind := map[string][]assurance.Indicator{}
	for _, in := range set.Indicators {
		ind[in.Outcome] = append(ind[in.Outcome], in)
	}
	targets := make([]map[string]assurance.Level, len(set.Profiles))
	for i, p := range set.Profiles {
		targets[i] = make(map[string]assurance.Level, len(p.Targets))
		for _, t := range p.Targets {
			targets[i][t.Node] = t.Level
		}
	}
	d.Rows = make([]setRow, len(set.Nodes))
	for i, n := range set.Nodes {
		row := setRow{Node: n, Indicators: ind[n.Key], Targets: make([]assurance.Level, len(targets))}
		for j, t := range targets {
			row.Targets[j] = t[n.Key]
		}
		d.Rows[i] = row
	}
	v := w.page(r, sc, set.Name, "assurance")
	v.D = d
	w.render(rw, r, http.StatusOK, "assurance_set", v)
}

// Campaigns, statements and review (issue 20). Every rule is the
// assurance service's: who sees a campaign or statement, who may answer,
// review or accept, what is editable. The handlers read forms, call it
// with the caller's Scope and redirect back to the page with a message.

var assurancePageNames = []string{"assurance_campaigns", "assurance_campaign", "assurance_statements", "assurance_statement",
	"assurance_tiers", "assurance_progress", "assurance_link_made", "assurance_portal"}

func (w *Web) registerCampaigns(h func(method, pattern string, access httpd.Access, summary string, fn httpd.Handler)) {
	authd := httpd.Authenticated
	h("GET", "/assurance/campaigns", authd, "Assurance campaigns you assess, and the form to start one (supply-chain managers)", w.assuranceCampaigns)
	h("POST", "/assurance/campaigns", authd, "Start an assurance campaign", w.assuranceCampaignCreate)
	h("GET", "/assurance/campaigns/{id}", authd, "One assurance campaign: its suppliers' statements, their progress and scores", w.assuranceCampaign)
	h("GET", "/assurance/statements", authd, "Statements of adherence you may see: to answer, to review, or accepted for suppliers you deploy", w.assuranceStatements)
	h("GET", "/assurance/statements/{id}", authd, "One statement of adherence: answers, evidence, review and score", w.assuranceStatement)
	h("POST", "/assurance/statements/{id}/answers/{seq}", authd, "Answer one requirement, with evidence (supplier representatives)", w.assuranceAnswer)
	h("POST", "/assurance/statements/{id}/answers/{seq}/review", authd, "Accept, query or reject one answer (assessors)", w.assuranceReview)
	h("POST", "/assurance/statements/{id}/answers/{seq}/comments", authd, "Reply in an answer's conversation", w.assuranceComment)
	h("POST", "/assurance/statements/{id}/submit", authd, "Sign and submit a statement (supplier representatives)", w.assuranceSubmit)
	h("POST", "/assurance/statements/{id}/accept", authd, "Accept a reviewed statement (assessors)", w.assuranceAccept)
	w.registerCampaignUpkeep(h)
}

type campaignsData struct {
	List      []assurance.Campaign
	Sets      []assurance.Summary
	CanCreate bool
	Error     string
	Form      url.Values
}

func (w *Web) assuranceCampaigns(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	w.campaignsRender(rw, r, sc, http.StatusOK, "", nil)
}

func (w *Web) campaignsRender(rw http.ResponseWriter, r *http.Request, sc scope.Scope, status int, msg string, form url.Values) {
	list, err := w.o.Assurance.ListCampaigns(r.Context(), sc)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	d := campaignsData{List: list, CanCreate: sc.Can(scope.Supply), Error: msg, Form: form}
	if d.CanCreate {
		if d.Sets, err = w.o.Assurance.List(r.Context()); err != nil {
			w.fail(rw, r, sc, err)
			return
		}
	}
	if d.Form == nil {
		d.Form = url.Values{"tier": {""}}
	}
	v := w.page(r, sc, "Assurance campaigns", "assurance")
	v.D = d
	w.render(rw, r, status, "assurance_campaigns", v)
}

func (w *Web) assuranceCampaignCreate(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	if err := r.ParseForm(); err != nil {
		w.fail(rw, r, sc, fault.Invalidf("form", "%v", err))
		return
	}
	f := r.PostForm
	n := assurance.NewCampaign{Name: f.Get("name"), SetID: f.Get("set_id"), Profile: f.Get("profile"), Deadline: f.Get("deadline"),
		Suppliers: splitList(f.Get("suppliers")), Tier: f.Get("tier")}
	for _, t := range assurance.TierNames() {
		if p := strings.TrimSpace(f.Get("tier_profile_" + t)); p != "" {
			if n.TierProfiles == nil {
				n.TierProfiles = map[string]string{}
			}
			n.TierProfiles[t] = p
		}
	}
	c, err := w.o.Assurance.CreateCampaign(r.Context(), sc, n)
	if err != nil {
		if msg := invalidMessage(err); msg != "" {
			w.campaignsRender(rw, r, sc, http.StatusBadRequest, msg, f)
			return
		}
		w.fail(rw, r, sc, err)
		return
	}
	http.Redirect(rw, r, "/assurance/campaigns/"+url.PathEscape(c.ID)+"?done=created", http.StatusSeeOther)
}

var assuranceDone = map[string]string{
	"created": "Campaign started: each supplier's representatives find a draft statement under Assurance → Statements.",
	"saved":   "Answer saved.", "evidence": "Answer and evidence saved.", "submitted": "Statement signed and submitted for review.",
	"reviewed": "Decision recorded.", "queried": "Answer queried: the statement went back to the supplier.", "commented": "Reply added.",
	"accepted": "Statement accepted: the organisations that deploy this supplier now see it.",
	"disputed": "Dispute raised: the campaign's assessors will answer it.", "dispute-answered": "Dispute answered.",
	"imported": "Spreadsheet imported: the answers it gave are saved.",
	"revoked":  "Link revoked: it no longer opens, and any session it opened has ended.",
}

type campaignData struct {
	C       assurance.Campaign
	Message string
}

func (w *Web) assuranceCampaign(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	c, err := w.o.Assurance.GetCampaign(r.Context(), sc, r.PathValue("id"))
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	v := w.page(r, sc, c.Name, "assurance")
	v.D = campaignData{C: c, Message: assuranceDone[r.URL.Query().Get("done")]}
	w.render(rw, r, http.StatusOK, "assurance_campaign", v)
}

type statementsData struct {
	List    []assurance.StatementSummary
	Assess  bool
	Message string
}

func (w *Web) assuranceStatements(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	list, err := w.o.Assurance.ListStatements(r.Context(), sc, assurance.StatementFilter{Status: r.URL.Query().Get("status")})
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	v := w.page(r, sc, "Statements of adherence", "assurance")
	v.D = statementsData{List: list, Assess: sc.Can(scope.Supply)}
	w.render(rw, r, http.StatusOK, "assurance_statements", v)
}

type statementData struct {
	S          assurance.Statement
	Message    string
	Error      string
	ErrorSeq   int
	Answers    []assurance.Answer
	Extensions string
	// Links are the statement's single-use links (assessors); Sheet the
	// cells of a refused spreadsheet.
	Links    []assurance.Link
	Sheet    *assurance.SheetError
	Versions []assurance.StatementVersion // submitted versions, oldest first
}

func (w *Web) assuranceStatement(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	st, err := w.o.Assurance.GetStatement(r.Context(), sc, r.PathValue("id"))
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	q := r.URL.Query()
	d := statementData{S: st, Message: assuranceDone[q.Get("done")], Error: q.Get("error"), Answers: assurance.Answers(),
		Extensions: strings.Join(assurance.EvidenceExtensions(), " ")}
	d.ErrorSeq, _ = strconv.Atoi(q.Get("seq"))
	if st.May.Assess {
		if d.Links, err = w.o.Assurance.ListLinks(r.Context(), sc, st.ID); err != nil {
			w.fail(rw, r, sc, err)
			return
		}
	}
	if d.Versions, err = w.statementVersions(r, sc, st.ID); err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	v := w.page(r, sc, st.SupplierName+": "+st.CampaignName, "assurance")
	v.D = d
	w.render(rw, r, http.StatusOK, "assurance_statement", v)
}

// statementBack redirects to the statement page, at the requirement
// acted on, with a message or the reason the action was refused. Errors
// other than invalid input and conflicts are the error page.
func (w *Web) statementBack(rw http.ResponseWriter, r *http.Request, sc scope.Scope, id string, seq int, done string, err error) {
	target := "/assurance/statements/" + url.PathEscape(id)
	anchor := ""
	if seq > 0 {
		anchor = "#req-" + strconv.Itoa(seq)
	}
	if err != nil {
		msg := invalidMessage(err)
		if msg == "" && errors.Is(err, fault.ErrConflict) {
			msg = sentence(err.Error())
		}
		if msg == "" {
			w.fail(rw, r, sc, err)
			return
		}
		http.Redirect(rw, r, target+"?error="+url.QueryEscape(msg)+"&seq="+strconv.Itoa(seq)+anchor, http.StatusSeeOther)
		return
	}
	http.Redirect(rw, r, target+"?done="+done+anchor, http.StatusSeeOther)
}

func seqOf(r *http.Request) (int, error) {
	n, err := strconv.Atoi(r.PathValue("seq"))
	if err != nil || n < 1 {
		return 0, fault.NotFoundf("no requirement %q", r.PathValue("seq"))
	}
	return n, nil
}

// assuranceAnswer saves an answer and, with it, any evidence file or
// link given in the same form.
func (w *Web) assuranceAnswer(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	id := r.PathValue("id")
	seq, err := seqOf(r)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	// Check the statement before reading an upload, so a statement out of
	// scope is 404 whatever was sent.
	if _, err := w.o.Assurance.GetStatement(r.Context(), sc, id); err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	if r.MultipartForm == nil && r.PostForm == nil {
		limitBody(rw, r)
		if err := r.ParseForm(); err != nil {
			w.fail(rw, r, sc, fault.Invalidf("form", "%v", err))
			return
		}
	}
	ctx := r.Context()
	_, err = w.o.Assurance.SaveAnswer(ctx, sc, id, seq, assurance.AnswerInput{Answer: assurance.Answer(r.PostFormValue("answer")), Justification: r.PostFormValue("justification")})
	done := "saved"
	if err == nil && r.MultipartForm != nil && len(r.MultipartForm.File["file"]) > 0 {
		files, problem := readUpload(rw, r, "file", 1)
		if problem != "" {
			err = fault.Invalidf("file", "%s", problem)
		} else {
			_, err = w.o.Assurance.AddEvidenceFile(ctx, sc, id, seq, files[0].Name, files[0].Data)
			done = "evidence"
		}
	}
	if link := strings.TrimSpace(r.PostFormValue("link")); err == nil && link != "" {
		_, err = w.o.Assurance.AddEvidenceLink(ctx, sc, id, seq, r.PostFormValue("link_name"), link)
		done = "evidence"
	}
	if cert := strings.TrimSpace(r.PostFormValue("certificate")); err == nil && cert != "" {
		_, err = w.o.Assurance.AddEvidenceCertificate(ctx, sc, id, seq, cert)
		done = "evidence"
	}
	w.statementBack(rw, r, sc, id, seq, done, err)
}

func (w *Web) assuranceReview(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	id := r.PathValue("id")
	seq, err := seqOf(r)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	decision := assurance.Review(r.PostFormValue("decision"))
	_, err = w.o.Assurance.Review(r.Context(), sc, id, seq, decision, r.PostFormValue("note"))
	done := "reviewed"
	if decision == assurance.ReviewQueried {
		done = "queried"
	}
	w.statementBack(rw, r, sc, id, seq, done, err)
}

func (w *Web) assuranceComment(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	id := r.PathValue("id")
	seq, err := seqOf(r)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	_, err = w.o.Assurance.Comment(r.Context(), sc, id, seq, r.PostFormValue("body"))
	w.statementBack(rw, r, sc, id, seq, "commented", err)
}

func (w *Web) assuranceSubmit(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	id := r.PathValue("id")
	_, err := w.o.Assurance.Submit(r.Context(), sc, id, r.PostFormValue("role"))
	w.statementBack(rw, r, sc, id, 0, "submitted", err)
}

func (w *Web) assuranceAccept(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	id := r.PathValue("id")
	_, err := w.o.Assurance.Accept(r.Context(), sc, id)
	w.statementBack(rw, r, sc, id, 0, "accepted", err)
}
