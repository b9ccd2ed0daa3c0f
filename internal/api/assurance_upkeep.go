package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"

	"github.com/vigil-health/vigil/internal/assurance"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/scope"
)

// CampaignClose closes a campaign.
type CampaignClose struct {
	Reason string `json:"reason,omitempty"`
}

// registerCampaignUpkeep adds issue 20's items 2-4 over campaigns:
// supplier tiers, editing and closing a campaign and its progress,
// single-use links, and the statement spreadsheet round trip. The
// assurance service decides who may.
func (a *API) registerCampaignUpkeep(rt *httpd.Router) {
	for name, t := range map[string]reflect.Type{
		"SupplierTiers":    reflect.TypeFor[List[assurance.SupplierTier]](),
		"CampaignEdit":     reflect.TypeFor[assurance.CampaignEdit](),
		"CampaignClose":    reflect.TypeFor[CampaignClose](),
		"CampaignProgress": reflect.TypeFor[assurance.Progress](),
		"NewLink":          reflect.TypeFor[assurance.NewLink](),
		"Link":             reflect.TypeFor[assurance.Link](),
		"Links":            reflect.TypeFor[List[assurance.Link]](),
		"SheetImport":      reflect.TypeFor[assurance.SheetImport](),
	} {
		a.AddSchema(name, t)
	}
	id := param{Name: "id", In: "path", Type: "string", Required: true}
	as := a.o.Assurance
	a.route(rt, spec{Method: "GET", Path: "/assurance/tiers", Tag: "assurance",
		Summary:  "Every supplier you see with its tier (tier-1 most demanding) and the rule, deployment or product that put it there (supply-chain managers)",
		Response: "SupplierTiers"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return list(as.Tiers(r.Context(), sc))
	})
	a.route(rt, spec{Method: "PATCH", Path: "/assurance/campaigns/{id}", Tag: "assurance", Summary: "Rename a campaign or move its deadline (its assessors, while it is open)",
		Params: []param{id}, Body: "CampaignEdit", Response: "Campaign"}, func(r *http.Request, sc scope.Scope) (any, error) {
		var e assurance.CampaignEdit
		if err := decode(r, &e); err != nil {
			return nil, err
		}
		return as.EditCampaign(r.Context(), sc, r.PathValue("id"), e)
	})
	a.route(rt, spec{Method: "POST", Path: "/assurance/campaigns/{id}/close", Tag: "assurance", Summary: "Close a campaign: suppliers answer no more and reminders stop; submitted statements may still be reviewed",
		Params: []param{id}, Body: "CampaignClose", Response: "Campaign"}, func(r *http.Request, sc scope.Scope) (any, error) {
		var b CampaignClose
		if r.ContentLength != 0 { // the reason is optional, and so is the body
			if err := decode(r, &b); err != nil {
				return nil, err
			}
		}
		return as.CloseCampaign(r.Context(), sc, r.PathValue("id"), b.Reason)
	})
	a.route(rt, spec{Method: "GET", Path: "/assurance/campaigns/{id}/progress", Tag: "assurance",
		Summary: "A campaign's progress: statements invited, draft, submitted, queried, accepted and overdue, by tier, the overdue suppliers and the reminders sent",
		Params:  []param{id}, Response: "CampaignProgress"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return as.CampaignProgress(r.Context(), sc, r.PathValue("id"))
	})
	a.route(rt, spec{Method: "POST", Path: "/assurance/statements/{id}/links", Tag: "assurance",
		Summary: "Make a single-use link for a supplier's first response to a draft statement (assessors); the token is in the answer only",
		Params:  []param{id}, Body: "NewLink", Response: "Link", Status: 201}, func(r *http.Request, sc scope.Scope) (any, error) {
		var n assurance.NewLink
		if err := decode(r, &n); err != nil {
			return nil, err
		}
		l, err := as.CreateLink(r.Context(), sc, r.PathValue("id"), n)
		if err != nil {
			return nil, err
		}
		return created{l}, nil
	})
	a.route(rt, spec{Method: "GET", Path: "/assurance/statements/{id}/links", Tag: "assurance", Summary: "A statement's single-use links, when made and used (assessors; never the tokens)",
		Params: []param{id}, Response: "Links"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return list(as.ListLinks(r.Context(), sc, r.PathValue("id")))
	})
	a.route(rt, spec{Method: "POST", Path: "/assurance/statements/{id}/links/{link}/revoke", Tag: "assurance",
		Summary: "Revoke a single-use link before it expires (assessors): unused, it no longer opens; used, its session ends",
		Params:  []param{id, {Name: "link", In: "path", Type: "string", Required: true}}, Response: "Link"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return as.RevokeLink(r.Context(), sc, r.PathValue("id"), r.PathValue("link"))
	})
	a.routeRaw(rt, spec{Method: "GET", Path: "/assurance/statements/{id}/spreadsheet", Tag: "assurance",
		Summary: "A statement's requirements and answers as a spreadsheet to fill in (format xlsx or csv; the supplier's representatives and the assessors)",
		Params:  []param{id, {Name: "format", In: "query", Type: "string", Desc: "xlsx (default) or csv"}}, Binary: true},
		func(w http.ResponseWriter, r *http.Request, sc scope.Scope) error {
			name, ct, data, err := as.ExportSheet(r.Context(), sc, r.PathValue("id"), r.URL.Query().Get("format"))
			if err != nil {
				return err
			}
			httpd.SendAttachment(w, name, ct, data)
			return nil
		})
	a.route(rt, spec{Method: "POST", Path: "/assurance/statements/{id}/spreadsheet", Tag: "assurance",
		Summary: "Import a filled-in statement spreadsheet (multipart part \"file\", XLSX or CSV, at most 5 MiB): all answers or none, every bad cell named by sheet, row and column",
		Params:  []param{id}, Upload: true, Response: "SheetImport"}, func(r *http.Request, sc scope.Scope) (any, error) {
		id := r.PathValue("id")
		// Who may, before reading the file.
		if _, err := as.GetStatement(r.Context(), sc, id); err != nil {
			return nil, err
		}
		name, data, err := sheetUpload(r, assurance.MaxSheet)
		if err != nil {
			return nil, err
		}
		res, err := as.ImportSheet(r.Context(), sc, id, name, data)
		var se *assurance.SheetError
		if errors.As(err, &se) {
			return nil, sheetProblem{se}
		}
		return res, err
	})
}

// sheetProblem is a refused spreadsheet as a problem document: one error
// per bad cell, its field "SHEET row R column C (HEADER)".
type sheetProblem struct{ *assurance.SheetError }

func (e sheetProblem) problem() Problem {
	p := Problem{Type: TypeValidation, Title: "Invalid spreadsheet", Status: http.StatusBadRequest,
		Detail: fmt.Sprintf("%s: %d bad cells; nothing was imported", e.File, len(e.Cells))}
	for _, c := range e.Cells {
		f := fmt.Sprintf("%s row %d", c.Sheet, c.Row)
		if c.Column != "" {
			f += " column " + c.Column
		}
		p.Errors = append(p.Errors, FieldError{Field: f, Reason: c.Reason})
	}
	return p
}

// sheetUpload reads the first file part of a multipart body, at most max
// bytes.
func sheetUpload(r *http.Request, max int) (string, []byte, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		return "", nil, fault.Invalidf("file", "send the spreadsheet as multipart/form-data with a file part")
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return "", nil, fault.Invalidf("file", "multipart upload: %v", err)
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return "", nil, fault.Invalidf("file", "the upload has no file part")
		}
		if err != nil {
			return "", nil, fault.Invalidf("file", "multipart upload: %v", err)
		}
		if part.FileName() == "" {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(part, int64(max)+1))
		if err != nil {
			return "", nil, fault.Invalidf("file", "could not be read: %v", err)
		}
		if len(data) > max {
			return "", nil, fault.Invalidf("file", "%s is larger than %s, the most accepted", part.FileName(), httpd.SizeText(int64(max)))
		}
		return part.FileName(), data, nil
	}
}
