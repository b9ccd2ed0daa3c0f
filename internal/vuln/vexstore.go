package vuln

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/randid"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// VEX stored for a supplier product or an organisation (issue 18, item 3
// for stored findings), and the uploaded SBOM files kept for download.
//
// A VEX document (OpenVEX, CycloneDX VEX, CSAF VEX: ParseVEX) is stored
// whole for a product — it then speaks for every stored SBOM of the
// product — or for an organisation, for its inventories. Its statements
// are applied to those SBOMs' stored findings as `vigil vuln scan --vex`
// applies them (VEX.Apply: the last statement naming the vulnerability and
// the component decides), in the order the documents were stored; a
// suppressed finding carries the statement that suppressed it and the
// document's ID. They are applied again when VEX is stored or removed and
// whenever a match writes an SBOM's findings again (SBOMs.write). Storing
// and removing need what storing an SBOM there needs, and are audited
// (vuln.vex.add, vuln.vex.delete).

// maxVEXBytes bounds a stored VEX document.
const maxVEXBytes = 16 << 20

// StoredVEX is one stored VEX document.
type StoredVEX struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	Product    string    `json:"product_id,omitempty"`
	Org        string    `json:"org,omitempty"`
	Name       string    `json:"name"`
	Format     string    `json:"format"`
	SHA256     string    `json:"sha256"`
	Statements int       `json:"statements"`
	AddedBy    string    `json:"added_by"`
	AddedAt    time.Time `json:"added_at"`
	// Suppressed counts the stored findings it suppresses now.
	Suppressed int `json:"suppressed"`
}

func contentTypeOf(f Format) string {
	switch f {
	case CycloneDXJSON, SPDXJSON:
		return "application/json"
	case CycloneDXXML:
		return "application/xml"
	}
	return "text/plain; charset=utf-8"
}

// AddProductVEX stores a VEX document for a supplier product and applies
// it to the product's stored SBOMs. It needs the right to change the
// product.
func (s *SBOMs) AddProductVEX(ctx context.Context, sc scope.Scope, product, name string, data []byte) (StoredVEX, error) {
	p, err := s.o.Register.GetProduct(ctx, sc, product)
	if err != nil {
		return StoredVEX{}, err
	}
	if _, err := s.o.Register.EditableProduct(ctx, sc, p.ID); errors.Is(err, fault.ErrNotFound) {
		return StoredVEX{}, fault.Forbiddenf("storing VEX for product %s needs the right to change it (a supply-chain manager or the supplier's representative)", p.ID)
	} else if err != nil {
		return StoredVEX{}, err
	}
	return s.addVEX(ctx, sc, StoredVEX{Kind: KindProduct, Product: p.ID}, name, data)
}

// AddOrgVEX stores a VEX document for an organisation and applies it to
// its inventories. It needs write on the organisation.
func (s *SBOMs) AddOrgVEX(ctx context.Context, sc scope.Scope, orgCode, name string, data []byte) (StoredVEX, error) {
	code, err := s.orgAt(ctx, sc, orgCode, scope.Write)
	if err != nil {
		return StoredVEX{}, err
	}
	return s.addVEX(ctx, sc, StoredVEX{Kind: KindInventory, Org: code}, name, data)
}

func (s *SBOMs) addVEX(ctx context.Context, sc scope.Scope, x StoredVEX, name string, data []byte) (StoredVEX, error) {
	var err error
	if x.Name, err = checkName("name", filepath.Base(name), maxSBOMName); err != nil {
		return StoredVEX{}, err
	}
	if len(data) > maxVEXBytes {
		return StoredVEX{}, fault.Invalidf("file", "%s is %d bytes, more than the %d a VEX document may have", x.Name, len(data), maxVEXBytes)
	}
	sts, err := ParseVEX(x.Name, data)
	if err != nil {
		return StoredVEX{}, fault.Invalidf("file", "%v", err)
	}
	if len(sts) == 0 {
		return StoredVEX{}, fault.Invalidf("file", "%s has no VEX statement", x.Name)
	}
	x.Format, x.Statements = sts[0].Format, len(sts)
	sum := sha256.Sum256(data)
	x.SHA256 = hex.EncodeToString(sum[:])
	x.ID = "VEX-" + strings.TrimPrefix(randid.New(""), "-")[:12]
	x.AddedBy, x.AddedAt = actorName(sc), s.now()
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO vuln_vex (id, kind, product_id, org, name, format, sha256, statements, data, added_by, added_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, x.ID, x.Kind, x.Product, x.Org, x.Name, x.Format, x.SHA256, x.Statements, data, x.AddedBy, ts(x.AddedAt)); err != nil {
			return fmt.Errorf("vuln: store VEX: %w", err)
		}
		if err := s.applyOwner(ctx, tx, x.Kind, x.Product, x.Org); err != nil {
			return err
		}
		_, err := s.o.Audit.Append(ctx, tx, sc, audit.Change{Action: "vuln.vex.add", ObjectType: "vex", ObjectID: x.ID, Org: x.Org,
			After: map[string]any{"kind": x.Kind, "product": x.Product, "org": x.Org, "name": x.Name, "format": x.Format, "statements": x.Statements, "sha256": x.SHA256}})
		return err
	})
	if err != nil {
		return StoredVEX{}, err
	}
	return s.getVEX(ctx, x.ID)
}

// applyOwner applies the stored VEX again to every SBOM of a product or
// inventory of an organisation.
func (s *SBOMs) applyOwner(ctx context.Context, tx *store.Tx, kind, product, orgCode string) error {
	q, arg := `SELECT id FROM vuln_sboms WHERE kind = ? AND product_id = ? ORDER BY id`, product
	if kind == KindInventory {
		q, arg = `SELECT id FROM vuln_sboms WHERE kind = ? AND org = ? ORDER BY id`, orgCode
	}
	rows, err := tx.QueryContext(ctx, q, kind, arg)
	if err != nil {
		return err
	}
	ids, err := store.Collect(rows, func(r interface{ Scan(...any) error }) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.applyVEX(ctx, tx, id); err != nil {
			return err
		}
	}
	return nil
}

// vexConcerns tells which of the jobs' SBOMs applying VEX again could
// change: those whose product or organisation has VEX stored, and those
// with suppressions to undo. Two queries for a chunk, where applyVEX
// costs three round trips an SBOM even when there is nothing to apply.
func vexConcerns(ctx context.Context, tx *store.Tx, jobs []findingsJob, meta map[string]StoredSBOM) (map[string]bool, error) {
	out := map[string]bool{}
	if len(jobs) == 0 {
		return out, nil
	}
	type owner struct{ kind, product, org string }
	has := map[owner]bool{}
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT kind, product_id, org FROM vuln_vex`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var o owner
		if err := rows.Scan(&o.kind, &o.product, &o.org); err != nil {
			rows.Close()
			return nil, err
		}
		// Keyed as applyVEX reads it: a product's by product, an
		// organisation's by organisation.
		if o.kind == KindInventory {
			o.product = ""
		} else {
			o.org = ""
		}
		has[o] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, j := range jobs {
		x := meta[j.id]
		o := owner{kind: x.Kind, product: x.Product}
		if x.Kind == KindInventory {
			o = owner{kind: x.Kind, org: x.Org}
		}
		if has[o] {
			out[j.id] = true
		}
	}
	for lo := 0; lo < len(jobs); lo += maxParams {
		part := jobs[lo:min(lo+maxParams, len(jobs))]
		ids := make([]any, len(part))
		for i, j := range part {
			ids[i] = j.id
		}
		rows, err := tx.QueryContext(ctx, `SELECT DISTINCT sbom_id FROM vuln_suppressions WHERE sbom_id IN (`+placeholders(len(ids))+`)`, ids...)
		if err != nil {
			return nil, err
		}
		with, err := store.Collect(rows, func(r interface{ Scan(...any) error }) (string, error) {
			var id string
			return id, r.Scan(&id)
		})
		if err != nil {
			return nil, err
		}
		for _, id := range with {
			out[id] = true
		}
	}
	return out, nil
}

// applyVEX works out again which of an SBOM's stored findings its
// product's or organisation's stored VEX suppresses.
func (s *SBOMs) applyVEX(ctx context.Context, tx *store.Tx, sbomID string) error {
	var kind, product, orgCode string
	err := tx.QueryRowContext(ctx, `SELECT kind, product_id, org FROM vuln_sboms WHERE id = ?`, sbomID).Scan(&kind, &product, &orgCode)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM vuln_suppressions WHERE sbom_id = ?`, sbomID); err != nil {
		return err
	}
	q, arg := `SELECT id, name, data FROM vuln_vex WHERE kind = ? AND product_id = ? ORDER BY added_at, id`, product
	if kind == KindInventory {
		q, arg = `SELECT id, name, data FROM vuln_vex WHERE kind = ? AND org = ? ORDER BY added_at, id`, orgCode
	}
	rows, err := tx.QueryContext(ctx, q, kind, arg)
	if err != nil {
		return err
	}
	v := &VEX{}
	docOf := map[*VEXStatement]string{}
	type doc struct {
		id  string
		sts []VEXStatement
	}
	var docs []doc
	for rows.Next() {
		var id, name string
		var data []byte
		if err := rows.Scan(&id, &name, &data); err != nil {
			rows.Close()
			return err
		}
		sts, err := ParseVEX(name, data)
		if err != nil {
			rows.Close()
			return fmt.Errorf("vuln: stored VEX %s: %w", id, err)
		}
		docs = append(docs, doc{id, sts})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(docs) == 0 {
		return nil
	}
	for _, d := range docs {
		v.Statements = append(v.Statements, d.sts...)
	}
	// Which document each statement came from, by position.
	n := 0
	for _, d := range docs {
		for range d.sts {
			docOf[&v.Statements[n]] = d.id
			n++
		}
	}
	sb, err := s.fullSBOM(ctx, tx, sbomID)
	if err != nil {
		return err
	}
	frows, err := tx.QueryContext(ctx, `SELECT component, vuln_id, body FROM vuln_findings WHERE sbom_id = ? ORDER BY component, vuln_id`, sbomID)
	if err != nil {
		return err
	}
	type at struct {
		comp int
		vuln string
	}
	var where []at
	var fs []Finding
	for frows.Next() {
		var a at
		var body string
		if err := frows.Scan(&a.comp, &a.vuln, &body); err != nil {
			frows.Close()
			return err
		}
		var b findingBody
		if err := json.Unmarshal([]byte(body), &b); err != nil {
			frows.Close()
			return err
		}
		b.Finding.Suppressed = nil
		where, fs = append(where, a), append(fs, b.Finding)
	}
	frows.Close()
	if err := frows.Err(); err != nil {
		return err
	}
	if v.Apply(sb, fs) == 0 {
		return nil
	}
	for i, f := range fs {
		if f.Suppressed == nil {
			continue
		}
		// The document of the deciding statement: Apply copies its fields,
		// so find it by its place and file.
		for j := range v.Statements {
			st := &v.Statements[j]
			if st.Where == f.Suppressed.Statement && st.File == f.Suppressed.File {
				f.Suppressed.VEX = docOf[st]
			}
		}
		body, _ := json.Marshal(f.Suppressed)
		if _, err := tx.ExecPrepared(ctx, `INSERT INTO vuln_suppressions (sbom_id, component, vuln_id, vex_id, body) VALUES (?, ?, ?, ?, ?)`,
			sbomID, where[i].comp, where[i].vuln, f.Suppressed.VEX, string(body)); err != nil {
			return err
		}
	}
	return nil
}

// fullSBOM is a stored SBOM as VEX needs it: the kept file read again
// (serial number, subject, bom-refs, CPEs), or, for an SBOM stored before
// files were kept, its stored components.
func (s *SBOMs) fullSBOM(ctx context.Context, q store.Queryer, id string) (*SBOM, error) {
	var name string
	var data []byte
	err := q.QueryRowContext(ctx, `SELECT s.name, f.data FROM vuln_sbom_files f JOIN vuln_sboms s ON s.id = f.sbom_id WHERE f.sbom_id = ?`, id).Scan(&name, &data)
	if err == nil {
		if sb, err := ParseSBOM(name, data); err == nil {
			return sb, nil
		}
	} else if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, `SELECT name, version, purl, ecosystem, package FROM vuln_components WHERE sbom_id = ? ORDER BY idx`, id)
	if err != nil {
		return nil, err
	}
	sb := &SBOM{File: id}
	sb.Components, err = store.Collect(rows, func(r interface{ Scan(...any) error }) (Component, error) {
		var c Component
		return c, r.Scan(&c.Name, &c.Version, &c.PURL, &c.Ecosystem, &c.Package)
	})
	return sb, err
}

const vexCols = `id, kind, product_id, org, name, format, sha256, statements, added_by, added_at`

func scanVEX(r interface{ Scan(...any) error }) (StoredVEX, error) {
	var x StoredVEX
	var added string
	err := r.Scan(&x.ID, &x.Kind, &x.Product, &x.Org, &x.Name, &x.Format, &x.SHA256, &x.Statements, &x.AddedBy, &added)
	x.AddedAt = parseTS(added)
	return x, err
}

func (s *SBOMs) getVEX(ctx context.Context, id string) (StoredVEX, error) {
	x, err := scanVEX(s.db.Q().QueryRowContext(ctx, `SELECT `+vexCols+` FROM vuln_vex WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return x, fault.NotFoundf("VEX %s", id)
	}
	if err != nil {
		return x, err
	}
	err = s.db.Q().QueryRowContext(ctx, `SELECT COUNT(*) FROM vuln_suppressions WHERE vex_id = ?`, id).Scan(&x.Suppressed)
	return x, err
}

// vexVisible checks sc may see (or, with write, remove) x.
func (s *SBOMs) vexVisible(ctx context.Context, sc scope.Scope, x StoredVEX, write bool) error {
	err := s.visible(ctx, sc, StoredSBOM{ID: x.ID, Kind: x.Kind, Product: x.Product, Org: x.Org}, write)
	if errors.Is(err, fault.ErrNotFound) {
		return fault.NotFoundf("VEX %s", x.ID)
	}
	return err
}

// ListVEX lists the VEX stored for a product or an organisation (f names
// one), oldest first: the order they are applied in.
func (s *SBOMs) ListVEX(ctx context.Context, sc scope.Scope, f SBOMFilter) ([]StoredVEX, error) {
	where, args, named, err := s.ownerWhere(ctx, sc, f.Product, f.Org, "")
	if err != nil {
		return nil, err
	}
	if !named {
		return nil, fault.Invalidf("product", "name a product or an organisation")
	}
	rows, err := s.db.Q().QueryContext(ctx, `SELECT `+vexCols+` FROM vuln_vex WHERE `+where+` ORDER BY added_at, id`, args...)
	if err != nil {
		return nil, err
	}
	xs, err := store.Collect(rows, scanVEX)
	if err != nil {
		return nil, err
	}
	for i := range xs {
		if err := s.db.Q().QueryRowContext(ctx, `SELECT COUNT(*) FROM vuln_suppressions WHERE vex_id = ?`, xs[i].ID).Scan(&xs[i].Suppressed); err != nil {
			return nil, err
		}
	}
	if xs == nil {
		xs = []StoredVEX{}
	}
	return xs, nil
}

// GetVEX returns a stored VEX document's description.
func (s *SBOMs) GetVEX(ctx context.Context, sc scope.Scope, id string) (StoredVEX, error) {
	x, err := s.getVEX(ctx, id)
	if err != nil {
		return x, err
	}
	return x, s.vexVisible(ctx, sc, x, false)
}

// DeleteVEX removes a stored VEX document; the findings it suppressed
// are judged again by the rest.
func (s *SBOMs) DeleteVEX(ctx context.Context, sc scope.Scope, id string) error {
	x, err := s.getVEX(ctx, id)
	if err != nil {
		return err
	}
	if err := s.vexVisible(ctx, sc, x, true); err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM vuln_vex WHERE id = ?`, id); err != nil {
			return err
		}
		if err := s.applyOwner(ctx, tx, x.Kind, x.Product, x.Org); err != nil {
			return err
		}
		_, err := s.o.Audit.Append(ctx, tx, sc, audit.Change{Action: "vuln.vex.delete", ObjectType: "vex", ObjectID: id, Org: x.Org,
			Before: map[string]any{"kind": x.Kind, "product": x.Product, "org": x.Org, "name": x.Name, "format": x.Format, "suppressed": x.Suppressed}})
		return err
	})
}

// SBOMFile is an uploaded SBOM file kept for download.
type SBOMFile struct {
	Name        string
	ContentType string
	Data        []byte
}

// File returns a stored SBOM's uploaded file (fault.ErrNotFound for one
// stored before files were kept). Serve it as an attachment, never inline.
func (s *SBOMs) File(ctx context.Context, sc scope.Scope, id string) (SBOMFile, error) {
	x, err := s.get(ctx, s.db.Q(), id)
	if err != nil {
		return SBOMFile{}, err
	}
	if err := s.visible(ctx, sc, x, false); err != nil {
		return SBOMFile{}, err
	}
	f := SBOMFile{Name: x.Name}
	err = s.db.Q().QueryRowContext(ctx, `SELECT content_type, data FROM vuln_sbom_files WHERE sbom_id = ?`, id).Scan(&f.ContentType, &f.Data)
	if errors.Is(err, sql.ErrNoRows) {
		return f, fault.NotFoundf("the file of SBOM %s (stored before files were kept)", id)
	}
	return f, err
}

// ownerWhere is the condition on a table of SBOM rows (columns prefixed
// by prefix, "s." or "") for the product or the organisation named,
// each checked against what sc may read; named is false when f names
// neither.
func (s *SBOMs) ownerWhere(ctx context.Context, sc scope.Scope, product, org, prefix string) (where string, args []any, named bool, err error) {
	switch {
	case product != "":
		p, err := s.o.Register.GetProduct(ctx, sc, product)
		if err != nil {
			return "", nil, false, err
		}
		return prefix + "kind = ? AND " + prefix + "product_id = ?", []any{KindProduct, p.ID}, true, nil
	case org != "":
		code, err := s.orgAt(ctx, sc, org, scope.Read)
		if err != nil {
			return "", nil, false, err
		}
		return prefix + "kind = ? AND " + prefix + "org = ?", []any{KindInventory, code}, true, nil
	}
	return "", nil, false, nil
}
