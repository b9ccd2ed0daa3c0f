package intel

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// Decay models (issue 19 item 6, "configurable models"). A model is a
// Decay with a name; "standard" (DefaultDecay) is built in, others are
// stored. The deployment default is the model of every source that has
// none of its own; a source (a feed as "feed:NAME", a file, TAXII posts
// as "taxii:*") may be given one. The IOC matcher scores each indicator
// with the model of the source of its latest version.

// StandardModel is the built-in model's name.
const StandardModel = "standard"

// Value kinds a model gives half-lives for.
var decayKinds = []string{"ip", "domain", "url", "email", "md5", "sha1", "sha256", "ja3", "user-agent"}

// DecayKinds lists the kinds of value a model may give a half-life for.
func DecayKinds() []string { return slices.Clone(decayKinds) }

// DecayModel is a named decay model as stored and shown.
type DecayModel struct {
	Name string `json:"name"`
	// HalfLifeDays is the half-life by kind of value, in days; a kind
	// left out does not decay.
	HalfLifeDays map[string]float64 `json:"half_life_days"`
	// Threshold is the score under which an indicator stops matching.
	Threshold float64 `json:"threshold"`
	// FalsePositiveOrgs is how many organisations' false positives
	// withdraw an indicator (score 0); each one before that halves it.
	// 0: false positives halve the score and never withdraw it.
	FalsePositiveOrgs int       `json:"false_positive_orgs"`
	Description       string    `json:"description"`
	BuiltIn           bool      `json:"built_in"`
	UpdatedBy         string    `json:"updated_by,omitempty"`
	UpdatedAt         time.Time `json:"updated_at,omitzero"`
}

// Decay is the model as the matcher applies it.
func (m DecayModel) Decay() Decay {
	d := Decay{Name: m.Name, Threshold: m.Threshold, FalsePositiveOrgs: m.FalsePositiveOrgs, HalfLife: map[string]time.Duration{}}
	for k, v := range m.HalfLifeDays {
		d.HalfLife[k] = time.Duration(v * float64(24*time.Hour))
	}
	return d
}

func modelOf(d Decay) DecayModel {
	m := DecayModel{Name: d.Name, Threshold: d.Threshold, FalsePositiveOrgs: d.FalsePositiveOrgs, HalfLifeDays: map[string]float64{}}
	for k, v := range d.HalfLife {
		m.HalfLifeDays[k] = math.Round(float64(v)/float64(24*time.Hour)*1000) / 1000
	}
	return m
}

// SourceModel gives the indicators of a source a model.
type SourceModel struct {
	// Source is a source as the store records it ("feed:NAME", a file
	// name, "taxii:STATUS") or a prefix ending in * ("taxii:*").
	Source string    `json:"source"`
	Model  string    `json:"model"`
	SetBy  string    `json:"set_by"`
	SetAt  time.Time `json:"set_at"`
}

// DecayConfig is every model, the deployment default and the sources'
// models: what the matcher reads once a build.
type DecayConfig struct {
	Default string            `json:"default"`
	Models  []DecayModel      `json:"models"`
	Sources []SourceModel     `json:"sources"`
	byName  map[string]*Decay `json:"-"`
}

// For is the model of a source: the longest assignment that fits it
// (an exact source, or a prefix ending in *), else the default.
func (c DecayConfig) For(source string) Decay {
	name, best := c.Default, -1
	for _, s := range c.Sources {
		p, wild := strings.CutSuffix(s.Source, "*")
		if (wild && strings.HasPrefix(source, p) || !wild && source == s.Source) && len(s.Source) > best {
			name, best = s.Model, len(s.Source)
			if !wild {
				best = math.MaxInt // an exact source beats any prefix
			}
		}
	}
	if d, ok := c.byName[name]; ok {
		return *d
	}
	return DefaultDecay()
}

// ModelFor names the model of a source (For's Name).
func (c DecayConfig) ModelFor(source string) string { return c.For(source).Name }

var modelName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`) })

// ErrDecayForbidden is a change to decay by someone without a national
// role: models apply to every organisation's matches.
var ErrDecayForbidden = fault.New(fault.ErrForbidden, "intel: only national analysts and administrators change decay models, which apply to every organisation")

// ErrModelNotFound is a model no one defined.
var ErrModelNotFound = fault.New(fault.ErrNotFound, "intel: no such decay model")

func (s *Store) decayModels(ctx context.Context, q store.Queryer) ([]DecayModel, error) {
	rows, err := q.QueryContext(ctx, `SELECT name, half_lives, threshold, fp_orgs, description, updated_by, updated_at FROM intel_decay_models ORDER BY name`)
	if err != nil {
		return nil, err
	}
	ms, err := store.Collect(rows, func(r interface{ Scan(...any) error }) (DecayModel, error) {
		var m DecayModel
		var hl, at string
		if err := r.Scan(&m.Name, &hl, &m.Threshold, &m.FalsePositiveOrgs, &m.Description, &m.UpdatedBy, &at); err != nil {
			return m, err
		}
		m.UpdatedAt, _ = time.Parse(time.RFC3339Nano, at)
		var secs map[string]int64
		if err := json.Unmarshal([]byte(hl), &secs); err != nil {
			return m, fmt.Errorf("intel: decay model %s: half lives: %w", m.Name, err)
		}
		m.HalfLifeDays = map[string]float64{}
		for k, v := range secs {
			m.HalfLifeDays[k] = math.Round(float64(v)/86400*1000) / 1000
		}
		return m, nil
	})
	if err != nil {
		return nil, err
	}
	std := modelOf(DefaultDecay())
	std.BuiltIn, std.Description = true, "Vigil's built-in model: addresses 30 days, URLs 60, domains 90, e-mail, user agents and JA3 180, hashes 365; threshold 20; withdrawn after false positives from 3 organisations."
	return append([]DecayModel{std}, ms...), nil
}

func setting(ctx context.Context, q store.Queryer, key string) (string, error) {
	var v string
	err := q.QueryRowContext(ctx, `SELECT value FROM intel_settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

func (s *Store) putSetting(ctx context.Context, tx *store.Tx, key, value, by string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO intel_settings (key, value, set_by, set_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, set_by = excluded.set_by, set_at = excluded.set_at`, key, value, by, versionKey(s.now()))
	return err
}

// lifecycleChanged notes, in tx, that something the matcher's build
// reads changed (a model, an assignment, the allowlist, a verdict), for
// other processes polling LifecycleStamp.
func (s *Store) lifecycleChanged(ctx context.Context, tx *store.Tx, by string) error {
	return s.putSetting(ctx, tx, "lifecycle_changed", versionKey(s.now()), by)
}

// LifecycleStamp changes whenever a decay model, an assignment, the
// allowlist or a verdict changes: the IOC matcher polls it, as it polls
// LastAdded, to rebuild after a change another process made.
func (s *Store) LifecycleStamp(ctx context.Context) (string, error) {
	return setting(ctx, s.db.Q(), "lifecycle_changed")
}

// Decay reads every model, the deployment default and the sources'
// models. Anyone signed in may read them: they say how scores are
// worked out, not what anyone saw.
func (s *Store) Decay(ctx context.Context) (DecayConfig, error) {
	q := s.db.Q()
	ms, err := s.decayModels(ctx, q)
	if err != nil {
		return DecayConfig{}, err
	}
	c := DecayConfig{Models: ms, byName: map[string]*Decay{}}
	for _, m := range ms {
		d := m.Decay()
		c.byName[m.Name] = &d
	}
	if c.Default, err = setting(ctx, q, "decay_default"); err != nil {
		return c, err
	}
	if _, ok := c.byName[c.Default]; !ok {
		c.Default = StandardModel
	}
	rows, err := q.QueryContext(ctx, `SELECT source, model, set_by, set_at FROM intel_decay_sources ORDER BY source`)
	if err != nil {
		return c, err
	}
	c.Sources, err = store.Collect(rows, func(r interface{ Scan(...any) error }) (SourceModel, error) {
		var x SourceModel
		var at string
		err := r.Scan(&x.Source, &x.Model, &x.SetBy, &at)
		x.SetAt, _ = time.Parse(time.RFC3339Nano, at)
		return x, err
	})
	if c.Sources == nil {
		c.Sources = []SourceModel{}
	}
	return c, err
}

// DecayView is Decay as a reader may see it: every model and the
// default, and of the sources' models, a feed's ("feed:NAME") only when
// the reader reads the feed, a prefix ("taxii:*") always, and any other
// source (a file name) only to national readers — a source's name can
// say whose intelligence it is.
func (s *Store) DecayView(ctx context.Context, sc scope.Scope) (DecayConfig, error) {
	c, err := s.Decay(ctx)
	if err != nil || len(c.Sources) == 0 {
		return c, err
	}
	fs, err := s.Feeds(ctx, sc)
	if err != nil {
		return c, err
	}
	feeds := map[string]bool{}
	for _, f := range fs {
		feeds["feed:"+f.Name] = true
	}
	out := []SourceModel{}
	for _, x := range c.Sources {
		switch {
		case strings.HasPrefix(x.Source, "feed:") && !strings.HasSuffix(x.Source, "*"):
			if !feeds[x.Source] {
				continue
			}
		case strings.HasSuffix(x.Source, "*"):
		case !sc.National(scope.Read):
			continue
		}
		out = append(out, x)
	}
	c.Sources = out
	return c, nil
}

// SetDecayModel defines or redefines a model (not the built-in one),
// audited as intel.decay.model. Half-lives are in days, over 0 and at
// most 3,650; the threshold 0–100; FalsePositiveOrgs 0–1,000.
func (s *Store) SetDecayModel(ctx context.Context, sc scope.Scope, m DecayModel) (DecayModel, error) {
	m.Name, m.Description = strings.TrimSpace(m.Name), strings.TrimSpace(m.Description)
	switch {
	case !sc.National(scope.Write):
		return m, ErrDecayForbidden
	case m.Name == StandardModel:
		return m, &InvalidError{"name", "standard is Vigil's built-in model and cannot be changed: give another name"}
	case !modelName().MatchString(m.Name):
		return m, &InvalidError{"name", "1–64 characters: lower-case letters, digits, . _ and -, starting with a letter or digit"}
	case m.Threshold < 0 || m.Threshold > 100 || math.IsNaN(m.Threshold):
		return m, &InvalidError{"threshold", "a score from 0 to 100"}
	case m.FalsePositiveOrgs < 0 || m.FalsePositiveOrgs > 1000:
		return m, &InvalidError{"false_positive_orgs", "from 0 (never withdrawn) to 1,000"}
	case safetext.Problem(m.Description, safetext.Text, 1000) != "":
		return m, &InvalidError{"description", safetext.Problem(m.Description, safetext.Text, 1000)}
	case len(m.HalfLifeDays) == 0:
		return m, &InvalidError{"half_life_days", "give a half-life for at least one kind of value (" + strings.Join(decayKinds, ", ") + ")"}
	}
	secs := map[string]int64{}
	for k, v := range m.HalfLifeDays {
		if !slices.Contains(decayKinds, k) {
			return m, &InvalidError{"half_life_days", fmt.Sprintf("%q is not a kind of value: one of %s", safetext.Terminal(k), strings.Join(decayKinds, ", "))}
		}
		if !(v > 0 && v <= 3650) {
			return m, &InvalidError{"half_life_days." + k, "a number of days over 0 and at most 3,650"}
		}
		secs[k] = int64(math.Round(v * 86400))
	}
	hl, err := json.Marshal(secs)
	if err != nil {
		return m, err
	}
	now := s.now().UTC()
	m.UpdatedBy, m.UpdatedAt, m.BuiltIn = sc.UserID, now, false
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		var before *DecayModel
		if ms, err := s.decayModels(ctx, tx); err != nil {
			return err
		} else if i := slices.IndexFunc(ms, func(x DecayModel) bool { return x.Name == m.Name }); i >= 0 {
			before = &ms[i]
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO intel_decay_models (name, half_lives, threshold, fp_orgs, description, updated_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET half_lives = excluded.half_lives, threshold = excluded.threshold, fp_orgs = excluded.fp_orgs,
			description = excluded.description, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
			m.Name, string(hl), m.Threshold, m.FalsePositiveOrgs, m.Description, sc.UserID, versionKey(now)); err != nil {
			return err
		}
		if err := s.lifecycleChanged(ctx, tx, sc.UserID); err != nil {
			return err
		}
		return s.auditChange(ctx, tx, sc, audit.Change{Action: "intel.decay.model", ObjectType: "intel-decay-model", ObjectID: m.Name, Before: before, After: m})
	})
	if err != nil {
		return m, err
	}
	s.changed.fire()
	return m, nil
}

func (s *Store) auditChange(ctx context.Context, tx *store.Tx, sc scope.Scope, c audit.Change) error {
	if s.audit == nil {
		return nil
	}
	_, err := s.audit.Append(ctx, tx, sc, c)
	return err
}

func (s *Store) checkModel(ctx context.Context, q store.Queryer, name string) error {
	if name == StandardModel {
		return nil
	}
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM intel_decay_models WHERE name = ?`, name).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("decay model %q: %w", safetext.Terminal(name), ErrModelNotFound)
	}
	return nil
}

// SetDefaultDecay makes a model the deployment default, audited as
// intel.decay.default.
func (s *Store) SetDefaultDecay(ctx context.Context, sc scope.Scope, name string) error {
	if !sc.National(scope.Write) {
		return ErrDecayForbidden
	}
	name = strings.TrimSpace(name)
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := s.checkModel(ctx, tx, name); err != nil {
			return err
		}
		before, err := setting(ctx, tx, "decay_default")
		if err != nil {
			return err
		}
		if err := s.putSetting(ctx, tx, "decay_default", name, sc.UserID); err != nil {
			return err
		}
		if err := s.lifecycleChanged(ctx, tx, sc.UserID); err != nil {
			return err
		}
		return s.auditChange(ctx, tx, sc, audit.Change{Action: "intel.decay.default", ObjectType: "intel-decay-model", ObjectID: name,
			Before: map[string]string{"model": or(before, StandardModel)}, After: map[string]string{"model": name}})
	})
	if err != nil {
		return err
	}
	s.changed.fire()
	return nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// AssignDecay gives a source a model (model "" takes its model away, so
// it decays by the default), audited as intel.decay.assign. source is a
// source as the store records it ("feed:NAME", a file name) or a prefix
// ending in * ("taxii:*").
func (s *Store) AssignDecay(ctx context.Context, sc scope.Scope, source, model string) error {
	source, model = strings.TrimSpace(source), strings.TrimSpace(model)
	switch {
	case !sc.National(scope.Write):
		return ErrDecayForbidden
	case source == "":
		return &InvalidError{"source", `required: a source as an indicator's page names it ("feed:NAME", a file name), or a prefix ending in * ("taxii:*")`}
	case safetext.Problem(source, safetext.Name, 500) != "":
		return &InvalidError{"source", safetext.Problem(source, safetext.Name, 500)}
	}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var before string
		if err := tx.QueryRowContext(ctx, `SELECT model FROM intel_decay_sources WHERE source = ?`, source).Scan(&before); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if model == "" {
			if before == "" {
				return fmt.Errorf("source %q has no model of its own: %w", safetext.Terminal(source), ErrModelNotFound)
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM intel_decay_sources WHERE source = ?`, source); err != nil {
				return err
			}
		} else {
			if err := s.checkModel(ctx, tx, model); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO intel_decay_sources (source, model, set_by, set_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (source) DO UPDATE SET model = excluded.model, set_by = excluded.set_by, set_at = excluded.set_at`,
				source, model, sc.UserID, versionKey(s.now())); err != nil {
				return err
			}
		}
		if err := s.lifecycleChanged(ctx, tx, sc.UserID); err != nil {
			return err
		}
		return s.auditChange(ctx, tx, sc, audit.Change{Action: "intel.decay.assign", ObjectType: "intel-source", ObjectID: source,
			Before: map[string]string{"model": before}, After: map[string]string{"model": model}})
	})
	if err != nil {
		return err
	}
	s.changed.fire()
	return nil
}

// ---- Verdicts ----

// Verdicts on an indicator.
const (
	VerdictSeen          = "seen"
	VerdictTruePositive  = "true-positive"
	VerdictFalsePositive = "false-positive"
	VerdictExpired       = "expired"
)

// Verdict is one origin's word on an indicator: an analyst closing an
// IOC alert as a true or false positive ("alert:ID"), or a sighting a
// trust reported ("sighting:ID": seen, false positive or expired).
type Verdict struct {
	Indicator string    `json:"indicator"`
	Origin    string    `json:"origin"`
	Org       string    `json:"org"`
	Verdict   string    `json:"verdict"`
	By        string    `json:"by"`
	At        time.Time `json:"at"`
}

// Evidence is what an indicator's score takes from sightings and
// verdicts: when it was last seen (a match, a reported sighting, a
// true positive) and how many organisations hold it false (their
// latest verdict is a false positive or expired).
type Evidence struct {
	LastSeen          time.Time
	FalsePositiveOrgs int
}

// RecordVerdict records (or, with a Verdict other than the four, takes
// back) one origin's verdict. It is the system's record of what an
// audited action said (the alert's triage, the sighting's import), so
// it is not audited again.
func (s *Store) RecordVerdict(ctx context.Context, v Verdict) error {
	if v.Indicator == "" || v.Origin == "" {
		return &InvalidError{"indicator", "a verdict needs an indicator and an origin"}
	}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := putVerdict(ctx, tx, v); err != nil {
			return err
		}
		return s.lifecycleChanged(ctx, tx, v.By)
	})
	if err != nil {
		return err
	}
	s.changed.fire()
	return nil
}

func putVerdict(ctx context.Context, tx *store.Tx, v Verdict) error {
	switch v.Verdict {
	case VerdictSeen, VerdictTruePositive, VerdictFalsePositive, VerdictExpired:
		_, err := tx.ExecContext(ctx, `INSERT INTO intel_verdicts (indicator_id, origin, org, verdict, by_user, at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (indicator_id, origin) DO UPDATE SET org = excluded.org, verdict = excluded.verdict, by_user = excluded.by_user, at = excluded.at`,
			v.Indicator, v.Origin, v.Org, v.Verdict, v.By, versionKey(v.At))
		return err
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM intel_verdicts WHERE indicator_id = ? AND origin = ?`, v.Indicator, v.Origin)
	return err
}

func (s *Store) verdicts(ctx context.Context, indicator string) ([]Verdict, error) {
	q, args := `SELECT indicator_id, origin, org, verdict, by_user, at FROM intel_verdicts`, []any{}
	if indicator != "" {
		q += ` WHERE indicator_id = ?`
		args = append(args, indicator)
	}
	rows, err := s.db.Q().QueryContext(ctx, q+` ORDER BY at, origin`, args...)
	if err != nil {
		return nil, err
	}
	return store.Collect(rows, func(r interface{ Scan(...any) error }) (Verdict, error) {
		var v Verdict
		var at string
		err := r.Scan(&v.Indicator, &v.Origin, &v.Org, &v.Verdict, &v.By, &at)
		v.At, _ = time.Parse(time.RFC3339Nano, at)
		return v, err
	})
}

// Verdicts lists the verdicts on indicators from the organisations the
// caller reads (every one for a national reader), oldest first;
// indicator narrows them to one.
func (s *Store) Verdicts(ctx context.Context, sc scope.Scope, indicator string) ([]Verdict, error) {
	vs, err := s.verdicts(ctx, indicator)
	if err != nil {
		return nil, err
	}
	out := []Verdict{}
	national := sc.National(scope.Read)
	for _, v := range vs {
		if national {
			// Every organisation's, and those counted for a relayed
			// sighting's identity or an operator's file.
			out = append(out, v)
		} else if ok, err := s.readsOrg(ctx, sc, v.Org); err != nil {
			return nil, err
		} else if ok {
			out = append(out, v)
		}
	}
	return out, nil
}

// evidenceOf folds sightings' last times and verdicts into Evidence
// by indicator: an organisation's latest verdict stands for it.
func evidenceOf(last map[string]time.Time, vs []Verdict) map[string]Evidence {
	m := make(map[string]Evidence, len(last))
	for id, t := range last {
		m[id] = Evidence{LastSeen: t}
	}
	latest := map[[2]string]Verdict{}
	for _, v := range vs { // oldest first: a later verdict replaces an earlier one
		latest[[2]string{v.Indicator, v.Org}] = v
		if v.Verdict == VerdictSeen || v.Verdict == VerdictTruePositive {
			if e := m[v.Indicator]; v.At.After(e.LastSeen) {
				e.LastSeen = v.At
				m[v.Indicator] = e
			}
		}
	}
	for k, v := range latest {
		if v.Verdict == VerdictFalsePositive || v.Verdict == VerdictExpired {
			e := m[k[0]]
			e.FalsePositiveOrgs++
			m[k[0]] = e
		}
	}
	return m
}

// Evidence maps every indicator with a sighting or verdict to what its
// score takes from them, for the matcher.
func (s *Store) Evidence(ctx context.Context) (map[string]Evidence, error) {
	last, err := s.LastSeen(ctx)
	if err != nil {
		return nil, err
	}
	vs, err := s.verdicts(ctx, "")
	if err != nil {
		return nil, err
	}
	return evidenceOf(last, vs), nil
}

// EvidenceFor is one indicator's Evidence from the sightings and
// verdicts of the organisations the caller reads, with those verdicts:
// for its page, which says no more than the reader may know.
func (s *Store) EvidenceFor(ctx context.Context, sc scope.Scope, indicator string) (Evidence, []Verdict, error) {
	sg, err := s.Sightings(ctx, sc, indicator)
	if err != nil {
		return Evidence{}, nil, err
	}
	vs, err := s.Verdicts(ctx, sc, indicator)
	if err != nil {
		return Evidence{}, nil, err
	}
	last := map[string]time.Time{}
	for _, x := range sg {
		if x.LastSeen.After(last[indicator]) {
			last[indicator] = x.LastSeen
		}
	}
	return evidenceOf(last, vs)[indicator], vs, nil
}

// sightingVerdict reads what a reported STIX sighting says of its
// indicator: Vigil's own x_vigil_verdict, MISP's x_misp_sighting_type
// (0 seen, 1 false positive, 2 expired), OpenCTI's x_opencti_negative
// (a false positive), else seen.
func sightingVerdict(get func(string, any) (bool, error)) string {
	var v string
	if ok, err := get("x_vigil_verdict", &v); ok && err == nil {
		switch v {
		case VerdictSeen, VerdictTruePositive, VerdictFalsePositive, VerdictExpired:
			return v
		}
	}
	var t int
	if ok, err := get("x_misp_sighting_type", &t); ok && err == nil {
		switch t {
		case 1:
			return VerdictFalsePositive
		case 2:
			return VerdictExpired
		}
	}
	var neg bool
	if ok, err := get("x_opencti_negative", &neg); ok && err == nil && neg {
		return VerdictFalsePositive
	}
	return VerdictSeen
}

// reporterOrg is the organisation a reported sighting is counted for:
// the submitter's own, else the organisation of their first grant, else
// the source itself (an operator's import of a file).
func reporterOrg(sc scope.Scope, source string) string {
	if sc.Home != "" {
		return sc.Home
	}
	for _, g := range sc.Grants {
		if g.Org != "" {
			return g.Org
		}
	}
	return "source:" + source
}

// reportedSighting records what an imported STIX sighting of an
// indicator says (sightingVerdict), from its origin "sighting:ID", as
// one more verdict: a trust's report counts for the trust; a national
// analyst or the operator relaying others' sightings (a MISP feed) has
// each counted for the identity where it was sighted, when it names one.
func reportedSighting(ctx context.Context, tx *store.Tx, sc scope.Scope, source string, o *stix.Object) (bool, error) {
	var of string
	if _, err := o.Get("sighting_of_ref", &of); err != nil || !strings.HasPrefix(of, "indicator--") {
		return false, nil
	}
	org := reporterOrg(sc, source)
	var where []string
	if _, err := o.Get("where_sighted_refs", &where); err == nil && len(where) > 0 && sc.National(scope.Write) {
		org = where[0]
	}
	at := o.Modified
	var last string
	if ok, err := o.Get("last_seen", &last); ok && err == nil {
		if t, err := stix.ParseTimestamp(last); err == nil {
			at = t
		}
	}
	return true, putVerdict(ctx, tx, Verdict{Indicator: of, Origin: "sighting:" + o.ID, Org: org, Verdict: sightingVerdict(o.Get), By: sc.UserID, At: at})
}
