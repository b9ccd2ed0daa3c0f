package seal

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSealOpen: a sealed value hides its secret, opens only with its key
// and its context, names the key, and an older key in the ring still
// opens what it sealed.
func TestSealOpen(t *testing.T) {
	a, b := Random(), Random()
	v := a.Seal("hunter2-token", "row-1")
	if !IsSealed(v) || strings.Contains(v, "hunter2") || !a.Current(v) || b.Current(v) {
		t.Fatalf("sealed: %q", v)
	}
	if v2 := a.Seal("hunter2-token", "row-1"); v2 == v {
		t.Error("two seals of one secret are equal: the nonce is not random")
	}
	if p, err := a.Open(v, "row-1"); err != nil || p != "hunter2-token" {
		t.Fatalf("open: %q %v", p, err)
	}
	if _, err := a.Open(v, "row-2"); err == nil {
		t.Error("a value copied into another row opens")
	}
	if _, err := b.Open(v, "row-1"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("another key opens: %v", err)
	}
	tampered := v[:len(v)-2] + "AA"
	if _, err := a.Open(tampered, "row-1"); err == nil {
		t.Error("an altered value opens")
	}
	// Rotation: the new key first, the old one below.
	ring, err := New(b.keys[0], a.keys[0])
	if err != nil {
		t.Fatal(err)
	}
	if p, err := ring.Open(v, "row-1"); err != nil || p != "hunter2-token" || ring.Current(v) {
		t.Errorf("the old key in a rotated ring: %q %v", p, err)
	}
	if p, err := a.Open("clear text kept before", "row-1"); err != nil || p != "clear text kept before" {
		t.Errorf("clear text: %q %v", p, err)
	}
	if a.Seal("", "row-1") != "" {
		t.Error("an empty secret is sealed")
	}
}

// TestKeyFile: the file is created 0600 on first use and read back; a
// file others may read, or not holding a key, is refused naming it.
func TestKeyFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "data", "secrets.key")
	r, created, err := LoadOrCreateFile(p)
	if err != nil || !created {
		t.Fatal(created, err)
	}
	st, err := os.Stat(p)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v", st.Mode(), err)
	}
	r2, created, err := LoadOrCreateFile(p)
	if err != nil || created || r2.ID() != r.ID() {
		t.Fatalf("reloaded: %v %v %v", created, err, r2)
	}
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(p); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a readable key file: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.key")
	if err := os.WriteFile(bad, []byte("not hex\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(bad); err == nil || !strings.Contains(err.Error(), "bad.key") || !strings.Contains(err.Error(), "openssl rand -hex 32") {
		t.Errorf("a file without a key: %v", err)
	}
	if _, err := Parse("# comment\n" + strings.Repeat("ab", 32) + "," + strings.Repeat("cd", 32)); err != nil {
		t.Errorf("two keys: %v", err)
	}
}
