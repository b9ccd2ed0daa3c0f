package cli

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/vigil-health/vigil/internal/testneed"
)

type result struct {
	code           int
	stdout, stderr string
}

func run(t testing.TB, stdin string, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := RunEnv(context.Background(), args, strings.NewReader(stdin), &out, &errb, func(k string) string { return env[k] })
	return result{code, out.String(), errb.String()}
}

func must(t testing.TB, r result) result {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	return r
}

func TestHelpHasNoSideEffects(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	for _, args := range [][]string{
		{"--help"}, {"users", "add", "--help"}, {"tokens", "create", "--help"}, {"orgs", "import", "--help"},
		{"serve", "--help"}, {"migrate", "--help"}, {"demo", "--help"}, {"audit", "verify", "--help"}, {"config", "check", "--help"},
	} {
		r := run(t, "", nil, append([]string{"--data-dir", dir}, args...)...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage:") {
			t.Errorf("%v: exit %d, stdout %q", args, r.code, r.stdout)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("--help created the data dir (%v)", err)
	}
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"nope"}, "unknown command"},
		{[]string{"users", "add", "--email", "a@b.c"}, "--email, --name and --role are required"},
		{[]string{"orgs", "list", "--format", "xml"}, `--format "xml"`},
		{[]string{"orgs", "list", "--type", "castle"}, `--type "castle"`},
		{[]string{"tokens", "create", "--user", "x@y.z"}, "--user and --name are required"},
	} {
		r := run(t, "", nil, append([]string{"--data-dir", dir}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
}

func TestUsersTokensOrgsEndToEnd(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"VIGIL_DATA_DIR": dir}
	must(t, run(t, "demo password for tests\n", env, "demo", "--password-stdin"))
	// Flags after positional arguments work, and the environment gives the data dir.
	r := must(t, run(t, "", env, "orgs", "get", "RJ1", "--data-dir", dir))
	if !strings.Contains(r.stdout, `"ods": "RJ1"`) {
		t.Errorf("orgs get: %s", r.stdout)
	}
	must(t, run(t, "a long enough password\n", env, "users", "add", "--email", "Tess@RJ1.nhs.test", "--name", "Tess", "--role", "org-analyst", "--org", "rj1", "--password-stdin"))
	r = must(t, run(t, "", env, "tokens", "create", "--user", "tess@rj1.nhs.test", "--name", "ci", "--expires", "30d"))
	if !regexp.MustCompile(`^vigil_t_[a-z2-7]+\.[a-z2-7]+\n$`).MatchString(r.stdout) {
		t.Fatalf("tokens create must print only the token, got %q", r.stdout)
	}
	secret := strings.TrimSpace(r.stdout)
	r = must(t, run(t, "", env, "tokens", "list", "--format", "json"))
	if strings.Contains(r.stdout, strings.SplitN(secret, ".", 2)[1]) {
		t.Fatal("tokens list shows the secret")
	}
	id := strings.SplitN(strings.TrimPrefix(secret, "vigil_"), ".", 2)[0]
	if !strings.Contains(r.stdout, id) {
		t.Fatalf("tokens list lacks %s: %s", id, r.stdout)
	}
	must(t, run(t, "", env, "tokens", "revoke", id))
	r = must(t, run(t, "", env, "tokens", "list"))
	if !strings.Contains(r.stdout, "revoked") {
		t.Errorf("revoked token not shown as revoked: %s", r.stdout)
	}
	// An ingest token for a log sender: printed alone, listed with its
	// organisation, revoked by its ID or by the whole token.
	r = must(t, run(t, "", env, "tokens", "create", "--ingest", "--org", "rj1", "--name", "rsyslog on log01"))
	if !regexp.MustCompile(`^vigil_ingest_i_[a-z2-7]+\.[a-z2-7]+\n$`).MatchString(r.stdout) || !strings.Contains(r.stderr, "for RJ1") {
		t.Fatalf("tokens create --ingest: %q %q", r.stdout, r.stderr)
	}
	ingestSecret := strings.TrimSpace(r.stdout)
	r = must(t, run(t, "", env, "tokens", "list", "--ingest", "--org", "RJ1"))
	if !strings.Contains(r.stdout, "rsyslog on log01") || !strings.Contains(r.stdout, "RJ1") || !strings.Contains(r.stdout, "active") {
		t.Errorf("tokens list --ingest: %s", r.stdout)
	}
	if r := run(t, "", env, "tokens", "create", "--ingest", "--name", "x"); r.code != 2 || !strings.Contains(r.stderr, "--ingest needs --org") {
		t.Errorf("--ingest without --org: %d %q", r.code, r.stderr)
	}
	r = must(t, run(t, "", env, "tokens", "revoke", ingestSecret))
	if !strings.Contains(r.stdout, "revoked ingest token") {
		t.Errorf("revoke an ingest token: %s", r.stdout)
	}
	// orgs list --format json: one object per line with the documented keys.
	r = must(t, run(t, "", env, "orgs", "list", "--type", "trust", "--format", "json"))
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 18 {
		t.Errorf("%d demo trusts, want 18", len(lines))
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		for _, k := range []string{"ods", "name", "type", "parent", "status"} {
			if _, ok := m[k]; !ok {
				t.Errorf("line lacks %q: %s", k, l)
			}
		}
		if m["type"] != "trust" || m["status"] != "active" {
			t.Errorf("unexpected %s", l)
		}
	}
	// Demo is idempotent.
	r = must(t, run(t, "demo password for tests\n", env, "demo", "--password-stdin"))
	if !strings.Contains(r.stdout, "0 organisations created") || !strings.Contains(r.stdout, "0 users created") {
		t.Errorf("second demo: %s", r.stdout)
	}
	r = must(t, run(t, "", env, "users", "grant", "tess@rj1.nhs.test", "auditor", "rjz"))
	if r.stdout != "granted auditor on RJZ to tess@rj1.nhs.test\n" {
		t.Errorf("grant: %q", r.stdout)
	}
	r = must(t, run(t, "", env, "users", "list"))
	if !strings.Contains(r.stdout, "tess@rj1.nhs.test") || !strings.Contains(r.stdout, "org-analyst@RJ1") || !strings.Contains(r.stdout, "auditor@RJZ") {
		t.Errorf("users list: %s", r.stdout)
	}
	r = must(t, run(t, "", env, "users", "revoke", "tess@rj1.nhs.test", "auditor", "RJZ"))
	if r.stdout != "revoked auditor on RJZ from tess@rj1.nhs.test\n" {
		t.Errorf("revoke: %q", r.stdout)
	}
	if r := run(t, "", env, "users", "grant", "tess@rj1.nhs.test", "national-admin", "RJZ"); r.code != 1 || !strings.Contains(r.stderr, "national") {
		t.Errorf("granting a national role on a trust: %d %s", r.code, r.stderr)
	}
	r = must(t, run(t, "", env, "audit", "list", "--action", "token.", "--format", "json"))
	if strings.Count(r.stdout, "\n") != 2 || strings.Contains(r.stdout, strings.SplitN(secret, ".", 2)[1]) {
		t.Errorf("audit of tokens: %s", r.stdout)
	}
}

func TestOrgsImportReportsBadRows(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(t.TempDir(), "etr.csv")
	good := `"RJ1","GUY'S AND ST THOMAS' NHS FOUNDATION TRUST","Y56","QKK","GUY'S HOSPITAL","GREAT MAZE POND","","LONDON","","SE1 9RT","19930401","","","","","","","02071887188","","","","1","","H","","",""` + "\n"
	bad := `"RJZ","KING'S","Y56"` + "\n"
	if err := os.WriteFile(csv, []byte(good+bad), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, "", nil, "--data-dir", dir, "orgs", "import", csv)
	if r.code != 1 || !strings.Contains(r.stdout, "etr.csv:2") || !strings.Contains(r.stderr, "1 row(s) had errors") {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = must(t, run(t, "", nil, "--data-dir", dir, "orgs", "get", "RJ1"))
	// Imported names are made readable (org.ReadableName).
	if !strings.Contains(r.stdout, "Guy's and St Thomas' NHS Foundation Trust") {
		t.Errorf("good row not imported, or its name not made readable: %s", r.stdout)
	}
	if r := run(t, "", nil, "--data-dir", dir, "orgs", "get", "RJZ"); r.code == 0 {
		t.Error("bad row imported")
	}
	if r := run(t, "", nil, "--data-dir", dir, "orgs", "import", filepath.Join(dir, "missing.csv")); r.code != 1 || !strings.Contains(r.stderr, "missing.csv") {
		t.Errorf("missing file: %d %s", r.code, r.stderr)
	}
}

func TestAuditVerifyDetectsTampering(t *testing.T) {
	dir := t.TempDir()
	must(t, run(t, "demo password for tests\n", nil, "--data-dir", dir, "demo", "--password-stdin"))
	r := must(t, run(t, "", nil, "--data-dir", dir, "audit", "verify"))
	if !strings.Contains(r.stdout, "audit chain OK") {
		t.Fatalf("verify: %s", r.stdout)
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE audit_log SET actor = 'someone-else' WHERE seq = 5`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	r = run(t, "", nil, "--data-dir", dir, "audit", "verify")
	if r.code != 1 || !strings.Contains(r.stdout, "BROKEN at entry 5") {
		t.Fatalf("tampered chain: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
}

func TestConfigCheckHidesSecrets(t *testing.T) {
	r := run(t, "", map[string]string{
		"VIGIL_DATABASE_URL":       "postgres://vigil:hunter2secret@db.example:5432/vigil",
		"VIGIL_OIDC_CLIENT_SECRET": "s3cr3t-client-value",
		"VIGIL_OIDC_ISSUER":        "https://login.example",
		"VIGIL_OIDC_CLIENT_ID":     "vigil",
	}, "config", "check")
	if r.code != 0 {
		t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	for _, s := range []string{"hunter2secret", "s3cr3t-client-value"} {
		if strings.Contains(r.stdout+r.stderr, s) {
			t.Errorf("config check printed a secret %q:\n%s", s, r.stdout)
		}
	}
	if !strings.Contains(r.stdout, "postgres://vigil:xxxxx@db.example:5432/vigil") {
		t.Errorf("database URL not shown redacted:\n%s", r.stdout)
	}
	r = run(t, "", map[string]string{"VIGIL_HTTP": "nonsense", "VIGIL_LOG_LEVEL": "loud"}, "config", "check")
	if r.code != 1 || !strings.Contains(r.stderr, "--http") || !strings.Contains(r.stderr, "--log-level") {
		t.Errorf("invalid config: %d %s", r.code, r.stderr)
	}
	// Secrets do not show up in --help either.
	r = run(t, "", map[string]string{"VIGIL_DATABASE_URL": "postgres://u:pw-in-help@h/db"}, "--help")
	if strings.Contains(r.stdout, "pw-in-help") {
		t.Error("--help shows the database password")
	}
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	dir := t.TempDir()
	must(t, run(t, "", nil, "--data-dir", dir, "migrate"))
	r := must(t, run(t, "", nil, "--data-dir", dir, "migrate"))
	if !strings.Contains(r.stdout, "up to date") {
		t.Errorf("second migrate: %s", r.stdout)
	}
	db, _ := sql.Open("sqlite", filepath.Join(dir, "vigil.db"))
	if _, err := db.Exec(`INSERT INTO schema_migrations (domain, version, name, applied_at) VALUES ('org', 99, 'future', 'x')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, args := range [][]string{{"migrate"}, {"orgs", "list"}} {
		r = run(t, "", nil, append([]string{"--data-dir", dir}, args...)...)
		if r.code == 0 || !strings.Contains(r.stderr, "newer") {
			t.Errorf("%v on a newer schema: exit %d %s", args, r.code, r.stderr)
		}
	}
}

func TestImportBoundaries(t *testing.T) {
	dir := t.TempDir()
	geo := filepath.Join("..", "..", "..", "shared", "data", "nhs", "geo", "icb_apr2023_en_bsc.geojson")
	if _, err := os.Stat(geo); err != nil {
		testneed.Missing(t, "the ONS boundaries in ../shared/data/nhs/geo", err)
	}
	r := must(t, run(t, "", nil, "--data-dir", dir, "orgs", "import-boundaries", "--dry-run", geo))
	if !strings.Contains(r.stdout, "dry run") || !strings.Contains(r.stdout, "42 boundaries (42 created") {
		t.Errorf("dry run: %s", r.stdout)
	}
	r = must(t, run(t, "", nil, "--data-dir", dir, "orgs", "import-boundaries", geo))
	if !strings.Contains(r.stdout, "imported 42 boundaries (42 created") {
		t.Errorf("import: %s", r.stdout)
	}
	r = must(t, run(t, "", nil, "--data-dir", dir, "orgs", "import-boundaries", geo))
	if !strings.Contains(r.stdout, "(0 created, 42 updated") {
		t.Errorf("re-import: %s", r.stdout)
	}
	bad := filepath.Join(t.TempDir(), "bad.geojson")
	os.WriteFile(bad, []byte(`{"type":"FeatureCollection","features":[`), 0o644)
	if r := run(t, "", nil, "--data-dir", dir, "orgs", "import-boundaries", bad); r.code != 1 || !strings.Contains(r.stderr, "bad.geojson") {
		t.Errorf("bad file: %d %s", r.code, r.stderr)
	}
}

// A change made with --nats tells running servers; if NATS cannot be
// reached the change still stands, and the operator is told servers will
// see it at their next check.
func TestChangeWithUnreachableNATSStillSucceeds(t *testing.T) {
	dir := t.TempDir()
	r := must(t, run(t, "", nil, "--data-dir", dir, "--nats", "nats://127.0.0.1:1", "orgs", "create", "--ods", "SUP-Q", "--name", "Quill Ltd", "--type", "supplier"))
	if !strings.Contains(r.stdout, "created supplier SUP-Q") {
		t.Errorf("stdout %q", r.stdout)
	}
	if !strings.Contains(r.stderr, "running servers not told of the change") {
		t.Errorf("stderr %q, want a warning that servers were not told", r.stderr)
	}
	// Read-only commands never touch NATS.
	r = must(t, run(t, "", nil, "--data-dir", dir, "--nats", "nats://127.0.0.1:1", "orgs", "get", "SUP-Q"))
	if r.stderr != "" {
		t.Errorf("a read-only command wrote to stderr: %q", r.stderr)
	}
}
