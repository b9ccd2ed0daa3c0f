package sigma

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/vigil-health/vigil/internal/sigma/pipeline"
)

// Options are what Compile needs beyond the rule.
type Options struct {
	// Placeholders gives the values of the expand modifier's %name%
	// placeholders (name without the percent signs). Each value is a
	// Sigma string (wildcards allowed); several values are OR-ed. A rule
	// using a placeholder not given here does not compile.
	Placeholders map[string][]string
	// Pipelines are processing pipelines (pySigma's or sigmac's YAML, or
	// a built-in: LoadPipelines) applied to every rule and filter before
	// it compiles, chained in order of priority. A rule a pipeline cannot
	// be applied to (an unsupported item applies to it, a rule_failure
	// fires) does not compile, and the error names the pipeline file,
	// line and item.
	Pipelines []*pipeline.Pipeline

	chain *pipeline.Pipeline // Pipelines chained (prepared)
}

// CompiledRule is a rule ready to evaluate. It is immutable and safe for
// concurrent use.
type CompiledRule struct {
	Rule     *Rule
	cond     node
	searches []node // in the order of Rule.Detection.Searches
	// unfiltered is the rule's own condition once filters are applied.
	unfiltered node
	filters    []*CompiledFilter
	// routed is set when a pipeline added conditions that route the rule
	// to its events (Router).
	routed bool
	// applied are the IDs of the pipeline items that changed the rule.
	applied []string
}

// PipelineItems are the IDs of the processing pipeline items that
// changed the rule (Options.Pipelines), in the order they applied.
func (c *CompiledRule) PipelineItems() []string { return slices.Clip(c.applied) }

// Match reports whether ev satisfies the rule's condition. It does not
// check the log source (see Logsource.Covers).
func (c *CompiledRule) Match(ev Event) bool {
	x := getCtx(ev)
	ok := c.cond.eval(x)
	putCtx(x)
	return ok
}

// match is Match within an event's evaluation context, which caches the
// event's fields across the rules it meets (Router.Match).
func (c *CompiledRule) match(x *evalCtx) bool { return c.cond.eval(x) }

// Result explains one evaluation: whether the rule matched and which of
// its searches (by name, in file order) the event satisfied, so that an
// alert can say what fired.
type Result struct {
	Matched  bool
	Searches []string
	// Fields are the fields (in rule order, once each) whose tests held
	// in those searches; "keywords" for a keyword search.
	Fields []string
	// Filtered names (by id, or title when it has none) the filters that
	// excluded the event.
	Filtered []string
}

// Explain is Match that also names the searches ev satisfies (filters
// included: a search named filter_x that matched is why a rule did not)
// and the fields whose tests held in them.
// It evaluates every search, so it is for the events that matched or are
// being examined, not the hot path.
func (c *CompiledRule) Explain(ev Event) Result {
	x := getCtx(ev)
	defer putCtx(x)
	r := Result{Matched: c.cond.eval(x)}
	for i, n := range c.searches {
		if n.eval(x) {
			r.Searches = append(r.Searches, c.Rule.Detection.Searches[i].Name)
			r.Fields = matchedFields(n, x, r.Fields)
		}
	}
	for _, f := range c.filters {
		if f.cond.eval(x) {
			name := f.Filter.ID
			if name == "" {
				name = f.Filter.Title
			}
			r.Filtered = append(r.Filtered, name)
		}
	}
	return r
}

// Compile compiles a parsed rule. Errors are *Error naming the rule's
// file and the line of the offending field, value or condition.
func Compile(r *Rule, opts Options) (c *CompiledRule, err error) {
	if r == nil {
		return nil, &Error{Msg: "no rule to compile"}
	}
	defer func() {
		if p := recover(); p != nil {
			c, err = nil, &Error{File: r.File, Msg: fmt.Sprintf("internal error compiling rule: %v", p)}
		}
	}()
	cc := &compiler{file: r.File, det: &r.Detection, opts: opts, searches: map[string]node{}}
	var mp *mapped
	if p := opts.chained(); p != nil {
		if mp, err = applyPipeline(p, r.File, r.Logsource, r.Tags, ruleAttributes(r), &r.Detection); err != nil {
			return nil, err
		}
		cc.det, cc.fields = mp.det, mp.fields
	}
	root, order, err := cc.detection()
	if err != nil {
		return nil, err
	}
	out := &CompiledRule{Rule: r, cond: root, searches: order}
	if mp != nil {
		if out.cond, err = cc.routes(root, r.Logsource.Pos, mp.routes); err != nil {
			return nil, err
		}
		out.routed, out.applied = len(mp.routes) > 0, mp.applied
	}
	return out, nil
}

// detection compiles the searches and the conditions (OR-ed) of c.det.
func (cc *compiler) detection() (node, []node, error) {
	d := cc.det
	for _, s := range d.Searches {
		n, err := cc.search(s)
		if err != nil {
			return nil, nil, err
		}
		cc.searches[s.Name] = n
	}
	var conds []node
	for _, cond := range d.Conditions {
		n, err := cc.condition(cond, cond.Expr)
		if err != nil {
			return nil, nil, err
		}
		conds = append(conds, n)
	}
	var root node
	switch len(conds) {
	case 0:
		return nil, nil, &Error{File: cc.file, Line: d.Pos.Line, Msg: "detection has no condition"}
	case 1:
		root = conds[0]
	default:
		root = &orNode{kids: conds}
	}
	order := make([]node, len(d.Searches))
	for i, s := range d.Searches {
		order[i] = cc.searches[s.Name]
	}
	return root, order, nil
}

// ParseAndCompile is Parse then Compile.
func ParseAndCompile(data []byte, file string, opts Options) (*CompiledRule, error) {
	r, err := Parse(data, file)
	if err != nil {
		return nil, err
	}
	return Compile(r, opts)
}

type compiler struct {
	file     string
	det      *Detection
	opts     Options
	searches map[string]node
	// fields are the fields a one-to-many pipeline mapping gave a field
	// match (applyPipeline).
	fields map[*FieldMatch][]string
}

func (c *compiler) errAt(pos Position, unsupported bool, format string, a ...any) *Error {
	return &Error{File: c.file, Line: pos.Line, Column: pos.Column, Msg: fmt.Sprintf(format, a...), Unsupported: unsupported}
}

func (c *compiler) condition(cond Condition, e Expr) (node, error) {
	errAt := func(e Expr, format string, a ...any) error {
		return c.errAt(cond.Pos, false, "condition %q at offset %d: %s", cond.Text, e.Offset(), fmt.Sprintf(format, a...))
	}
	switch x := e.(type) {
	case *AndExpr:
		kids := make([]node, len(x.Args))
		for i, a := range x.Args {
			n, err := c.condition(cond, a)
			if err != nil {
				return nil, err
			}
			kids[i] = n
		}
		return &andNode{kids: kids}, nil
	case *OrExpr:
		kids := make([]node, len(x.Args))
		for i, a := range x.Args {
			n, err := c.condition(cond, a)
			if err != nil {
				return nil, err
			}
			kids[i] = n
		}
		return &orNode{kids: kids}, nil
	case *NotExpr:
		n, err := c.condition(cond, x.X)
		if err != nil {
			return nil, err
		}
		return &notNode{kid: n}, nil
	case *SearchRef:
		if strings.Contains(x.Name, "*") {
			return nil, errAt(x, "%q has a wildcard: write \"1 of %s\" or \"all of %s\"", x.Name, x.Name, x.Name)
		}
		n, ok := c.searches[x.Name]
		if !ok {
			return nil, errAt(x, "no search named %q", x.Name)
		}
		return &refNode{name: x.Name, kid: n}, nil
	case *OfExpr:
		var kids []node
		for _, s := range c.det.Searches {
			if x.Pattern == "them" {
				if strings.HasPrefix(s.Name, "_") {
					continue
				}
			} else if !identMatch(x.Pattern, s.Name) {
				continue
			}
			kids = append(kids, &refNode{name: s.Name, kid: c.searches[s.Name]})
		}
		if len(kids) == 0 {
			return nil, errAt(x, "%q matches no search", x.Pattern)
		}
		if x.All {
			return &andNode{kids: kids, of: x.String()}, nil
		}
		return &orNode{kids: kids, of: x.String()}, nil
	}
	return nil, errAt(e, "unknown expression %T", e)
}

// identMatch matches a search name against a condition pattern with *.
func identMatch(pat, name string) bool {
	p := pattern{}
	for i, part := range strings.Split(pat, "*") {
		if i > 0 {
			p = append(p, ptok{kind: '*'})
		}
		if part != "" {
			p = append(p, ptok{kind: 'l', lit: part})
		}
	}
	return globMatch(p, name, false)
}

func (c *compiler) search(s *Search) (node, error) {
	var alts []node
	for _, m := range s.Maps {
		var all []node
		for _, fm := range m.Matches {
			n, err := c.fieldMatchMapped(fm)
			if err != nil {
				return nil, err
			}
			all = append(all, n)
		}
		if len(all) == 1 {
			alts = append(alts, all[0])
		} else {
			alts = append(alts, &andNode{kids: all})
		}
	}
	if len(alts) == 1 {
		return alts[0], nil
	}
	return &orNode{kids: alts}, nil
}

// modifier flags gathered from a FieldMatch.
type mods struct {
	all, cased, neq, exists, fieldref, re, cidr bool
	reFlags                                     string
	cmp                                         string // lt lte gt gte
	timePart                                    string // minute hour day week month year
	position                                    bool   // contains/startswith/endswith given
}

func (c *compiler) fieldMatch(fm *FieldMatch) (node, error) {
	keyword := fm.Field == ""
	errf := func(format string, a ...any) error {
		return c.errAt(fm.Pos, false, format, a...)
	}
	unsup := func(format string, a ...any) error {
		return c.errAt(fm.Pos, true, format, a...)
	}
	name := fm.Field
	if keyword {
		name = "keywords"
	}

	// First pass: flags and checks of combinations.
	var m mods
	hasTransform := false
	for i, mod := range fm.Modifiers {
		switch mod {
		case "all":
			m.all = true
		case "cased":
			m.cased = true
		case "neq":
			m.neq = true
		case "exists":
			m.exists = true
		case "fieldref":
			m.fieldref = true
		case "re":
			m.re = true
		case "i", "m", "s":
			if !m.re || !slices.Contains([]string{"re", "i", "m", "s"}, fm.Modifiers[i-1]) {
				return nil, errf("modifier %q is a sub-modifier of re and must follow it", mod)
			}
			m.reFlags += mod
		case "cidr":
			m.cidr = true
		case "lt", "lte", "gt", "gte":
			if m.cmp != "" {
				return nil, errf("modifiers %q and %q together", m.cmp, mod)
			}
			m.cmp = mod
		case "minute", "hour", "day", "week", "month", "year":
			if m.timePart != "" {
				return nil, errf("modifiers %q and %q together", m.timePart, mod)
			}
			m.timePart = mod
		case "contains", "startswith", "endswith":
			m.position = true
			hasTransform = true
		case "base64", "base64offset", "utf16le", "utf16be", "utf16", "wide", "windash", "expand":
			hasTransform = true
		default:
			return nil, errf("unknown modifier %q", mod)
		}
	}
	if keyword && (m.exists || m.fieldref || m.cidr || m.cmp != "" || m.timePart != "") {
		return nil, errf("a keyword search cannot take modifiers exists, fieldref, cidr, lt/lte/gt/gte or time parts")
	}
	typed := 0
	for _, b := range []bool{m.re, m.cidr, m.exists, m.fieldref, m.cmp != "" && m.timePart == ""} {
		if b {
			typed++
		}
	}
	if typed > 1 {
		return nil, errf("modifiers %v: re, cidr, exists, fieldref and lt/lte/gt/gte exclude each other", fm.Modifiers)
	}
	if (m.re || m.cidr || m.exists || m.cmp != "" || m.timePart != "") && hasTransform {
		return nil, errf("modifiers %v: re, cidr, exists, lt/lte/gt/gte and time parts take the value as it is, without string transformations", fm.Modifiers)
	}

	// Null values.
	for _, v := range fm.Values {
		if v.Kind == Null {
			if len(fm.Modifiers) > 0 && !(len(fm.Modifiers) == 1 && m.neq) {
				return nil, c.errAt(v.Pos, false, "field %q: null takes no modifiers", name)
			}
			if keyword {
				return nil, c.errAt(v.Pos, false, "a keyword cannot be null")
			}
			var n node = &nullNode{field: fm.Field, slot: fieldSlot(fm.Field)}
			if m.neq {
				n = &notNode{kid: n}
			}
			return n, nil
		}
	}

	if m.exists {
		if len(fm.Values) != 1 || fm.Values[0].Kind != Bool {
			return nil, errf("field %q: exists takes one value, true or false", name)
		}
		want := strings.EqualFold(fm.Values[0].Text, "true")
		return &existsNode{field: fm.Field, slot: fieldSlot(fm.Field), want: want}, nil
	}

	fn := &fieldNode{field: fm.Field, keyword: keyword, all: m.all, mods: fm.Modifiers}
	if !keyword {
		fn.slot = fieldSlot(fm.Field)
	}
	for _, v := range fm.Values {
		alts, err := c.valuePreds(fm, v, &m)
		if err != nil {
			return nil, err
		}
		fn.groups = append(fn.groups, alts)
	}
	if !m.all {
		fn.buildAC()
	}
	if m.fieldref {
		for _, g := range fn.groups {
			for _, p := range g {
				if _, ok := p.(*refPred); !ok {
					return nil, unsup("field %q: fieldref with these modifiers is not supported", name)
				}
			}
		}
	}
	var n node = fn
	if m.neq {
		// "The field is different from the specified values": a field
		// the event does not have is not different, as a query backend's
		// field != value does not match it either.
		n = &notNode{kid: n}
		if !keyword {
			n = &andNode{kids: []node{&existsNode{field: fm.Field, slot: fieldSlot(fm.Field), want: true}, n}}
		}
	}
	return n, nil
}

// valuePreds compiles one rule value into its alternatives (OR-ed).
func (c *compiler) valuePreds(fm *FieldMatch, v Value, m *mods) ([]pred, error) {
	errf := func(format string, a ...any) error {
		return c.errAt(v.Pos, false, format, a...)
	}
	unsup := func(format string, a ...any) error {
		return c.errAt(v.Pos, true, format, a...)
	}
	switch {
	case m.re:
		if v.Kind != String && v.Kind != Number {
			return nil, errf("re takes a string, not a %s", v.Kind)
		}
		expr := v.Text
		flags := m.reFlags
		if !m.cased && strings.Contains(flags, "i") {
			flags = strings.ReplaceAll(flags, "i", "")
			flags = "i" + flags
		}
		if flags != "" {
			expr = "(?" + dedupe(flags) + ")" + expr
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, unsup("regular expression %q does not compile in Go's RE2 syntax: %v", v.Text, reason(err))
		}
		return []pred{&rePred{re: re, src: v.Text}}, nil
	case m.cidr:
		pfx, err := netip.ParsePrefix(strings.TrimSpace(v.Text))
		if err != nil {
			// A bare address is a /32 or /128.
			addr, aerr := netip.ParseAddr(strings.TrimSpace(v.Text))
			if aerr != nil {
				return nil, errf("cidr: %q is not a network (%v)", v.Text, err)
			}
			pfx = netip.PrefixFrom(addr, addr.BitLen())
		}
		return []pred{&cidrPred{pfx: pfx.Masked()}}, nil
	case m.timePart != "":
		num, err := c.number(v, m.timePart)
		if err != nil {
			return nil, err
		}
		op := m.cmp
		if op == "" {
			op = "eq"
		}
		return []pred{&timePred{part: m.timePart, op: op, num: num}}, nil
	case m.cmp != "":
		num, err := c.number(v, m.cmp)
		if err != nil {
			return nil, err
		}
		return []pred{&cmpPred{op: m.cmp, num: num}}, nil
	}

	// String pipeline.
	texts := []string{v.Text}
	if v.Kind == Bool {
		texts[0] = strings.ToLower(v.Text)
	}
	if slices.Contains(fm.Modifiers, "expand") {
		var err error
		texts, err = c.expand(v, texts[0])
		if err != nil {
			return nil, err
		}
	}
	if m.fieldref {
		var out []pred
		for _, t := range texts {
			out = append(out, &refPred{field: t, cased: m.cased})
		}
		for _, mod := range fm.Modifiers {
			switch mod {
			case "fieldref", "cased", "all", "neq":
			default:
				return nil, unsup("fieldref with modifier %q is not supported", mod)
			}
		}
		return out, nil
	}
	pats := make([]pattern, len(texts))
	for i, t := range texts {
		pats[i] = parseWildcards(t)
	}
	for _, mod := range fm.Modifiers {
		var err error
		switch mod {
		case "contains":
			pats = mapPats(pats, func(p pattern) pattern { return p.withStars(true, true) })
		case "startswith":
			pats = mapPats(pats, func(p pattern) pattern { return p.withStars(false, true) })
		case "endswith":
			pats = mapPats(pats, func(p pattern) pattern { return p.withStars(true, false) })
		case "utf16le", "wide":
			pats = mapPats(pats, func(p pattern) pattern { return p.mapLiterals(encodeUTF16LE) })
		case "utf16be":
			pats = mapPats(pats, func(p pattern) pattern { return p.mapLiterals(encodeUTF16BE) })
		case "utf16":
			pats = mapPats(pats, func(p pattern) pattern {
				q := p.mapLiterals(encodeUTF16LE)
				if len(q) > 0 && q[0].kind == 'l' {
					q[0].lit = "\xff\xfe" + q[0].lit
				} else {
					q = append(pattern{{kind: 'l', lit: "\xff\xfe"}}, q...)
				}
				return q
			})
		case "base64":
			pats, err = encodePats(pats, mod, func(s string) []string {
				return []string{base64.StdEncoding.EncodeToString([]byte(s))}
			})
		case "base64offset":
			pats, err = encodePats(pats, mod, base64Offsets)
		case "windash":
			pats, err = windash(pats)
		}
		if err != nil {
			return nil, errf("%v", err)
		}
	}
	if fm.Field == "" && !m.position {
		// A keyword is found anywhere in the text.
		pats = mapPats(pats, func(p pattern) pattern { return p.withStars(true, true) })
	}
	var out []pred
	for _, p := range pats {
		sp := &strPred{m: newStrMatcher(p, m.cased)}
		if v.Kind == Number && !m.position && len(fm.Modifiers) == 0 {
			if f, err := strconv.ParseFloat(v.Text, 64); err == nil {
				sp.num, sp.isNum = f, true
			} else if f, ok := parseNumber(v.Text); ok {
				sp.num, sp.isNum = f, true
			}
		}
		if v.Kind == Bool && len(fm.Modifiers) == 0 {
			sp.isBool, sp.b = true, strings.EqualFold(v.Text, "true")
		}
		out = append(out, sp)
	}
	return out, nil
}

func dedupe(flags string) string {
	var b strings.Builder
	for _, f := range flags {
		if !strings.ContainsRune(b.String(), f) {
			b.WriteRune(f)
		}
	}
	return b.String()
}

// reason is a regexp error without the pattern repeated.
func reason(err error) string {
	var e *syntax.Error
	if errors.As(err, &e) {
		return fmt.Sprintf("%s near %q", e.Code, e.Expr)
	}
	return err.Error()
}

func (c *compiler) number(v Value, mod string) (float64, error) {
	if v.Kind != Number && v.Kind != String {
		return 0, c.errAt(v.Pos, false, "%s takes a number, not a %s", mod, v.Kind)
	}
	f, ok := parseNumber(v.Text)
	if !ok {
		return 0, c.errAt(v.Pos, false, "%s takes a number, not %q", mod, v.Text)
	}
	return f, nil
}

// expand replaces %name% placeholders from Options; \% is a plain percent.
// A value with several placeholders expands to every combination.
func (c *compiler) expand(v Value, s string) ([]string, error) {
	out := []string{""}
	for i := 0; i < len(s); {
		switch {
		case s[i] == '\\' && i+1 < len(s) && s[i+1] == '%':
			out = appendAll(out, "%")
			i += 2
		case s[i] == '%':
			j := strings.IndexByte(s[i+1:], '%')
			if j < 0 {
				out = appendAll(out, s[i:])
				i = len(s)
				continue
			}
			name := s[i+1 : i+1+j]
			vals, ok := c.opts.Placeholders[name]
			if !ok {
				return nil, c.errAt(v.Pos, true, "placeholder %%%s%% has no values (give them in Options.Placeholders)", name)
			}
			if len(vals) == 0 {
				return nil, c.errAt(v.Pos, true, "placeholder %%%s%% has an empty list of values", name)
			}
			var next []string
			for _, prefix := range out {
				for _, val := range vals {
					next = append(next, prefix+val)
				}
			}
			if len(next) > maxAlternatives {
				return nil, c.errAt(v.Pos, false, "placeholders expand to more than %d values", maxAlternatives)
			}
			out = next
			i += j + 2
		default:
			j := i + 1
			for j < len(s) && s[j] != '%' && s[j] != '\\' {
				j++
			}
			out = appendAll(out, s[i:j])
			i = j
		}
	}
	return out, nil
}

func appendAll(l []string, s string) []string {
	for i := range l {
		l[i] += s
	}
	return l
}

// maxAlternatives bounds what one value may expand to (windash and
// placeholders multiply).
const maxAlternatives = 4096

func mapPats(ps []pattern, f func(pattern) pattern) []pattern {
	out := make([]pattern, len(ps))
	for i, p := range ps {
		out[i] = f(p)
	}
	return out
}

// encodePats applies an encoding to plain patterns; wildcards cannot be
// encoded (their encoded form is not a pattern).
func encodePats(ps []pattern, mod string, enc func(string) []string) ([]pattern, error) {
	var out []pattern
	for _, p := range ps {
		s, ok := p.plain()
		if !ok {
			return nil, fmt.Errorf("%s cannot encode a value with wildcards (%q); put contains/startswith/endswith after it", mod, p.String())
		}
		for _, e := range enc(s) {
			out = append(out, literalPattern(e))
		}
	}
	return out, nil
}

func encodeUTF16LE(s string) string {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return string(b)
}

func encodeUTF16BE(s string) string {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.BigEndian.PutUint16(b[2*i:], c)
	}
	return string(b)
}

// base64Offsets is pySigma's base64offset: the value encoded at the three
// byte offsets it may have in a longer text, with the characters that
// depend on its neighbours cut off.
func base64Offsets(s string) []string {
	b := []byte(s)
	start := [3]int{0, 2, 3}
	end := [3]int{0, -3, -2} // 0 is "to the end"
	var out []string
	for i := 0; i < 3; i++ {
		buf := append([]byte(strings.Repeat(" ", i)), b...)
		enc := base64.StdEncoding.EncodeToString(buf)
		e := end[(len(b)+i)%3]
		hi := len(enc)
		if e != 0 {
			hi = len(enc) + e
		}
		lo := start[i]
		if lo > hi {
			lo = hi
		}
		out = append(out, enc[lo:hi])
	}
	return out
}

// windashChars are what windash makes a flag's dash into: -, /, en
// dash, em dash and horizontal bar.
var windashChars = []string{"-", "/", "\u2013", "\u2014", "\u2015"}

// windash expands, into all permutations of windashChars, every - or /
// that starts a flag: as pySigma's \B[-/]\b, one not preceded by a word
// character and followed by one ("-param-name" varies its first dash
// only, so "Set-MpPreference" stays as written).
func windash(ps []pattern) ([]pattern, error) {
	var out []pattern
	for _, p := range ps {
		variants := []pattern{nil}
		for _, t := range p {
			if t.kind != 'l' {
				for i := range variants {
					variants[i] = append(slices.Clip(variants[i]), t)
				}
				continue
			}
			lits := []string{""}
			start := 0 // of the text not yet appended
			for i := 0; i < len(t.lit); i++ {
				if !flagDash(t.lit, i) {
					continue
				}
				lits = appendAll(lits, t.lit[start:i])
				var next []string
				for _, l := range lits {
					for _, ch := range windashChars {
						next = append(next, l+ch)
					}
				}
				lits = next
				if len(lits)*len(variants) > maxAlternatives {
					return nil, fmt.Errorf("windash: %q has too many dashes (over %d permutations)", p.String(), maxAlternatives)
				}
				start = i + 1
			}
			lits = appendAll(lits, t.lit[start:])
			var next []pattern
			for _, v := range variants {
				for _, l := range lits {
					next = append(next, append(slices.Clip(v), ptok{kind: 'l', lit: l}))
				}
			}
			variants = next
		}
		out = append(out, variants...)
		if len(out) > maxAlternatives {
			return nil, fmt.Errorf("windash: over %d permutations", maxAlternatives)
		}
	}
	return out, nil
}

// flagDash reports whether s[i] is a - or / with no word character
// before it and a word character after it.
func flagDash(s string, i int) bool {
	if s[i] != '-' && s[i] != '/' {
		return false
	}
	if i > 0 {
		r, _ := utf8.DecodeLastRuneInString(s[:i])
		if isWordRune(r) {
			return false
		}
	}
	if i+1 >= len(s) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(s[i+1:])
	return isWordRune(r)
}

// isWordRune is Python's \w for a str pattern: letters, digits, _.
func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// matchedFields appends the fields of n's tests that hold for ev.
func matchedFields(n node, ev *evalCtx, out []string) []string {
	add := func(f string) []string {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
		return out
	}
	switch x := n.(type) {
	case *andNode:
		for _, k := range x.kids {
			out = matchedFields(k, ev, out)
		}
	case *orNode:
		for _, k := range x.kids {
			out = matchedFields(k, ev, out)
		}
	case *refNode:
		out = matchedFields(x.kid, ev, out)
	case *notNode:
		// A negated test holding says nothing about a field's value.
	case *fieldNode:
		if x.eval(ev) {
			if x.keyword {
				return add("keywords")
			}
			return add(x.field)
		}
	case *existsNode:
		if x.eval(ev) {
			return add(x.field)
		}
	case *nullNode:
		if x.eval(ev) {
			return add(x.field)
		}
	}
	return out
}
