package app

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/testneed"
)

// realODSFiles are the public extracts in ../shared/data/nhs, in the order
// the README imports them.
func realODSFiles(t testing.TB) []string {
	t.Helper()
	d := filepath.Join("..", "..", "..", "shared", "data", "nhs")
	files := []string{
		"lookups/derived-sicbl-icb-nhser-hierarchy.csv", "lookups/icb24_names_codes_dec2024.csv",
		"ods/etr.csv", "ods/ect.csv", "ods/eccg.csv", "ods/epraccur.csv", "gp_patients/gp-reg-pat-prac-all_2022-05.csv",
	}
	for i, f := range files {
		files[i] = filepath.Join(d, f)
		if _, err := os.Stat(files[i]); err != nil {
			testneed.Missing(t, "the NHS data in ../shared/data/nhs", err)
		}
	}
	return files
}

// nationalSession imports the real ODS lists and signs in a national
// analyst, returning the session cookie.
func nationalSession(t testing.TB, s *Server) *http.Cookie {
	t.Helper()
	ctx := context.Background()
	rep, err := s.Orgs.Import(ctx, scope.System("test"), realODSFiles(t), org.ImportOptions{})
	if err != nil || rep.RowError != 0 {
		t.Fatalf("import: %v (%d row errors)", err, rep.RowError)
	}
	u, err := s.Auth.AddUser(ctx, scope.System("test"), auth.NewUser{Email: "nat@nhs.test", Name: "Nat", Org: org.RootCode, Role: scope.NationalAnalyst, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	se, err := s.Auth.StartSession(ctx, u.ID, "127.0.0.1", "perf")
	if err != nil {
		t.Fatal(err)
	}
	return &http.Cookie{Name: auth.CookieName(false), Value: se.Secret}
}

// orgPages are the tree and search pages (and their API twins) the
// foundation issue sets a 200 ms budget for.
var orgPages = []struct{ name, path, want string }{
	{"tree-roots", "/orgs", "London"},
	{"tree-region", "/orgs/children?parent=Y56", "NHS North East London"},
	{"tree-subicb-practices", "/orgs/children?parent=72Q", "SURGERY"},
	{"search-name", "/orgs?q=surgery", "SURGERY"},
	{"search-code", "/orgs?q=RJ1", "GUY"},
	{"search-filtered", "/orgs?q=health+centre&type=gp-practice", "HEALTH CENTRE"},
	{"org-page", "/orgs/QKK", "South East London"},
	{"api-tree", "/api/v1/orgs/tree?parent=72Q", "SURGERY"},
	{"api-search", "/api/v1/orgs?q=surgery&limit=100", "SURGERY"},
}

func timePage(t testing.TB, s *Server, c *http.Cookie, path, want string, n int) []time.Duration {
	t.Helper()
	out := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		req, _ := http.NewRequest("GET", s.url(path), nil)
		req.AddCookie(c)
		start := time.Now()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		out = append(out, time.Since(start))
		if res.StatusCode != 200 || !strings.Contains(strings.ToUpper(string(b)), strings.ToUpper(want)) {
			t.Fatalf("%s = %d, want 200 containing %q:\n%.300s", path, res.StatusCode, want, b)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func pct(d []time.Duration, p float64) time.Duration { return d[int(float64(len(d)-1)*p)] }

// TestOrgPagesFastOnRealData holds the tree and search pages to the issue's
// budget — under 200 ms — on the ~9,000 real organisations (7,000 active).
func TestOrgPagesFastOnRealData(t *testing.T) {
	if testing.Short() {
		t.Skip("imports the real ODS lists")
	}
	s := startServer(t)
	c := nationalSession(t, s)
	for _, p := range orgPages {
		d := timePage(t, s, c, p.path, p.want, 15)
		t.Logf("%-22s p50 %6.1f ms  max %6.1f ms", p.name, ms(pct(d, .5)), ms(d[len(d)-1]))
		// The budget is for the median, which is what a user feels. Under
		// the race detector every request is several times slower, so the
		// budget is held in the run without it (make test does both).
		if !testneed.Race && pct(d, .5) > 200*time.Millisecond {
			t.Errorf("%s: median %v, over the 200 ms budget", p.path, pct(d, .5))
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkOrgPages measures each page over HTTP, side by side with the
// bare SQL query a hand-written page would run at the least (the "peer"):
// the ratio is what Vigil's scoping, templates and HTTP cost on top.
func BenchmarkOrgPages(b *testing.B) {
	s := startServer(b)
	c := nationalSession(b, s)
	for _, p := range orgPages {
		b.Run(p.name, func(b *testing.B) {
			var all []time.Duration
			for i := 0; i < b.N; i++ {
				all = append(all, timePage(b, s, c, p.path, p.want, 20)...)
			}
			sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
			b.ReportMetric(ms(pct(all, .5)), "p50-ms")
			b.ReportMetric(ms(pct(all, .99)), "p99-ms")
		})
	}
	b.Run("peer-bare-sql-search", func(b *testing.B) {
		db := s.DB.DB
		var all []time.Duration
		for i := 0; i < b.N*20; i++ {
			start := time.Now()
			n := rawSearch(b, db, "%surgery%")
			all = append(all, time.Since(start))
			if n == 0 {
				b.Fatal("no rows")
			}
		}
		sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
		b.ReportMetric(ms(pct(all, .5)), "p50-ms")
		b.ReportMetric(ms(pct(all, .99)), "p99-ms")
	})
}

func rawSearch(b testing.TB, db *sql.DB, like string) int {
	rows, err := db.Query(`SELECT code, name, type, parent, status FROM orgs WHERE lower(name) LIKE ? ORDER BY code LIMIT 101`, like)
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var a, bb, c, d, e string
		rows.Scan(&a, &bb, &c, &d, &e)
		n++
	}
	rows.Close()
	return n
}
