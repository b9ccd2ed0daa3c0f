package web

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/assurance"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/scope"
)

// Issue 20, items 2-4 on the web: supplier tiers, a campaign's progress
// with its edit and close forms, single-use links and the supplier
// portal they open, and the statement spreadsheet round trip. Every rule
// is the assurance service's.

func (w *Web) registerCampaignUpkeep(h func(method, pattern string, access httpd.Access, summary string, fn httpd.Handler)) {
	authd := httpd.Authenticated
	h("GET", "/assurance/tiers", authd, "Every supplier's tier and what put it there (supply-chain managers)", w.assuranceTiers)
	h("GET", "/assurance/campaigns/{id}/progress", authd, "A campaign's progress by tier, overdue suppliers and reminders, with its edit and close forms", w.campaignProgress)
	h("POST", "/assurance/campaigns/{id}/edit", authd, "Rename a campaign or move its deadline", w.campaignEdit)
	h("POST", "/assurance/campaigns/{id}/close", authd, "Close a campaign", w.campaignClose)
	h("POST", "/assurance/statements/{id}/links", authd, "Make a single-use link for a supplier's first response (assessors)", w.statementLink)
	h("POST", "/assurance/statements/{id}/links/{link}/revoke", authd, "Revoke a single-use link (assessors)", w.statementLinkRevoke)
	h("GET", "/assurance/statements/{id}/spreadsheet", authd, "Download a statement as a spreadsheet to fill in", w.statementSheet)
	h("POST", "/assurance/statements/{id}/spreadsheet", authd, "Upload a filled-in statement spreadsheet (supplier representatives)", w.statementSheetImport)
	// The supplier portal: no Vigil session. Each handler checks the
	// link, or the portal session the link opened, itself.
	h("GET", "/assurance/link/{token}", httpd.Public, "Confirm opening a single-use link", w.linkConfirm)
	h("POST", "/assurance/link/{token}", httpd.Public, "Open a single-use link: a portal session for one statement", w.linkRedeem)
	h("GET", "/assurance/portal", httpd.Public, "The statement a single-use link opened", w.portal)
	h("POST", "/assurance/portal/answers/{seq}", httpd.Public, "Answer one requirement through a single-use link", w.portalAnswer)
	h("POST", "/assurance/portal/submit", httpd.Public, "Sign and submit through a single-use link", w.portalSubmit)
	h("GET", "/assurance/portal/spreadsheet", httpd.Public, "Download the statement as a spreadsheet through a single-use link", w.portalSheet)
	h("POST", "/assurance/portal/spreadsheet", httpd.Public, "Upload a filled-in spreadsheet through a single-use link", w.portalSheetImport)
}

func (w *Web) assuranceTiers(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	list, err := w.o.Assurance.Tiers(r.Context(), sc)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	v := w.page(r, sc, "Supplier tiers", "assurance")
	v.D = tiersData{List: list, Rules: assurance.TierRules()}
	w.render(rw, r, http.StatusOK, "assurance_tiers", v)
}

type tiersData struct {
	List  []assurance.SupplierTier
	Rules []assurance.TierRule
}

type progressData struct {
	P       assurance.Progress
	Message string
	Error   string
}

var upkeepDone = map[string]string{"edited": "Campaign changed.", "closed": "Campaign closed: suppliers answer no more and reminders stop."}

func (w *Web) campaignProgress(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	w.progressRender(rw, r, sc, http.StatusOK, upkeepDone[r.URL.Query().Get("done")], "")
}

func (w *Web) progressRender(rw http.ResponseWriter, r *http.Request, sc scope.Scope, status int, msg, problem string) {
	p, err := w.o.Assurance.CampaignProgress(r.Context(), sc, r.PathValue("id"))
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	v := w.page(r, sc, "Progress: "+p.Name, "assurance")
	v.D = progressData{P: p, Message: msg, Error: problem}
	w.render(rw, r, status, "assurance_progress", v)
}

// upkeepBack is the progress page again: with a message, or with the
// reason an edit or close was refused.
func (w *Web) upkeepBack(rw http.ResponseWriter, r *http.Request, sc scope.Scope, done string, err error) {
	if err != nil {
		msg := invalidMessage(err)
		if msg == "" && errors.Is(err, fault.ErrConflict) {
			msg = sentence(fault.Message(err))
		}
		if msg == "" {
			w.fail(rw, r, sc, err)
			return
		}
		w.progressRender(rw, r, sc, http.StatusBadRequest, "", msg)
		return
	}
	http.Redirect(rw, r, "/assurance/campaigns/"+url.PathEscape(r.PathValue("id"))+"/progress?done="+done, http.StatusSeeOther)
}

func (w *Web) campaignEdit(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	var e assurance.CampaignEdit
	if v := r.PostFormValue("name"); v != "" {
		e.Name = &v
	}
	if v := r.PostFormValue("deadline"); v != "" {
		e.Deadline = &v
	}
	_, err := w.o.Assurance.EditCampaign(r.Context(), sc, r.PathValue("id"), e)
	w.upkeepBack(rw, r, sc, "edited", err)
}

func (w *Web) campaignClose(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	_, err := w.o.Assurance.CloseCampaign(r.Context(), sc, r.PathValue("id"), r.PostFormValue("reason"))
	w.upkeepBack(rw, r, sc, "closed", err)
}

type linkMadeData struct {
	L   assurance.Link
	URL string
	S   assurance.Statement
}

// statementLink makes a link and shows it once (never in an address).
func (w *Web) statementLink(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	id := r.PathValue("id")
	days, _ := strconv.Atoi(r.PostFormValue("days"))
	l, err := w.o.Assurance.CreateLink(r.Context(), sc, id, assurance.NewLink{Recipient: r.PostFormValue("recipient"), Days: days})
	if err != nil {
		w.statementBack(rw, r, sc, id, 0, "", err)
		return
	}
	st, err := w.o.Assurance.GetStatement(r.Context(), sc, id)
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	v := w.page(r, sc, "Single-use link", "assurance")
	v.D = linkMadeData{L: l, URL: w.absolute(r, l.Path), S: st}
	w.render(rw, r, http.StatusCreated, "assurance_link_made", v)
}

func (w *Web) statementLinkRevoke(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	id := r.PathValue("id")
	_, err := w.o.Assurance.RevokeLink(r.Context(), sc, id, r.PathValue("link"))
	w.statementBack(rw, r, sc, id, 0, "revoked", err)
}

// absolute is a path on this server as a full address.
func (w *Web) absolute(r *http.Request, p string) string {
	scheme := "http"
	if w.o.TLS {
		scheme = "https"
	}
	return scheme + "://" + r.Host + p
}

func (w *Web) statementSheet(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	name, ct, data, err := w.o.Assurance.ExportSheet(r.Context(), sc, r.PathValue("id"), r.URL.Query().Get("format"))
	if err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	httpd.SendAttachment(rw, name, ct, data)
}

func (w *Web) statementSheetImport(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	id := r.PathValue("id")
	if _, err := w.o.Assurance.GetStatement(r.Context(), sc, id); err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	files, problem := readUpload(rw, r, "files", 1)
	if problem != "" {
		w.statementBack(rw, r, sc, id, 0, "", fault.Invalidf("file", "%s", problem))
		return
	}
	res, err := w.o.Assurance.ImportSheet(r.Context(), sc, id, files[0].Name, files[0].Data)
	var se *assurance.SheetError
	if errors.As(err, &se) {
		st, gerr := w.o.Assurance.GetStatement(r.Context(), sc, id)
		if gerr != nil {
			w.fail(rw, r, sc, gerr)
			return
		}
		v := w.page(r, sc, st.SupplierName+": "+st.CampaignName, "assurance")
		v.D = statementData{S: st, Answers: assurance.Answers(), Extensions: strings.Join(assurance.EvidenceExtensions(), " "), Sheet: se,
			Error: "The spreadsheet was not imported: correct the cells listed and upload it again."}
		w.render(rw, r, http.StatusBadRequest, "assurance_statement", v)
		return
	}
	if err != nil {
		w.statementBack(rw, r, sc, id, 0, "", err)
		return
	}
	_ = res
	w.statementBack(rw, r, sc, id, 0, "imported", nil)
}

// The portal.

func (w *Web) portalCookie() string {
	if w.o.TLS {
		return "__Host-vigil_portal"
	}
	return "vigil_portal"
}

type portalData struct {
	// Confirm: the link's page before it is used.
	Confirm *assurance.LinkInfo
	Token   string
	Invalid string
	// The statement the session reaches.
	S          *assurance.Statement
	CSRF       string
	Recipient  string
	ExpiresAt  time.Time
	Message    string
	Error      string
	ErrorSeq   int
	Sheet      *assurance.SheetError
	Answers    []assurance.Answer
	Extensions string
}

func (w *Web) portalRender(rw http.ResponseWriter, r *http.Request, status int, d portalData) {
	title := "Statement of adherence"
	if d.Confirm != nil || d.Invalid != "" {
		title = "Single-use link"
	}
	v := &view{Title: title, Version: w.o.Version, D: d}
	w.render(rw, r, status, "assurance_portal", v)
}

func (w *Web) linkInvalid(rw http.ResponseWriter, r *http.Request) {
	w.portalRender(rw, r, http.StatusNotFound, portalData{Invalid: fault.Message(assurance.ErrLinkInvalid)})
}

// linkConfirm shows what a link opens without using it: a mail scanner
// fetching the address does not spend it.
func (w *Web) linkConfirm(rw http.ResponseWriter, r *http.Request, _ scope.Scope) {
	tok := r.PathValue("token")
	info, err := w.o.Assurance.PeekLink(r.Context(), tok)
	if err != nil {
		w.linkInvalid(rw, r)
		return
	}
	w.portalRender(rw, r, http.StatusOK, portalData{Confirm: &info, Token: tok, CSRF: w.signInToken(rw, r, false)})
}

// linkRedeem uses the link (double-submit CSRF as the sign-in form, so
// another site cannot open a link in a visitor's browser) and sets the
// portal session's cookie.
func (w *Web) linkRedeem(rw http.ResponseWriter, r *http.Request, _ scope.Scope) {
	limitBody(rw, r)
	c, err := r.Cookie(w.signInCookie())
	got := r.PostFormValue("csrf")
	if err != nil || got == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(got)) != 1 || r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		w.portalRender(rw, r, http.StatusForbidden, portalData{Invalid: "The form had expired or did not come from Vigil: open the link again."})
		return
	}
	p, err := w.o.Assurance.RedeemLink(r.Context(), r.PathValue("token"), remote(r))
	if err != nil {
		if errors.Is(err, fault.ErrNotFound) {
			w.linkInvalid(rw, r)
			return
		}
		w.serverError(rw, r, nil, err)
		return
	}
	http.SetCookie(rw, &http.Cookie{Name: w.portalCookie(), Value: p.Secret, Path: "/", MaxAge: int(assurance.PortalSessionTTL.Seconds()),
		HttpOnly: true, Secure: w.o.TLS, SameSite: http.SameSiteStrictMode})
	http.Redirect(rw, r, "/assurance/portal", http.StatusSeeOther)
}

// portalSession is the visitor's portal session, or false (and the
// answer sent) when there is none. A POST must echo its CSRF token.
func (w *Web) portalSession(rw http.ResponseWriter, r *http.Request) (assurance.Portal, bool) {
	var secret string
	if c, err := r.Cookie(w.portalCookie()); err == nil {
		secret = c.Value
	}
	p, err := w.o.Assurance.PortalSession(r.Context(), secret)
	if err != nil {
		w.portalRender(rw, r, http.StatusUnauthorized, portalData{Invalid: "Your session from the single-use link has ended (it lasts 8 hours). Ask the assessor for a new link, or sign in to Vigil."})
		return p, false
	}
	if r.Method == http.MethodPost && !p.CheckCSRF(r.PostFormValue("csrf")) {
		w.portalRender(rw, r, http.StatusForbidden, portalData{Invalid: "The form had expired or did not come from Vigil: go back, reload the page and try again."})
		return p, false
	}
	return p, true
}

var portalDone = map[string]string{"saved": "Answer saved.", "evidence": "Answer and evidence saved.", "submitted": "Statement signed and submitted: thank you. The assessor will review it.",
	"imported": "Spreadsheet imported."}

func (w *Web) portal(rw http.ResponseWriter, r *http.Request, _ scope.Scope) {
	p, ok := w.portalSession(rw, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	d := portalData{Message: portalDone[q.Get("done")], Error: q.Get("error")}
	d.ErrorSeq, _ = strconv.Atoi(q.Get("seq"))
	w.portalStatement(rw, r, p, http.StatusOK, d)
}

func (w *Web) portalStatement(rw http.ResponseWriter, r *http.Request, p assurance.Portal, status int, d portalData) {
	ctx, sc := p.As(r.Context(), remote(r))
	st, err := w.o.Assurance.GetStatement(ctx, sc, p.StatementID)
	if err != nil {
		w.linkInvalid(rw, r)
		return
	}
	d.S, d.CSRF, d.Recipient, d.ExpiresAt = &st, p.CSRF, p.Recipient, p.ExpiresAt
	d.Answers, d.Extensions = assurance.Answers(), strings.Join(assurance.EvidenceExtensions(), " ")
	w.portalRender(rw, r, status, d)
}

// portalBack redirects to the portal page with a message or the reason.
func (w *Web) portalBack(rw http.ResponseWriter, r *http.Request, seq int, done string, err error) {
	if err != nil {
		msg := invalidMessage(err)
		if msg == "" && errors.Is(err, fault.ErrConflict) {
			msg = sentence(fault.Message(err))
		}
		if msg == "" {
			if errors.Is(err, fault.ErrNotFound) {
				w.linkInvalid(rw, r)
				return
			}
			w.serverError(rw, r, nil, err)
			return
		}
		http.Redirect(rw, r, "/assurance/portal?error="+url.QueryEscape(msg)+"&seq="+strconv.Itoa(seq)+"#req-"+strconv.Itoa(seq), http.StatusSeeOther)
		return
	}
	http.Redirect(rw, r, "/assurance/portal?done="+done, http.StatusSeeOther)
}

// parsePortalForm parses a portal post (multipart with an evidence file or
// a spreadsheet, or a plain form) under the upload limit.
func parsePortalForm(rw http.ResponseWriter, r *http.Request) {
	if r.PostForm != nil {
		return
	}
	r.Body = http.MaxBytesReader(rw, r.Body, maxUpload+1<<20)
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		_ = r.ParseMultipartForm(8 << 20) // a bad form is missing fields, refused below
		return
	}
	_ = r.ParseForm()
}

func (w *Web) portalAnswer(rw http.ResponseWriter, r *http.Request, _ scope.Scope) {
	parsePortalForm(rw, r)
	p, ok := w.portalSession(rw, r)
	if !ok {
		return
	}
	seq, err := seqOf(r)
	if err != nil {
		w.linkInvalid(rw, r)
		return
	}
	ctx, sc := p.As(r.Context(), remote(r))
	_, err = w.o.Assurance.SaveAnswer(ctx, sc, p.StatementID, seq, assurance.AnswerInput{Answer: assurance.Answer(r.PostFormValue("answer")), Justification: r.PostFormValue("justification")})
	done := "saved"
	if err == nil && r.MultipartForm != nil && len(r.MultipartForm.File["file"]) > 0 {
		files, problem := readUpload(rw, r, "file", 1)
		if problem != "" {
			err = fault.Invalidf("file", "%s", problem)
		} else {
			_, err = w.o.Assurance.AddEvidenceFile(ctx, sc, p.StatementID, seq, files[0].Name, files[0].Data)
			done = "evidence"
		}
	}
	if link := strings.TrimSpace(r.PostFormValue("link")); err == nil && link != "" {
		_, err = w.o.Assurance.AddEvidenceLink(ctx, sc, p.StatementID, seq, r.PostFormValue("link_name"), link)
		done = "evidence"
	}
	w.portalBack(rw, r, seq, done, err)
}

func (w *Web) portalSubmit(rw http.ResponseWriter, r *http.Request, _ scope.Scope) {
	parsePortalForm(rw, r)
	p, ok := w.portalSession(rw, r)
	if !ok {
		return
	}
	ctx, sc := p.As(r.Context(), remote(r))
	// The signature is the name the assessor gave the link and the role typed.
	_, err := w.o.Assurance.Submit(ctx, sc, p.StatementID, r.PostFormValue("role"))
	w.portalBack(rw, r, 0, "submitted", err)
}

func (w *Web) portalSheet(rw http.ResponseWriter, r *http.Request, _ scope.Scope) {
	p, ok := w.portalSession(rw, r)
	if !ok {
		return
	}
	ctx, sc := p.As(r.Context(), remote(r))
	name, ct, data, err := w.o.Assurance.ExportSheet(ctx, sc, p.StatementID, r.URL.Query().Get("format"))
	if err != nil {
		w.portalBack(rw, r, 0, "", err)
		return
	}
	httpd.SendAttachment(rw, name, ct, data)
}

func (w *Web) portalSheetImport(rw http.ResponseWriter, r *http.Request, _ scope.Scope) {
	parsePortalForm(rw, r)
	p, ok := w.portalSession(rw, r)
	if !ok {
		return
	}
	files, problem := readUpload(rw, r, "files", 1)
	if problem != "" {
		w.portalBack(rw, r, 0, "", fault.Invalidf("file", "%s", problem))
		return
	}
	ctx, sc := p.As(r.Context(), remote(r))
	_, err := w.o.Assurance.ImportSheet(ctx, sc, p.StatementID, files[0].Name, files[0].Data)
	var se *assurance.SheetError
	if errors.As(err, &se) {
		w.portalStatement(rw, r, p, http.StatusBadRequest, portalData{Sheet: se, Error: "The spreadsheet was not imported: correct the cells listed and upload it again."})
		return
	}
	w.portalBack(rw, r, 0, "imported", err)
}
