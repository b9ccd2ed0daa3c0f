// Package seal encrypts the few secrets Vigil must keep in its database
// (an intelligence feed's password or bearer token) with a key that is
// not in the database: XChaCha20-Poly1305 with a 32-byte key read from a
// file beside the data (<data-dir>/secrets.key, mode 0600, created on the
// first start, like the audit key) or given by the environment. Someone
// holding a copy of the database, a backup or a dump, without the key
// file, learns no secret.
//
// A sealed value names the key that sealed it. The key file may hold
// several keys, one per line: the first seals, all of them open. So a key
// is rotated by putting a new one first and keeping the old below it;
// on start Vigil seals again under the first key whatever another key
// sealed, after which the old line can go (docs/intel.md).
package seal

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/vigil-health/vigil/internal/keyfile"
)

// Prefix starts every sealed value: "vigil-sealed:v1:<key id>:<base64>".
const Prefix = "vigil-sealed:v1:"

// KeySize is a key's length in bytes.
const KeySize = chacha20poly1305.KeySize

// Keyring holds the keys: the first seals, every one opens.
type Keyring struct {
	ids  []string
	keys [][]byte
}

// ErrUnknownKey means a value was sealed with a key the keyring lacks.
var ErrUnknownKey = errors.New("sealed with a key this server does not hold")

func keyID(k []byte) string {
	m := hmac.New(sha256.New, k)
	m.Write([]byte("vigil secrets key id"))
	return hex.EncodeToString(m.Sum(nil)[:8])
}

// New returns a keyring of the keys given, the first sealing.
func New(keys ...[]byte) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("seal: no key")
	}
	r := &Keyring{}
	for _, k := range keys {
		if len(k) != KeySize {
			return nil, fmt.Errorf("seal: a key is %d bytes, not %d", KeySize, len(k))
		}
		r.ids = append(r.ids, keyID(k))
		r.keys = append(r.keys, append([]byte(nil), k...))
	}
	return r, nil
}

// Random returns a keyring of one new random key: what a store opened
// without a key uses, so its secrets last as long as the process.
func Random() *Keyring {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		panic(err) // crypto/rand does not fail on the systems Vigil runs on
	}
	r, _ := New(k)
	return r
}

// Parse reads keys written in hexadecimal (64 digits each), one per line
// or separated by commas; blank lines and lines starting with # are
// skipped.
func Parse(text string) (*Keyring, error) {
	var keys [][]byte
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for k := range strings.SplitSeq(line, ",") {
			b, err := hex.DecodeString(strings.TrimSpace(k))
			if err != nil || len(b) != KeySize {
				return nil, fmt.Errorf("secrets key %d: want %d hexadecimal digits (%d random bytes), e.g. from `openssl rand -hex %d`", len(keys)+1, 2*KeySize, KeySize, KeySize)
			}
			keys = append(keys, b)
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("secrets key: none given")
	}
	return New(keys...)
}

// ID names the sealing key without revealing it.
func (r *Keyring) ID() string { return r.ids[0] }

// Seal encrypts plain under the first key, bound to context (e.g. the
// row's id, so a sealed value copied into another row does not open).
// An empty plain stays empty.
func (r *Keyring) Seal(plain, context string) string {
	if plain == "" {
		return ""
	}
	a, _ := chacha20poly1305.NewX(r.keys[0])
	nonce := make([]byte, a.NonceSize(), a.NonceSize()+len(plain)+a.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	out := a.Seal(nonce, nonce, []byte(plain), []byte(context))
	return Prefix + r.ids[0] + ":" + base64.RawURLEncoding.EncodeToString(out)
}

// IsSealed reports whether v is a sealed value (not clear text).
func IsSealed(v string) bool { return strings.HasPrefix(v, Prefix) }

// Current reports whether v is sealed with the sealing key.
func (r *Keyring) Current(v string) bool { return strings.HasPrefix(v, Prefix+r.ids[0]+":") }

// Open decrypts a sealed value bound to context. A value that is not
// sealed is returned as it is (clear text kept before sealing began;
// Vigil seals it on start).
func (r *Keyring) Open(v, context string) (string, error) {
	if !IsSealed(v) {
		return v, nil
	}
	id, body, ok := strings.Cut(strings.TrimPrefix(v, Prefix), ":")
	if !ok {
		return "", errors.New("secret: malformed sealed value")
	}
	for i, kid := range r.ids {
		if kid != id {
			continue
		}
		b, err := base64.RawURLEncoding.DecodeString(body)
		a, _ := chacha20poly1305.NewX(r.keys[i])
		if err != nil || len(b) < a.NonceSize()+a.Overhead() {
			return "", errors.New("secret: malformed sealed value")
		}
		p, err := a.Open(nil, b[:a.NonceSize()], b[a.NonceSize():], []byte(context))
		if err != nil {
			return "", errors.New("secret: does not open with its key (altered, or copied from another row)")
		}
		return string(p), nil
	}
	return "", fmt.Errorf("secret: %w (key %s; give this server the secrets key file of the servers that sealed it)", ErrUnknownKey, id)
}

// LoadFile reads the keyring at path, refusing a file that group or
// others may read. A missing file gives an error wrapping
// fs.ErrNotExist.
func LoadFile(path string) (*Keyring, error) {
	b, err := keyfile.Read(path, "secrets key", true)
	if err != nil {
		return nil, err
	}
	r, err := Parse(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// LoadOrCreateFile reads the keyring at path, or writes a new random key
// there (mode 0600) when there is no file. Two processes starting at
// once end up with one key: the file is linked into place, never
// replaced.
func LoadOrCreateFile(path string) (r *Keyring, created bool, err error) {
	r, err = LoadFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return r, false, err
	}
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, false, err
	}
	text := "# Vigil's secrets key (docs/intel.md): keep it outside backups of the database; the first line seals, every line opens.\n" + hex.EncodeToString(k) + "\n"
	if created, err = keyfile.Create(path, "secrets key", []byte(text)); err != nil || !created {
		if err != nil {
			return nil, false, err
		}
		r, err := LoadFile(path)
		return r, false, err
	}
	r, err = New(k)
	return r, true, err
}
