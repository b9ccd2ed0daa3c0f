package analytics

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// defaultConfig is the set of analytics Vigil ships (defaults.yaml, which
// documents the format; docs/analytics.md describes each key).
//
//go:embed defaults.yaml
var defaultConfig []byte

// Kinds of analytic.
const (
	KindFirstSeen = "first_seen"
	KindRare      = "rare"
	KindVolume    = "volume"
	KindTravel    = "impossible_travel"
)

// Levels of a finding: the alerts inbox's severities.
var levels = []string{"info", "low", "medium", "high", "critical"}

// Config is a file of analytics: field aliases shared by all of them and
// the analytics themselves.
type Config struct {
	// Fields names lists of event field names: an analytic that refers to
	// an alias reads the first of its fields that the event has (Entra ID
	// sign-ins carry the user as properties.userPrincipalName from Azure
	// Monitor and as userPrincipalName from Microsoft Graph).
	Fields map[string][]string
	// Analytics are the detections, in file order.
	Analytics []Analytic
	// File is the name the configuration was read from, for messages.
	File string
}

// Analytic is one configured detection. Which keys apply depends on Kind;
// a key that does not apply to the kind is an error.
type Analytic struct {
	Name        string
	Kind        string
	Title       string
	Description string
	Level       string
	// Disabled keeps an analytic in the file without running it.
	Disabled bool
	Where    Filter
	// CaseSensitive compares key and value text as it is; otherwise it is
	// folded to lower case (Windows names are case-insensitive).
	CaseSensitive bool
	// Entities name the fields (or aliases) that fill a finding's user,
	// host, ip and country; by default the aliases of those names.
	Entities map[string]string

	// Key and Value (first_seen, rare): the fields whose values make the
	// key (what is watched: a host, a user) and the value (what is new or
	// rare for it: an account, a country, a parent process).
	Key   []string
	Value []string
	// Learning (first_seen): for this long after an organisation's first
	// matching event, values are learnt without alerting.
	Learning time.Duration
	// Quiet (first_seen): events whose fields match these conditions
	// (as Filter.Fields: any listed value) make their key known without
	// their value being learnt or reported — a host's machine-account
	// logons make the host known, so a person's first logon to it is
	// news.
	Quiet map[string][]string
	// AlertNewKeys (first_seen, rare): also alert on the values of a key
	// never seen before (by default a new key's values are learnt).
	AlertNewKeys bool
	// MaxEntries and MaxValues bound the state per organisation: keys
	// and values kept in all (the least recently seen keys are dropped
	// first) and values kept per key (its least recently seen first).
	MaxEntries int
	MaxValues  int

	// Window, Threshold and MinKeyEvents (rare): a value is rare when it
	// was seen fewer than Threshold times in the Window before, among at
	// least MinKeyEvents events of its key.
	Window       time.Duration
	Threshold    int
	MinKeyEvents int

	// Group (volume): the fields whose values name a source (e.g.
	// @product, @service; or @host). Weeks of history at the same hour of
	// week (±Neighbours hours) make the baseline; an hour whose count lies
	// more than K scaled MADs and MinChange events from the baseline
	// median alerts, once MinSamples baseline hours exist. MaxGroups
	// bounds the sources kept per organisation. UseEventTime counts by the
	// senders' clocks instead of arrival.
	Group      []string
	Weeks      int
	Neighbours int
	K          float64
	MinChange  float64
	MinSamples int
	// SurgeQuantile (volume): a surge must also be above this quantile
	// of all the source's hours in the ring (0.99: its busiest hours of
	// the past weeks, whatever their hour of the week), so that a bursty,
	// mostly silent source is not reported for every burst; 0 turns the
	// gate off.
	SurgeQuantile float64
	MaxGroups     int
	UseEventTime  bool

	// User, Latitude, Longitude, City, Country and IP (impossible_travel)
	// name the sign-in's fields; MaxSpeed (km/h) and MinDistance (km) say
	// what is impossible; MaxUsers bounds the users kept per organisation.
	User        string
	Latitude    string
	Longitude   string
	City        string
	Country     string
	IP          string
	MaxSpeed    float64
	MinDistance float64
	MaxUsers    int

	// Line is the line of the analytic in its file.
	Line int
}

// Filter selects the events an analytic reads: all of its conditions hold.
type Filter struct {
	// Product, Service and Category match the Sigma log source (case
	// folded); "" matches any.
	Product, Service, Category string
	// Fields: each named field (or alias) has one of the listed values,
	// compared case-insensitively, with * matching any run of characters.
	Fields map[string][]string
	// Not: none of these field conditions holds.
	Not map[string][]string
	// Exists: each named field is present and not empty.
	Exists []string
}

// DefaultConfig returns the analytics Vigil ships.
func DefaultConfig() (*Config, error) {
	return ParseConfig("defaults.yaml", defaultConfig)
}

// LoadConfig reads a configuration from r; name is used in messages.
func LoadConfig(name string, r io.Reader) (*Config, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return ParseConfig(name, b)
}

// ConfigError is a problem in a configuration file, at a line.
type ConfigError struct {
	File string
	Line int
	Msg  string
}

func (e *ConfigError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

var nameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`) })

// ParseConfig parses and checks a configuration; every error names the
// file and line. It never panics on any input.
func ParseConfig(file string, b []byte) (cfg *Config, err error) {
	defer func() {
		if p := recover(); p != nil {
			cfg, err = nil, &ConfigError{File: file, Msg: fmt.Sprintf("internal error reading the configuration: %v", p)}
		}
	}()
	p := &parser{file: file}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, p.errf(0, "is empty: it needs an analytics: list")
		}
		return nil, p.wrap(err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, p.errf(root.Line, "the file must be a mapping with fields: and analytics:")
	}
	cfg = &Config{File: file, Fields: map[string][]string{}}
	if err := p.keys(root, "top level", "fields", "analytics"); err != nil {
		return nil, err
	}
	if n := get(root, "fields"); n != nil {
		if n.Kind != yaml.MappingNode {
			return nil, p.errf(n.Line, "fields: must map alias names to lists of field names")
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if !nameRE().MatchString(k.Value) {
				return nil, p.errf(k.Line, "fields: alias %q: use lower-case letters, digits, _ and - (starting with a letter)", k.Value)
			}
			l, err := p.strings(v, "fields."+k.Value)
			if err != nil {
				return nil, err
			}
			if len(l) == 0 {
				return nil, p.errf(v.Line, "fields.%s: list at least one field name", k.Value)
			}
			for _, f := range l {
				if err := p.checkRef(f, v.Line, "fields."+k.Value); err != nil {
					return nil, err
				}
			}
			cfg.Fields[k.Value] = l
		}
	}
	an := get(root, "analytics")
	if an == nil || an.Kind != yaml.SequenceNode || len(an.Content) == 0 {
		line := root.Line
		if an != nil {
			line = an.Line
		}
		return nil, p.errf(line, "analytics: must be a list of at least one analytic")
	}
	seen := map[string]int{}
	for _, n := range an.Content {
		a, err := p.analytic(n)
		if err != nil {
			return nil, err
		}
		if l, dup := seen[a.Name]; dup {
			return nil, p.errf(a.Line, "analytic %q is also defined at line %d", a.Name, l)
		}
		seen[a.Name] = a.Line
		cfg.Analytics = append(cfg.Analytics, a)
	}
	return cfg, nil
}

type parser struct{ file string }

func (p *parser) errf(line int, format string, a ...any) error {
	return &ConfigError{File: p.file, Line: line, Msg: fmt.Sprintf(format, a...)}
}

// wrap turns a YAML syntax error ("yaml: line 3: …") into a ConfigError.
func (p *parser) wrap(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.Index(rest, ":"); i > 0 {
			if l, e := strconv.Atoi(rest[:i]); e == nil {
				return p.errf(l, "%s", strings.TrimSpace(rest[i+1:]))
			}
		}
	}
	return p.errf(0, "%s", msg)
}

// get returns the value of key in mapping n, or nil.
func get(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// keys checks that mapping n has only the allowed keys, each once.
func (p *parser) keys(n *yaml.Node, what string, allowed ...string) error {
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if seen[k.Value] {
			return p.errf(k.Line, "%s: %q is given twice", what, k.Value)
		}
		seen[k.Value] = true
		ok := false
		for _, a := range allowed {
			ok = ok || a == k.Value
		}
		if !ok {
			return p.errf(k.Line, "%s: unknown key %q (known: %s)", what, k.Value, strings.Join(allowed, ", "))
		}
	}
	return nil
}

func (p *parser) scalar(n *yaml.Node, field string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", p.errf(n.Line, "%s: want a single value", field)
	}
	return n.Value, nil
}

// strings reads a scalar or a list of scalars.
func (p *parser) strings(n *yaml.Node, field string) ([]string, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil, nil
		}
		return []string{n.Value}, nil
	case yaml.SequenceNode:
		out := make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return nil, p.errf(c.Line, "%s: want a list of values", field)
			}
			out = append(out, c.Value)
		}
		return out, nil
	}
	return nil, p.errf(n.Line, "%s: want a value or a list of values", field)
}

func (p *parser) int(n *yaml.Node, field string, min int) (int, error) {
	v, err := strconv.Atoi(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil || v < min {
		return 0, p.errf(n.Line, "%s: %q is not a whole number of at least %d", field, n.Value, min)
	}
	return v, nil
}

func (p *parser) float(n *yaml.Node, field string) (float64, error) {
	v, err := strconv.ParseFloat(n.Value, 64)
	if n.Kind != yaml.ScalarNode || err != nil || v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, p.errf(n.Line, "%s: %q is not a positive number", field, n.Value)
	}
	return v, nil
}

func (p *parser) bool(n *yaml.Node, field string) (bool, error) {
	v, err := strconv.ParseBool(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		return false, p.errf(n.Line, "%s: %q is not true or false", field, n.Value)
	}
	return v, nil
}

// duration reads Go durations plus days (d) and weeks (w): "14d", "1w", "90m".
func (p *parser) duration(n *yaml.Node, field string) (time.Duration, error) {
	d, err := ParseDuration(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil || d < 0 {
		return 0, p.errf(n.Line, "%s: %q is not a duration (e.g. 14d, 1w, 36h, 90m)", field, n.Value)
	}
	return d, nil
}

// ParseDuration is time.ParseDuration that also takes a whole number of
// days ("14d") or weeks ("2w").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.Atoi(n)
			if err != nil || v < 0 || v > 3650 {
				return 0, fmt.Errorf("duration %q: want a whole number of days or weeks up to ten years", s)
			}
			return time.Duration(v) * unit, nil
		}
	}
	return time.ParseDuration(s)
}

// Keys allowed for every kind, and per kind.
var (
	commonKeys = []string{"name", "kind", "title", "description", "level", "disabled", "where", "case_sensitive", "entities"}
	kindKeys   = map[string][]string{
		KindFirstSeen: {"key", "value", "learning", "quiet", "alert_new_keys", "max_entries", "max_values"},
		KindRare:      {"key", "value", "window", "threshold", "min_key_events", "max_entries", "max_values"},
		KindVolume:    {"group", "weeks", "neighbours", "k", "min_change", "min_samples", "surge_quantile", "max_groups", "use_event_time"},
		KindTravel:    {"user", "latitude", "longitude", "city", "country", "ip", "max_speed", "min_distance", "max_users"},
	}
)

func (p *parser) analytic(n *yaml.Node) (Analytic, error) {
	a := Analytic{Line: n.Line}
	if n.Kind != yaml.MappingNode {
		return a, p.errf(n.Line, "an analytic must be a mapping with name:, kind: and its settings")
	}
	nameN, kindN := get(n, "name"), get(n, "kind")
	if nameN == nil || !nameRE().MatchString(nameN.Value) {
		return a, p.errf(n.Line, "analytic: name: is required: lower-case letters, digits, _ and - (up to 64, starting with a letter)")
	}
	a.Name = nameN.Value
	what := "analytic " + a.Name
	if kindN == nil || kindKeys[kindN.Value] == nil {
		return a, p.errf(n.Line, "%s: kind: is required: one of %s, %s, %s, %s", what, KindFirstSeen, KindRare, KindVolume, KindTravel)
	}
	a.Kind = kindN.Value
	if err := p.keys(n, what+" ("+a.Kind+")", append(append([]string{}, commonKeys...), kindKeys[a.Kind]...)...); err != nil {
		return a, err
	}
	a.fillDefaults()
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, n.Content[i+1]
		field := what + ": " + k
		var err error
		switch k {
		case "name", "kind":
		case "title":
			a.Title, err = p.scalar(v, field)
		case "description":
			a.Description, err = p.scalar(v, field)
		case "level":
			a.Level, err = p.scalar(v, field)
			if err == nil && !oneOf(a.Level, levels) {
				err = p.errf(v.Line, "%s: %q is not one of %s", field, a.Level, strings.Join(levels, ", "))
			}
		case "disabled":
			a.Disabled, err = p.bool(v, field)
		case "case_sensitive":
			a.CaseSensitive, err = p.bool(v, field)
		case "alert_new_keys":
			a.AlertNewKeys, err = p.bool(v, field)
		case "use_event_time":
			a.UseEventTime, err = p.bool(v, field)
		case "where":
			a.Where, err = p.filter(v, field)
		case "entities":
			a.Entities, err = p.entities(v, field)
		case "quiet":
			var f Filter
			if v.Kind != yaml.MappingNode {
				return a, p.errf(v.Line, "%s: want a mapping of field names to values", field)
			}
			f, err = p.filter(&yaml.Node{Kind: yaml.MappingNode, Line: v.Line, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: "fields", Line: v.Line}, v}}, field)
			a.Quiet = f.Fields
		case "key":
			a.Key, err = p.strings(v, field)
		case "value":
			a.Value, err = p.strings(v, field)
		case "group":
			a.Group, err = p.strings(v, field)
		case "learning":
			a.Learning, err = p.duration(v, field)
		case "window":
			a.Window, err = p.duration(v, field)
			if err == nil && a.Window < time.Hour {
				err = p.errf(v.Line, "%s: %s is shorter than an hour", field, a.Window)
			}
		case "threshold":
			a.Threshold, err = p.int(v, field, 1)
		case "min_key_events":
			a.MinKeyEvents, err = p.int(v, field, 0)
		case "max_entries":
			a.MaxEntries, err = p.int(v, field, 1)
		case "max_values":
			a.MaxValues, err = p.int(v, field, 1)
		case "max_groups":
			a.MaxGroups, err = p.int(v, field, 1)
		case "max_users":
			a.MaxUsers, err = p.int(v, field, 1)
		case "weeks":
			a.Weeks, err = p.int(v, field, 1)
			if err == nil && a.Weeks > maxWeeks {
				err = p.errf(v.Line, "%s: at most %d", field, maxWeeks)
			}
		case "neighbours":
			a.Neighbours, err = p.int(v, field, 0)
			if err == nil && a.Neighbours > 12 {
				err = p.errf(v.Line, "%s: at most 12 hours either side", field)
			}
		case "min_samples":
			a.MinSamples, err = p.int(v, field, 1)
		case "surge_quantile":
			a.SurgeQuantile, err = strconv.ParseFloat(v.Value, 64)
			if v.Kind != yaml.ScalarNode || err != nil || !(a.SurgeQuantile >= 0 && a.SurgeQuantile <= 1) {
				err = p.errf(v.Line, "%s: %q is not a number from 0 to 1", field, v.Value)
			}
		case "k":
			a.K, err = p.float(v, field)
		case "min_change":
			a.MinChange, err = p.float(v, field)
		case "max_speed":
			a.MaxSpeed, err = p.float(v, field)
		case "min_distance":
			a.MinDistance, err = p.float(v, field)
		case "user":
			a.User, err = p.scalar(v, field)
		case "latitude":
			a.Latitude, err = p.scalar(v, field)
		case "longitude":
			a.Longitude, err = p.scalar(v, field)
		case "city":
			a.City, err = p.scalar(v, field)
		case "country":
			a.Country, err = p.scalar(v, field)
		case "ip":
			a.IP, err = p.scalar(v, field)
		}
		if err != nil {
			return a, err
		}
	}
	if a.Title == "" {
		return a, p.errf(n.Line, "%s: title: is required (what an analyst reads first)", what)
	}
	refs := append(append(append([]string{a.User, a.Latitude, a.Longitude, a.City, a.Country, a.IP}, a.Key...), a.Value...), a.Group...)
	refs = append(refs, a.Where.Exists...)
	refs = append(refs, sortedKeys(a.Where.Fields)...)
	refs = append(refs, sortedKeys(a.Where.Not)...)
	refs = append(refs, sortedKeys(a.Quiet)...)
	refs = append(refs, a.Entities["user"], a.Entities["host"], a.Entities["ip"], a.Entities["country"])
	for _, r := range refs {
		if err := p.checkRef(r, n.Line, what); err != nil {
			return a, err
		}
	}
	switch a.Kind {
	case KindFirstSeen, KindRare:
		if len(a.Key) == 0 || len(a.Value) == 0 {
			return a, p.errf(n.Line, "%s: key: and value: are required (the fields that name what is watched and what is new for it)", what)
		}
		if a.MaxValues > a.MaxEntries {
			return a, p.errf(n.Line, "%s: max_values %d is more than max_entries %d", what, a.MaxValues, a.MaxEntries)
		}
	case KindVolume:
		if len(a.Group) == 0 {
			return a, p.errf(n.Line, "%s: group: is required (the fields that name a source, e.g. [\"@product\", \"@service\"])", what)
		}
		if a.MinSamples > a.Weeks*(2*a.Neighbours+1) {
			return a, p.errf(n.Line, "%s: min_samples %d is more than weeks × (2 × neighbours + 1) = %d baseline hours", what, a.MinSamples, a.Weeks*(2*a.Neighbours+1))
		}
	case KindTravel:
		if a.User == "" || a.Latitude == "" || a.Longitude == "" {
			return a, p.errf(n.Line, "%s: user:, latitude: and longitude: are required", what)
		}
	}
	return a, nil
}

// maxWeeks bounds a volume baseline's history (the ring of hourly counts).
const maxWeeks = 12

// fillDefaults sets the defaults of every key; the file overrides them.
func (a *Analytic) fillDefaults() {
	a.Level = "medium"
	switch a.Kind {
	case KindFirstSeen:
		a.Learning, a.MaxEntries, a.MaxValues = 14*24*time.Hour, 50_000, 1_000
	case KindRare:
		a.Window, a.Threshold, a.MinKeyEvents, a.MaxEntries, a.MaxValues = 7*24*time.Hour, 3, 20, 20_000, 500
	case KindVolume:
		a.Weeks, a.Neighbours, a.K, a.MinChange, a.MinSamples, a.MaxGroups, a.SurgeQuantile = 4, 1, 5, 20, 6, 1_000, 0.99
	case KindTravel:
		a.MaxSpeed, a.MinDistance, a.MaxUsers = 900, 500, 50_000
	}
}

func (p *parser) filter(n *yaml.Node, field string) (Filter, error) {
	var f Filter
	if n.Kind != yaml.MappingNode {
		return f, p.errf(n.Line, "%s: want a mapping (product, service, category, fields, not, exists)", field)
	}
	if err := p.keys(n, field, "product", "service", "category", "fields", "not", "exists"); err != nil {
		return f, err
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, n.Content[i+1]
		var err error
		switch k {
		case "product":
			f.Product, err = p.scalar(v, field+".product")
		case "service":
			f.Service, err = p.scalar(v, field+".service")
		case "category":
			f.Category, err = p.scalar(v, field+".category")
		case "exists":
			f.Exists, err = p.strings(v, field+".exists")
		case "fields", "not":
			var m map[string][]string
			if v.Kind != yaml.MappingNode {
				return f, p.errf(v.Line, "%s.%s: want a mapping of field names to values", field, k)
			}
			m = map[string][]string{}
			if err := p.keys(v, field+"."+k, keysOf(v)...); err != nil {
				return f, err // a field named twice
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				name := v.Content[j].Value
				vals, err := p.strings(v.Content[j+1], field+"."+k+"."+name)
				if err != nil {
					return f, err
				}
				if len(vals) == 0 {
					return f, p.errf(v.Content[j+1].Line, "%s.%s.%s: list at least one value", field, k, name)
				}
				m[name] = vals
			}
			if k == "fields" {
				f.Fields = m
			} else {
				f.Not = m
			}
		}
		if err != nil {
			return f, err
		}
	}
	return f, nil
}

func (p *parser) entities(n *yaml.Node, field string) (map[string]string, error) {
	if n.Kind != yaml.MappingNode {
		return nil, p.errf(n.Line, "%s: want a mapping of user, host, ip, country to fields", field)
	}
	if err := p.keys(n, field, entityNames...); err != nil {
		return nil, err
	}
	m := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		v, err := p.scalar(n.Content[i+1], field+"."+n.Content[i].Value)
		if err != nil {
			return nil, err
		}
		m[n.Content[i].Value] = v
	}
	return m, nil
}

// checkRef checks a field reference: an @name must be an event property.
func (p *parser) checkRef(name string, line int, what string) error {
	if strings.HasPrefix(name, "@") && !oneOf(name, pseudoFields) {
		return p.errf(line, "%s: %q is not a property of an event (%s)", what, name, strings.Join(pseudoFields, ", "))
	}
	return nil
}

// keysOf lists mapping n's keys.
func keysOf(n *yaml.Node) []string {
	var ks []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		ks = append(ks, n.Content[i].Value)
	}
	return ks
}

func oneOf(s string, l []string) bool {
	for _, x := range l {
		if s == x {
			return true
		}
	}
	return false
}
