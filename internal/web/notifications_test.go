package web

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/notify"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// reportsEnv is the cases and notify services behind the pages this file
// and reports_test.go test.
type reportsEnv struct {
	cases  *cases.Service
	notify *notify.Service
}

type webPeople struct{ a *auth.Service }

func (p webPeople) ScopeOf(ctx context.Context, who string) (scope.Scope, error) {
	u, err := p.a.GetUser(ctx, scope.System("test"), who)
	if err != nil {
		return scope.Scope{}, err
	}
	if u.Disabled {
		return scope.Scope{}, fault.ErrNotFound
	}
	return p.a.ScopeFor(ctx, u.ID, "", "")
}

func (p webPeople) HoldersOf(ctx context.Context, orgs []string, roles []scope.Role) ([]string, error) {
	return p.a.HoldersOf(ctx, orgs, roles)
}

func newReportsEnv(t *testing.T, db *store.DB, al *audit.Log, orgs *org.Service, as *auth.Service, o *Options) *reportsEnv {
	t.Helper()
	cs, err := cases.New(cases.Options{DB: db, Audit: al, Orgs: orgs, Users: webPeople{as}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	ns, err := notify.New(notify.Options{DB: db, Audit: al, Cases: cs, Users: webPeople{as}})
	if err != nil {
		t.Fatal(err)
	}
	o.Notify = ns
	return &reportsEnv{cases: cs, notify: ns}
}

// The notification settings page saves the caller's own choices, shows
// the webhook secret once a URL is set, and puts a bad URL next to its
// field.
func TestNotificationSettingsPage(t *testing.T) {
	e := newSupplyEnvWith(t, envOptions{})
	c := e.signIn("analyst@leeds.test")
	p := c.get("/account/notifications")
	if p.status != 200 || !strings.Contains(p.body, "no mail server configured") || !strings.Contains(p.body, `value="case.assigned" checked`) {
		t.Fatalf("page: %d\n%s", p.status, p.body)
	}
	bad := c.post("/account/notifications", url.Values{"email": {"case.assigned"}, "webhook": {"case.escalated"}, "webhook_url": {"http://hooks.leeds.test/x"}})
	if bad.status != 422 || !strings.Contains(bad.body, "Must be https://") || !strings.Contains(bad.body, `href="#f-webhook_url"`) {
		t.Errorf("bad URL: %d\n%s", bad.status, bad.body)
	}
	ok := c.post("/account/notifications", url.Values{"email": {"comment.mention"}, "webhook": {"case.escalated"}, "webhook_url": {"https://hooks.leeds.test/vigil"}})
	if ok.status != 303 {
		t.Fatalf("save: %d\n%s", ok.status, ok.body)
	}
	p = c.get("/account/notifications?done=saved")
	if !strings.Contains(p.body, "Notification settings saved") || !strings.Contains(p.body, "vwhsec_") || strings.Contains(p.body, `value="case.assigned" checked`) ||
		!strings.Contains(p.body, `name="webhook" value="case.escalated" checked`) {
		t.Errorf("after saving:\n%s", p.body)
	}
	// Another user sees their own defaults, not the analyst's webhook.
	other := e.signIn("admin@vigil.test").get("/account/notifications")
	if strings.Contains(other.body, "hooks.leeds.test") || strings.Contains(other.body, "vwhsec_") {
		t.Errorf("another user's page shows the analyst's webhook")
	}
}
