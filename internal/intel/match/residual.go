package match

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/intel/pattern"
)

// Patterns the index cannot decide alone: AND inside an observation (a
// hash and a file name), LIKE and MATCHES, operators other than =, IN
// and ISSUBSET, properties the index does not hold, and several
// observations joined by AND or FOLLOWEDBY or qualified by WITHIN,
// REPEATS or START/STOP.
//
// Each observation of such a pattern is anchored: the index holds a set
// of values one of which an event must carry for the observation to be
// true (for `A AND B` the anchors of one side, for `A OR B` those of
// both), so such an indicator costs an event nothing until the event
// carries an anchor. Then the event is a candidate: its fields are read
// once more into a view (STIX property → values) and each observation of
// the pattern is checked on the view in full. An observation with no
// value to anchor on but a LIKE or MATCHES over a property the index
// reads (a domain, URL, e-mail address or user agent) is anchored on a
// scan: the compiled expression is run on every value of that kind an
// event carries. That is bounded: at most Options.MaxScans scans in an
// index (the rest are skipped and counted), MATCHES expressions of at
// most maxRegexpLen bytes, values of at most maxScanLen bytes; Go's
// regexp is RE2, linear in the value's length, so no expression can
// backtrack without end. A LIKE '%.evil.example' over a domain anchors
// on evil.example (its subdomains are found by the index) and needs no
// scan.
//
// Observations joined by AND or FOLLOWEDBY, or qualified, need several
// events: see window.go.

const (
	maxRegexpLen = 1024
	maxScanLen   = 4096
	maxObs       = 64 // observations of one pattern (a bit each)
)

// Further reasons an indicator is not loaded.
const (
	SkipNoAnchor      = "an observation has no value to index on"
	SkipTooManyScans  = "too many LIKE/MATCHES scans (Options.MaxScans)"
	SkipTooManyObs    = "more than 64 observations"
	SkipNoRecipient   = "TLP:RED or AMBER+STRICT with no organisation among its recipients"
	defaultMaxScans   = 256
	scanKindsBitmask  = 1<<KindDomain | 1<<KindURL | 1<<KindEmail | 1<<KindUserAgent
	maxSpansPerResult = 64
)

// anchor is a value of the index or a scan that an event must carry for
// an observation to hold.
type anchor struct {
	val  Value
	scan *scan
}

// scan is a LIKE or MATCHES run on every value of its kind.
type scan struct {
	kind Kind
	test func(string) bool
	ind  uint32
}

// anchorsOf are c's anchors, nil when it has none.
func anchorsOf(c pattern.CmpExpr) []anchor {
	switch x := c.(type) {
	case *pattern.CmpGroup:
		return anchorsOf(x.Expr)
	case *pattern.CmpBinary:
		l, r := anchorsOf(x.L), anchorsOf(x.R)
		if !x.And {
			if l == nil || r == nil {
				return nil
			}
			return append(l, r...)
		}
		// Either side will do: prefer values to scans, then fewer.
		switch {
		case l == nil:
			return r
		case r == nil:
			return l
		case scans(l) != scans(r):
			if scans(l) < scans(r) {
				return l
			}
			return r
		case len(r) < len(l):
			return r
		}
		return l
	case *pattern.Comparison:
		var vs []Value
		if comparison(x, &vs) == nil {
			out := make([]anchor, len(vs))
			for i, v := range vs {
				out[i] = anchor{val: v}
			}
			return out
		}
		if x.Not || (x.Op != pattern.Like && x.Op != pattern.Matches) || x.Value.Kind != pattern.String {
			return nil
		}
		k := pathKind(x.Path)
		if k == KindIP && x.Path.Type == "network-traffic" {
			k = 0 // a ref's LIKE: address or domain, not worth a scan
		}
		if k == 0 || scanKindsBitmask&(1<<k) == 0 {
			return nil
		}
		if x.Op == pattern.Like && k == KindDomain {
			// '%.evil.example': the index finds evil.example's subdomains.
			if rest, ok := strings.CutPrefix(x.Value.Str, "%."); ok && !strings.ContainsAny(rest, "%_") {
				if v, err := Normalise(KindDomain, rest); err == nil {
					return []anchor{{val: v}}
				}
			}
		}
		if x.Op == pattern.Matches && len(x.Value.Str) > maxRegexpLen {
			return nil
		}
		return []anchor{{scan: &scan{kind: k, test: pattern.CompileTest(x)}}}
	}
	return nil
}

func scans(as []anchor) int {
	n := 0
	for _, a := range as {
		if a.scan != nil {
			n++
		}
	}
	return n
}

// view is a candidate event read as STIX properties: for the kinds the
// index knows, the kind's name ("ip", "domain", "sha256", …); for the
// others, the property's path as extraPaths spells it.
type view map[string][]string

// extraPaths are properties the index does not hold, which an
// observation may still test beside an anchor, with the (lower-case)
// event fields that carry them. docs/intel.md lists them.
var extraPaths = map[string][]string{
	"file:name": {"targetfilename", "image", "file.name", "filename", "fileinfo.filename", "file_name", "originalfilename",
		"file.path", "process.executable"},
	"file:size":                    {"filesize", "file.size", "fileinfo.size"},
	"process:name":                 {"image", "process.name", "process.executable", "processname", "newprocessname"},
	"process:command_line":         {"commandline", "process.command_line", "cmdline", "process_command_line"},
	"process:pid":                  {"processid", "process.pid", "pid"},
	"network-traffic:dst_port":     {"destinationport", "dest_port", "dst_port", "id.resp_p", "destination.port", "dpt", "dstport"},
	"network-traffic:src_port":     {"sourceport", "src_port", "id.orig_p", "source.port", "spt", "srcport"},
	"network-traffic:protocols":    {"protocol", "proto", "network.transport", "network.protocol", "app_proto"},
	"user-account:account_login":   {"user", "username", "targetusername", "subjectusername", "user.name", "userprincipalname"},
	"user-account:user_id":         {"user", "username", "targetusername", "user.name", "userid", "user.id"},
	"windows-registry-key:key":     {"targetobject", "registry.path", "registry.key"},
	"email-message:subject":        {"subject", "email.subject"},
	"mutex:name":                   {"mutex", "mutexname"},
	"x509-certificate:hashes.sha1": {"tls.server.hash.sha1", "certificatehash", "tls.fingerprint"},
}

// pathFields say which fields hold a file path of which the name is the
// last part.
var pathFields = map[string]bool{"image": true, "targetfilename": true, "file.path": true, "process.executable": true, "newprocessname": true}

// extraFields is extraPaths the other way round.
var extraFields = func() map[string][]string {
	m := map[string][]string{}
	for p, fs := range extraPaths {
		for _, f := range fs {
			m[f] = append(m[f], p)
		}
	}
	return m
}()

// extraKey is the extraPaths key of a path: type, then the keys in
// lower case joined by dots, list indexes and quotes left out.
func extraKey(p pattern.Path) string {
	var b strings.Builder
	b.WriteString(p.Type)
	b.WriteByte(':')
	first := true
	for _, s := range p.Steps {
		if s.IsIndex {
			continue
		}
		if !first {
			b.WriteByte('.')
		}
		first = false
		b.WriteString(strings.ReplaceAll(strings.ToLower(s.Key), "-", ""))
	}
	return b.String()
}

// viewOf reads an event's fields as a view. Only a candidate event is
// read so; it allocates.
func viewOf(ev *events.Event) view {
	v := view{}
	var hostV, pathV string
	for name, val := range ev.Fields {
		k := strings.ToLower(name)
		f := fieldKinds[k]
		extra := extraFields[k]
		if f == 0 && extra == nil {
			continue
		}
		var vals []string
		switch x := val.(type) {
		case string:
			vals = []string{x}
		case float64:
			vals = []string{strconv.FormatFloat(x, 'f', -1, 64)}
		case bool:
			vals = []string{strconv.FormatBool(x)}
		case []any:
			for _, e := range x {
				switch y := e.(type) {
				case string:
					vals = append(vals, y)
				case float64:
					vals = append(vals, strconv.FormatFloat(y, 'f', -1, 64))
				}
			}
		}
		for _, s := range vals {
			s = strings.TrimSpace(s)
			if s == "" || s == "-" {
				continue
			}
			for _, p := range extra {
				v[p] = append(v[p], s)
				if pathFields[k] && (p == "file:name" || p == "process:name") {
					if i := strings.LastIndexAny(s, `\/`); i >= 0 {
						v[p] = append(v[p], s[i+1:])
					}
				}
			}
			if f&fHTTPHost != 0 && hostV == "" {
				hostV = s
			}
			if f&fURL != 0 && s[0] == '/' && pathV == "" {
				pathV = s
			}
			v.add(f, s)
		}
	}
	if hostV != "" && pathV != "" {
		v["url"] = append(v["url"], hostV+pathV)
	}
	return v
}

// add reads one value of a field of kinds f.
func (v view) add(f uint8, s string) {
	if f&(fIP|fHost) != 0 {
		if a, ok := addrOf(strings.Trim(s, "[]")); ok {
			v["ip"] = append(v["ip"], a.String())
			return
		}
	}
	if f&fHost != 0 {
		v["domain"] = append(v["domain"], strings.TrimSuffix(s, "."))
	}
	if f&fURL != 0 && s[0] != '/' {
		v["url"] = append(v["url"], s)
		if k := urlKey(s, nil); len(k) > 0 {
			h := string(k[:strings.IndexByte(string(k), '/')])
			if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.Count(h, ":") == 1 {
				h = h[:i]
			}
			v.add(fHost, h)
		}
	}
	if f&fHash != 0 {
		for i := 0; i < len(s); {
			if hexVal(s[i]) < 0 {
				i++
				continue
			}
			j := i
			for j < len(s) && hexVal(s[j]) >= 0 {
				j++
			}
			switch j - i {
			case 32:
				v["md5"] = append(v["md5"], s[i:j])
			case 40:
				v["sha1"] = append(v["sha1"], s[i:j])
			case 64:
				v["sha256"] = append(v["sha256"], s[i:j])
			}
			i = j
		}
	}
	if f&fEmail != 0 {
		for _, one := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' }) {
			if i := strings.IndexByte(one, '<'); i >= 0 {
				one = one[i+1:]
				one, _, _ = strings.Cut(one, ">")
			}
			one = strings.TrimSpace(one)
			if at := strings.LastIndexByte(one, '@'); at > 0 && at < len(one)-1 {
				v["email"] = append(v["email"], one)
				v["domain"] = append(v["domain"], one[at+1:])
			}
		}
	}
	if f&fUA != 0 {
		v["user-agent"] = append(v["user-agent"], s)
	}
	if f&fJA3 != 0 {
		v["ja3"] = append(v["ja3"], s)
	}
}

func addrOf(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return a, false
		}
		a = ap.Addr()
	}
	return a.Unmap().WithZone(""), true
}

// check decides one observation on a view.
type check func(view) bool

// compileCheck compiles an observation's comparison expression. A
// comparison the index could hold (=, IN, ISSUBSET) compares as the index
// does — normalised values, a domain with its subdomains — so a
// candidate found through the index is not lost to a difference of
// spelling; the rest compare as STIX says (pattern.CompileTest). A
// property the view lacks makes a comparison false, NOT or not.
func compileCheck(c pattern.CmpExpr) check {
	switch x := c.(type) {
	case *pattern.CmpGroup:
		return compileCheck(x.Expr)
	case *pattern.CmpBinary:
		l, r := compileCheck(x.L), compileCheck(x.R)
		if x.And {
			return func(v view) bool { return l(v) && r(v) }
		}
		return func(v view) bool { return l(v) || r(v) }
	case *pattern.Exists:
		keys := sourcesOf(x.Path)
		not := x.Not
		return func(v view) bool {
			n := 0
			for _, k := range keys {
				n += len(v[k])
			}
			return (n > 0) != not
		}
	case *pattern.Comparison:
		keys := sourcesOf(x.Path)
		test := pattern.CompileTest(x)
		var vs []Value
		if !x.Not && comparison(x, &vs) == nil {
			test = indexTest(vs)
		}
		not := x.Not
		return func(v view) bool {
			for _, k := range keys {
				for _, s := range v[k] {
					if test(s) != not {
						return true
					}
				}
			}
			return false
		}
	}
	return func(view) bool { return false }
}

// sourcesOf are the view's keys for a path.
func sourcesOf(p pattern.Path) []string {
	switch k := pathKind(p); {
	case k == KindIP && p.Type == "network-traffic":
		return []string{"ip", "domain"}
	case k != 0:
		return []string{k.String()}
	}
	return []string{extraKey(p)}
}

// indexTest compares a value as the index would: normalised, a domain
// with its subdomains, an address with the blocks holding it.
func indexTest(vs []Value) func(string) bool {
	return func(s string) bool {
		for _, want := range vs {
			kind := want.Kind
			if kind == KindIP {
				a, ok := addrOf(s)
				if !ok {
					if want.Prefix.IsValid() {
						continue
					}
				} else {
					if want.Prefix.IsValid() && want.Prefix.Contains(a) {
						return true
					}
					continue
				}
				kind = KindDomain // a network-traffic ref listed as a domain
			}
			got, err := Normalise(kind, s)
			if err != nil {
				continue
			}
			if got.Text == want.Text || kind == KindDomain && strings.HasSuffix(got.Text, "."+want.Text) {
				return true
			}
		}
		return false
	}
}

// complexInd is an indicator decided beyond the index: its observations
// and, when it needs several events, the expression joining them.
type complexInd struct {
	obs  []check
	expr *node // nil: observations joined by OR, each enough alone
}

// mask checks every observation on a view: bit i for observation i.
func (c *complexInd) mask(v view) uint64 {
	var m uint64
	for i, o := range c.obs {
		if o(v) {
			m |= 1 << i
		}
	}
	return m
}

// plan reads a pattern the index cannot decide alone into its
// observations (each with its anchors) and the expression over them.
func plan(p *pattern.Pattern) (*complexInd, [][]anchor, string) {
	c := &complexInd{}
	var anchors [][]anchor
	multi := false
	var walk func(e pattern.ObsExpr) *node
	walk = func(e pattern.ObsExpr) *node {
		switch x := e.(type) {
		case *pattern.Observation:
			c.obs = append(c.obs, compileCheck(x.Cmp))
			anchors = append(anchors, anchorsOf(x.Cmp))
			return &node{op: opLeaf, leaf: len(c.obs) - 1}
		case *pattern.ObsGroup:
			return walk(x.Expr)
		case *pattern.ObsBinary:
			n := &node{l: walk(x.L), r: walk(x.R)}
			switch x.Op {
			case pattern.ObsOr:
				n.op = opOr
			case pattern.ObsAnd:
				n.op, multi = opAnd, true
			default:
				n.op, multi = opFollowedBy, true
			}
			return n
		case *pattern.Qualified:
			multi = true
			return &node{op: opQualified, q: x.Q, l: walk(x.Expr)}
		}
		return &node{op: opLeaf, leaf: -1}
	}
	expr := walk(p.Expr)
	if len(c.obs) > maxObs {
		return nil, nil, SkipTooManyObs
	}
	for _, a := range anchors {
		if a == nil {
			return nil, nil, SkipNoAnchor
		}
	}
	if multi {
		c.expr = expr
	}
	return c, anchors, ""
}
