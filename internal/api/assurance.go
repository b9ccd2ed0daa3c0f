package api

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"

	"github.com/vigil-health/vigil/internal/assurance"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/scope"
)

// registerAssurance adds the supplier-assurance routes (issue 20):
// requirement sets, which are published reference data any signed-in
// caller reads, and DSPT statuses, of an organisation the caller may see
// or of a supplier (with an ODS code) the caller may see. The assurance
// service and the org and supply services it asks decide what is visible.
func (a *API) registerAssurance(rt *httpd.Router) {
	for name, t := range map[string]reflect.Type{
		"RequirementSetSummaries": reflect.TypeFor[[]assurance.Summary](),
		"RequirementSet":          reflect.TypeFor[assurance.Set](),
		"DSPTStatuses":            reflect.TypeFor[[]assurance.DSPTStatus](),
		"Certificate":             reflect.TypeFor[assurance.Certificate](),
		"Certificates":            reflect.TypeFor[[]assurance.Certificate](),
		"NewCampaign":             reflect.TypeFor[assurance.NewCampaign](),
		"Campaign":                reflect.TypeFor[assurance.Campaign](),
		"CampaignList":            reflect.TypeFor[List[assurance.Campaign]](),
		"StatementList":           reflect.TypeFor[List[assurance.StatementSummary]](),
		"Statement":               reflect.TypeFor[assurance.Statement](),
		"StatementScore":          reflect.TypeFor[assurance.Score](),
		"AnswerInput":             reflect.TypeFor[assurance.AnswerInput](),
		"AnswerReview":            reflect.TypeFor[AnswerReview](),
		"StatementSubmit":         reflect.TypeFor[StatementSubmit](),
		"EvidenceLink":            reflect.TypeFor[EvidenceLink](),
		"AnswerComment":           reflect.TypeFor[AnswerComment](),
		"Evidence":                reflect.TypeFor[assurance.Evidence](),
	} {
		a.AddSchema(name, t)
	}
	a.route(rt, spec{Method: "GET", Path: "/assurance/sets", Tag: "assurance", Summary: "Requirement sets held, with their counts of requirements, outcomes, indicators and profiles",
		Response: "RequirementSetSummaries"}, a.listSets)
	a.route(rt, spec{Method: "GET", Path: "/assurance/sets/{id}", Tag: "assurance", Summary: "One requirement set: its tree, indicators, rules and profiles",
		Params: []param{{Name: "id", In: "path", Type: "string", Required: true}}, Response: "RequirementSet"}, a.getSet)
	a.route(rt, spec{Method: "GET", Path: "/orgs/{code}/dspt", Tag: "assurance", Summary: "An organisation's DSPT statuses by edition, newest first",
		Params: []param{{Name: "code", In: "path", Type: "string", Required: true}}, Response: "DSPTStatuses"}, a.orgDSPT)
	if a.o.Supply != nil {
		a.route(rt, spec{Method: "GET", Path: "/supply/suppliers/{id}/dspt", Tag: "assurance", Summary: "A supplier's DSPT statuses by edition (a supplier that is an NHS body, with an ODS code; else none)",
			Params: []param{{Name: "id", In: "path", Type: "string", Required: true}}, Response: "DSPTStatuses"}, a.supplierDSPT)
		a.route(rt, spec{Method: "GET", Path: "/supply/suppliers/{id}/certificates", Tag: "assurance", Summary: "A supplier's Cyber Essentials and ISO 27001 certificates, soonest expiry first, each valid, expiring or expired",
			Params: []param{{Name: "id", In: "path", Type: "string", Required: true}}, Response: "Certificates"}, a.supplierCertificates)
		a.route(rt, spec{Method: "POST", Path: "/supply/suppliers/{id}/certificates", Tag: "assurance", Summary: "Record (or renew, by scheme and number) a supplier's certificate (supply-chain managers, or the supplier's own representatives)",
			Params: []param{{Name: "id", In: "path", Type: "string", Required: true}}, Body: "Certificate", Response: "Certificate"}, a.putCertificate)
		a.registerCampaigns(rt)
		a.registerSchemes(rt)
		a.registerAssuranceViews(rt)
		a.registerAssuranceVersions(rt)
	}
}

// AnswerReview is an assessor's decision on one answer.
type AnswerReview struct {
	// Decision is accepted, queried or rejected.
	Decision assurance.Review `json:"decision"`
	// Note is required for a query or a rejection.
	Note string `json:"note,omitempty"`
}

// StatementSubmit signs a statement: the caller's name and this role.
type StatementSubmit struct {
	Role string `json:"role"`
}

// AnswerComment is one message of an answer's conversation.
type AnswerComment struct {
	Body string `json:"body"`
}

// EvidenceLink is evidence given as an https address.
type EvidenceLink struct {
	Name string `json:"name,omitempty"`
	URL  string `json:"url,omitempty"`
	// Certificate cites a certificate recorded for the supplier by its
	// number, instead of a link.
	Certificate string `json:"certificate,omitempty"`
}

// registerCampaigns adds campaigns, statements, evidence and review. The
// assurance service decides who sees what (assessors, the supplier's
// representatives, deploying organisations once accepted).
func (a *API) registerCampaigns(rt *httpd.Router) {
	id := param{Name: "id", In: "path", Type: "string", Required: true}
	seq := param{Name: "seq", In: "path", Type: "integer", Required: true, Desc: "the requirement's number in the campaign (1, 2, …)"}
	as := a.o.Assurance
	a.route(rt, spec{Method: "GET", Path: "/assurance/campaigns", Tag: "assurance", Summary: "Campaigns you assess (supply-chain managers), newest first, with statements per status",
		Response: "CampaignList"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return list(as.ListCampaigns(r.Context(), sc))
	})
	a.route(rt, spec{Method: "POST", Path: "/assurance/campaigns", Tag: "assurance", Summary: "Start a campaign: a requirement set (and profile), suppliers by list or tier, a deadline (supply-chain managers)",
		Body: "NewCampaign", Response: "Campaign", Status: 201}, func(r *http.Request, sc scope.Scope) (any, error) {
		var n assurance.NewCampaign
		if err := decode(r, &n); err != nil {
			return nil, err
		}
		c, err := as.CreateCampaign(r.Context(), sc, n)
		if err != nil {
			return nil, err
		}
		return created{c}, nil
	})
	a.route(rt, spec{Method: "GET", Path: "/assurance/campaigns/{id}", Tag: "assurance", Summary: "One campaign you assess: its requirements with weights and every statement with its status and score",
		Params: []param{id}, Response: "Campaign"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return as.GetCampaign(r.Context(), sc, r.PathValue("id"))
	})
	a.route(rt, spec{Method: "GET", Path: "/assurance/statements", Tag: "assurance",
		Summary:  "Statements you may see: of campaigns you assess, of suppliers you represent, and accepted statements of suppliers your organisations deploy",
		Params:   []param{{Name: "campaign", In: "query", Type: "string"}, {Name: "supplier", In: "query", Type: "string"}, {Name: "status", In: "query", Type: "string"}},
		Response: "StatementList"}, func(r *http.Request, sc scope.Scope) (any, error) {
		q := r.URL.Query()
		return list(as.ListStatements(r.Context(), sc, assurance.StatementFilter{CampaignID: q.Get("campaign"), SupplierID: q.Get("supplier"), Status: q.Get("status")}))
	})
	a.route(rt, spec{Method: "GET", Path: "/assurance/statements/{id}", Tag: "assurance", Summary: "One statement: each requirement's answer, review, evidence and conversation (the last two for the supplier and assessors only), its score and what you may do",
		Params: []param{id}, Response: "Statement"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return as.GetStatement(r.Context(), sc, r.PathValue("id"))
	})
	a.route(rt, spec{Method: "GET", Path: "/assurance/statements/{id}/score", Tag: "assurance", Summary: "A statement's score broken down by objective, principle and requirement (weight × answer), with the method",
		Params: []param{id}, Response: "StatementScore"}, func(r *http.Request, sc scope.Scope) (any, error) {
		st, err := as.GetStatement(r.Context(), sc, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		return st.Score, nil
	})
	a.route(rt, spec{Method: "PUT", Path: "/assurance/statements/{id}/answers/{seq}", Tag: "assurance", Summary: "Answer one requirement (the supplier's representatives; a draft, or a queried answer of a returned statement)",
		Params: []param{id, seq}, Body: "AnswerInput", Response: "Statement"}, func(r *http.Request, sc scope.Scope) (any, error) {
		n, err := seqParam(r)
		if err != nil {
			return nil, err
		}
		var in assurance.AnswerInput
		if err := decode(r, &in); err != nil {
			return nil, err
		}
		return as.SaveAnswer(r.Context(), sc, r.PathValue("id"), n, in)
	})
	a.route(rt, spec{Method: "POST", Path: "/assurance/statements/{id}/answers/{seq}/evidence", Tag: "assurance",
		Summary: "Add evidence to an answer: a file (multipart/form-data part \"file\", at most 10 MiB, kept with its SHA-256) or a JSON https link",
		Params:  []param{id, seq}, Body: "EvidenceLink", Upload: true, Response: "Evidence", Status: 201}, a.addEvidence)
	a.route(rt, spec{Method: "POST", Path: "/assurance/statements/{id}/answers/{seq}/comments", Tag: "assurance", Summary: "Add to an answer's conversation (the supplier's representatives and the assessors)",
		Params: []param{id, seq}, Body: "AnswerComment", Response: "Statement", Status: 201}, func(r *http.Request, sc scope.Scope) (any, error) {
		n, err := seqParam(r)
		if err != nil {
			return nil, err
		}
		var b AnswerComment
		if err := decode(r, &b); err != nil {
			return nil, err
		}
		st, err := as.Comment(r.Context(), sc, r.PathValue("id"), n, b.Body)
		if err != nil {
			return nil, err
		}
		return created{st}, nil
	})
	a.route(rt, spec{Method: "POST", Path: "/assurance/statements/{id}/answers/{seq}/review", Tag: "assurance", Summary: "Accept, query or reject one answer (assessors); a query returns the statement to the supplier",
		Params: []param{id, seq}, Body: "AnswerReview", Response: "Statement"}, func(r *http.Request, sc scope.Scope) (any, error) {
		n, err := seqParam(r)
		if err != nil {
			return nil, err
		}
		var b AnswerReview
		if err := decode(r, &b); err != nil {
			return nil, err
		}
		return as.Review(r.Context(), sc, r.PathValue("id"), n, b.Decision, b.Note)
	})
	a.route(rt, spec{Method: "POST", Path: "/assurance/statements/{id}/submit", Tag: "assurance", Summary: "Sign and submit a statement with every requirement answered (the supplier's representatives)",
		Params: []param{id}, Body: "StatementSubmit", Response: "Statement"}, func(r *http.Request, sc scope.Scope) (any, error) {
		var b StatementSubmit
		if err := decode(r, &b); err != nil {
			return nil, err
		}
		return as.Submit(r.Context(), sc, r.PathValue("id"), b.Role)
	})
	a.route(rt, spec{Method: "POST", Path: "/assurance/statements/{id}/accept", Tag: "assurance", Summary: "Accept a submitted statement whose every answer is accepted or rejected (assessors); deploying organisations then see it",
		Params: []param{id}, Response: "Statement"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return as.Accept(r.Context(), sc, r.PathValue("id"))
	})
	a.routeRaw(rt, spec{Method: "GET", Path: "/assurance/evidence/{id}", Tag: "assurance",
		Summary: "Download an evidence file, always as an attachment (the supplier's representatives and the assessors)",
		Params:  []param{id}, Binary: true}, a.downloadEvidence)
	a.registerCampaignUpkeep(rt)
}

func seqParam(r *http.Request) (int, error) {
	n, err := strconv.Atoi(r.PathValue("seq"))
	if err != nil || n < 1 {
		return 0, fault.Invalidf("seq", "%q is not a requirement number (1, 2, …)", r.PathValue("seq"))
	}
	return n, nil
}

// addEvidence takes a multipart file part "file", or a JSON link.
func (a *API) addEvidence(r *http.Request, sc scope.Scope) (any, error) {
	n, err := seqParam(r)
	if err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		var l EvidenceLink
		if err := decode(r, &l); err != nil {
			return nil, err
		}
		var e assurance.Evidence
		if l.Certificate != "" {
			e, err = a.o.Assurance.AddEvidenceCertificate(r.Context(), sc, id, n, l.Certificate)
		} else {
			e, err = a.o.Assurance.AddEvidenceLink(r.Context(), sc, id, n, l.Name, l.URL)
		}
		if err != nil {
			return nil, err
		}
		return created{e}, nil
	}
	// Check the statement before reading the file, so nobody learns a
	// limit or sends bytes for a statement they cannot see.
	if _, err := a.o.Assurance.GetStatement(r.Context(), sc, id); err != nil {
		return nil, err
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, fault.Invalidf("file", "multipart upload: %v", err)
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, fault.Invalidf("file", "the upload has no file part")
		}
		if err != nil {
			return nil, fault.Invalidf("file", "multipart upload: %v", err)
		}
		if part.FileName() == "" {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(part, assurance.MaxEvidence+1))
		if err != nil {
			return nil, fault.Invalidf("file", "could not be read: %v", err)
		}
		e, err := a.o.Assurance.AddEvidenceFile(r.Context(), sc, id, n, part.FileName(), data)
		if err != nil {
			return nil, err
		}
		return created{e}, nil
	}
}

// downloadEvidence sends an evidence file so that no browser renders it,
// as downloadAttachment does for case evidence.
func (a *API) downloadEvidence(w http.ResponseWriter, r *http.Request, sc scope.Scope) error {
	e, data, err := a.o.Assurance.OpenEvidence(r.Context(), sc, r.PathValue("id"))
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", e.ContentType)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": e.Name}))
	h.Set("Content-Length", strconv.Itoa(len(data)))
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data) // a failed write: the client has gone
	return nil
}

func (a *API) listSets(r *http.Request, _ scope.Scope) (any, error) {
	return a.o.Assurance.List(r.Context())
}

func (a *API) getSet(r *http.Request, _ scope.Scope) (any, error) {
	return a.o.Assurance.Get(r.Context(), r.PathValue("id"))
}

func (a *API) orgDSPT(r *http.Request, sc scope.Scope) (any, error) {
	return a.o.Assurance.OrgDSPT(r.Context(), sc, r.PathValue("code"))
}

func (a *API) supplierDSPT(r *http.Request, sc scope.Scope) (any, error) {
	return a.o.Assurance.SupplierDSPT(r.Context(), sc, r.PathValue("id"))
}

func (a *API) supplierCertificates(r *http.Request, sc scope.Scope) (any, error) {
	return a.o.Assurance.Certificates(r.Context(), sc, r.PathValue("id"))
}

func (a *API) putCertificate(r *http.Request, sc scope.Scope) (any, error) {
	var c assurance.Certificate
	if err := decode(r, &c); err != nil {
		return nil, err
	}
	if err := pathID(r, "supplier_id", &c.SupplierID); err != nil {
		return nil, err
	}
	return a.o.Assurance.PutCertificate(r.Context(), sc, c)
}
