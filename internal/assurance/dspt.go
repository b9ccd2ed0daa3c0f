package assurance

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/supply"
)

// The Data Security and Protection Toolkit (DSPT) is NHS England's annual
// self-assessment; each organisation's published status for an edition is
// one of four (DSPTLevels). The published snapshots are CSV files of the
// DSPT portal's organisation search joined to ODS data (shared/data/nhs/
// README.md): a header row naming the columns, the organisation's code in
// "Code" or "ODS Code", its status ("22/23 Standards Met") in "Status" or
// "Latest.Status", and sometimes "Date Of Publication" (dd/mm/yyyy).
// "Not Published", "#N/A" and empty statuses say nothing and are skipped
// (counted); any other status is an error naming file and line.
//
// The snapshot's date is what orders two snapshots of one edition: a
// later snapshot replaces an organisation's status for that edition, an
// earlier one never overwrites it. It is read from the file name
// (…_16_11_23.csv, …snapshot09_09_22.csv, …_20220208.csv) or given.

// DSPTLevel is a DSPT status.
type DSPTLevel string

// The four published statuses, best first.
const (
	DSPTExceeded    DSPTLevel = "exceeded"
	DSPTMet         DSPTLevel = "met"
	DSPTApproaching DSPTLevel = "approaching"
	DSPTNotMet      DSPTLevel = "not_met"
)

// Label is the status as the DSPT publishes it.
func (l DSPTLevel) Label() string {
	switch l {
	case DSPTExceeded:
		return "Standards Exceeded"
	case DSPTMet:
		return "Standards Met"
	case DSPTApproaching:
		return "Approaching Standards"
	case DSPTNotMet:
		return "Standards Not Met"
	}
	return string(l)
}

// MeetsStandard reports whether the status is Met or Exceeded (what DTAC
// C2, for one, asks of a supplier).
func (l DSPTLevel) MeetsStandard() bool { return l == DSPTExceeded || l == DSPTMet }

// DSPTStatus is an organisation's published status for one edition.
type DSPTStatus struct {
	OrgCode string `json:"org_code"`
	// Edition is the toolkit year, "2022-23".
	Edition string    `json:"edition"`
	Level   DSPTLevel `json:"level"`
	// Status is the level as published ("Standards Met").
	Status string `json:"status"`
	// Published is the date the organisation published (YYYY-MM-DD), where
	// the snapshot gives it.
	Published string `json:"published,omitempty"`
	OrgName   string `json:"org_name,omitempty"`
	// Snapshot is the date the statuses were downloaded (YYYY-MM-DD).
	Snapshot   string `json:"snapshot"`
	Source     string `json:"source"`
	ImportedAt string `json:"imported_at,omitempty"`
}

// DSPTFile is what one snapshot held.
type DSPTFile struct {
	File     string `json:"file"`
	Snapshot string `json:"snapshot"`
	Rows     int    `json:"rows"`
	Statuses int    `json:"statuses"`
	// Skipped counts rows with no published status (Not Published, #N/A,
	// empty).
	Skipped int `json:"skipped"`
}

// DSPTReport is what an import did.
type DSPTReport struct {
	Files     []DSPTFile `json:"files"`
	Created   int        `json:"created"`
	Updated   int        `json:"updated"`
	Unchanged int        `json:"unchanged"`
	// Older counts statuses left alone because a later snapshot of that
	// edition is held.
	Older int `json:"older"`
}

var (
	dsptStatus = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(\d\d)/(\d\d) (Standards Exceeded|Standards Met|Approaching Standards|Standards Not Met)$`)
	})
	dsptDMY     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(\d\d)_(\d\d)_(\d\d)(?:\D|$)`) })
	dsptYMD     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(20\d\d)(\d\d)(\d\d)(?:\D|$)`) })
	odsCodeLike = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Z0-9]{3,6}$`) })
)

var dsptLevels = map[string]DSPTLevel{"Standards Exceeded": DSPTExceeded, "Standards Met": DSPTMet, "Approaching Standards": DSPTApproaching, "Standards Not Met": DSPTNotMet}

// DSPTSnapshotDate reads a snapshot's date from its file name, or "".
func DSPTSnapshotDate(name string) string {
	base := filepath.Base(name)
	if m := dsptYMD().FindStringSubmatch(base); m != nil {
		if d, err := time.Parse("20060102", m[1]+m[2]+m[3]); err == nil {
			return d.Format(time.DateOnly)
		}
	}
	if m := dsptDMY().FindStringSubmatch(base); m != nil {
		if d, err := time.Parse("020106", m[1]+m[2]+m[3]); err == nil {
			return d.Format(time.DateOnly)
		}
	}
	return ""
}

// ParseDSPT reads one snapshot. snapshot (YYYY-MM-DD) overrides the date
// the file name gives; a name that gives none needs it. Errors name the
// file and line; a runtime panic becomes one.
func ParseDSPT(name string, data []byte, snapshot string) (out []DSPTStatus, f DSPTFile, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fault.Invalidf(name, "internal error reading this file: %v", r)
		}
	}()
	f = DSPTFile{File: filepath.Base(name), Snapshot: snapshot}
	if f.Snapshot == "" {
		f.Snapshot = DSPTSnapshotDate(name)
	}
	if f.Snapshot == "" {
		return nil, f, fault.Invalidf(name, "the file name gives no snapshot date (…_16_11_23.csv or …_20231116.csv): give it (--snapshot YYYY-MM-DD)")
	}
	if _, err := time.Parse(time.DateOnly, f.Snapshot); err != nil {
		return nil, f, fault.Invalidf("snapshot", "%q is not a date (YYYY-MM-DD)", f.Snapshot)
	}
	if len(data) > MaxFileBytes {
		return nil, f, fault.Invalidf(name, "is larger than %d bytes", MaxFileBytes)
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err != nil {
		return nil, f, fault.Invalidf(name, "line 1: no header row: %v", csvReason(err))
	}
	col := func(names ...string) int {
		for _, n := range names {
			for i, h := range head {
				if strings.TrimSpace(h) == n {
					return i
				}
			}
		}
		return -1
	}
	code, status := col("Code", "ODS Code"), col("Status", "Latest.Status")
	published, orgName := col("Date Of Publication", "Date.Of.Publication"), col("Organisation Name", "ODS Org Name", "Organisation.Name", "Name", "LOC22NM")
	if code < 0 || status < 0 {
		return nil, f, fault.Invalidf(name, "line 1: the header needs a Code (or ODS Code) and a Status (or Latest.Status) column")
	}
	seen := map[string]int{} // code/edition → index in out
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, f, fault.Invalidf(name, "%v", csvReason(err))
		}
		line, _ := r.FieldPos(0)
		f.Rows++
		cell := func(i int) string {
			if i < 0 || i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		st := cell(status)
		if st == "" || st == "Not Published" || st == "#N/A" {
			f.Skipped++
			continue
		}
		m := dsptStatus().FindStringSubmatch(st)
		if m == nil {
			return nil, f, fault.Invalidf(fmt.Sprintf("%s:%d", name, line), "status %q is not \"YY/YY Standards Exceeded|Standards Met|Approaching Standards|Standards Not Met\", Not Published or #N/A", st)
		}
		c := strings.ToUpper(cell(code))
		if !odsCodeLike().MatchString(c) {
			return nil, f, fault.Invalidf(fmt.Sprintf("%s:%d", name, line), "organisation code %q is not an ODS code", c)
		}
		s := DSPTStatus{OrgCode: c, Edition: "20" + m[1] + "-" + m[2], Level: dsptLevels[m[3]], Status: m[3], OrgName: cell(orgName), Snapshot: f.Snapshot, Source: f.File}
		if p := cell(published); p != "" {
			d, err := time.Parse("02/01/2006", p)
			if err != nil {
				return nil, f, fault.Invalidf(fmt.Sprintf("%s:%d", name, line), "date of publication %q is not dd/mm/yyyy", p)
			}
			s.Published = d.Format(time.DateOnly)
		}
		k := s.OrgCode + "/" + s.Edition
		if i, dup := seen[k]; dup {
			if out[i].Level != s.Level {
				return nil, f, fault.Invalidf(fmt.Sprintf("%s:%d", name, line), "%s has %s for %s here and %s on an earlier line", c, s.Status, s.Edition, out[i].Status)
			}
			continue // the same status twice (an organisation listed once per successor)
		}
		seen[k] = len(out)
		out = append(out, s)
		f.Statuses++
	}
	return out, f, nil
}

func csvReason(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("line %d column %d: %v", pe.Line, pe.Column, pe.Err)
	}
	return err.Error()
}

// DSPTInput is one snapshot file to import.
type DSPTInput struct {
	Name string
	Data []byte
	// Snapshot overrides the date the name gives.
	Snapshot string
}

// ImportDSPT reads every snapshot, then stores them in one transaction
// with one audit entry: all or nothing. Files are applied in snapshot
// order, so the result is the same whatever order they are given in.
func (s *Service) ImportDSPT(ctx context.Context, sc scope.Scope, files []DSPTInput) (DSPTReport, error) {
	if err := mayImport(sc); err != nil {
		return DSPTReport{}, err
	}
	var rep DSPTReport
	var all []DSPTStatus
	for _, in := range files {
		sts, f, err := ParseDSPT(in.Name, in.Data, in.Snapshot)
		if err != nil {
			return DSPTReport{}, err
		}
		rep.Files = append(rep.Files, f)
		all = append(all, sts...)
	}
	at := s.now().UTC().Format(time.RFC3339)
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		rep.Created, rep.Updated, rep.Unchanged, rep.Older = 0, 0, 0, 0
		for _, st := range all {
			var snap, status, published, name string
			err := tx.QueryRowContext(ctx, `SELECT snapshot, status, published, org_name FROM assurance_dspt WHERE org_code = ? AND edition = ?`, st.OrgCode, st.Edition).Scan(&snap, &status, &published, &name)
			switch {
			case err == nil && snap > st.Snapshot:
				rep.Older++
				continue
			case err == nil && snap == st.Snapshot && status == string(st.Level) && published == st.Published && name == st.OrgName:
				rep.Unchanged++
				continue
			case err == nil:
				if _, err := tx.ExecContext(ctx, `UPDATE assurance_dspt SET status = ?, published = ?, org_name = ?, snapshot = ?, source = ?, imported_at = ? WHERE org_code = ? AND edition = ?`,
					string(st.Level), st.Published, st.OrgName, st.Snapshot, st.Source, at, st.OrgCode, st.Edition); err != nil {
					return fmt.Errorf("assurance: update DSPT %s %s: %w", st.OrgCode, st.Edition, err)
				}
				rep.Updated++
			case isNoRows(err):
				if _, err := tx.ExecContext(ctx, `INSERT INTO assurance_dspt (org_code, edition, status, published, org_name, snapshot, source, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
					st.OrgCode, st.Edition, string(st.Level), st.Published, st.OrgName, st.Snapshot, st.Source, at); err != nil {
					return fmt.Errorf("assurance: insert DSPT %s %s: %w", st.OrgCode, st.Edition, err)
				}
				rep.Created++
			default:
				return fmt.Errorf("assurance: read DSPT %s %s: %w", st.OrgCode, st.Edition, err)
			}
		}
		if rep.Created+rep.Updated == 0 {
			return nil
		}
		_, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "assurance.dspt.import", ObjectType: "dspt-snapshot", ObjectID: strings.Join(fileNames(rep.Files), ","),
			After: map[string]any{"files": rep.Files, "created": rep.Created, "updated": rep.Updated}})
		return err
	})
	if err != nil {
		return DSPTReport{}, err
	}
	return rep, nil
}

func fileNames(fs []DSPTFile) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.File
	}
	return out
}

// OrgSource finds an organisation the caller may see (org.Service does):
// anything else is fault.ErrNotFound.
type OrgSource interface {
	Get(ctx context.Context, sc scope.Scope, code string) (org.Org, error)
}

// SupplierSource finds a supplier the caller may see (supply.Service
// does); anything else is fault.ErrNotFound.
type SupplierSource interface {
	GetSupplier(ctx context.Context, sc scope.Scope, id string) (supply.Supplier, error)
}

// OrgDSPT lists an organisation's DSPT statuses, newest edition first. An
// organisation the caller may not see is not found, whatever is held.
func (s *Service) OrgDSPT(ctx context.Context, sc scope.Scope, code string) ([]DSPTStatus, error) {
	if s.orgs == nil {
		return nil, errors.New("assurance: Options.Orgs is not set")
	}
	code = strings.ToUpper(strings.TrimSpace(code))
	if _, err := s.orgs.Get(ctx, sc, code); err != nil {
		return nil, err
	}
	return s.dsptFor(ctx, code)
}

// SupplierDSPT lists the DSPT statuses of a supplier that is an NHS body
// (its register row has an ODS code); empty for one that is not. The
// statuses are published data, so whoever may see the supplier sees them.
func (s *Service) SupplierDSPT(ctx context.Context, sc scope.Scope, supplierID string) ([]DSPTStatus, error) {
	if s.suppliers == nil {
		return nil, errors.New("assurance: Options.Suppliers is not set")
	}
	sup, err := s.suppliers.GetSupplier(ctx, sc, supplierID)
	if err != nil {
		return nil, err
	}
	ods := sup.ODSCode
	if ods == "" {
		return []DSPTStatus{}, nil
	}
	return s.dsptFor(ctx, strings.ToUpper(ods))
}

func (s *Service) dsptFor(ctx context.Context, code string) ([]DSPTStatus, error) {
	rows, err := s.db.Q().QueryContext(ctx, `SELECT org_code, edition, status, published, org_name, snapshot, source, imported_at FROM assurance_dspt WHERE org_code = ? ORDER BY edition DESC`, code)
	if err != nil {
		return nil, fmt.Errorf("assurance: DSPT for %s: %w", code, err)
	}
	defer rows.Close()
	out := []DSPTStatus{}
	for rows.Next() {
		var st DSPTStatus
		if err := rows.Scan(&st.OrgCode, &st.Edition, &st.Level, &st.Published, &st.OrgName, &st.Snapshot, &st.Source, &st.ImportedAt); err != nil {
			return nil, fmt.Errorf("assurance: DSPT for %s: %w", code, err)
		}
		st.Status = st.Level.Label()
		out = append(out, st)
	}
	return out, rows.Err()
}

// DSPTCounts counts the statuses held per edition and level, for the CLI.
func (s *Service) DSPTCounts(ctx context.Context) (map[string]map[DSPTLevel]int, error) {
	rows, err := s.db.Q().QueryContext(ctx, `SELECT edition, status, COUNT(*) FROM assurance_dspt GROUP BY edition, status`)
	if err != nil {
		return nil, fmt.Errorf("assurance: DSPT counts: %w", err)
	}
	defer rows.Close()
	out := map[string]map[DSPTLevel]int{}
	for rows.Next() {
		var ed string
		var l DSPTLevel
		var n int
		if err := rows.Scan(&ed, &l, &n); err != nil {
			return nil, fmt.Errorf("assurance: DSPT counts: %w", err)
		}
		if out[ed] == nil {
			out[ed] = map[DSPTLevel]int{}
		}
		out[ed][l] = n
	}
	return out, rows.Err()
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
