package rules

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/sigma"
	"github.com/vigil-health/vigil/internal/store"
)

// Limits of one import.
const (
	// MaxFiles is the most rule files one import reads.
	MaxFiles = 20_000
	// MaxFileBytes is the largest rule file read (SigmaHQ's largest is
	// under 100 KB).
	MaxFileBytes = 1 << 20
	// MaxNote is the longest change note, in characters.
	MaxNote = 500
)

// File is one rule file to import: its name in the pack and its text.
type File struct {
	Name string
	Data []byte
}

// ImportReport says what an import did.
type ImportReport struct {
	Pack string `json:"pack"`
	// Files is how many rule files were read.
	Files int `json:"files"`
	// Added are rules new to the store, Updated rules whose text changed
	// (a new version each), Unchanged rules whose text was already stored.
	Added     []string `json:"added"`
	Updated   []string `json:"updated"`
	Unchanged int      `json:"unchanged"`
	// Failed are the files not stored, each with its file, line and
	// reason.
	Failed []*sigma.Error `json:"failed"`
}

// ImportPath imports the rule files of a directory, a single rule file or
// a zip archive (a SigmaHQ release such as sigma_all_rules.zip, whose
// rules lie under rules/…). pack names the source; "" takes the
// directory's or archive's base name.
func (s *Service) ImportPath(ctx context.Context, sc scope.Scope, p, pack, note string) (ImportReport, error) {
	if err := mayChangeAll(sc); err != nil {
		return ImportReport{}, err
	}
	st, err := os.Stat(p)
	if err != nil {
		return ImportReport{}, fault.Invalidf("path", "%v", err)
	}
	if pack == "" {
		pack = strings.TrimSuffix(filepath.Base(filepath.Clean(p)), filepath.Ext(p))
	}
	var files []File
	switch {
	case st.IsDir():
		files, err = readFS(os.DirFS(p), ".")
	case strings.EqualFold(filepath.Ext(p), ".zip"):
		var z *zip.ReadCloser
		z, err = zip.OpenReader(p)
		if err != nil {
			return ImportReport{}, fault.Invalidf("path", "%s is not a zip archive Vigil can read: %v", p, err)
		}
		defer func() { _ = z.Close() }() // read only
		files, err = readFS(z, ".")
	default:
		var b []byte
		b, err = readLimited(p)
		files = []File{{Name: filepath.Base(p), Data: b}}
	}
	if err != nil {
		return ImportReport{}, fault.Invalidf("path", "%v", err)
	}
	return s.Import(ctx, sc, pack, note, files)
}

func readLimited(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read only
	return readAllLimited(f, p)
}

func readAllLimited(r io.Reader, name string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(b) > MaxFileBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, MaxFileBytes)
	}
	return b, nil
}

// readFS reads every *.yml and *.yaml file under root, skipping hidden
// directories, in path order. Sizes are checked as the files are read,
// not trusted from an archive's directory.
func readFS(fsys fs.FS, root string) ([]File, error) {
	var out []File
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		if !(strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml")) || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		if len(out) >= MaxFiles {
			return fmt.Errorf("more than %d rule files: import the pack in parts", MaxFiles)
		}
		f, err := fsys.Open(p)
		if err != nil {
			return err
		}
		b, err := readAllLimited(f, p)
		_ = f.Close() // read only
		if err != nil {
			return err
		}
		out = append(out, File{Name: path.Clean(p), Data: b})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// parsed is a file that validated: its key rule's metadata.
type parsed struct {
	file  File
	id    string
	meta  *sigma.Rule // the key rule's metadata (a correlation's is copied in)
	sum   string
	level string
}

// validate loads one file as detection would: every rule compiles, every
// filter compiles, correlations parse (their references are resolved when
// detection loads the whole set). It returns the file's key id and
// metadata.
func (s *Service) validate(f File) (parsed, error) {
	col, err := sigma.ParseCollection(f.Data, f.Name)
	if err != nil {
		return parsed{}, err
	}
	for _, r := range col.Rules {
		if _, err := sigma.Compile(r, s.sigma); err != nil {
			return parsed{}, err
		}
	}
	for _, x := range col.Filters {
		if _, err := sigma.CompileFilter(x, s.sigma); err != nil {
			return parsed{}, err
		}
	}
	// The key: the first correlation with an id (what raises alerts),
	// else the first rule with one, else the first filter with one.
	p := parsed{file: f}
	for _, c := range col.Correlations {
		if c.ID != "" {
			p.id = c.ID
			p.meta = &sigma.Rule{ID: c.ID, Title: c.Title, Level: c.Level, Status: c.Status, Author: c.Author, Tags: c.Tags}
			break
		}
	}
	for _, r := range col.Rules {
		if p.meta == nil && r.ID != "" {
			p.id, p.meta = r.ID, r
		}
	}
	for _, x := range col.Filters {
		if p.meta == nil && x.ID != "" {
			p.id, p.meta = x.ID, &sigma.Rule{ID: x.ID, Title: x.Title, Status: "filter"}
		}
	}
	if p.meta == nil {
		p.meta = &sigma.Rule{}
	}
	if p.id == "" {
		return parsed{}, &sigma.Error{File: f.Name, Msg: "no rule in the file has an id: a stored rule is known by its Sigma id (a UUID); add one"}
	}
	if !validID(p.id) {
		return parsed{}, &sigma.Error{File: f.Name, Msg: fmt.Sprintf("id %q: want at most %d letters, digits, '.', '_' or '-' (a UUID)", p.id, MaxID)}
	}
	if p.meta.Title == "" {
		p.meta.Title = p.id
	}
	p.level = strings.ToLower(p.meta.Level)
	h := sha256.Sum256(f.Data)
	p.sum = hex.EncodeToString(h[:])
	return p, nil
}

// checkPack checks a pack name.
func checkPack(pack string) (string, error) {
	pack = strings.TrimSpace(pack)
	if pack == "" {
		return "", fault.Invalidf("pack", "is required: name where the rules come from")
	}
	if p := safetext.Problem(pack, safetext.Name, 100); p != "" {
		return "", fault.Invalidf("pack", "%s", p)
	}
	return pack, nil
}

func checkNote(note string) (string, error) {
	note = strings.TrimSpace(note)
	if p := safetext.Problem(note, safetext.Text, MaxNote); p != "" {
		return "", fault.Invalidf("note", "%s", p)
	}
	return note, nil
}

// Import validates files and stores those that load, in one transaction:
// a rule whose text changed gets a new version, an unchanged one nothing,
// and a stored rule the pack does not hold (or holds a broken copy of)
// stays as it was. Files that do not load are in ImportReport.Failed.
func (s *Service) Import(ctx context.Context, sc scope.Scope, pack, note string, files []File) (ImportReport, error) {
	if err := mayChangeAll(sc); err != nil {
		return ImportReport{}, err
	}
	pack, err := checkPack(pack)
	if err != nil {
		return ImportReport{}, err
	}
	if note, err = checkNote(note); err != nil {
		return ImportReport{}, err
	}
	rep := ImportReport{Pack: pack, Files: len(files), Added: []string{}, Updated: []string{}, Failed: []*sigma.Error{}}
	var ok []parsed
	seen := map[string]string{}
	for _, f := range files {
		p, err := s.validate(f)
		if err != nil {
			var e *sigma.Error
			if !errors.As(err, &e) {
				e = &sigma.Error{File: f.Name, Msg: err.Error()}
			}
			rep.Failed = append(rep.Failed, e)
			continue
		}
		if prev, dup := seen[p.id]; dup {
			rep.Failed = append(rep.Failed, &sigma.Error{File: f.Name, Msg: fmt.Sprintf("id %s is also the id of %s, imported instead", p.id, prev)})
			continue
		}
		seen[p.id] = f.Name
		ok = append(ok, p)
	}
	now := s.now()
	by := who(sc)
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		rep.Added, rep.Updated, rep.Unchanged = rep.Added[:0], rep.Updated[:0], 0
		stored, err := storedSums(ctx, tx)
		if err != nil {
			return err
		}
		for _, p := range ok {
			cur, exists := stored[p.id]
			switch {
			case !exists:
				if err := insertRule(ctx, tx, p, pack, by, note, now); err != nil {
					return err
				}
				rep.Added = append(rep.Added, p.id)
			case cur.sum != p.sum:
				if err := updateRule(ctx, tx, p, pack, cur.version+1, by, note, now); err != nil {
					return err
				}
				rep.Updated = append(rep.Updated, p.id)
			default:
				rep.Unchanged++
			}
		}
		if len(rep.Added)+len(rep.Updated) == 0 {
			return nil
		}
		if err := bump(ctx, tx); err != nil {
			return err
		}
		// One entry an import: the versions table holds each rule's
		// before and after text, with who and when.
		_, err = s.audit.Append(ctx, tx, sc, audit.Change{Action: "rule.import", ObjectType: "rule_pack", ObjectID: pack,
			After: map[string]any{"files": rep.Files, "added": clipIDs(rep.Added), "updated": clipIDs(rep.Updated),
				"unchanged": rep.Unchanged, "failed": len(rep.Failed), "note": note}})
		return err
	})
	if err != nil {
		return ImportReport{}, err
	}
	if len(rep.Added)+len(rep.Updated) > 0 {
		s.changed()
	}
	return rep, nil
}

// clipIDs keeps an audit entry a readable size.
func clipIDs(ids []string) []string {
	const max = 200
	if len(ids) <= max {
		return ids
	}
	return append(append([]string{}, ids[:max]...), fmt.Sprintf("… and %d more", len(ids)-max))
}

type storedSum struct {
	sum     string
	version int
}

func storedSums(ctx context.Context, q store.Queryer) (map[string]storedSum, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, sha256, version FROM sigma_rules`)
	if err != nil {
		return nil, fmt.Errorf("rules: read stored: %w", err)
	}
	defer rows.Close()
	out := map[string]storedSum{}
	for rows.Next() {
		var id string
		var x storedSum
		if err := rows.Scan(&id, &x.sum, &x.version); err != nil {
			return nil, err
		}
		out[id] = x
	}
	return out, rows.Err()
}

func insertRule(ctx context.Context, tx *store.Tx, p parsed, pack, by, note string, now time.Time) error {
	m := p.meta
	at := ts(now)
	if _, err := tx.ExecContext(ctx, `INSERT INTO sigma_rules (id, title, level, status, author, product, category, service, tags, pack, path,
		version, sha256, yaml, enabled, level_override, created_at, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, 1, '', ?, ?, ?)`,
		p.id, clip(m.Title, 500), p.level, m.Status, clip(m.Author, 500), m.Logsource.Product, m.Logsource.Category, m.Logsource.Service,
		strings.Join(m.Tags, " "), pack, p.file.Name, p.sum, string(p.file.Data), at, at, by); err != nil {
		return fmt.Errorf("rules: store %s: %w", p.id, err)
	}
	return insertVersion(ctx, tx, p, pack, 1, by, note, at)
}

func updateRule(ctx context.Context, tx *store.Tx, p parsed, pack string, version int, by, note string, now time.Time) error {
	m := p.meta
	at := ts(now)
	if _, err := tx.ExecContext(ctx, `UPDATE sigma_rules SET title = ?, level = ?, status = ?, author = ?, product = ?, category = ?, service = ?,
		tags = ?, pack = ?, path = ?, version = ?, sha256 = ?, yaml = ?, updated_at = ?, updated_by = ? WHERE id = ?`,
		clip(m.Title, 500), p.level, m.Status, clip(m.Author, 500), m.Logsource.Product, m.Logsource.Category, m.Logsource.Service,
		strings.Join(m.Tags, " "), pack, p.file.Name, version, p.sum, string(p.file.Data), at, by, p.id); err != nil {
		return fmt.Errorf("rules: update %s: %w", p.id, err)
	}
	return insertVersion(ctx, tx, p, pack, version, by, note, at)
}

func insertVersion(ctx context.Context, tx *store.Tx, p parsed, pack string, version int, by, note, at string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO sigma_rule_versions (rule_id, version, sha256, yaml, pack, path, changed_by, changed_at, note)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, p.id, version, p.sum, string(p.file.Data), pack, p.file.Name, by, at, note); err != nil {
		return fmt.Errorf("rules: store version %d of %s: %w", version, p.id, err)
	}
	return nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}

// LocalPack is the pack of rules written in the editor.
const LocalPack = "local"

// SaveRequest is an edit from the rule editor (or the API): the rule's
// whole text, the version it was edited from and why.
type SaveRequest struct {
	// ID is the rule being edited; "" saves a new rule under the id its
	// text gives.
	ID string `json:"id,omitempty"`
	// BaseVersion is the version the edit started from (0 for a new
	// rule): a save over a newer version is a conflict, not a silent
	// overwrite of someone else's edit.
	BaseVersion int    `json:"base_version"`
	YAML        string `json:"yaml"`
	Note        string `json:"note"`
}

// Save stores an edited rule as a new version (or a new rule), once it
// loads; unchanged text stores nothing. The text's id must be the rule's.
func (s *Service) Save(ctx context.Context, sc scope.Scope, in SaveRequest) (Rule, error) {
	if err := mayChangeAll(sc); err != nil {
		return Rule{}, err
	}
	note, err := checkNote(in.Note)
	if err != nil {
		return Rule{}, err
	}
	if strings.TrimSpace(in.YAML) == "" {
		return Rule{}, fault.Invalidf("yaml", "is empty: write the rule")
	}
	if len(in.YAML) > MaxFileBytes {
		return Rule{}, fault.Invalidf("yaml", "is larger than %d bytes", MaxFileBytes)
	}
	name := in.ID
	if name == "" {
		name = "new-rule"
	}
	p, err := s.validate(File{Name: name + ".yml", Data: []byte(in.YAML)})
	if err != nil {
		var e *sigma.Error
		if errors.As(err, &e) {
			return Rule{}, &fault.Invalid{Field: "yaml", Reason: fmt.Sprintf("line %d: %s", e.Line, e.Msg)}
		}
		return Rule{}, fault.Invalidf("yaml", "%v", err)
	}
	if in.ID != "" && p.id != in.ID {
		return Rule{}, fault.Invalidf("yaml", "the text's id is %s, not %s: a rule keeps its id (save another id as a new rule)", p.id, in.ID)
	}
	p.file.Name = p.id + ".yml"
	now := s.now()
	changed := false
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		var sum, pack, path string
		var version int
		err := tx.QueryRowContext(ctx, `SELECT sha256, version, pack, path FROM sigma_rules WHERE id = ?`, p.id).Scan(&sum, &version, &pack, &path)
		exists := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("rules: read %s: %w", p.id, err)
		}
		switch {
		case !exists && in.ID != "":
			return fault.NotFoundf("rule %s not found", in.ID)
		case exists && in.ID == "":
			return fault.Conflictf("a rule with id %s exists already: edit that rule, or give the new one another id", p.id)
		case exists && in.BaseVersion != version:
			return fault.Conflictf("rule %s is at version %d, and the edit began from version %d: reload it and edit again", p.id, version, in.BaseVersion)
		case exists && sum == p.sum:
			return nil
		case exists:
			p.file.Name = path
			if err := updateRule(ctx, tx, p, pack, version+1, who(sc), note, now); err != nil {
				return err
			}
		default:
			if err := insertRule(ctx, tx, p, LocalPack, who(sc), note, now); err != nil {
				return err
			}
		}
		changed = true
		if err := bump(ctx, tx); err != nil {
			return err
		}
		_, err = s.audit.Append(ctx, tx, sc, audit.Change{Action: "rule.save", ObjectType: "rule", ObjectID: p.id,
			Before: map[string]any{"version": version}, After: map[string]any{"version": version + 1, "sha256": p.sum, "note": note}})
		return err
	})
	if err != nil {
		return Rule{}, err
	}
	if changed {
		s.changed()
	}
	d, err := s.Get(ctx, sc, p.id)
	return d.Rule, err
}

// Uploaded turns uploaded files into rule files: a zip archive gives the
// rule files under it (named by their path in it), a *.yml or *.yaml file
// itself; anything else is refused, naming the file.
func Uploaded(name string, data []byte) ([]File, error) {
	switch ext := strings.ToLower(path.Ext(name)); ext {
	case ".zip":
		z, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return nil, fault.Invalidf("files", "%s is not a zip archive Vigil can read: %v", name, err)
		}
		files, err := readFS(z, ".")
		if err != nil {
			return nil, fault.Invalidf("files", "%s: %v", name, err)
		}
		return files, nil
	case ".yml", ".yaml":
		if len(data) > MaxFileBytes {
			return nil, fault.Invalidf("files", "%s is larger than %d bytes", name, MaxFileBytes)
		}
		return []File{{Name: path.Base(name), Data: data}}, nil
	}
	return nil, fault.Invalidf("files", "%s: send Sigma rule files (.yml, .yaml) or a zip archive of them", name)
}
