package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// The parse-throughput figures in docs/performance.md ("Ingest parsing
// (issue 16)") come from these benchmarks:
//
//	go test -run '^$' -bench 'Normalise' -benchmem -benchtime 3s ./internal/ingest/
//
// Each reports events/s beside ns/op and allocations per event.

func benchNormalise(b *testing.B, lines [][]byte) {
	n := newNormaliser(b, Options{})
	b.ReportAllocs()
	var size int64
	for _, l := range lines {
		size += int64(len(l))
	}
	b.SetBytes(size / int64(len(lines)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ev := n.Parse(lines[i%len(lines)], srcTCP, received)
		if ev.ParseError != "" {
			b.Fatal(ev.ParseError)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkNormaliseRFC5424 parses logger's RFC 5424 lines (with
// structured data) end to end: UTF-8 check, ID, parse, fields, log source.
func BenchmarkNormaliseRFC5424(b *testing.B) {
	benchNormalise(b, [][]byte{
		[]byte(loggerLines.rfc5424), []byte(loggerLines.rfc5424SD), []byte(loggerLines.rfc5424Auth), []byte(loggerLines.rfc5424UTF8),
	})
}

// BenchmarkNormaliseRFC3164 parses the loghub OpenSSH lines (no PRI).
func BenchmarkNormaliseRFC3164(b *testing.B) {
	benchNormalise(b, sampleLines(b, "linux/loghub/OpenSSH_2k.log", 2000))
}

// BenchmarkNormaliseSysmonFlat parses the Sysmon events (all event IDs)
// of an OTRF NXLog capture: flat JSON of about 1.5 KB each.
func BenchmarkNormaliseSysmonFlat(b *testing.B) {
	benchNormalise(b, sampleLines(b, "windows/otrf/empire_psexec_dcerpc_tcp_svcctl.jsonl.gz", 2000))
}

// BenchmarkNormaliseEVTXNested parses nested EVTX JSON (EVTX-ATTACK-SAMPLES).
func BenchmarkNormaliseEVTXNested(b *testing.B) {
	benchNormalise(b, sampleLines(b, "windows/evtx-attack-samples/evtx-attack-samples_privilege_escalation.jsonl.gz", 1142))
}

// BenchmarkNormaliseCEF parses the Check Point CEF lines.
func BenchmarkNormaliseCEF(b *testing.B) {
	benchNormalise(b, sampleLines(b, "network/firewall/checkpoint_cef.log", 3))
}

// sampleLines reads up to n lines of a shared sample, keeping for the
// Windows captures only Sysmon events.
func sampleLines(b *testing.B, name string, n int) [][]byte {
	path := filepath.Join(needSamples(b, filepath.Dir(name)), filepath.Base(name))
	if _, err := os.Stat(path); err != nil {
		b.Fatal(err)
	}
	var out [][]byte
	sysmonOnly := filepath.Base(filepath.Dir(name)) == "otrf"
	eachLine(b, path, func(line []byte, _ int) {
		if len(out) >= n {
			return
		}
		if sysmonOnly && !bytes.Contains(line, []byte(`"Channel":"Microsoft-Windows-Sysmon/Operational"`)) {
			return
		}
		out = append(out, append([]byte(nil), line...))
	})
	return out
}

// BenchmarkPeerEncodingJSONSysmon is the peer for the Sysmon figure: the
// same lines decoded by encoding/json into map[string]any, with no
// flattening, log source or ID, which is what a straightforward parser
// would start from.
func BenchmarkPeerEncodingJSONSysmon(b *testing.B) {
	lines := sampleLines(b, "windows/otrf/empire_psexec_dcerpc_tcp_svcctl.jsonl.gz", 2000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var m map[string]any
		if err := json.Unmarshal(lines[i%len(lines)], &m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkReadNormaliseOTRF is the reading half of `vigil hunt` over an
// OTRF capture: gunzip, lines (joinObjects), Normalise — what the hunt's
// reader goroutine does for each event before matching (issue 17).
func BenchmarkReadNormaliseOTRF(b *testing.B) {
	path := filepath.Join(needSamples(b, "windows/otrf"), "schtask_modification.jsonl.gz")
	n := newNormaliser(b, Options{})
	b.ReportAllocs()
	var events int
	for i := 0; i < b.N; i++ {
		err := ReadFile(context.Background(), path, FileOptions{}, nil, func(r Record) error {
			ev := n.Normalise(r)
			if ev.ParseError != "" {
				return errors.New(ev.ParseError)
			}
			events++
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(events), "ns/event")
}
