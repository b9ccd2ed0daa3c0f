package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// readAll normalises every record of a file.
func readAll(t *testing.T, path string) ([]string, map[string]bool, error) {
	t.Helper()
	n, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	ids := map[string]bool{}
	err = ReadFile(context.Background(), path, FileOptions{ReceivedAt: time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)}, nil, func(r Record) error {
		ev := n.Normalise(r)
		ids[ev.ID] = true
		s := ev.Source.Format + "|" + ev.ParseError
		for _, k := range []string{"EventID", "CommandLine", "user", "suser", "syslog.appname", "msg"} {
			if v, ok := ev.Fields[k]; ok {
				s += "|" + k + "=" + strings.TrimSpace(toText(v))
			}
		}
		out = append(out, s)
		return nil
	})
	return out, ids, err
}

func toText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return ""
}

func write(t *testing.T, name string, data []byte, gz bool) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if gz {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(data)
		zw.Close()
		data = b.Bytes()
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestReadFileFormats: each file shape is found from its bytes, gzipped
// or not, and importing a file twice gives the same IDs.
func TestReadFileFormats(t *testing.T) {
	sysmon := `{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Hostname":"ws1","CommandLine":"cmd.exe /c whoami","Image":"C:\\Windows\\System32\\cmd.exe","TimeCreated":"2026-12-01T10:00:00Z"}`
	for _, c := range []struct {
		name string
		data string
		gz   bool
		want []string
	}{
		{"lines.jsonl", sysmon + "\r\n\n" + sysmon + "\n", false, []string{"windows-flat||EventID=1|CommandLine=cmd.exe /c whoami", "windows-flat||EventID=1|CommandLine=cmd.exe /c whoami"}},
		{"lines.jsonl.gz", sysmon + "\n", true, []string{"windows-flat||EventID=1|CommandLine=cmd.exe /c whoami"}},
		{"array.json", " [" + sysmon + ",\n" + sysmon + "]", false, []string{"windows-flat||EventID=1|CommandLine=cmd.exe /c whoami", "windows-flat||EventID=1|CommandLine=cmd.exe /c whoami"}},
		{"table.csv", "user,action,src_ip\nalice,login,10.0.0.1\nbob,\"log,out\",10.0.0.2\n", false, []string{"json||user=alice", "json||user=bob"}},
		{"auth.log", "<38>Dec  6 09:00:01 host1 sshd[42]: Failed password for root from 203.0.113.9 port 22 ssh2\n", false, []string{"rfc3164||syslog.appname=sshd"}},
		{"fw.cef", "CEF:0|Check Point|VPN-1|R81|Drop|Drop|5|src=10.0.0.1 suser=carol\n", false, []string{"cef||suser=carol"}},
		{"empty.log", "\n\n", false, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := write(t, c.name, []byte(c.data), c.gz)
			got, ids, err := readAll(t, p)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
			if len(ids) != len(c.want) {
				t.Errorf("%d distinct IDs for %d records (identical lines at different places are different events)", len(ids), len(c.want))
			}
			_, again, err := readAll(t, p)
			if err != nil {
				t.Fatal(err)
			}
			for id := range ids {
				if !again[id] {
					t.Errorf("a second read gave other IDs: importing twice would store twice")
					break
				}
			}
		})
	}
}

// A broken element names the file and where.
func TestReadFileErrors(t *testing.T) {
	p := write(t, "bad.json", []byte(`[{"a":1}, {"b":]`), false)
	_, _, err := readAll(t, p)
	if err == nil || !strings.Contains(err.Error(), "bad.json") || !strings.Contains(err.Error(), "element 2") {
		t.Errorf("broken array: %v", err)
	}
	if _, _, err := readAll(t, filepath.Join(t.TempDir(), "missing.log")); err == nil || !strings.Contains(err.Error(), "missing.log") {
		t.Errorf("missing file: %v", err)
	}
	if _, _, err := readAll(t, t.TempDir()); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("a directory: %v", err)
	}
}

// TestReadFileObjectsOverLines reads JSON objects written over several
// lines (evtx dumps, SigmaHQ's regression data) as one record each, at the
// line where each starts, beside JSON lines and a broken line that must
// not swallow the lines after it; a JSON array's elements carry their
// lines too.
func TestReadFileObjectsOverLines(t *testing.T) {
	text := `{
  "Event": {
    "System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational"},
    "EventData": {"CommandLine": "a {b \" [", "Image": "C:\\x\\y.exe"}
  }
}
{"EventID": 2}

{"EventID": 3, "broken":
{"EventID": 4}
  {
    "EventID": 5
  }
`
	n, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		line   int64
		id     string
		broken bool
	}
	read := func(path string) []got {
		var out []got
		err := ReadFile(context.Background(), path, FileOptions{}, nil, func(r Record) error {
			ev := n.Normalise(r)
			out = append(out, got{r.Line, toText(ev.Fields["EventID"]), ev.ParseError != ""})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, gz := range []bool{false, true} {
		rs := read(write(t, "multi.json", []byte(text), gz))
		want := []got{{1, "1", false}, {7, "2", false}, {9, "", true}, {10, "4", false}, {11, "5", false}}
		if fmt.Sprint(rs) != fmt.Sprint(want) {
			t.Errorf("gzip %v: records %v, want %v", gz, rs, want)
		}
	}
	arr := "[\n  {\"EventID\": 1},\n\n  {\n   \"EventID\": 2\n  }, {\"EventID\": 3}\n]\n"
	rs := read(write(t, "array.json", []byte(arr), false))
	if want := []got{{2, "1", false}, {4, "2", false}, {6, "3", false}}; fmt.Sprint(rs) != fmt.Sprint(want) {
		t.Errorf("array: records %v, want %v", rs, want)
	}
}
