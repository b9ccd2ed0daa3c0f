package stix_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/intel/feeds"
	"github.com/vigil-health/vigil/internal/intel/misp"
	"github.com/vigil-health/vigil/internal/intel/stix"
)

// TestMISPAndFeedObjectsValidate: every object the MISP and feed
// converters make — reports, identities, indicators, observed data and
// their SCOs, notes, groupings, relationships, sightings, galaxy
// clusters as intrusion sets, malware, tools and attack patterns, PAP
// marking definitions, flagged values — validates against the OASIS
// schema of its type.
func TestMISPAndFeedObjectsValidate(t *testing.T) {
	sch := stix.Schemas(t)
	data := filepath.Join("..", "..", "..", "..", "shared", "data", "misp")
	files, _ := filepath.Glob(filepath.Join(data, "events", "*.json"))
	feed, _ := filepath.Glob(filepath.Join(data, "feed-sample", "*-*.json"))
	if len(files) == 0 {
		t.Skip("../shared/data/misp is not here")
	}
	ws, err := feeds.LoadWarninglists(filepath.Join(data, "warninglists", "rfc1918", "list.json"), filepath.Join(data, "warninglists", "url-shortener", "list.json"))
	if err != nil {
		t.Fatal(err)
	}
	var evs []misp.Event
	for _, f := range append(files, feed...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		e, err := misp.ParseEvents(f, b)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, e...)
	}
	for _, f := range []string{"feodotracker-ipblocklist.csv", "threatfox-recent-sample.csv", "urlhaus-recent-sample.csv"} {
		b, err := os.ReadFile(filepath.Join(data, "abusech", f))
		if err != nil {
			t.Fatal(err)
		}
		fd, err := feeds.Parse(f, b)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, fd.Event("tlp:clear", time.Now()))
	}
	// PAP, TLP:RED, a flagged value and an unknown galaxy.
	evs = append(evs, misp.Event{UUID: "5c7641bf-a4e8-4d5d-a653-03240a00020f", Info: "x", Tags: []misp.Tag{{Name: "PAP:RED"}, {Name: "tlp:red"}},
		Attributes: []misp.Attribute{{UUID: "5c7641bf-a4e8-4d5d-a653-03240a00020e", Type: "ip-dst", Value: "10.1.1.1", ToIDs: true},
			{UUID: "5c7641bf-a4e8-4d5d-a653-03240a00020d", Type: "ip-dst|port", Value: "198.51.100.1|443", ToIDs: true},
			{UUID: "5c7641bf-a4e8-4d5d-a653-03240a00020c", Type: "AS", Value: "AS64500"}}})
	types := map[string]int{}
	for _, e := range evs {
		objs, _, err := misp.ToSTIX(e, misp.Options{Benign: ws.Benign})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			types[o.Type]++
			stix.Validate(t, sch, "event "+e.UUID, o)
		}
	}
	for _, want := range []string{"report", "identity", "indicator", "observed-data", "note", "grouping", "relationship", "sighting",
		"intrusion-set", "malware", "tool", "marking-definition", "ipv4-addr", "file", "url", "domain-name", "autonomous-system"} {
		if types[want] == 0 {
			t.Errorf("no %s made, so none checked (made %v)", want, types)
		}
	}
}
