package web

import (
	"context"
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

// The health schemes' evidence on the supplier and product pages (issue
// 20): what is held with the cross-links explained, and the forms to
// record it for those the assurance service lets record it (assessors,
// the supplier's own representatives; a deploying organisation for
// DCB0160) — the forms post here, the service decides, and the page comes
// back with a message or the reason. Also the expiring-evidence page.

var schemePageNames = []string{"assurance_expiring"}

func (w *Web) registerSchemes(h func(method, pattern string, access httpd.Access, summary string, fn httpd.Handler)) {
	authd := httpd.Authenticated
	h("POST", "/suppliers/s/{id}/evidence", authd, "Record a supplier's certificate, charter signature or NCSC principle states (assessors, or the supplier's own representatives)", w.supplierEvidencePost)
	h("POST", "/suppliers/p/{id}/evidence", authd, "Record a product version's DTAC or DCB0129 (assessors, the supplier's representatives), or a deploying organisation's DCB0160", w.productEvidencePost)
	h("GET", "/assurance/expiring", authd, "Supplier evidence lapsing soon or lapsed: certificates, DTAC renewals, DCB0129 and DCB0160 reviews", w.assuranceExpiring)
}

// schemesView is the evidence section of a supplier or product page.
type schemesView struct {
	Supplier *assurance.SupplierEvidence
	Product  *assurance.ProductEvidence
	Message  string
	Error    string
	States   []assurance.PrincipleState
	Today    string
	// Form is the form last posted with an error, to fill in again.
	Form url.Values
}

var schemeDone = map[string]string{
	"certificate": "Certificate recorded.", "charter": "Charter signature recorded.", "principles": "NCSC principle states recorded.",
	"dtac": "DTAC assessment recorded.", "dcb0129": "DCB0129 record saved.", "dcb0160": "DCB0160 record saved.",
}

func (w *Web) schemesView(r *http.Request) *schemesView {
	q := r.URL.Query()
	return &schemesView{Message: schemeDone[q.Get("evidence_done")], Error: q.Get("evidence_error"), States: assurance.PrincipleStates(),
		Today: w.o.Now().Format(time.DateOnly), Form: url.Values{}}
}

// supplierSchemes is the supplier page's evidence section.
func (w *Web) supplierSchemes(ctx context.Context, r *http.Request, sc scope.Scope, id string) (*schemesView, error) {
	if w.o.Assurance == nil {
		return nil, nil
	}
	e, err := w.o.Assurance.Evidence(ctx, sc, id)
	if err != nil {
		return nil, err
	}
	v := w.schemesView(r)
	v.Supplier = &e
	return v, nil
}

// productSchemes is the product page's evidence section.
func (w *Web) productSchemes(ctx context.Context, r *http.Request, sc scope.Scope, id string) (*schemesView, error) {
	if w.o.Assurance == nil {
		return nil, nil
	}
	e, err := w.o.Assurance.ProductEvidence(ctx, sc, id)
	if err != nil {
		return nil, err
	}
	v := w.schemesView(r)
	v.Product = &e
	return v, nil
}

// evidenceBack sends the browser back to the page's evidence section with
// a message, or with the reason bad input or a conflict was refused;
// anything else is the error page: forbidden (the forms are offered only
// to those who may use them) and not found stay 403 and 404.
func (w *Web) evidenceBack(rw http.ResponseWriter, r *http.Request, sc scope.Scope, page, kind string, err error) {
	if err != nil {
		msg := invalidMessage(err)
		if msg == "" && errors.Is(err, fault.ErrConflict) {
			msg = sentence(err.Error())
		}
		if msg == "" {
			w.fail(rw, r, sc, err)
			return
		}
		http.Redirect(rw, r, page+"?evidence_error="+url.QueryEscape(msg)+"#evidence", http.StatusSeeOther)
		return
	}
	http.Redirect(rw, r, page+"?evidence_done="+kind+"#evidence", http.StatusSeeOther)
}

func (w *Web) supplierEvidencePost(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	if err := r.ParseForm(); err != nil {
		w.fail(rw, r, sc, fault.Invalidf("form", "%v", err))
		return
	}
	id := r.PathValue("id")
	ctx := r.Context()
	// The supplier first: out of scope is 404 whatever the form says.
	if _, err := w.o.Supply.GetSupplier(ctx, sc, id); err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	f := r.PostForm
	kind := f.Get("kind")
	var err error
	switch kind {
	case "certificate":
		_, err = w.o.Assurance.PutCertificate(ctx, sc, assurance.Certificate{SupplierID: id, Scheme: f.Get("scheme"), Number: f.Get("number"), Issued: f.Get("issued"),
			Expires: f.Get("expires"), Scope: f.Get("scope"), QuestionSet: f.Get("question_set"), CertificationBody: f.Get("certification_body"), Accreditation: f.Get("accreditation")})
	case "charter":
		_, err = w.o.Assurance.SignCharter(ctx, sc, id, assurance.CharterInput{Commitments: f["commitment"], Signed: f.Get("signed"), SignedBy: f.Get("signed_by"), SignerRole: f.Get("signer_role")})
	case "principles":
		in := assurance.PrinciplesInput{Assessed: f.Get("assessed")}
		for _, p := range assurance.NCSCPrinciples() {
			n := strconv.Itoa(p.Number)
			if st := f.Get("p" + n); st != "" {
				in.States = append(in.States, assurance.PrincipleInput{Principle: p.Number, State: assurance.PrincipleState(st), Note: f.Get("note" + n)})
			}
		}
		_, err = w.o.Assurance.SetPrinciples(ctx, sc, id, in)
	default:
		err = fault.Invalidf("kind", "%q is not certificate, charter or principles", kind)
	}
	w.evidenceBack(rw, r, sc, "/suppliers/s/"+url.PathEscape(id), kind, err)
}

func (w *Web) productEvidencePost(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	if err := r.ParseForm(); err != nil {
		w.fail(rw, r, sc, fault.Invalidf("form", "%v", err))
		return
	}
	id := r.PathValue("id")
	ctx := r.Context()
	if _, err := w.o.Supply.GetProduct(ctx, sc, id); err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	f := r.PostForm
	safety := assurance.ClinicalSafety{SafetyCaseReport: f.Get("safety_case_report"), HazardLog: f.Get("hazard_log"), CSOName: f.Get("cso_name"),
		CSORegistration: f.Get("cso_registration"), Issued: f.Get("issued"), ReviewDue: f.Get("review_due")}
	kind := f.Get("kind")
	var err error
	switch kind {
	case "dtac":
		score, perr := strconv.Atoi(strings.TrimSpace(f.Get("d_score")))
		if perr != nil {
			err = fault.Invalidf("d_usability_score", "%q: give a score from 0 to 100", f.Get("d_score"))
			break
		}
		_, err = w.o.Assurance.PutDTAC(ctx, sc, assurance.DTAC{ProductID: id, Version: f.Get("version"), Assessed: f.Get("assessed"),
			C1: assurance.Result(f.Get("c1")), C2: assurance.Result(f.Get("c2")), C3: assurance.Result(f.Get("c3")), C4: assurance.Result(f.Get("c4")),
			DScore: score, Expires: f.Get("expires"), Notes: f.Get("notes")})
	case "dcb0129":
		_, err = w.o.Assurance.PutDCB0129(ctx, sc, assurance.DCB0129{ProductID: id, Version: f.Get("version"), ClinicalSafety: safety})
	case "dcb0160":
		_, err = w.o.Assurance.PutDCB0160(ctx, sc, assurance.DCB0160{OrgODS: f.Get("org_ods"), ProductID: id, ClinicalSafety: safety})
	default:
		err = fault.Invalidf("kind", "%q is not dtac, dcb0129 or dcb0160", kind)
	}
	w.evidenceBack(rw, r, sc, "/suppliers/p/"+url.PathEscape(id), kind, err)
}

type expiringData struct {
	Within string
	List   []assurance.ExpiringItem
	Error  string
}

func (w *Web) assuranceExpiring(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	d := expiringData{Within: strings.TrimSpace(r.URL.Query().Get("within"))}
	if d.Within == "" {
		d.Within = "60d"
	}
	status := http.StatusOK
	within, err := assurance.ParseWithin(d.Within)
	if err == nil {
		d.List, err = w.o.Assurance.Expiring(r.Context(), sc, within)
	}
	if err != nil {
		msg := invalidMessage(err)
		if msg == "" {
			w.fail(rw, r, sc, err)
			return
		}
		d.Error, status = msg, http.StatusBadRequest
	}
	v := w.page(r, sc, "Expiring evidence", "assurance")
	v.D = d
	w.render(rw, r, status, "assurance_expiring", v)
}
