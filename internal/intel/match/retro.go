package match

import (
	"context"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/scope"
)

// Retro-matching: when indicators arrive, the stored events of the last
// days are searched for their values through the events store's query
// language, and each event found is matched against an index of the new
// indicators alone — the query narrows, the index decides, so a search
// that finds too much (an address inside a longer one, a word in a
// message) raises nothing.
//
// A value becomes free text ("evil.example" anywhere in an event's
// fields: its subdomains, URLs and e-mail addresses too; a hash in
// Sysmon's Hashes). A CIDR block becomes `field = 10.0.0.0/8` over the
// address fields, since its addresses are not one text. IPv6 blocks are
// not retro-matched: the query language has no IPv6 prefix.

// retroIPFields are the address fields a CIDR block is searched in.
var retroIPFields = []string{"SourceIp", "DestinationIp", "IpAddress", "src_ip", "dest_ip", "dst_ip", "src", "dst",
	"id.orig_h", "id.resp_h", "source.ip", "destination.ip", "client.ip", "ClientIP", "ipAddress"}

// maxRetroQuery is the longest query text built (the store refuses
// longer than events.MaxQueryLen).
const maxRetroQuery = 6000

// RetroQueries are the query texts that find every stored event that may
// hold one of vals, several values a query.
func RetroQueries(vals []Value) []string {
	var terms []string
	seen := map[string]bool{}
	for _, v := range vals {
		var t string
		switch {
		case v.Kind == KindIP && !v.Prefix.IsSingleIP():
			if !v.Prefix.Addr().Is4() {
				continue
			}
			var ors []string
			for _, f := range retroIPFields {
				ors = append(ors, f+" = "+v.Prefix.String())
			}
			t = "(" + strings.Join(ors, " OR ") + ")"
		case v.Kind == KindURL:
			// The key has no scheme; events may have one.
			t = quote(v.Text)
			if p, ok := strings.CutSuffix(v.Text, "/"); ok && !strings.Contains(p, "/") {
				t = quote(p)
			}
		default:
			t = quote(v.Text)
		}
		if !seen[t] {
			seen[t] = true
			terms = append(terms, t)
		}
	}
	var out []string
	var cur strings.Builder
	for _, t := range terms {
		if len(t) > maxRetroQuery {
			continue
		}
		if cur.Len() > 0 && cur.Len()+len(t)+4 > maxRetroQuery {
			out = append(out, cur.String())
			cur.Reset()
		}
		if cur.Len() > 0 {
			cur.WriteString(" OR ")
		}
		cur.WriteString(t)
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// quote is s as a quoted phrase of the query language.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, `*`, `\*`).Replace(s) + `"`
}

// Searcher is what retro-matching needs of the events store.
type Searcher interface {
	Search(ctx context.Context, sc scope.Scope, q events.Query) (events.Page, error)
}

// RetroOptions bound a retro-match.
type RetroOptions struct {
	// Since and Until bound the events' time.
	Since, Until time.Time
	// Now decides the indicators' validity.
	Now time.Time
	// MaxEvents bounds the events read for one query (default 200,000):
	// a value common enough to exceed it is not an indicator worth
	// reading a week of events for.
	MaxEvents int
}

// RetroResult says what a retro-match read and found.
type RetroResult struct {
	Queries, Events, Hits int
	// Truncated counts queries that stopped at MaxEvents.
	Truncated int
}

// Retro searches st (as sc, which should see every organisation) for
// events holding the values of ix's indicators, and calls fn with each
// event that holds one and its hits.
func Retro(ctx context.Context, st Searcher, sc scope.Scope, ix *Index, vals []Value, o RetroOptions, fn func(ev *events.Event, hits []Hit) error) (RetroResult, error) {
	var r RetroResult
	if o.MaxEvents <= 0 {
		o.MaxEvents = 200_000
	}
	var hits []Hit
	for _, q := range RetroQueries(vals) {
		r.Queries++
		read := 0
		query := events.Query{Text: q, Since: o.Since, Until: o.Until, Limit: 1000}
		for {
			page, err := st.Search(ctx, sc, query)
			if err != nil {
				return r, err
			}
			for i := range page.Events {
				ev := &page.Events[i]
				hits = ix.Match(ev, o.Now, hits[:0])
				if len(hits) == 0 {
					continue
				}
				r.Hits += len(hits)
				if err := fn(ev, hits); err != nil {
					return r, err
				}
			}
			read += len(page.Events)
			r.Events += len(page.Events)
			if page.Next == "" {
				break
			}
			if read >= o.MaxEvents {
				r.Truncated++
				break
			}
			query.Cursor = page.Next
		}
	}
	return r, nil
}
