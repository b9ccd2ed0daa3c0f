package cli

import (
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/demo"
)

// TestUsersPasswordPolicy (issue 13 item 5): `users add` and `users passwd`
// refuse guessable passwords with a message saying what to do, and a reset
// revokes the user's API tokens.
func TestUsersPasswordPolicy(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"VIGIL_DATA_DIR": dir}
	must(t, run(t, "", env, "orgs", "create", "--ods", "Y56", "--name", "London", "--type", "region"))
	must(t, run(t, "", env, "orgs", "create", "--ods", "QKK", "--name", "South East London ICB", "--type", "icb", "--parent", "Y56"))
	must(t, run(t, "", env, "orgs", "create", "--ods", "RJ1", "--name", "Guy's and St Thomas'", "--type", "trust", "--parent", "QKK"))

	r := run(t, "Password1234\n", env, "users", "add", "--email", "tess@rj1.nhs.test", "--name", "Tess", "--role", "org-analyst", "--org", "RJ1", "--password-stdin")
	if r.code == 0 || !strings.Contains(r.stderr, "commonly used password") || !strings.Contains(r.stderr, "choose") {
		t.Fatalf("users add with a common password: exit %d, stderr %q", r.code, r.stderr)
	}
	r = run(t, "tess2025tess2025\n", env, "users", "add", "--email", "tess@rj1.nhs.test", "--name", "Tess", "--role", "org-analyst", "--org", "RJ1", "--password-stdin")
	if r.code == 0 || !strings.Contains(r.stderr, "your name") {
		t.Fatalf("users add with the user's name: exit %d, stderr %q", r.code, r.stderr)
	}
	must(t, run(t, "saffron lantern evening\n", env, "users", "add", "--email", "tess@rj1.nhs.test", "--name", "Tess", "--role", "org-analyst", "--org", "RJ1", "--password-stdin"))
	secret := strings.TrimSpace(must(t, run(t, "", env, "tokens", "create", "--user", "tess@rj1.nhs.test", "--name", "ci")).stdout)

	r = run(t, "qwertyuiop12\n", env, "users", "passwd", "tess@rj1.nhs.test")
	if r.code == 0 || !strings.Contains(r.stderr, "keyboard") {
		t.Fatalf("users passwd with a keyboard walk: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := must(t, run(t, "", env, "tokens", "list", "--user", "tess@rj1.nhs.test")); strings.Contains(r.stdout, "revoked") {
		t.Fatalf("a refused reset revoked the token: %s", r.stdout)
	}
	r = must(t, run(t, "copper kettle morning\n", env, "users", "passwd", "tess@rj1.nhs.test"))
	if !strings.Contains(r.stdout, "API tokens revoked") {
		t.Errorf("users passwd: %q", r.stdout)
	}
	id := strings.SplitN(strings.TrimPrefix(secret, auth.TokenPrefix), ".", 2)[0]
	if r := must(t, run(t, "", env, "tokens", "list", "--user", "tess@rj1.nhs.test")); !strings.Contains(r.stdout, id) || !strings.Contains(r.stdout, "revoked") {
		t.Errorf("after users passwd the token is not revoked: %s", r.stdout)
	}
}

// TestDemoPasswordPassesPolicy: the generated demo password suits every
// demo user (their names and addresses are context words).
func TestDemoPasswordPassesPolicy(t *testing.T) {
	for range 500 {
		pw := demoPassword()
		for _, u := range demo.Users() {
			if err := auth.ValidatePassword(pw, u.Email, u.Name); err != nil {
				t.Fatalf("demo password %q for %s: %v", pw, u.Email, err)
			}
		}
	}
}
