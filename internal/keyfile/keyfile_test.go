package keyfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCreateAndRead: a new file is made 0600 in a new directory with the
// content whole; creating again leaves the first content and says so;
// reading refuses a file others may read unless not strict, and a missing
// file's error wraps fs.ErrNotExist.
func TestCreateAndRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "k.key")
	if _, err := Read(path, "test key", true); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "test key "+path) {
		t.Errorf("missing file: %v", err)
	}
	created, err := Create(path, "test key", []byte("first\n"))
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v", st.Mode(), err)
	}
	if created, err := Create(path, "test key", []byte("second\n")); err != nil || created {
		t.Errorf("create again: %v %v, want false and no error", created, err)
	}
	if b, err := Read(path, "test key", true); err != nil || string(b) != "first\n" {
		t.Errorf("read: %q %v", b, err)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".key-*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(path, "test key", true); err == nil || !strings.Contains(err.Error(), "mode 0644 lets others read it") {
		t.Errorf("a readable key: %v", err)
	}
	if b, err := Read(path, "test key", false); err != nil || string(b) != "first\n" {
		t.Errorf("not strict: %q %v", b, err)
	}
}
