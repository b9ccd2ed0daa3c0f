package ingest

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// readFrames reads every frame of in with max.
func readFrames(t *testing.T, r io.Reader, max int) ([]string, []bool, Framing, error) {
	t.Helper()
	f := NewFramer(r, max)
	var got []string
	var trunc []bool
	for {
		fr, err := f.Next()
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return got, trunc, f.Framing(), err
		}
		got = append(got, string(fr.Data))
		trunc = append(trunc, fr.Truncated)
	}
}

func TestFramer(t *testing.T) {
	// logger --octet-count prints this for --rfc3164 -t app one.
	counted := "31 <13>Dec  6 13:14:14 vm app: one"
	for _, c := range []struct {
		name    string
		in      string
		max     int
		want    []string
		trunc   []bool
		framing Framing
		err     error
	}{
		{"octet counting (logger --octet-count)", counted + counted, 0, []string{"<13>Dec  6 13:14:14 vm app: one", "<13>Dec  6 13:14:14 vm app: one"}, []bool{false, false}, FramingOctetCounting, nil},
		{"octet counting keeps LF inside", "7 <13>a\nb5 <13>c\n", 0, []string{"<13>a\nb", "<13>c"}, []bool{false, false}, FramingOctetCounting, nil},
		{"octet counting oversize", "10 <13>abcdef3 <1>", 5, []string{"<13>a", "<1>"}, []bool{true, false}, FramingOctetCounting, nil},
		{"octet counting empty message", "0 5 <13>a", 0, []string{"<13>a"}, []bool{false}, FramingOctetCounting, nil},
		{"octet counting cut short", "10 <13>ab", 0, nil, nil, FramingOctetCounting, io.ErrUnexpectedEOF},
		{"octet counting lost", "5 <13>a x", 0, []string{"<13>a"}, []bool{false}, FramingOctetCounting, ErrFraming},
		{"LF", loggerLines.rfc3164 + "\n" + loggerLines.rfc5424 + "\r\n\n", 0, []string{loggerLines.rfc3164, loggerLines.rfc5424}, []bool{false, false}, FramingLF, nil},
		{"LF last line without LF", "<13>a\n<13>b", 0, []string{"<13>a", "<13>b"}, []bool{false, false}, FramingLF, nil},
		{"NUL ends a frame", "<13>a\x00<13>b\x00", 0, []string{"<13>a", "<13>b"}, []bool{false, false}, FramingLF, nil},
		{"LF oversize", "<13>abcdefgh\n<13>x\n", 6, []string{"<13>ab", "<13>x"}, []bool{true, false}, FramingLF, nil},
		{"LF oversize at the end", "<13>abcdefgh", 6, []string{"<13>ab"}, []bool{true}, FramingLF, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			// One byte at a time too: frames must not depend on reads.
			for _, r := range []io.Reader{strings.NewReader(c.in), iotest.OneByteReader(strings.NewReader(c.in))} {
				got, trunc, framing, err := readFrames(t, r, c.max)
				if !errors.Is(err, c.err) {
					t.Fatalf("error %v, want %v", err, c.err)
				}
				if strings.Join(got, "|") != strings.Join(c.want, "|") || len(got) != len(c.want) {
					t.Fatalf("frames %q, want %q", got, c.want)
				}
				for i := range trunc {
					if trunc[i] != c.trunc[i] {
						t.Fatalf("truncated %v, want %v", trunc, c.trunc)
					}
				}
				if framing != c.framing {
					t.Fatalf("framing %v, want %v", framing, c.framing)
				}
			}
		})
	}
}

// TestFramerLongLine checks a line far beyond bufio's buffer: memory stays
// at max and the next line is whole.
func TestFramerLongLine(t *testing.T) {
	in := "<13>" + strings.Repeat("x", 1<<20) + "\n<13>next\n"
	got, trunc, _, err := readFrames(t, strings.NewReader(in), 1000)
	if err != nil || len(got) != 2 || len(got[0]) != 1000 || !trunc[0] || got[1] != "<13>next" {
		t.Fatalf("%d frames, first %d bytes, %v %v", len(got), len(got[0]), trunc, err)
	}
	in = "1048580 <13>" + strings.Repeat("x", 1<<20) + "5 <13>y"
	got, trunc, _, err = readFrames(t, strings.NewReader(in), 1000)
	if err != nil || len(got) != 2 || len(got[0]) != 1000 || !trunc[0] || got[1] != "<13>y" {
		t.Fatalf("%d frames, %v %v", len(got), trunc, err)
	}
}
