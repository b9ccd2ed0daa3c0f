package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/config"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// testNATSURL is the external NATS JetStream the national deployment's
// tests use.
func testNATSURL() string {
	if u := os.Getenv("VIGIL_TEST_NATS_URL"); u != "" {
		return u
	}
	return "nats://127.0.0.1:4222"
}

// externalConfig points a server at one PostgreSQL schema and the external
// NATS, as every process of a national deployment is.
func externalConfig(dbURL string) func(*config.Config) {
	return func(c *config.Config) {
		c.DatabaseURL = dbURL
		c.NATSURL = testNATSURL()
	}
}

// startPair runs two `vigil serve` processes on one fresh PostgreSQL schema
// and the external NATS: two servers of one deployment behind a load
// balancer. It returns the schema's URL too, for a third process.
func startPair(t *testing.T) (a, b *Server, dbURL string) {
	t.Helper()
	dbURL = storetest.PostgresSchemaURL(t)
	a = startWith(t, externalConfig(dbURL))
	b = startWith(t, externalConfig(dbURL))
	return a, b, dbURL
}

// Failures counted by one server throttle sign-ins on another: the limits
// live in the database both share.
func TestSignInThrottleIsSharedByServers(t *testing.T) {
	a, b, _ := startPair(t)
	ctx := context.Background()
	sys := scope.System("test")
	const pw = "bobs right password"
	if _, err := a.Orgs.Create(ctx, sys, org.Org{Code: "RJ1", Name: "Trust", Type: org.Trust}); err != nil {
		t.Fatal(err)
	}
	bob, err := a.Auth.AddUser(ctx, sys, auth.NewUser{Email: "bob@rj1.nhs.test", Name: "Bob", Org: "RJ1", Role: scope.OrgAnalyst, Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	throttled := false
	for i := range 60 {
		_, err := a.Auth.Authenticate(ctx, bob.Email, fmt.Sprint("guess ", i), "198.51.100.1")
		if errors.Is(err, auth.ErrThrottled) {
			throttled = true
			break
		}
		if !errors.Is(err, auth.ErrBadCredentials) {
			t.Fatalf("guess %d on server A = %v", i+1, err)
		}
	}
	if !throttled {
		t.Fatal("server A never throttled 60 guesses")
	}
	if id, err := b.Auth.Authenticate(ctx, bob.Email, pw, "198.51.100.1"); !errors.Is(err, auth.ErrThrottled) {
		t.Errorf("server B after server A throttled bob = %q, %v; want ErrThrottled", id, err)
	}
}
