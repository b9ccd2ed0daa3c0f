package config

import (
	"strings"
	"testing"
)

// TestEventsURL: --events-url takes ClickHouse's HTTP interface as http://,
// https:// or clickhouse://, and refuses anything else naming the flag.
func TestEventsURL(t *testing.T) {
	for _, ok := range []string{"", "http://127.0.0.1:8123/?database=vigil", "https://ch.example:8443/", "clickhouse://ch.example/vigil"} {
		c := Default()
		c.EventsURL = ok
		if err := c.Validate(); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"postgres://db/vigil", "ch.example:8123", "http://", "clickhouse:///vigil"} {
		c := Default()
		c.EventsURL = bad
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "--events-url") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
