package web

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/scope"
)

// TestAuditPageInWords: each entry of the audit page says in a sentence
// who did what to what (audit.Describe), with its time as words and the
// exact instant on a <time>; names come only from what the reader may see.
func TestAuditPageInWords(t *testing.T) {
	e := newEnv(t, envOptions{})
	if _, err := e.auth.AddUser(context.Background(), scope.System("test"), auth.NewUser{Email: "auditor@leeds.test", Name: "Ava Leeds", Org: "RR8", Role: scope.Auditor, Password: password}); err != nil {
		t.Fatal(err)
	}
	admin := e.signIn("admin@vigil.test")
	p := admin.post("/admin/users/"+e.users["analyst@leeds.test"]+"/grants", url.Values{"role": {"org-admin"}, "org": {"RR8"}})
	wantStatus(t, "grant", p, http.StatusSeeOther)
	wantStatus(t, "wrong password", e.client().signInAs("analyst@leeds.test", "not the password", ""), http.StatusUnauthorized)

	p = admin.get("/admin/audit")
	wantStatus(t, "audit", p, 200)
	mustContain(t, "national audit", p.body,
		"Ada Admin (admin@vigil.test) granted org-admin on Leeds Teaching Hospitals NHS Trust (RR8) to Liam Leeds",
		"Ada Admin (admin@vigil.test) signed in",
		"Liam Leeds (analyst@leeds.test) was refused: wrong password",
		"Vigil (test) added the user Olive Leeds (orgadmin@leeds.test) at Leeds Teaching Hospitals NHS Trust (RR8) as org-admin",
		`<time datetime="`, `">today `,
		// The action code stays, as a link that filters by it.
		`href="/admin/audit?action=user.grant"`)
	mustNotContain(t, "national audit", p.body, "When (UTC)")

	// A trust's auditor sees the entry (it is filed under RR8) but not
	// the name of the national administrator, whose home is outside its
	// scope: the sentence keeps the e-mail address the entry holds.
	p = e.signIn("auditor@leeds.test").get("/admin/audit")
	mustContain(t, "trust audit", p.body, "admin@vigil.test granted org-admin on Leeds Teaching Hospitals NHS Trust (RR8) to Liam Leeds")
	mustNotContain(t, "trust audit", p.body, "Ada Admin")
}
