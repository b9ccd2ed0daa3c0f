// Package keyfile reads and creates the private key files Vigil keeps
// outside its database (the audit chain's key, the secrets key): a file
// group or others may read is refused, as ssh refuses a private key, and a
// new file is written whole before it appears, never replacing another.
package keyfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Read returns the content of the key file at path; what names the key in
// errors ("audit key"). strict refuses a file group or others may read (a
// server that writes; a forensic copy may have lost its modes). A missing
// file's error wraps fs.ErrNotExist.
func Read(path, what string, strict bool) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, path, err)
	}
	if strict && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s %s: mode %04o lets others read it; restrict it with `chmod 600 %s`", what, path, st.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, path, err)
	}
	return b, nil
}

// Create writes content to a new key file at path, mode 0600, creating
// its directory. The content goes to a temporary file beside it, synced,
// then linked into place: nobody reads a half-written key, and of two
// processes starting at once one creates the file and the other gets
// created false (and reads the first's key).
func Create(path, what string, content []byte) (created bool, err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	f, err := os.CreateTemp(dir, ".key-*")
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	tmp := f.Name()
	defer func() { _ = os.Remove(tmp) }() // after the link there is nothing left to remove
	_, err = f.Write(content)
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("%s %s: %w", what, path, err)
	}
	// link(2) fails if path exists.
	if err := os.Link(tmp, path); errors.Is(err, fs.ErrExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("%s %s: %w", what, path, err)
	}
	return true, nil
}
