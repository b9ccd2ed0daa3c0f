package sigma_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/ingest"
	"github.com/vigil-health/vigil/internal/sigma"
)

// TestRegression runs SigmaHQ's own regression data (202 Windows cases,
// regression-index.csv): each case's events, read by Vigil's ingest
// normaliser as nested EVTX JSON (so fields and the log source are what
// ingest gives them), are routed to the rule by its log source, and the
// number of matches is compared with the expected match_count (at least
// one where the index gives none, as SigmaHQ's runner requires).
func TestRegression(t *testing.T) {
	dir := needSigmaData(t, ".")
	index, err := os.ReadFile(filepath.Join(dir, "regression-index.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(index)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	norm, err := ingest.New(ingest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cases, passed := 0, 0
	var failures []string
	for _, row := range rows[1:] {
		if row[col["test_active"]] != "yes" {
			continue
		}
		cases++
		name := row[col["rule_path"]]
		got, want, err := runCase(norm, dir, row[col["rule_path"]], row[col["json_file"]], row[col["match_count"]])
		var rd *routerDisagrees
		if errors.As(err, &rd) {
			t.Errorf("%s: %v", name, err)
		}
		switch {
		case err != nil:
			failures = append(failures, fmt.Sprintf("%s: %v", name, err))
		case want < 0 && got >= 1, got == want:
			passed++
		default:
			w := strconv.Itoa(want)
			if want < 0 {
				w = "≥1"
			}
			failures = append(failures, fmt.Sprintf("%s: %d matches, want %s", name, got, w))
		}
	}
	for _, f := range failures {
		t.Log("FAIL " + f)
	}
	t.Logf("regression: %d of %d cases pass", passed, cases)
	if cases != 202 {
		t.Errorf("%d active cases, want 202", cases)
	}
	if passed < 198 {
		t.Errorf("%d of %d regression cases pass, want at least 198", passed, cases)
	}
}

// runCase returns the matches of one case and the expected count (-1 for
// "at least one").
func runCase(norm *ingest.Normaliser, dir, rulePath, jsonPath, count string) (got, want int, err error) {
	want = -1
	if count != "" {
		if want, err = strconv.Atoi(count); err != nil {
			return 0, 0, fmt.Errorf("match_count %q: %v", count, err)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, rulePath))
	if err != nil {
		return 0, want, err
	}
	rule, err := sigma.ParseAndCompile(data, rulePath, sigma.Options{})
	if err != nil {
		return 0, want, err
	}
	evs, err := readEVTXJSON(filepath.Join(dir, jsonPath))
	if err != nil {
		return 0, want, err
	}
	now := time.Now()
	// The Router (log-source routing, the shared literal prefilter)
	// must agree with the rule alone on every event: these are the
	// events the rule was written to catch.
	router := sigma.NewRouter([]*sigma.CompiledRule{rule})
	routed := 0
	for _, raw := range evs {
		ev := norm.Parse(raw, events.Source{Protocol: "file"}, now)
		if ev.ParseError != "" {
			return 0, want, fmt.Errorf("%s: %s", jsonPath, ev.ParseError)
		}
		if rule.Rule.Logsource.Covers(ev.Product, ev.Category, ev.Service) && rule.Match(sigma.FromEvent(&ev)) {
			got++
		}
		routed += router.Match(ev.Product, ev.Category, ev.Service, sigma.FromEvent(&ev), nil)
	}
	if routed != got {
		return got, want, &routerDisagrees{routed: routed, alone: got}
	}
	return got, want, nil
}

// readEVTXJSON reads a file of concatenated (or an array of) JSON events,
// each compacted to one line as a sender would send it.
func readEVTXJSON(path string) ([][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var out [][]byte
	for {
		var v json.RawMessage
		if err := dec.Decode(&v); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		var items []json.RawMessage
		if strings.HasPrefix(strings.TrimSpace(string(v)), "[") {
			if err := json.Unmarshal(v, &items); err != nil {
				return nil, err
			}
		} else {
			items = []json.RawMessage{v}
		}
		for _, it := range items {
			var c bytes.Buffer
			if err := json.Compact(&c, it); err != nil {
				return nil, err
			}
			out = append(out, c.Bytes())
		}
	}
	return out, nil
}

// routerDisagrees is a case where Router.Match (routing and the shared
// literal prefilter) found other matches than the rule alone.
type routerDisagrees struct{ routed, alone int }

func (e *routerDisagrees) Error() string {
	return fmt.Sprintf("Router.Match matched %d events, the rule alone %d", e.routed, e.alone)
}
