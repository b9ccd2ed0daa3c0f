package intel

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/intel/misp"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// The indicator lifecycle (issue 19 item 6): an indicator's score decays
// with age at a rate set by what it lists, its sightings keep it fresh,
// and allowlisted values never match. The IOC matcher (intel/match)
// applies all three when it builds its index.

// Decay is a decay model: the half-life of an indicator's score by the
// kind of value it lists ("ip", "domain", "url", "email", "md5", "sha1",
// "sha256", "ja3", "user-agent"), and the score below which it stops
// matching.
//
//	score = base × 0.5 ^ (age / half-life)
//
// base is the indicator's confidence (50 when it gives none, STIX's
// "medium"); age runs from the latest of its valid_from, its modified
// (the producer asserting it again) and its last sighting (Vigil seeing
// it), so an indicator that keeps being seen does not decay. An
// indicator listing values of several kinds decays at the slowest rate.
//
// False positives lower the score: each organisation whose latest
// verdict on the indicator is a false positive (or expired) halves it,
// and at FalsePositiveOrgs such organisations it is 0 (withdrawn). A
// true positive counts as a sighting: the age runs from it.
type Decay struct {
	// Name is the model's (StandardModel for DefaultDecay).
	Name      string
	HalfLife  map[string]time.Duration
	Threshold float64
	// FalsePositiveOrgs withdraws an indicator held false by that many
	// organisations; 0 never does.
	FalsePositiveOrgs int
}

// DefaultDecay: addresses are reassigned within weeks, domains and URLs
// last months, file hashes do not change. An indicator of confidence 80
// drops below 20 after two half-lives: 60 days for an address.
func DefaultDecay() Decay {
	const day = 24 * time.Hour
	return Decay{Name: StandardModel, Threshold: 20, FalsePositiveOrgs: 3, HalfLife: map[string]time.Duration{
		"ip": 30 * day, "domain": 90 * day, "url": 60 * day, "email": 180 * day,
		"user-agent": 180 * day, "ja3": 180 * day, "md5": 365 * day, "sha1": 365 * day, "sha256": 365 * day,
	}}
}

// Score is an indicator's score at now: see Decay. kinds are the kinds
// of value it lists; a kind without a half-life does not decay.
func (d Decay) Score(confidence int, kinds []string, fresh, now time.Time) float64 {
	base := float64(confidence)
	if confidence < 0 || confidence > 100 {
		base = 50
	}
	var hl time.Duration
	for _, k := range kinds {
		h, ok := d.HalfLife[k]
		if !ok {
			return base
		}
		hl = max(hl, h)
	}
	age := now.Sub(fresh)
	if hl <= 0 || age <= 0 {
		return base
	}
	return base * math.Pow(0.5, float64(age)/float64(hl))
}

// ScoreWith is Score lowered by false positives: halved for each
// organisation holding the indicator false, 0 at FalsePositiveOrgs of
// them. ev.LastSeen is the caller's to fold into fresh (Fresh).
func (d Decay) ScoreWith(confidence int, kinds []string, fresh, now time.Time, fpOrgs int) float64 {
	sc := d.Score(confidence, kinds, fresh, now)
	if fpOrgs <= 0 {
		return sc
	}
	if d.FalsePositiveOrgs > 0 && fpOrgs >= d.FalsePositiveOrgs {
		return 0
	}
	return sc * math.Pow(0.5, float64(fpOrgs))
}

// Fresh is when an indicator was last asserted or seen: the latest of
// its valid_from, modified and last sighting.
func Fresh(validFrom, modified, lastSeen time.Time) time.Time {
	t := validFrom
	for _, u := range []time.Time{modified, lastSeen} {
		if u.After(t) {
			t = u
		}
	}
	return t
}

// Sighting is one of Vigil's own matches of an indicator in an
// organisation's events.
type Sighting struct {
	Indicator string    `json:"indicator"`
	Org       string    `json:"org"`
	Count     int       `json:"count"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// RecordSightings adds sightings (Count each, at LastSeen) to the
// indicators' counts, in one transaction.
func (s *Store) RecordSightings(ctx context.Context, sg []Sighting) error {
	if len(sg) == 0 {
		return nil
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		for _, x := range sg {
			at := versionKey(x.LastSeen)
			if _, err := tx.ExecPrepared(ctx, `INSERT INTO intel_sightings (indicator_id, org, count, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (indicator_id, org) DO UPDATE SET count = intel_sightings.count + excluded.count,
				last_seen = CASE WHEN excluded.last_seen > intel_sightings.last_seen THEN excluded.last_seen ELSE intel_sightings.last_seen END,
				first_seen = CASE WHEN excluded.first_seen < intel_sightings.first_seen THEN excluded.first_seen ELSE intel_sightings.first_seen END`,
				x.Indicator, x.Org, max(x.Count, 1), at, at); err != nil {
				return err
			}
		}
		return nil
	})
}

func scanSighting(r interface{ Scan(...any) error }) (Sighting, error) {
	var x Sighting
	var first, last string
	if err := r.Scan(&x.Indicator, &x.Org, &x.Count, &first, &last); err != nil {
		return x, err
	}
	x.FirstSeen, _ = time.Parse(time.RFC3339Nano, first)
	x.LastSeen, _ = time.Parse(time.RFC3339Nano, last)
	return x, nil
}

// LastSeen maps every sighted indicator to its last sighting anywhere,
// for the matcher's decay.
func (s *Store) LastSeen(ctx context.Context) (map[string]time.Time, error) {
	rows, err := s.db.Q().QueryContext(ctx, `SELECT indicator_id, '', SUM(count), MIN(first_seen), MAX(last_seen) FROM intel_sightings GROUP BY indicator_id`)
	if err != nil {
		return nil, err
	}
	xs, err := store.Collect(rows, scanSighting)
	if err != nil {
		return nil, err
	}
	m := make(map[string]time.Time, len(xs))
	for _, x := range xs {
		m[x.Indicator] = x.LastSeen
	}
	return m, nil
}

// Sightings lists the sightings in the organisations the caller reads
// (an organisation's sightings say what its events held: they are its
// data) of indicators the caller may see, newest first; indicator
// narrows them to one.
func (s *Store) Sightings(ctx context.Context, sc scope.Scope, indicator string) ([]Sighting, error) {
	q, args := `SELECT indicator_id, org, count, first_seen, last_seen FROM intel_sightings`, []any{}
	if indicator != "" {
		q += ` WHERE indicator_id = ?`
		args = append(args, indicator)
	}
	rows, err := s.db.Q().QueryContext(ctx, q+` ORDER BY last_seen DESC, indicator_id, org`, args...)
	if err != nil {
		return nil, err
	}
	xs, err := store.Collect(rows, scanSighting)
	if err != nil {
		return nil, err
	}
	// A sighting of a TLP:RED or AMBER+STRICT indicator the caller is
	// no recipient of would name it (redact.go): a region lead reads a
	// trust's sightings, not the indicators shared with the trust alone.
	ids := make([]string, len(xs))
	for i, x := range xs {
		ids[i] = x.Indicator
	}
	hidden, err := s.hiddenIDs(ctx, ReaderOf(sc), ids)
	if err != nil {
		return nil, err
	}
	out := xs[:0]
	for _, x := range xs {
		if hidden[x.Indicator] {
			continue
		}
		if ok, err := s.readsOrg(ctx, sc, x.Org); err != nil {
			return nil, err
		} else if ok {
			out = append(out, x)
		}
	}
	return out, nil
}

// readsOrg reports whether sc may read an organisation's data: a grant
// with Read at the organisation or above it.
func (s *Store) readsOrg(ctx context.Context, sc scope.Scope, code string) (bool, error) {
	if s.orgPath == nil {
		return false, nil
	}
	path, err := s.orgPath(ctx, code)
	if err != nil {
		return false, nil // an organisation since removed: nobody's
	}
	for _, g := range sc.Grants {
		if g.Role.Perms()&scope.Read != 0 && strings.HasPrefix(path, g.Path) {
			return true, nil
		}
	}
	return false, nil
}

// SightingObjects are the caller's sightings as STIX 2.1 sighting
// objects (section 5.5): sighting_of_ref the indicator, count, first and
// last seen, where_sighted_refs an identity of the organisation, marked
// TLP:AMBER (they describe an organisation's own events). Their ids are
// deterministic, so a new export of the same sighting is a new version.
func (s *Store) SightingObjects(ctx context.Context, sc scope.Scope, indicator string) ([]*stix.Object, error) {
	xs, err := s.Sightings(ctx, sc, indicator)
	if err != nil {
		return nil, err
	}
	vs, err := s.Verdicts(ctx, sc, indicator)
	if err != nil {
		return nil, err
	}
	var out []*stix.Object
	identity := func(org string) (string, map[string]any) {
		idn := "identity--" + misp.NameUUID("vigil-org:"+org)
		return idn, map[string]any{"type": "identity", "spec_version": "2.1", "id": idn, "created": stixTime(time.Unix(0, 0)), "modified": stixTime(time.Unix(0, 0)),
			"name": org, "identity_class": "organization", "object_marking_refs": []string{stix.TLP2Amber}}
	}
	var ms []map[string]any
	idns := map[string]bool{}
	for _, x := range xs {
		idn, im := identity(x.Org)
		if !idns[idn] {
			idns[idn] = true
			ms = append(ms, im)
		}
		ms = append(ms, map[string]any{"type": "sighting", "spec_version": "2.1", "id": "sighting--" + misp.NameUUID("vigil-sighting:"+x.Indicator+"/"+x.Org),
			"created": stixTime(x.FirstSeen), "modified": stixTime(x.LastSeen), "sighting_of_ref": x.Indicator, "count": x.Count,
			"first_seen": stixTime(x.FirstSeen), "last_seen": stixTime(x.LastSeen), "where_sighted_refs": []string{idn},
			"object_marking_refs": []string{stix.TLP2Amber}})
	}
	// An analyst's verdict on an IOC alert is a sighting of its own,
	// saying true or false positive (x_vigil_verdict, and MISP's
	// x_misp_sighting_type: 0 seen, 1 false positive), with where it
	// came from (x_vigil_origin: the alert). Reported sightings are
	// objects already.
	for _, v := range vs {
		if !strings.HasPrefix(v.Origin, "alert:") {
			continue
		}
		idn, im := identity(v.Org)
		if !idns[idn] {
			idns[idn] = true
			ms = append(ms, im)
		}
		mt := 0
		if v.Verdict == VerdictFalsePositive {
			mt = 1
		}
		ms = append(ms, map[string]any{"type": "sighting", "spec_version": "2.1", "id": "sighting--" + misp.NameUUID("vigil-verdict:"+v.Indicator+"/"+v.Origin),
			"created": stixTime(v.At), "modified": stixTime(v.At), "sighting_of_ref": v.Indicator, "count": 1,
			"first_seen": stixTime(v.At), "last_seen": stixTime(v.At), "where_sighted_refs": []string{idn},
			"description":     "An analyst closed " + strings.TrimPrefix(v.Origin, "alert:") + " as a " + v.Verdict + ".",
			"x_vigil_verdict": v.Verdict, "x_vigil_origin": v.Origin, "x_misp_sighting_type": mt,
			"object_marking_refs": []string{stix.TLP2Amber}})
	}
	for _, m := range ms {
		b, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		o, err := stix.Parse(b)
		if err != nil {
			return nil, fmt.Errorf("sighting %v: %w", m["id"], err)
		}
		out = append(out, o)
	}
	return out, nil
}

func stixTime(t time.Time) string { return stix.FormatTimestamp(t) }

// AllowEntry is a value that never matches.
type AllowEntry struct {
	Value   string    `json:"value"`
	Reason  string    `json:"reason"`
	Source  string    `json:"source"`
	AddedBy string    `json:"added_by"`
	AddedAt time.Time `json:"added_at"`
}

// NormaliseValue is the allowlist's form of a value: an address in its
// canonical form, anything else trimmed and in lower case (domains,
// e-mail addresses and hashes compare without regard to case; a URL's
// host does too, and its path rarely differs only by case).
func NormaliseValue(v string) string {
	v = strings.TrimSpace(v)
	if a, err := netip.ParseAddr(v); err == nil {
		return a.Unmap().String()
	}
	if p, err := netip.ParsePrefix(v); err == nil {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-(p.Addr().BitLen()-p.Addr().Unmap().BitLen()))
		if p.IsValid() {
			if p.IsSingleIP() {
				return p.Addr().String()
			}
			return p.Masked().String()
		}
	}
	return strings.TrimSuffix(strings.ToLower(v), ".")
}

// ErrAllowlistForbidden is an allowlist change by someone without a
// national role: the allowlist stops matches for every organisation.
var ErrAllowlistForbidden = fault.New(fault.ErrForbidden, "intel: only national analysts and administrators change the allowlist, which applies to every organisation")

// Allow adds values to the allowlist with a reason (required) and where
// they come from ("analyst", or a warning list's name), audited as one
// intel.allowlist.add. A value already there keeps its first reason.
func (s *Store) Allow(ctx context.Context, sc scope.Scope, values []string, reason, source string) (int, error) {
	reason = strings.TrimSpace(reason)
	switch {
	case !sc.National(scope.Write):
		return 0, ErrAllowlistForbidden
	case reason == "":
		return 0, &InvalidError{"reason", "required: say why these values are benign"}
	case safetext.Problem(reason, safetext.Text, 1000) != "":
		return 0, &InvalidError{"reason", safetext.Problem(reason, safetext.Text, 1000)}
	case len(values) == 0:
		return 0, &InvalidError{"values", "give at least one"}
	}
	if source == "" {
		source = "analyst"
	}
	n := 0
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		now := versionKey(s.now())
		for i, v := range values {
			nv := NormaliseValue(v)
			if nv == "" || utf8.RuneCountInString(nv) > 2048 {
				return &InvalidError{fmt.Sprintf("values[%d]", i), "empty or over 2,048 characters"}
			}
			if p := safetext.Problem(nv, safetext.Name, 0); p != "" {
				return &InvalidError{fmt.Sprintf("values[%d]", i), p}
			}
			res, err := tx.ExecPrepared(ctx, `INSERT INTO intel_allowlist (value, reason, source, added_by, added_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (value) DO NOTHING`,
				nv, reason, source, sc.UserID, now)
			if err != nil {
				return err
			}
			k, _ := res.RowsAffected()
			n += int(k)
		}
		if err := s.lifecycleChanged(ctx, tx, sc.UserID); err != nil {
			return err
		}
		if s.audit == nil {
			return nil
		}
		first := NormaliseValue(values[0])
		_, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "intel.allowlist.add", ObjectType: "intel-allowlist", ObjectID: first,
			After: map[string]any{"values": len(values), "added": n, "first": first, "reason": reason, "source": source}})
		return err
	})
	if err != nil {
		return 0, err
	}
	if n > 0 {
		s.changed.fire()
	}
	return n, nil
}

// Allowlist lists the allowlist, by value. Anyone signed in may read
// it: it says what Vigil will not alert on, not what anyone saw.
func (s *Store) Allowlist(ctx context.Context) ([]AllowEntry, error) {
	rows, err := s.db.Q().QueryContext(ctx, `SELECT value, reason, source, added_by, added_at FROM intel_allowlist ORDER BY value`)
	if err != nil {
		return nil, err
	}
	return store.Collect(rows, func(r interface{ Scan(...any) error }) (AllowEntry, error) {
		var e AllowEntry
		var at string
		err := r.Scan(&e.Value, &e.Reason, &e.Source, &e.AddedBy, &at)
		e.AddedAt, _ = time.Parse(time.RFC3339Nano, at)
		return e, err
	})
}

// ErrNotAllowlisted is a removal of values none of which is on the
// allowlist.
var ErrNotAllowlisted = fault.New(fault.ErrNotFound, "intel: none of these values is on the allowlist")

// Unallow takes values off the allowlist, so that indicators listing
// them match again, audited as one intel.allowlist.remove naming what
// was removed and why it had been added. Only national analysts and
// administrators may; ErrNotAllowlisted when none was there.
func (s *Store) Unallow(ctx context.Context, sc scope.Scope, values []string, reason string) (int, error) {
	reason = strings.TrimSpace(reason)
	switch {
	case !sc.National(scope.Write):
		return 0, ErrAllowlistForbidden
	case len(values) == 0:
		return 0, &InvalidError{"values", "give at least one"}
	case safetext.Problem(reason, safetext.Text, 1000) != "":
		return 0, &InvalidError{"reason", safetext.Problem(reason, safetext.Text, 1000)}
	}
	var removed []AllowEntry
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		for _, v := range values {
			nv := NormaliseValue(v)
			var e AllowEntry
			var at string
			err := tx.QueryRowContext(ctx, `SELECT value, reason, source, added_by, added_at FROM intel_allowlist WHERE value = ?`, nv).Scan(&e.Value, &e.Reason, &e.Source, &e.AddedBy, &at)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			} else if err != nil {
				return err
			}
			e.AddedAt, _ = time.Parse(time.RFC3339Nano, at)
			if _, err := tx.ExecContext(ctx, `DELETE FROM intel_allowlist WHERE value = ?`, nv); err != nil {
				return err
			}
			removed = append(removed, e)
		}
		if len(removed) == 0 {
			return ErrNotAllowlisted
		}
		if err := s.lifecycleChanged(ctx, tx, sc.UserID); err != nil {
			return err
		}
		return s.auditChange(ctx, tx, sc, audit.Change{Action: "intel.allowlist.remove", ObjectType: "intel-allowlist", ObjectID: removed[0].Value,
			Before: map[string]any{"entries": removed}, After: map[string]any{"values": len(values), "removed": len(removed), "first": removed[0].Value, "reason": reason}})
	})
	if err != nil {
		return 0, err
	}
	s.changed.fire()
	return len(removed), nil
}
