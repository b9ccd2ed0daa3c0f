package intel

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/seal"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// rawFeedRow is every column of a feed's row as the database holds it,
// joined: what someone with a copy of the database reads.
func rawFeedRow(t *testing.T, db *store.DB, id string) string {
	t.Helper()
	rows, err := db.Q().QueryContext(context.Background(), `SELECT * FROM intel_feeds WHERE id = ?`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	cols, _ := rows.Columns()
	if !rows.Next() {
		t.Fatalf("no row %s", id)
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i, v := range vals {
		if bs, ok := v.([]byte); ok {
			v = string(bs)
		}
		b.WriteString(cols[i] + "=" + strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(toString(v), "\n", " "), "\t", " ")) + "\n")
	}
	return b.String()
}

func toString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestFeedSecretsSealed: a feed's password is in the database only
// sealed, on SQLite and PostgreSQL; a clear-text row kept from before is
// sealed by SealFeedSecrets; a rotated key reseals; a server without the
// key, or a sealed value copied into another row, opens nothing and
// says why; no reader ever gets the secret.
func TestFeedSecretsSealed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		oldB, newB := randomKey(t), randomKey(t)
		oldKey, _ := seal.New(oldB)
		s, _ := New(Options{DB: db, OrgPath: orgPath, Secrets: oldKey})
		nadia := person("u-nadia", scope.NationalAnalyst, "ENG")
		c, err := s.CreateCollection(ctx, nadia, CollectionOptions{Title: "National"})
		if err != nil {
			t.Fatal(err)
		}
		const pw, token = "correct-horse-battery-staple", "tok-0123456789abcdef"
		f, err := s.AddFeed(ctx, nadia, FeedOptions{Name: "Basic", URL: "https://partner.example/taxii2/", RemoteCollection: "c1", Collection: c.ID,
			AuthKind: "basic", AuthUser: "vigil", AuthSecret: pw})
		if err != nil {
			t.Fatal(err)
		}
		raw := rawFeedRow(t, db, f.ID)
		if strings.Contains(raw, pw) || strings.Contains(raw, "correct-horse") || !strings.Contains(raw, seal.Prefix+oldKey.ID()) {
			t.Fatalf("the row holds the password or no sealed value:\n%s", raw)
		}
		spec, err := s.FeedSpecOf(ctx, f.ID)
		if err != nil || spec.Secret != pw || spec.SecretProblem != "" {
			t.Fatalf("the puller's spec: %q %q %v", spec.Secret, spec.SecretProblem, err)
		}
		for _, read := range []func() (any, error){
			func() (any, error) { return s.Feeds(ctx, nadia) },
			func() (any, error) { return s.GetFeed(ctx, nadia, f.ID) },
		} {
			v, err := read()
			if b, _ := json.Marshal(v); err != nil || strings.Contains(string(b), pw) || strings.Contains(string(b), "vigil-sealed") {
				t.Errorf("a read returns the secret: %s %v", b, err)
			}
		}
		// A row kept in clear text before secrets were sealed.
		b, err := s.AddFeed(ctx, nadia, FeedOptions{Name: "Bearer", Kind: "misp", URL: "https://partner.example/misp/", Collection: c.ID, AuthKind: "bearer", AuthSecret: "placeholder"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Q().ExecContext(ctx, `UPDATE intel_feeds SET auth_secret = ? WHERE id = ?`, token, b.ID); err != nil {
			t.Fatal(err)
		}
		if spec, _ := s.FeedSpecOf(ctx, b.ID); spec.Secret != token {
			t.Errorf("clear text not yet sealed is still used: %q", spec.Secret)
		}
		n, unknown, err := s.SealFeedSecrets(ctx)
		if err != nil || n != 1 || unknown != 0 {
			t.Fatalf("sealing the clear-text row: %d sealed, %d unknown, %v", n, unknown, err)
		}
		if raw := rawFeedRow(t, db, b.ID); strings.Contains(raw, token) || strings.Contains(raw, "0123456789abcdef") {
			t.Fatalf("after sealing the row still holds the token:\n%s", raw)
		}
		if spec, _ := s.FeedSpecOf(ctx, b.ID); spec.Secret != token {
			t.Errorf("the sealed token: %q %q", spec.Secret, spec.SecretProblem)
		}
		if n, _, _ := s.SealFeedSecrets(ctx); n != 0 {
			t.Errorf("sealing again changed %d rows", n)
		}
		// Rotation: a new key first, the old kept below; start seals again.
		newKey, _ := seal.New(newB)
		ring, err := seal.New(newB, oldB)
		if err != nil {
			t.Fatal(err)
		}
		rotated, _ := New(Options{DB: db, OrgPath: orgPath, Secrets: ring})
		if n, unknown, err := rotated.SealFeedSecrets(ctx); err != nil || n != 2 || unknown != 0 {
			t.Fatalf("rotation: %d resealed, %d unknown, %v", n, unknown, err)
		}
		onlyNew, _ := New(Options{DB: db, OrgPath: orgPath, Secrets: newKey})
		if spec, _ := onlyNew.FeedSpecOf(ctx, f.ID); spec.Secret != pw {
			t.Errorf("after rotation the new key alone: %q %q", spec.Secret, spec.SecretProblem)
		}
		// The old key alone (a server not given the new file) opens nothing,
		// changes nothing, and says why.
		onlyOld, _ := New(Options{DB: db, OrgPath: orgPath, Secrets: oldKey})
		spec, _ = onlyOld.FeedSpecOf(ctx, f.ID)
		if spec.Secret != "" || !strings.Contains(spec.SecretProblem, "does not hold") {
			t.Errorf("without the key: %q %q", spec.Secret, spec.SecretProblem)
		}
		before := rawFeedRow(t, db, f.ID)
		if n, unknown, err := onlyOld.SealFeedSecrets(ctx); err != nil || n != 0 || unknown != 2 {
			t.Errorf("sealing without the key: %d sealed, %d unknown, %v", n, unknown, err)
		}
		if rawFeedRow(t, db, f.ID) != before {
			t.Error("a server without the key changed the row")
		}
		// A sealed value copied into another feed's row does not open there.
		var sealed string
		if err := db.Q().QueryRowContext(ctx, `SELECT auth_secret FROM intel_feeds WHERE id = ?`, f.ID).Scan(&sealed); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Q().ExecContext(ctx, `UPDATE intel_feeds SET auth_secret = ? WHERE id = ?`, sealed, b.ID); err != nil {
			t.Fatal(err)
		}
		if spec, _ := onlyNew.FeedSpecOf(ctx, b.ID); spec.Secret != "" || spec.SecretProblem == "" {
			t.Errorf("a copied value opens: %q", spec.Secret)
		}
	}, Migrations())
}

func randomKey(t *testing.T) []byte {
	t.Helper()
	b := make([]byte, seal.KeySize)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFeedBackoff: each failure in a row waits longer, to the cap and no
// further, jittered earlier only; a Retry-After longer than the wait is
// honoured (to a day); the status counts the failures in a row and a
// success resets them and goes back to the interval.
func TestFeedBackoff(t *testing.T) {
	hour := time.Hour
	for _, x := range []struct {
		failures int
		ra, want time.Duration
	}{
		{1, 0, time.Minute}, {2, 0, 2 * time.Minute}, {3, 0, 4 * time.Minute}, {9, 0, 256 * time.Minute},
		{10, 0, MaxFeedBackoff}, {40, 0, MaxFeedBackoff}, {1, 2 * hour, 2 * hour}, {1, 30 * time.Second, time.Minute}, {1, 1000 * hour, MaxFeedRetryAfter},
	} {
		if got := FeedRetryDelay(hour, x.failures, x.ra, 0); got != x.want {
			t.Errorf("FeedRetryDelay(1h, %d, %v) = %v, want %v", x.failures, x.ra, got, x.want)
		}
		if got := FeedRetryDelay(hour, x.failures, 0, 0.999); got > FeedRetryDelay(hour, x.failures, 0, 0) || got < FeedRetryDelay(hour, x.failures, 0, 0)*4/5 {
			t.Errorf("jitter out of range: %v", got)
		}
	}
	if got := FeedRetryDelay(48*hour, 20, 0, 0); got != 48*hour {
		t.Errorf("a feed pulled every two days backs off to %v", got)
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := New(Options{DB: db, OrgPath: orgPath})
		nadia := person("u-nadia", scope.NationalAnalyst, "ENG")
		c, _ := s.CreateCollection(ctx, nadia, CollectionOptions{Title: "National"})
		f, err := s.AddFeed(ctx, nadia, FeedOptions{Name: "Flaky", URL: "https://partner.example/taxii2/", RemoteCollection: "c1", Collection: c.ID})
		if err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
		var last time.Duration
		for i := 1; i <= 4; i++ {
			if err := s.FinishFeedPull(ctx, f.ID, FeedRun{Started: at, Err: errors.New("HTTP 500")}); err != nil {
				t.Fatal(err)
			}
			g, _ := s.GetFeed(ctx, nadia, f.ID)
			wait := g.NextRun.Sub(at)
			if g.ConsecutiveFailures != i || g.Failures != i || wait > FeedRetryDelay(hour, i, 0, 0) || wait < FeedRetryDelay(hour, i, 0, 0)*4/5 || wait <= last/2 {
				t.Fatalf("failure %d: %d in a row, next in %v", i, g.ConsecutiveFailures, wait)
			}
			last = wait
		}
		if err := s.FinishFeedPull(ctx, f.ID, FeedRun{Started: at, Err: errors.New("HTTP 503"), RetryAfter: 3 * hour}); err != nil {
			t.Fatal(err)
		}
		if g, _ := s.GetFeed(ctx, nadia, f.ID); g.NextRun.Sub(at) != 3*hour || g.ConsecutiveFailures != 5 {
			t.Errorf("Retry-After 3h: next in %v, %d in a row", g.NextRun.Sub(at), g.ConsecutiveFailures)
		}
		if due, _ := s.DueFeeds(ctx, at.Add(2*hour)); len(due) != 0 {
			t.Errorf("due before the Retry-After: %d", len(due))
		}
		if err := s.FinishFeedPull(ctx, f.ID, FeedRun{Started: at, Added: 3}); err != nil {
			t.Fatal(err)
		}
		if g, _ := s.GetFeed(ctx, nadia, f.ID); g.NextRun.Sub(at) != hour || g.ConsecutiveFailures != 0 || g.Failures != 5 {
			t.Errorf("after a success: next in %v, %d in a row, %d failures", g.NextRun.Sub(at), g.ConsecutiveFailures, g.Failures)
		}
	}, Migrations())
}

// TestEditRemoveFeed: a writer of the collection changes a feed's
// settings (a reader may not, a stranger finds none); a new URL or
// collection clears the cursor and makes it due; a new secret is sealed
// and none is returned; a disabled feed is not due; removing a feed
// keeps what it pulled; each field is checked as AddFeed checks it.
func TestEditRemoveFeed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := New(Options{DB: db, OrgPath: orgPath})
		nadia := person("u-nadia", scope.NationalAnalyst, "ENG")
		alice := person("u-alice", scope.OrgAnalyst, "RJ1")
		bob := person("u-bob", scope.OrgAnalyst, "RJZ")
		c, _ := s.CreateCollection(ctx, nadia, CollectionOptions{Title: "National"})
		other, _ := s.CreateCollection(ctx, nadia, CollectionOptions{Title: "Second"})
		bobs, _ := s.CreateCollection(ctx, bob, CollectionOptions{Title: "Bob's"})
		if _, err := s.GrantCollection(ctx, nadia, c.ID, GrantOptions{Org: "RJ1", Read: true}); err != nil {
			t.Fatal(err)
		}
		f, err := s.AddFeed(ctx, nadia, FeedOptions{Name: "Partner", URL: "https://partner.example/taxii2/", RemoteCollection: "c1", Collection: c.ID,
			AuthKind: "basic", AuthUser: "vigil", AuthSecret: "first-password"})
		if err != nil {
			t.Fatal(err)
		}
		o, _ := stix.NewSCO("domain-name", map[string]any{"value": "pulled.example"})
		spec, _ := s.FeedSpecOf(ctx, f.ID)
		if _, err := s.ImportFeedPage(ctx, spec, []*stix.Object{o}, "2026-12-01T00:00:00Z"); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
		if err := s.FinishFeedPull(ctx, f.ID, FeedRun{Started: at, Err: errors.New("HTTP 500")}); err != nil {
			t.Fatal(err)
		}
		str := func(v string) *string { return &v }
		if _, err := s.EditFeed(ctx, alice, f.ID, FeedEdit{Name: str("Mine")}); !errors.Is(err, ErrCollectionForbidden) {
			t.Errorf("a reader edits: %v", err)
		}
		if _, err := s.EditFeed(ctx, bob, f.ID, FeedEdit{Name: str("Mine")}); !errors.Is(err, ErrFeedNotFound) {
			t.Errorf("a stranger edits: %v", err)
		}
		if err := s.RemoveFeed(ctx, bob, f.ID); !errors.Is(err, ErrFeedNotFound) {
			t.Errorf("a stranger removes: %v", err)
		}
		if _, err := s.EditFeed(ctx, nadia, f.ID, FeedEdit{Collection: str(bobs.ID)}); err == nil {
			t.Error("moved into a collection the editor cannot write")
		}
		for field, e := range map[string]FeedEdit{
			"name":        {Name: str(" ")},
			"url":         {URL: str("ftp://x.example/")},
			"auth_secret": {AuthKind: str("bearer")},
			"auth":        {AuthUser: str("")},
		} {
			var inv *InvalidError
			if _, err := s.EditFeed(ctx, nadia, f.ID, e); !errors.As(err, &inv) || inv.Field != field {
				t.Errorf("%s: %v", field, err)
			}
		}
		// A new interval alone: rescheduled from the last attempt, the
		// back-off kept while it fails, the cursor kept.
		six := 6 * time.Hour
		g, err := s.EditFeed(ctx, nadia, f.ID, FeedEdit{Interval: &six})
		if err != nil || g.IntervalSeconds != 21600 || g.Cursor == "" || g.ConsecutiveFailures != 1 {
			t.Fatalf("new interval: %+v %v", g, err)
		}
		// A new URL and password: cursor cleared, due now, back-off reset.
		g, err = s.EditFeed(ctx, nadia, f.ID, FeedEdit{URL: str("https://mirror.example/taxii2"), AuthSecret: str("second-password")})
		if err != nil || g.URL != "https://mirror.example/taxii2/" || g.Cursor != "" || g.ConsecutiveFailures != 0 {
			t.Fatalf("new URL: %+v %v", g, err)
		}
		if spec, _ := s.FeedSpecOf(ctx, f.ID); spec.Secret != "second-password" || spec.Cursor != "" {
			t.Errorf("new password: %q, cursor %q", spec.Secret, spec.Cursor)
		}
		if raw := rawFeedRow(t, db, f.ID); strings.Contains(raw, "second-password") || strings.Contains(raw, "first-password") {
			t.Errorf("the row holds a password:\n%s", raw)
		}
		if due, _ := s.DueFeeds(ctx, time.Now().Add(time.Second)); len(due) != 1 {
			t.Errorf("after a new URL the feed is due: %d", len(due))
		}
		off := false
		if g, err = s.EditFeed(ctx, nadia, f.ID, FeedEdit{Enabled: &off}); err != nil || g.Enabled {
			t.Fatalf("disable: %+v %v", g, err)
		}
		if due, _ := s.DueFeeds(ctx, time.Now().Add(time.Hour*24*365)); len(due) != 0 {
			t.Errorf("a disabled feed is due")
		}
		// Credentials dropped, then moved to the second collection.
		if g, err = s.EditFeed(ctx, nadia, f.ID, FeedEdit{AuthKind: str(""), Collection: str(other.ID)}); err != nil || g.Auth != "" || g.AuthUser != "" || g.Collection != other.ID {
			t.Fatalf("no credentials, moved: %+v %v", g, err)
		}
		var stored string
		if err := db.Q().QueryRowContext(ctx, `SELECT auth_secret FROM intel_feeds WHERE id = ?`, f.ID).Scan(&stored); err != nil || stored != "" {
			t.Errorf("the dropped secret is still stored: %q %v", stored, err)
		}
		if _, err := s.GetFeed(ctx, alice, f.ID); !errors.Is(err, ErrFeedNotFound) {
			t.Errorf("moved out of Alice's collection, she still sees it: %v", err)
		}
		if err := s.RemoveFeed(ctx, nadia, f.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetFeed(ctx, nadia, f.ID); !errors.Is(err, ErrFeedNotFound) {
			t.Errorf("removed feed: %v", err)
		}
		if err := s.FinishFeedPull(ctx, f.ID, FeedRun{Started: at}); err != nil {
			t.Errorf("a pull finishing after its feed went: %v", err)
		}
		objs, _, err := s.CollectionObjects(ctx, nadia, c.ID)
		if err != nil || len(objs) != 1 || objs[0].ID != o.ID {
			t.Errorf("what the feed pulled: %d objects, %v", len(objs), err)
		}
	}, Migrations())
}
