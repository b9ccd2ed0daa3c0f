package intel

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store/storetest"
	"github.com/vigil-health/vigil/internal/testneed"
)

const enterprise = "../../../shared/data/attack/enterprise-attack-v18.1-stix20.json.gz"

// TestImportATTACK imports the Enterprise ATT&CK bundle (STIX 2.0, read as
// 2.1) and the ICS one (STIX 2.1) into SQLite. Under the race detector,
// which makes the 25,000 objects of Enterprise take two minutes, it
// imports ICS alone.
func TestImportATTACK(t *testing.T) {
	if _, err := os.Stat(enterprise); err != nil {
		testneed.Missing(t, "ATT&CK in ../shared/data/attack", err)
	}
	db := storetest.SQLite(t, Migrations())
	s, _ := New(Options{DB: db})
	ctx := context.Background()
	files := []string{filepath.Join(filepath.Dir(enterprise), "ics-attack-v18.1.json.gz")}
	if !testneed.Race {
		files = append(files, enterprise)
	}
	start := time.Now()
	reps, err := s.ImportFiles(ctx, scope.System("test"), "", files)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("imported %d files in %v", len(files), time.Since(start))
	counts, _ := s.Count(ctx)
	if reps[0].Objects != 1826 || counts["attack-pattern"] < 90 || counts["x-mitre-collection"] != 1 {
		t.Errorf("ICS: reports %+v, stored %v", reps, counts)
	}
	if len(reps) == 2 && (reps[1].Objects != 24771 || counts["attack-pattern"] < 800 || counts["intrusion-set"] < 100 || counts["relationship"] < 15000) {
		t.Errorf("Enterprise: reports %+v, stored %v", reps, counts)
	}
	// Every malware object reads as 2.1, is_family true (2.0's labels
	// ["malware"] gone).
	rows, err := db.Q().QueryContext(ctx, `SELECT id FROM intel_objects WHERE type = 'malware'`)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if len(ids) == 0 {
		t.Fatal("no malware stored")
	}
	for _, id := range ids {
		m, err := s.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var fam bool
		var labels []string
		_, _ = m.Get("labels", &labels)
		if ok, _ := m.Get("is_family", &fam); !ok || !fam || m.SpecVersion != "2.1" || len(labels) == 1 && labels[0] == "malware" {
			t.Fatalf("%s: is_family %v spec_version %q labels %v", id, fam, m.SpecVersion, labels)
		}
	}
}

// BenchmarkImportATTACK is the figure: the Enterprise bundle
// (≈ 24k objects) read, validated and stored in SQLite, < 10 s.
func BenchmarkImportATTACK(b *testing.B) {
	if _, err := os.Stat(enterprise); err != nil {
		testneed.Missing(b, "ATT&CK in ../shared/data/attack", err)
	}
	for b.Loop() {
		b.StopTimer()
		db := storetest.SQLite(b, Migrations())
		s, _ := New(Options{DB: db})
		b.StartTimer()
		reps, err := s.ImportFiles(context.Background(), scope.System("bench"), "", []string{enterprise})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(reps[0].Objects), "objects/op")
	}
}
