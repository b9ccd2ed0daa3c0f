package supply

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/scope"
)

// Forgiving lookup: the one rule for every supplier, product,
// organisation and service field of the API, the pages and the command
// line, and for the suggestions offered as people type.
//
//   - A field names a thing by its ID in any case ("demo-path" is
//     DEMO-PATH), or by its ID or name ignoring case, spaces and
//     punctuation ("Demo Pathology Partnership LLP", "demo path").
//     Nothing looser resolves: a prefix or a near miss is suggested, never
//     taken, so a typo'd ID cannot silently answer for another thing.
//   - A miss is *Miss, a fault.ErrNotFound that carries suggestions: the
//     best matches by ID or name prefix, words, substring and edit
//     distance (typing errors), ranked.
//   - Everything is answered from the in-memory graph, and only from what
//     the caller may see: a supplier's representative is never offered
//     another supplier's names, and organisations are those the caller
//     may read. A miss says nothing of what exists outside the caller's
//     view, so it is as "not found" as any other.

// Kind is what a lookup looks for; its value is the request field that
// names it (supplier=, product=, cve=, org=, service=).
type Kind string

// The kinds of lookup.
const (
	KindSupplier Kind = "supplier"
	KindProduct  Kind = "product"
	KindCVE      Kind = "cve"
	KindOrg      Kind = "org"
	KindService  Kind = "service"
)

// Noun is the kind in words: "supplier", "organisation", "CVE".
func (k Kind) Noun() string {
	switch k {
	case KindOrg:
		return "organisation"
	case KindCVE:
		return "CVE"
	}
	return string(k)
}

// Match is one thing a lookup found or suggests.
type Match struct {
	Kind Kind   `json:"kind"`
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Label is how people see a match: "Name (ID)", or the ID alone when it
// is its own name.
func (m Match) Label() string {
	if m.Name == "" || m.Name == m.ID {
		return m.ID
	}
	return m.Name + " (" + m.ID + ")"
}

// Miss is a lookup that found nothing the caller may see, with the
// nearest things they may see. It is a fault.ErrNotFound.
type Miss struct {
	Kind        Kind
	Text        string // what was asked, trimmed
	Suggestions []Match
}

func (m *Miss) Error() string {
	s := fmt.Sprintf("no %s called %q", m.Kind.Noun(), m.Text)
	if len(m.Suggestions) > 0 {
		s += " — did you mean " + m.SuggestionText() + "?"
	}
	return s
}

// SuggestionText lists the suggestions as a phrase: "A (X), B (Y) or C (Z)".
func (m *Miss) SuggestionText() string {
	labels := make([]string, len(m.Suggestions))
	for i, s := range m.Suggestions {
		labels[i] = s.Label()
	}
	switch len(labels) {
	case 0:
		return ""
	case 1:
		return labels[0]
	}
	return strings.Join(labels[:len(labels)-1], ", ") + " or " + labels[len(labels)-1]
}

func (m *Miss) Unwrap() error { return fault.ErrNotFound }

// MissSuggestions is how many suggestions a miss carries.
const MissSuggestions = 5

// MaxSuggestions bounds Suggest.
const MaxSuggestions = 200

// Suggest returns at most n things of kind that text may mean, best
// first, among what sc may see: with text empty, the most used (the
// caller's own organisations first); else by ID and name, exact, prefix,
// words, substring, then near misses. n is at most MaxSuggestions.
func (s *Service) Suggest(ctx context.Context, sc scope.Scope, kind Kind, text string, n int) ([]Match, error) {
	text = strings.TrimSpace(text)
	if p := safetext.SearchProblem(text); p != "" {
		return nil, fault.Invalidf(string(kind), "%s", p)
	}
	g, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	return g.suggest(g.viewFor(sc), kind, text, min(max(n, 0), MaxSuggestions)), nil
}

// Lookup resolves text to the one thing of kind it names, among what sc
// may see: its ID in any case, or its ID or name ignoring case, spaces
// and punctuation. Anything else is a *Miss with suggestions.
func (s *Service) Lookup(ctx context.Context, sc scope.Scope, kind Kind, text string) (Match, error) {
	g, err := s.current(ctx)
	if err != nil {
		return Match{}, err
	}
	v := g.viewFor(sc)
	text = strings.TrimSpace(text)
	if kind == KindCVE {
		c := normCVE(text)
		if !validCVE(c) {
			return Match{}, cveInvalid(text)
		}
		return Match{Kind: KindCVE, ID: c, Name: c}, nil
	}
	i, err := g.resolve(v, kind, text)
	if err != nil {
		return Match{}, err
	}
	return g.match(kind, i), nil
}

// canonical is the ID that id names by Lookup's rule among what sc may
// see, when that is another ID: what a direct read by ID, which found
// nothing, may read instead.
func (s *Service) canonical(ctx context.Context, sc scope.Scope, kind Kind, id string) (string, bool) {
	g, err := s.current(ctx)
	if err != nil {
		return "", false
	}
	i, err := g.resolve(g.viewFor(sc), kind, id)
	if err != nil {
		return "", false
	}
	other := g.match(kind, i).ID
	return other, other != id
}

// ---- the index ----

// lazyLookup builds a graph's lookup index once, on first use.
type lazyLookup struct {
	once sync.Once
	idx  *lookupIndex
}

// lkEntry is one supplier, product or organisation as lookups see it.
type lkEntry struct {
	i      int32  // index in the graph
	weight int32  // how much it is used: deployments reached
	id     string // squash(ID)
	words  string // fold(name)
	key    string // squash(name)
	extra  string // suppliers: squash of Companies House number, ODS code and DUNS, "|" between
}

type lookupIndex struct {
	sup, prod, org, svc []lkEntry
}

func (g *graph) index() *lookupIndex {
	g.lookup.once.Do(func() { g.lookup.idx = g.buildLookup() })
	return g.lookup.idx
}

func (g *graph) buildLookup() *lookupIndex {
	x := &lookupIndex{}
	prodWeight := func(p int) int32 { return g.prodDepOff[p+1] - g.prodDepOff[p] + (g.revOff[p+1] - g.revOff[p]) }
	x.sup = make([]lkEntry, len(g.sup))
	for i, sp := range g.sup {
		var w int32
		for _, p := range g.supProd[g.supProdOff[i]:g.supProdOff[i+1]] {
			w += prodWeight(int(p))
		}
		x.sup[i] = lkEntry{i: int32(i), weight: w, id: squash(sp.id), words: fold(sp.name), key: squash(sp.name),
			extra: squash(sp.ch) + "|" + squash(sp.odsCode) + "|" + squash(sp.duns)}
	}
	x.prod = make([]lkEntry, len(g.prod))
	for i, p := range g.prod {
		x.prod[i] = lkEntry{i: int32(i), weight: prodWeight(i), id: squash(p.id), words: fold(p.name), key: squash(p.name)}
	}
	x.org = make([]lkEntry, len(g.orgs))
	for i, o := range g.orgs {
		x.org[i] = lkEntry{i: int32(i), weight: g.orgDepOff[i+1] - g.orgDepOff[i], id: squash(o.code), words: fold(o.name), key: squash(o.name)}
	}
	svcUse := make([]int32, len(g.services))
	for _, d := range g.dep {
		svcUse[d.svc]++
	}
	x.svc = make([]lkEntry, len(g.services))
	for i, sv := range g.services {
		l := ServiceLabel(sv)
		x.svc[i] = lkEntry{i: int32(i), weight: svcUse[i], id: squash(sv), words: fold(l), key: squash(l)}
	}
	return x
}

// fold is s's words in upper case with one space between: letters and
// digits are kept, apostrophes dropped (Guy's → GUYS), anything else
// separates words.
func fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(unicode.ToUpper(r))
		case r == '\'' || r == '’':
		default:
			space = true
		}
	}
	return b.String()
}

// squash is s's letters and digits in upper case, nothing else: the key
// under which "demo path", "Demo-Path" and "DEMO-PATH" are one.
func squash(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			clean = false
			break
		}
	}
	if clean {
		return s // IDs are mostly upper-case letters and digits already
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToUpper(r))
		}
	}
	return b.String()
}

// ---- matching ----

// typed is what was typed, prepared once per lookup.
type typed struct {
	raw   string // trimmed
	key   string // squash(raw)
	words []string
}

func prepare(text string) typed {
	t := typed{raw: strings.TrimSpace(text)}
	t.key = squash(t.raw)
	t.words = strings.Fields(fold(t.raw))
	return t
}

// Match tiers, best first.
const (
	tierExactID   = iota // the ID as typed
	tierFoldID           // the ID in another case
	tierKey              // ID or name ignoring case, spaces and punctuation
	tierTypo             // one typing error from the whole ID ("s0017" for S00017)
	tierPrefix           // ID or name starts with it
	tierWords            // every word typed starts a word of the name
	tierSubstring        // ID or name contains it
	tierNear             // within a few typing errors of the ID or the name's words
	noMatch
)

// resolves reports whether a tier names a thing outright.
func resolves(tier int) bool { return tier <= tierKey }

// score ranks entry e (whose ID is id) for t: its tier and, for near
// misses, its distance.
func score(t *typed, e *lkEntry, id string) (int, int) {
	if t.key == "" {
		return noMatch, 0
	}
	switch {
	case id == t.raw:
		return tierExactID, 0
	case strings.EqualFold(id, t.raw):
		return tierFoldID, 0
	case e.id == t.key || e.key == t.key:
		return tierKey, 0
	case len(t.key) >= 4 && distance(t.key, e.id, 1) == 1:
		return tierTypo, 1
	case strings.HasPrefix(e.id, t.key) || strings.HasPrefix(e.key, t.key):
		return tierPrefix, 0
	case wordsStart(e.words, t.words):
		return tierWords, 0
	case strings.Contains(e.id, t.key) || strings.Contains(e.key, t.key) || (e.extra != "" && strings.Contains(e.extra, t.key)):
		return tierSubstring, 0
	}
	if d, ok := near(t, e); ok {
		return tierNear, d
	}
	return noMatch, 0
}

// wordsStart reports whether every typed word starts some word of words.
func wordsStart(words string, typedWords []string) bool {
	if len(typedWords) == 0 {
		return false
	}
	for _, w := range typedWords {
		found := false
		for rest := words; rest != "" && !found; {
			var u string
			u, rest, _ = strings.Cut(rest, " ")
			found = strings.HasPrefix(u, w)
		}
		if !found {
			return false
		}
	}
	return true
}

// allowed is how many typing errors a typed word of n bytes may hold and
// still be suggested: none below four letters, then one, two, three.
func allowed(n int) int {
	switch {
	case n < 4:
		return 0
	case n < 6:
		return 1
	case n < 10:
		return 2
	}
	return 3
}

// near reports whether t is a few typing errors from e: its whole key
// from e's ID key, or each typed word from some word of e's name (or the
// start of one); the distance is the errors counted.
func near(t *typed, e *lkEntry) (int, bool) {
	if k := allowed(len(t.key)); k > 0 {
		if d := distance(t.key, e.id, k); d <= k {
			return d, true
		}
	}
	total := 0
	for _, w := range t.words {
		k := allowed(len(w))
		best := k + 1
		for rest := e.words; rest != "" && best > 0; {
			var u string
			u, rest, _ = strings.Cut(rest, " ")
			best = min(best, distance(w, u, k))
			if len(u) > len(w) {
				// The start of a longer word: "synov" for SYNNOVIS.
				best = min(best, distance(w, u[:len(w)], k), distance(w, u[:len(w)+1], k))
			}
		}
		if best > k {
			return 0, false
		}
		total += best
	}
	return total, len(t.words) > 0
}

// distance is the optimal string alignment distance between a and b
// (insertions, deletions, substitutions and swaps of neighbours, the
// usual typing errors), or k+1 when it is more than k.
func distance(a, b string, k int) int {
	if d := len(a) - len(b); d > k || -d > k {
		return k + 1
	}
	if a == b {
		return 0
	}
	// Three rows of the dynamic programme, on the stack for short words.
	var buf [3][33]int
	var rows [3][]int
	if len(b) < 33 {
		rows = [3][]int{buf[0][:len(b)+1], buf[1][:len(b)+1], buf[2][:len(b)+1]}
	} else {
		rows = [3][]int{make([]int, len(b)+1), make([]int, len(b)+1), make([]int, len(b)+1)}
	}
	prev2, prev, cur := rows[0], rows[1], rows[2]
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		lo := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			lo = min(lo, v)
		}
		if lo > k {
			return k + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[len(b)], k+1)
}

// ---- answering ----

// candidate is one scored entry.
type candidate struct {
	e          *lkEntry
	tier, dist int
	name, id   string
}

func better(a, b *candidate) bool {
	if a.tier != b.tier {
		return a.tier < b.tier
	}
	if a.dist != b.dist {
		return a.dist < b.dist
	}
	if a.e.weight != b.e.weight {
		return a.e.weight > b.e.weight
	}
	if a.name != b.name {
		return a.name < b.name
	}
	return a.id < b.id
}

// top keeps the n best candidates seen, best first.
type top struct {
	n   int
	out []candidate
}

func (t *top) add(c candidate) {
	if t.n <= 0 || (len(t.out) == t.n && !better(&c, &t.out[t.n-1])) {
		return
	}
	i := sort.Search(len(t.out), func(i int) bool { return better(&c, &t.out[i]) })
	if len(t.out) < t.n {
		t.out = append(t.out, candidate{})
	}
	copy(t.out[i+1:], t.out[i:])
	t.out[i] = c
}

// of is the index's entries of kind.
func (x *lookupIndex) of(kind Kind) []lkEntry {
	switch kind {
	case KindSupplier:
		return x.sup
	case KindProduct:
		return x.prod
	case KindOrg:
		return x.org
	case KindService:
		return x.svc
	}
	return nil
}

// kindOf gives, for things of kind, whether the caller (v) may see the
// i-th and its ID and name; ok is false for a kind without entries.
func (g *graph) kindOf(v *view, kind Kind) (visible func(int32) bool, name func(int32) (id, name string), ok bool) {
	switch kind {
	case KindSupplier:
		return v.supplierVisible, func(i int32) (string, string) { return g.sup[i].id, g.sup[i].name }, true
	case KindProduct:
		return func(i int32) bool { return v.productVisible(g, i) }, func(i int32) (string, string) { return g.prod[i].id, g.prod[i].name }, true
	case KindOrg:
		return func(i int32) bool { return v.sc.CanAt(scope.Read, g.orgs[i].path) }, func(i int32) (string, string) { return g.orgs[i].code, g.orgs[i].name }, true
	case KindService:
		// Which services exist is vocabulary, not anyone's data, but a
		// supplier's representative sees no deployments, so no services.
		return func(int32) bool { return v.all }, func(i int32) (string, string) { return g.services[i], ServiceLabel(g.services[i]) }, true
	}
	return nil, nil, false
}

func (g *graph) match(kind Kind, i int32) Match {
	_, name, _ := g.kindOf(&view{all: true}, kind)
	id, n := name(i)
	return Match{Kind: kind, ID: id, Name: n}
}

// suggest is Suggest over g.
func (g *graph) suggest(v *view, kind Kind, text string, n int) []Match {
	if kind == KindCVE {
		return g.suggestCVE(v, text, n)
	}
	visible, name, ok := g.kindOf(v, kind)
	if !ok {
		return nil
	}
	es := g.index().of(kind)
	t := prepare(text)
	best := top{n: n}
	for k := range es {
		e := &es[k]
		if !visible(e.i) {
			continue
		}
		id, nm := name(e.i)
		tier, dist := noMatch, 0
		switch {
		case t.raw == "":
			if kind == KindOrg && g.orgs[e.i].closed {
				continue
			}
			tier = tierSubstring
			if kind == KindOrg && v.holds(id) {
				tier = tierExactID // the caller's own organisations first
			}
		default:
			tier, dist = score(&t, e, id)
			if tier == noMatch || (kind == KindOrg && g.orgs[e.i].closed && !resolves(tier)) {
				continue
			}
		}
		best.add(candidate{e: e, tier: tier, dist: dist, name: nm, id: id})
	}
	out := make([]Match, len(best.out))
	for i, c := range best.out {
		out[i] = Match{Kind: kind, ID: c.id, Name: c.name}
	}
	return out
}

// holds reports whether one of the caller's grants is on organisation code.
func (v *view) holds(code string) bool {
	for _, gr := range v.sc.Grants {
		if gr.Org == code {
			return true
		}
	}
	return false
}

// suggestCVE lists the CVEs recorded against products the caller may see
// that start with text (any case), most products first.
func (g *graph) suggestCVE(v *view, text string, n int) []Match {
	prefix := normCVE(text)
	type c struct {
		id string
		n  int
	}
	var all []c
	for id, ps := range g.cve {
		if !strings.HasPrefix(id, prefix) {
			continue
		}
		k := 0
		for _, p := range ps {
			if v.productVisible(g, p) {
				k++
			}
		}
		if k > 0 {
			all = append(all, c{id, k})
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].n != all[j].n {
			return all[i].n > all[j].n
		}
		return all[i].id > all[j].id // newest first
	})
	out := make([]Match, 0, min(n, len(all)))
	for _, x := range all[:min(n, len(all))] {
		out = append(out, Match{Kind: KindCVE, ID: x.id, Name: x.id})
	}
	return out
}

// resolve finds the index of the one thing of kind text names among what
// v sees, or returns a *Miss (or *fault.Invalid for text no field may
// hold).
func (g *graph) resolve(v *view, kind Kind, text string) (int32, error) {
	text = strings.TrimSpace(text)
	if p := safetext.SearchProblem(text); p != "" {
		return -1, fault.Invalidf(string(kind), "%s", p)
	}
	if text == "" {
		return -1, fault.Invalidf(string(kind), "give a %s's ID or name", kind.Noun())
	}
	// The ID exactly: a map lookup, no index needed.
	visible, name, ok := g.kindOf(v, kind)
	if !ok {
		return -1, fault.Invalidf(string(kind), "cannot be looked up")
	}
	exact := int32(-1)
	switch kind {
	case KindSupplier:
		if i, ok := g.supIdx[text]; ok {
			exact = i
		} else if i, ok := g.supByODS[strings.ToUpper(text)]; ok {
			exact = i // an NHS body acting as a supplier, by its ODS code
		}
	case KindProduct:
		if i, ok := g.prodIdx[text]; ok {
			exact = i
		}
	case KindOrg:
		if i, ok := g.orgIdx[strings.ToUpper(text)]; ok {
			exact = i
		}
	case KindService:
		if i, ok := g.svcIdx[normService(text)]; ok {
			exact = i
		}
	}
	if exact >= 0 && visible(exact) {
		return exact, nil
	}
	// Otherwise the best entry, if it names the thing outright and alone.
	es := g.index().of(kind)
	t := prepare(text)
	best := top{n: MissSuggestions}
	for k := range es {
		e := &es[k]
		if !visible(e.i) {
			continue
		}
		id, nm := name(e.i)
		tier, dist := score(&t, e, id)
		if tier == noMatch || (kind == KindOrg && g.orgs[e.i].closed && !resolves(tier)) {
			continue
		}
		best.add(candidate{e: e, tier: tier, dist: dist, name: nm, id: id})
	}
	if len(best.out) > 0 && resolves(best.out[0].tier) && (len(best.out) == 1 || best.out[1].tier > best.out[0].tier) {
		return best.out[0].e.i, nil
	}
	m := &Miss{Kind: kind, Text: text}
	for _, c := range best.out {
		m.Suggestions = append(m.Suggestions, Match{Kind: kind, ID: c.id, Name: c.name})
	}
	return -1, m
}

// cveInvalid refuses a CVE field that holds no CVE ID.
func cveInvalid(text string) error {
	return fault.Invalidf("cve", "%q is not a CVE ID: want CVE-YYYY-NNNN (four or more digits), e.g. CVE-2024-3094", strings.TrimSpace(text))
}
