package store_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-health/vigil/internal/store"
)

func TestSQLiteFileIsOwnerOnly(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(context.Background(), store.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), `CREATE TABLE x (a TEXT)`); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"vigil.db", "vigil.db-wal"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s mode %v: readable by others", f, st.Mode().Perm())
		}
	}
}
