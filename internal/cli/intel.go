package cli

import (
	"errors"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/intel/pattern"
	"github.com/vigil-health/vigil/internal/safetext"
)

// intelCmd is `vigil intel`: threat intelligence (issue 19).
func (e *env) intelCmd() *cobra.Command {
	c := &cobra.Command{Use: "intel", Short: "Threat intelligence: STIX 2.1 objects and patterns"}
	p := &cobra.Command{Use: "pattern", Short: "STIX 2.1 patterns"}
	p.AddCommand(e.intelPatternCheckCmd())
	c.AddCommand(p)
	return c
}

func (e *env) intelPatternCheckCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check PATTERN",
		Short: "Check that a STIX 2.1 pattern is valid",
		Long: `Check a STIX 2.1 pattern (the 'pattern' of an indicator whose pattern_type is stix) against
the whole patterning grammar of STIX 2.1 section 9 and the checks OASIS's reference validator
adds: one WITHIN, REPEATS and START/STOP qualifier at most on an observation, and hash values
that fit their algorithm (file:hashes.'SHA-256' wants 64 hex digits). Keywords are upper case;
strings are in single quotes with \' and \\ as the only escapes; timestamps are t'…Z', binary
b'base64', hex h'…'. Give - to read the pattern from standard input.

The exit status is 0 when the pattern is valid: it prints "valid" and whether Vigil's IOC
matcher can decide it on one event (a single observation, or observations joined by OR) or
it needs several events (AND, FOLLOWEDBY, WITHIN, REPEATS, START/STOP). It is 1 when the
pattern is not valid: the error, its line and column, and the pattern with a caret under
the offending character are printed on standard error.`,
		Example: `  vigil intel pattern check "[ipv4-addr:value ISSUBSET '198.51.100.0/24']"
  vigil intel pattern check "[file:hashes.'SHA-256' = 'aec0…'] FOLLOWEDBY [url:value = 'http://x.example/'] WITHIN 300 SECONDS"
  echo "[domain-name:value = 'evil.example']" | vigil intel pattern check -`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			src := args[0]
			if src == "-" {
				b, err := io.ReadAll(io.LimitReader(e.stdin, 1<<20))
				if err != nil {
					return err
				}
				src = strings.TrimRight(string(b), "\r\n")
			}
			p, err := pattern.Parse(src)
			if err != nil {
				var pe *pattern.Error
				if !errors.As(err, &pe) {
					return err
				}
				printf(e.stderr, "vigil intel pattern check: invalid pattern: %s\n", safetext.Terminal(pe.Error()))
				// The pattern's line, and a caret under the column.
				lines := strings.Split(pe.Caret(src), "\n")
				printf(e.stderr, "  %s\n  %s\n", safetext.Terminal(lines[0]), strings.TrimSuffix(lines[1], " "+pe.Msg))
				return reportedError{err}
			}
			if _, err := pattern.Compile(p); err != nil {
				printf(e.stdout, "valid; matched over several events (%s)\n", strings.TrimPrefix(err.Error(), pattern.ErrNotSingle.Error()+": "))
				return nil
			}
			printf(e.stdout, "valid; matched event by event\n")
			return nil
		},
	}
}
