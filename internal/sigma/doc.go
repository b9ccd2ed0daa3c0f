// Package sigma is Vigil's Sigma detection engine: it parses Sigma rules
// (specification v2.1, ../shared/data/sigma/spec/), compiles each into a
// matcher tree and evaluates that tree against events.
//
// The work is split in three steps, as in bradleyjkemp/sigma-go, so that
// each can be tested and reused on its own:
//
//   - Parse reads one rule file into a typed Rule that keeps the YAML
//     position of every search, field and value, so that a later error
//     (an unknown modifier, a bad regular expression, an unknown
//     placeholder) names the file and line. ParseCondition parses a
//     condition into a sealed AST (Expr).
//   - Compile turns a Rule into a CompiledRule: every value modifier is
//     applied once (patterns lower-cased, wildcards analysed, base64 and
//     UTF-16 encodings computed, regular expressions compiled, windash
//     permutations expanded, placeholders replaced from Options), and the
//     condition is resolved against the rule's searches. A construct the
//     engine cannot evaluate exactly is an error at this point, never a
//     rule that silently never matches; such errors satisfy
//     errors.Is(err, ErrUnsupported).
//   - CompiledRule.Match evaluates the tree against an Event, a small
//     interface a consumer implements (Map and FromEvent are the two
//     adapters shipped here). Evaluation uses no reflection, allocates
//     nothing for ASCII field values, short-circuits and/or, and finds a
//     field's long lists of contains values in one pass (Aho–Corasick).
//     Its scratch is a pooled evaluation context (ctx.go): each field a
//     rule tests is looked up and lower-cased once an event, so that
//     case-insensitive tests are plain strings.Contains, HasPrefix,
//     HasSuffix and ==.
//
// LoadDir and LoadFS load a whole corpus (a Corpus): the compiled rules,
// the correlations, and for every rule that could not be loaded the file,
// line and reason.
// CompiledRule.Explain says which searches (and filters) an event
// satisfied, for alerts that explain themselves.
//
// # Matching semantics
//
// String values are matched case-insensitively unless the cased modifier
// is given (encoded values from base64, base64offset and utf16 too, as
// Sigma's query backends do); regular expressions (re) are case-sensitive unless re|i, and
// match anywhere in the value (unanchored), as Sigma backends do. A value
// without wildcards must equal the field's whole value; * and ? are
// wildcards, and \*, \? and \\ their escapes (a backslash before any other
// character is itself). A number in a rule matches a numeric field equal to
// it and a string field whose text is the number ("4688" and 4688 alike);
// true and false match booleans and their text. A field holding a list
// matches when any of its items matches. null matches a field that is
// absent or nil. A field absent from the event matches nothing but null
// and exists: false (neq needs the field: an absent value is not a
// different one).
//
// Keyword searches (a list of values without a field name) match when the
// value occurs anywhere (an implied contains) in any of the strings the
// event yields through the Keyworder interface: for Map every scalar value
// in the map, nested maps and lists included, as text; for FromEvent every
// field value as text, and the raw message when the event has no parsed
// fields. An Event that does not implement Keyworder matches no keyword.
//
// Match does not look at the log source: Logsource.Covers says whether a
// rule applies to an event of a given product, category and service, and a
// Router keeps, per log source, the rules that apply (Security 4688 is
// process_creation because ingest names it so; see
// internal/ingest/logsources.yaml). Router.Match is the fast path: one
// evaluation context for all the rules an event meets, and a literal
// prefilter shared by the rules of a log source (prefilter.go) that skips
// a rule when a literal its condition needs is absent from the event —
// one automaton pass a field, or rare anchors found with strings.Index in
// long texts (anchor.go) — and never changes an answer.
//
// Filters (meta-rules, the filters specification) are parsed by
// ParseFilter and compiled by CompileFilter; CompiledRule.WithFilters
// excludes what they match, and LoadDir applies each filter in a corpus
// to the rules it names. Correlation rules (event_count, value_count,
// temporal, temporal_ordered, value_sum, value_avg; group-by, timespan,
// aliases, chaining) are read by ParseCollection, which also reads files
// of several YAML documents, and evaluated by a Correlator fed with each
// rule match and its event time. value_percentile, and count conditions
// without a lower bound (decidable only when a window closes), are
// reported as unsupported.
package sigma
