package web

import (
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"strconv"

	"github.com/vigil-health/vigil/internal/geo"
	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/supply"
)

// Uploads: supplier register CSV/JSON files and ONS boundary GeoJSON.
//
// The forms are multipart and carry the session's CSRF token as their
// first field, "csrf". The router checks it before the handler runs by
// reading the form (r.PostFormValue parses a multipart body: up to 32 MB
// in memory, the rest in temporary files that net/http removes after the
// request), so a form without the token never reaches Import. The
// handlers then limit what they accept.

// maxUpload bounds the files of one upload.
const maxUpload = 32 << 20

type uploadFile struct {
	Name string
	Data []byte
}

// readUpload returns the files of field name, or a message for the form.
func readUpload(rw http.ResponseWriter, r *http.Request, field string, maxFiles int) ([]uploadFile, string) {
	if r.MultipartForm == nil {
		// Not parsed by the CSRF check (an API token would not need it):
		// parse under a limit.
		r.Body = http.MaxBytesReader(rw, r.Body, maxUpload+1<<20)
		if err := r.ParseMultipartForm(8 << 20); err != nil {
			var mb *http.MaxBytesError
			if errors.As(err, &mb) {
				return nil, "The upload is too large: send at most " + httpd.SizeText(maxUpload) + " at a time."
			}
			return nil, "Choose one or more files to upload."
		}
	}
	var fhs []*multipart.FileHeader
	if r.MultipartForm != nil {
		fhs = r.MultipartForm.File[field]
	}
	if len(fhs) == 0 {
		return nil, "Choose one or more files to upload."
	}
	if len(fhs) > maxFiles {
		return nil, "Upload at most " + strconv.Itoa(maxFiles) + " files at a time."
	}
	var total int64
	for _, fh := range fhs {
		total += fh.Size
	}
	if total > maxUpload {
		return nil, "The upload is too large: send at most " + httpd.SizeText(maxUpload) + " at a time."
	}
	out := make([]uploadFile, 0, len(fhs))
	for _, fh := range fhs {
		f, err := fh.Open()
		if err != nil {
			return nil, "Vigil could not read " + fh.Filename + ": upload it again."
		}
		b, err := io.ReadAll(io.LimitReader(f, maxUpload+1))
		_ = f.Close() // read only (memory or a temporary file net/http removes)
		if err != nil {
			return nil, "Vigil could not read " + fh.Filename + ": upload it again."
		}
		// Only the base name: a browser may send a path, and the name
		// picks the table (suppliers.csv, deployments.csv, …).
		out = append(out, uploadFile{Name: filepath.Base(filepath.ToSlash(fh.Filename)), Data: b})
	}
	return out, ""
}

type supplyImportData struct {
	Problem string
	Action  string
	Files   []string
	Report  *supply.ImportReport
}

func (w *Web) supplyImportForm(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	v := w.page(r, sc, "Import the supplier register", "suppliers")
	v.D = supplyImportData{}
	w.render(rw, r, http.StatusOK, "supply_import", v)
}

func (w *Web) supplyImport(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	d := supplyImportData{Action: "check"}
	if r.FormValue("action") == "import" {
		d.Action = "import"
	}
	files, problem := readUpload(rw, r, "files", 20)
	status := http.StatusOK
	if problem != "" {
		d.Problem, status = problem, http.StatusUnprocessableEntity
	} else {
		in := make([]supply.ImportFile, len(files))
		for i, f := range files {
			in[i] = supply.ImportFile{Name: f.Name, Data: f.Data}
			d.Files = append(d.Files, f.Name)
		}
		rep, err := w.o.Supply.Import(r.Context(), sc, in, supply.ImportOptions{DryRun: d.Action != "import", MaxErrors: 500})
		if err != nil {
			w.fail(rw, r, sc, err)
			return
		}
		d.Report = &rep
		if rep.ErrorCount > 0 {
			status = http.StatusUnprocessableEntity
		}
	}
	v := w.page(r, sc, "Import the supplier register", "suppliers")
	v.D = d
	w.render(rw, r, status, "supply_import", v)
}

type boundariesData struct {
	Counts  map[geo.Level]int
	Levels  []levelCount
	Problem string
	Action  string
	Reports []geo.ImportReport
	Applied bool
}

type levelCount struct {
	Level, Label string
	Count        int
}

func (w *Web) boundaryCounts(r *http.Request, d *boundariesData) error {
	c, err := w.o.Boundaries.Counts(r.Context())
	if err != nil {
		return err
	}
	d.Levels = []levelCount{{"region", "NHS England regions", c[geo.LevelRegion]}, {"icb", "Integrated care boards", c[geo.LevelICB]},
		{"sub-icb", "Sub-ICB locations", c[geo.LevelSubICB]}}
	return nil
}

// supplyBoundariesForm shows what is loaded and, to those who may, the
// upload form. Others are told it is not theirs to change (404, like
// any page outside their scope).
func (w *Web) supplyBoundariesForm(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	if w.o.Boundaries == nil || !geo.CanImport(sc) {
		w.errorPage(rw, r, &sc, http.StatusNotFound, "")
		return
	}
	var d boundariesData
	if err := w.boundaryCounts(r, &d); err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	v := w.page(r, sc, "Map boundaries", "suppliers")
	v.D = d
	w.render(rw, r, http.StatusOK, "supply_boundaries", v)
}

func (w *Web) supplyBoundaries(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	if w.o.Boundaries == nil || !geo.CanImport(sc) {
		w.errorPage(rw, r, &sc, http.StatusNotFound, "")
		return
	}
	d := boundariesData{Action: "check"}
	if r.FormValue("action") == "import" {
		d.Action = "import"
	}
	status := http.StatusOK
	files, problem := readUpload(rw, r, "files", 5)
	if problem != "" {
		d.Problem, status = problem, http.StatusUnprocessableEntity
	} else {
		// Check every file first, so a bad one stops the lot.
		bad := false
		for _, f := range files {
			rep, err := w.o.Boundaries.ImportGeoJSONFrom(r.Context(), sc, f.Name, bytes.NewReader(f.Data), true)
			if err != nil {
				w.fail(rw, r, sc, err)
				return
			}
			bad = bad || len(rep.Errors) > 0
			d.Reports = append(d.Reports, rep)
		}
		if bad {
			status = http.StatusUnprocessableEntity
		} else if d.Action == "import" {
			d.Reports = d.Reports[:0]
			for _, f := range files {
				rep, err := w.o.Boundaries.ImportGeoJSONFrom(r.Context(), sc, f.Name, bytes.NewReader(f.Data), false)
				if err != nil {
					w.fail(rw, r, sc, err)
					return
				}
				d.Reports = append(d.Reports, rep)
			}
			d.Applied = true
		}
	}
	if err := w.boundaryCounts(r, &d); err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	v := w.page(r, sc, "Map boundaries", "suppliers")
	v.D = d
	w.render(rw, r, status, "supply_boundaries", v)
}
