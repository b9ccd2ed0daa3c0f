package app

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/config"
	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/seal"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// TestFeedSecretsAtRest is the feeds' secrets at rest, on SQLite and
// PostgreSQL, through App as `vigil serve` opens it:
//   - the first start writes <data-dir>/secrets.key (mode 0600);
//   - a feed added with a token holds it sealed: no column of any table
//     (the audit log included) holds it, and on SQLite neither do the
//     database's files;
//   - a row kept in clear text before (written as an older Vigil did) is
//     sealed when the next start opens the database;
//   - a start that would create a new key file against secrets sealed
//     with another key is refused;
//   - a start with another key file leaves the row alone and the feed's
//     pull fails saying why, rather than sending no credentials.
func TestFeedSecretsAtRest(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			cfg := config.Default()
			cfg.DataDir = t.TempDir()
			cfg.LogLevel = "warn"
			if engine == "postgres" {
				cfg.DatabaseURL = storetest.PostgresSchemaURL(t)
			}
			open := func() *App {
				a, err := Open(ctx, cfg, NewLogger(cfg, io.Discard), MigrateAuto)
				if err != nil {
					t.Fatal(err)
				}
				return a
			}
			a := open()
			key := filepath.Join(cfg.DataDir, "secrets.key")
			if st, err := os.Stat(key); err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("secrets key file: %v %v", st, err)
			}
			sc := scope.System("test")
			sc.UserID = "u-test"
			c, err := a.Intel.CreateCollection(ctx, sc, intel.CollectionOptions{Title: "Partner"})
			if err != nil {
				t.Fatal(err)
			}
			const token, old = "tok-sealed-7f3e9c2a41", "tok-cleartext-b8d05e6f"
			f, err := a.Intel.AddFeed(ctx, sc, intel.FeedOptions{Name: "Sealed", Kind: "misp", URL: "https://partner.example/misp/", Collection: c.ID, AuthKind: "bearer", AuthSecret: token})
			if err != nil {
				t.Fatal(err)
			}
			g, err := a.Intel.AddFeed(ctx, sc, intel.FeedOptions{Name: "Legacy", Kind: "misp", URL: "https://legacy.example/misp/", Collection: c.ID, AuthKind: "bearer", AuthSecret: "x"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.DB.Q().ExecContext(ctx, `UPDATE intel_feeds SET auth_secret = ? WHERE id = ?`, old, g.ID); err != nil {
				t.Fatal(err)
			}
			holds := func(a *App, secret string) []string {
				t.Helper()
				var found []string
				for _, table := range []string{"intel_feeds", "audit_log"} {
					rows, err := a.DB.Q().QueryContext(ctx, `SELECT * FROM `+table)
					if err != nil {
						t.Fatal(err)
					}
					cols, _ := rows.Columns()
					for rows.Next() {
						vals := make([]any, len(cols))
						ptrs := make([]any, len(cols))
						for i := range vals {
							ptrs[i] = &vals[i]
						}
						if err := rows.Scan(ptrs...); err != nil {
							t.Fatal(err)
						}
						for i, v := range vals {
							s, _ := v.(string)
							if b, ok := v.([]byte); ok {
								s = string(b)
							}
							if strings.Contains(s, secret) {
								found = append(found, table+"."+cols[i])
							}
						}
					}
					if err := rows.Close(); err != nil {
						t.Fatal(err)
					}
				}
				return found
			}
			if where := holds(a, token); len(where) > 0 {
				t.Errorf("the token is in %v", where)
			}
			if where := holds(a, old); len(where) != 1 {
				t.Fatalf("the clear-text row written for the test: %v", where)
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			if engine == "sqlite" {
				files, _ := filepath.Glob(filepath.Join(cfg.DataDir, "*"))
				for _, p := range files {
					if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(token)) {
						t.Errorf("%s holds the token", filepath.Base(p))
					}
				}
			}

			// The next start seals the clear-text row.
			a = open()
			if where := holds(a, old); len(where) > 0 {
				t.Errorf("after a start the clear-text token is still in %v", where)
			}
			for id, want := range map[string]string{f.ID: token, g.ID: old} {
				spec, err := a.Intel.FeedSpecOf(ctx, id)
				if err != nil || spec.Secret != want {
					t.Errorf("feed %s opens to %q (%s) %v", id, spec.Secret, spec.SecretProblem, err)
				}
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}

			// No key file where the start looks (a server or CLI not given
			// the deployment's): refused, and no new key is left behind to
			// seal anything with.
			cfg.SecretsKeyFile = filepath.Join(t.TempDir(), "missing.key")
			if _, err := Open(ctx, cfg, NewLogger(cfg, io.Discard), MigrateAuto); err == nil || !strings.Contains(err.Error(), "copy the secrets key file") {
				t.Fatalf("a start without the key: %v", err)
			}
			if _, err := os.Stat(cfg.SecretsKeyFile); !os.IsNotExist(err) {
				t.Errorf("the refused start left a key file: %v", err)
			}
			// Another key given: nothing opens, nothing is rewritten, the
			// pull says why.
			cfg.SecretsKeyFile = filepath.Join(t.TempDir(), "other.key")
			if _, _, err := seal.LoadOrCreateFile(cfg.SecretsKeyFile); err != nil {
				t.Fatal(err)
			}
			a = open()
			defer func() { _ = a.Close() }()
			spec, err := a.Intel.FeedSpecOf(ctx, f.ID)
			if err != nil || spec.Secret != "" || !strings.Contains(spec.SecretProblem, "does not hold") {
				t.Fatalf("with another key: %q %q %v", spec.Secret, spec.SecretProblem, err)
			}
			_, err = a.Feeds.Pull(ctx, spec)
			if err == nil || !strings.Contains(err.Error(), "secrets key") {
				t.Errorf("a pull without the key: %v", err)
			}
			st, _ := a.Intel.GetFeed(ctx, sc, f.ID)
			if st.ConsecutiveFailures != 1 || !strings.Contains(st.LastError, "does not hold") || st.NextRun.After(time.Now().Add(time.Minute)) {
				t.Errorf("status after the pull without the key: %+v", st)
			}
			if !seal.IsSealed(func() string {
				var v string
				_ = a.DB.Q().QueryRowContext(ctx, `SELECT auth_secret FROM intel_feeds WHERE id = ?`, f.ID).Scan(&v)
				return v
			}()) {
				t.Error("a server without the key rewrote the sealed secret")
			}
		})
	}
}
