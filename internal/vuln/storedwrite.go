package vuln

// Writing a match's findings (SBOMs.Match, SBOMs.matchAdded): only those
// whose state changes, a chunk of SBOMs a transaction, in multi-row
// statements shared by the chunk's SBOMs.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/supply"
)

// writeChunk is how many SBOMs' findings one transaction writes: a
// commit per SBOM was most of a national match's time on SQLite (10,000
// commits), one transaction for all of them would hold the write lock
// for the whole match. (Bounding it by components judged instead, so
// that an advisory's 2,700 SBOMs went in one transaction, measured no
// faster on SQLite.)
const writeChunk = 500

// insertRows is how many rows one multi-row INSERT carries (8 values a
// finding: 800 parameters, well inside SQLite's and PostgreSQL's limits).
const insertRows = 100

// write stores the findings of the touched SBOMs (of their touched
// components only, when not all) and returns how many SBOMs it judged
// again. Only the findings whose state changes are
// written: a finding new to an SBOM is inserted, one no longer found
// deleted, one whose priority, due time or body changed updated, and the
// rest left alone; rep.FindingsWritten counts them.
func (s *SBOMs) write(ctx context.Context, st *matchState, touched touchSet, kev *KEV, epss *EPSS, rep *MatchReport) (int, error) {
	if len(touched) == 0 {
		return 0, nil
	}
	// Each touched SBOM's hits, by component.
	per := map[int32]map[int32][]advHit{}
	st.inv.each(func(h Hit) {
		a := st.db.Advisories[h.Advisory]
		if a == nil {
			return
		}
		for _, c := range h.Components {
			if !touched.has(c) || st.ids[c.SBOM] == "" {
				continue
			}
			m := per[c.SBOM]
			if m == nil {
				m = map[int32][]advHit{}
				per[c.SBOM] = m
			}
			m[c.Component] = append(m[c.Component], advHit{a, h.Matched, h.Fixed})
		}
	})
	meta, err := s.sbomMeta(ctx)
	if err != nil {
		return 0, err
	}
	now := s.now()
	deploy := map[string]PriorityInput{}
	written := 0
	idxs := make([]int32, 0, len(touched))
	for i := range touched {
		if st.ids[i] == "" {
			continue
		}
		if _, ok := meta[st.ids[i]]; !ok {
			continue // removed meanwhile
		}
		idxs = append(idxs, i)
	}
	slices.Sort(idxs)
	for lo := 0; lo < len(idxs); lo += writeChunk {
		part := idxs[lo:min(lo+writeChunk, len(idxs))]
		jobs := make([]findingsJob, 0, len(part))
		for _, i := range part {
			id := st.ids[i]
			x := meta[id]
			base := PriorityInput{}
			if x.Kind == KindProduct {
				if b, ok := deploy[x.Product]; ok {
					base = b
				} else {
					base = PriorityInput{Product: true}
					res, err := s.o.Register.Impact(ctx, scope.System("vuln-match"), supply.Query{Product: x.Product})
					if err == nil {
						base.Organisations, base.Critical = res.Totals.Organisations, res.Totals.HardDown
					} else if !errors.Is(err, fault.ErrNotFound) {
						return written, err
					}
					deploy[x.Product] = base
				}
			} else {
				base = PriorityInput{Inventory: true, Criticality: x.Criticality, InternetFacing: x.Exposure == ExposureInternet}
			}
			sb := st.inv.SBOM(i)
			job := findingsJob{id: id, idx: i, base: base}
			if m := touched[i]; m != nil {
				for c := range m {
					job.comps = append(job.comps, c)
				}
				slices.Sort(job.comps)
			}
			comps := make([]int32, 0, len(per[i]))
			for c := range per[i] {
				comps = append(comps, c)
			}
			slices.Sort(comps)
			for _, c := range comps {
				hits := per[i][c]
				sort.Slice(hits, func(a, b int) bool { return hits[a].a.ID < hits[b].a.ID })
				var fs []Finding
				fs, rep.Warnings = componentFindings(x.Name, sb.Components[c], hits, rep.Warnings)
				Prioritise(fs, kev, epss)
				for _, f := range fs {
					job.rows = append(job.rows, findingRow{c, f})
				}
			}
			jobs = append(jobs, job)
		}
		err := s.db.InTx(ctx, func(tx *store.Tx) error {
			changed, err := s.writeFindings(ctx, tx, jobs, now, st.levels)
			if err != nil {
				return err
			}
			// The stored VEX of the product or organisation, applied
			// again where the findings changed (or on a full match):
			// only where there is VEX to apply or suppressions to undo.
			vex, err := vexConcerns(ctx, tx, jobs, meta)
			if err != nil {
				return err
			}
			for k, j := range jobs {
				rep.FindingsWritten += changed[k]
				if (changed[k] > 0 || rep.Mode == "full") && vex[j.id] {
					if err := s.applyVEX(ctx, tx, j.id); err != nil {
						return err
					}
				}
			}
			ids := make([]any, 0, len(jobs)+1)
			ids = append(ids, ts(now))
			for _, j := range jobs {
				ids = append(ids, j.id)
			}
			_, err = tx.ExecContext(ctx, `UPDATE vuln_sboms SET matched_at = ? WHERE id IN (`+placeholders(len(jobs))+`)`, ids...)
			return err
		})
		if err != nil {
			return written, err
		}
		written += len(jobs)
	}
	return written, nil
}

// findingRow is one finding of a component (its index in the SBOM).
type findingRow struct {
	comp int32
	f    Finding
}

// findingsJob is what a match found in one stored SBOM: in every
// component, or in comps only when comps is not nil.
type findingsJob struct {
	id    string
	idx   int32 // in the inventory
	base  PriorityInput
	comps []int32
	rows  []findingRow
}

// touchSet is what a match judges again: stored SBOM index → the
// components of it, nil for every one.
type touchSet map[int32]map[int32]bool

// all marks every component of SBOM i.
func (t touchSet) all(i int32) { t[i] = nil }

// comp marks one component.
func (t touchSet) comp(c CompRef) {
	m, ok := t[c.SBOM]
	if ok && m == nil {
		return
	}
	if !ok {
		m = map[int32]bool{}
		t[c.SBOM] = m
	}
	m[c.Component] = true
}

// has tells whether the component is marked.
func (t touchSet) has(c CompRef) bool {
	m, ok := t[c.SBOM]
	return ok && (m == nil || m[c.Component])
}

// storedFindingRow is a finding row as stored, to tell whether a match
// changes it.
type storedFindingRow struct {
	priority  string
	points    int
	firstSeen string
	due       string
	body      string
	seen      bool
}

// findingKey names a stored finding within its SBOM.
type findingKey struct {
	comp int32
	vuln string
}

// maxParams bounds the parameters of one statement a match builds, well
// inside SQLite's (32,766) and PostgreSQL's (65,535) limits.
const maxParams = 4000

// maxTerms bounds the terms OR'd in one WHERE a match builds: SQLite
// refuses an expression deeper than 1,000.
const maxTerms = 500

// oldFindings reads the stored findings the jobs judge again (every one of
// an SBOM, or of its touched components), by SBOM ID, in as few queries
// as the parameter bound allows: a query per SBOM was most of an
// incremental match's time on PostgreSQL (a round trip each, for some
// 1,700 SBOMs an advisory).
func oldFindings(ctx context.Context, tx *store.Tx, jobs []findingsJob) (map[string]map[findingKey]*storedFindingRow, error) {
	out := make(map[string]map[findingKey]*storedFindingRow, len(jobs))
	only := map[string]map[int32]bool{} // the components judged again, when not all
	var conds []string
	var args []any
	read := func() error {
		if len(conds) == 0 {
			return nil
		}
		rows, err := tx.QueryContext(ctx, `SELECT sbom_id, component, vuln_id, priority, points, first_seen, due, body FROM vuln_findings WHERE `+strings.Join(conds, " OR "), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var k findingKey
			var r storedFindingRow
			if err := rows.Scan(&id, &k.comp, &k.vuln, &r.priority, &r.points, &r.firstSeen, &r.due, &r.body); err != nil {
				return err
			}
			if o := only[id]; o == nil || o[k.comp] {
				out[id][k] = &r
			}
		}
		conds, args = conds[:0], args[:0]
		return rows.Err()
	}
	var whole []any // SBOMs read whole: one IN list
	for _, j := range jobs {
		out[j.id] = map[findingKey]*storedFindingRow{}
		if j.comps != nil {
			o := make(map[int32]bool, len(j.comps))
			for _, c := range j.comps {
				o[c] = true
			}
			only[j.id] = o
		}
		if j.comps == nil || len(j.comps) > insertRows*5 { // read all, keep those judged
			whole = append(whole, j.id)
			continue
		}
		if len(args)+1+len(j.comps) > maxParams || len(conds) == maxTerms {
			if err := read(); err != nil {
				return nil, err
			}
		}
		conds = append(conds, `(sbom_id = ? AND component IN (`+placeholders(len(j.comps))+`))`)
		args = append(args, j.id)
		for _, c := range j.comps {
			args = append(args, c)
		}
	}
	if err := read(); err != nil {
		return nil, err
	}
	for lo := 0; lo < len(whole); lo += maxParams {
		part := whole[lo:min(lo+maxParams, len(whole))]
		conds, args = append(conds, `sbom_id IN (`+placeholders(len(part))+`)`), append(args, part...)
		if err := read(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// rowBatch gathers the rows of one multi-row statement and runs it every
// insertRows rows; before, it runs first (a batch of deletes the inserts
// depend on).
type rowBatch struct {
	what   string
	sql    func(n int) string
	before *rowBatch
	args   []any
	n      int
}

func (b *rowBatch) add(ctx context.Context, tx *store.Tx, vals ...any) error {
	b.args = append(b.args, vals...)
	b.n++
	if b.n >= insertRows {
		return b.flush(ctx, tx)
	}
	return nil
}

func (b *rowBatch) flush(ctx context.Context, tx *store.Tx) error {
	if b.before != nil {
		if err := b.before.flush(ctx, tx); err != nil {
			return err
		}
	}
	if b.n == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, b.sql(b.n), b.args...); err != nil {
		return fmt.Errorf("vuln: %s: %w", b.what, err)
	}
	b.args, b.n = b.args[:0], 0
	return nil
}

// deleteRows is a DELETE of n findings of a table by their key.
func deleteRows(table string) func(n int) string {
	return func(n int) string {
		return `DELETE FROM ` + table + ` WHERE ` + strings.TrimSuffix(strings.Repeat(`(sbom_id = ? AND component = ? AND vuln_id = ?) OR `, n), ` OR `)
	}
}

// writeFindings makes each job's stored findings its rows, writing only
// those whose state changes, and returns how many it inserted, updated or
// deleted, by job. A finding keeps its first_seen; one whose priority,
// due time or body changed is deleted and inserted again. Reads, deletes
// and inserts span the jobs, so a chunk costs a few statements, not a few
// per SBOM. levels[j.idx] is kept as each SBOM's findings by priority
// level.
func (s *SBOMs) writeFindings(ctx context.Context, tx *store.Tx, jobs []findingsJob, now time.Time, levels map[int32]map[string]int) ([]int, error) {
	old, err := oldFindings(ctx, tx, jobs)
	if err != nil {
		return nil, err
	}
	delI := &rowBatch{what: "remove finding IDs", sql: deleteRows("vuln_finding_ids")}
	delF := &rowBatch{what: "remove findings", sql: deleteRows("vuln_findings"), before: delI}
	insF := &rowBatch{what: "store findings", before: delF, sql: func(n int) string {
		return `INSERT INTO vuln_findings (sbom_id, component, vuln_id, priority, points, first_seen, due, body) VALUES ` + valueRows(n, 8)
	}}
	insI := &rowBatch{what: "store finding IDs", before: insF, sql: func(n int) string {
		return `INSERT INTO vuln_finding_ids (name, sbom_id, component, vuln_id) VALUES ` + valueRows(n, 4)
	}}
	remove := func(id string, k findingKey) error {
		if err := delI.add(ctx, tx, id, k.comp, k.vuln); err != nil {
			return err
		}
		return delF.add(ctx, tx, id, k.comp, k.vuln)
	}
	changed := make([]int, len(jobs))
	for n, j := range jobs {
		lv := levels[j.idx]
		if lv == nil || j.comps == nil {
			lv = map[string]int{} // every finding of the SBOM is judged: counted afresh
		}
		was := old[j.id]
		for _, r := range j.rows {
			in := j.base
			in.Score, in.Severity, in.KEV, in.EPSS = r.f.Score(), r.f.Severity, r.f.KEV, r.f.EPSS
			p := Prioritize(in)
			k := findingKey{r.comp, r.f.ID}
			o := was[k]
			fs := ts(now)
			if o != nil {
				fs = o.firstSeen
				o.seen = true
			}
			due := ts(s.o.SLA.Due(p.Level, parseTS(fs)))
			b, _ := json.Marshal(findingBody{Finding: r.f, Priority: p})
			body := string(b)
			lv[p.Level]++
			if o != nil && j.comps != nil {
				lv[o.priority]--
			}
			if o != nil {
				if o.priority == p.Level && o.points == p.Points && o.due == due && o.body == body {
					continue // unchanged
				}
				if err := remove(j.id, k); err != nil {
					return nil, err
				}
			}
			if err := insF.add(ctx, tx, j.id, r.comp, r.f.ID, p.Level, p.Points, fs, due, body); err != nil {
				return nil, err
			}
			names := map[string]bool{r.f.ID: true}
			for _, a := range r.f.Aliases {
				names[a] = true
			}
			for _, a := range r.f.Related {
				names[a] = true
			}
			for a := range names {
				if err := insI.add(ctx, tx, a, j.id, r.comp, r.f.ID); err != nil {
					return nil, err
				}
			}
			changed[n]++
		}
		for k, o := range was {
			if o.seen {
				continue
			}
			if err := remove(j.id, k); err != nil {
				return nil, err
			}
			if j.comps != nil {
				lv[o.priority]--
			}
			changed[n]++
		}
		levels[j.idx] = lv
	}
	// The IDs' batch runs the findings' first, and that the deletes'.
	if err := insI.flush(ctx, tx); err != nil {
		return nil, err
	}
	return changed, nil
}
