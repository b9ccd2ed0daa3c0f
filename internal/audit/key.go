package audit

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/vigil-health/vigil/internal/keyfile"
)

// Key is the secret the chain's MACs are made with. It lives outside the
// database (a file beside it, or a secret every server is given), so
// someone who can only write the database cannot make an entry that
// verifies. See docs/adr/0003-audit-anchoring.md.
type Key struct {
	id     string
	secret []byte
}

// KeySize is the length of a generated key in bytes.
const KeySize = 32

// ID names the key without revealing it: entries record the ID of the key
// that made their MAC, so a verifier knows which key it needs.
func (k *Key) ID() string { return k.id }

func newKey(secret []byte) *Key {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("vigil audit key id"))
	return &Key{id: hex.EncodeToString(m.Sum(nil)[:8]), secret: secret}
}

// NewKey returns a random key.
func NewKey() (*Key, error) {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("audit: generate key: %w", err)
	}
	return newKey(b), nil
}

// ParseKey reads a key written as hexadecimal (at least 64 digits, i.e.
// 32 bytes; surrounding white space is ignored).
func ParseKey(text string) (*Key, error) {
	t := strings.TrimSpace(text)
	b, err := hex.DecodeString(t)
	if err != nil || len(b) < KeySize {
		return nil, fmt.Errorf("audit key: want at least %d hexadecimal digits (%d random bytes), e.g. from `openssl rand -hex %d`", 2*KeySize, KeySize, KeySize)
	}
	return newKey(b), nil
}

// Encode is the key as its file holds it.
func (k *Key) Encode() []byte { return []byte(hex.EncodeToString(k.secret) + "\n") }

// LoadKeyFile reads the key at path. A file that group or others may read
// is refused, as ssh refuses a private key: the key is what makes the
// chain trustworthy. A missing file gives an error wrapping fs.ErrNotExist.
func LoadKeyFile(path string) (*Key, error) { return loadKeyFile(path, true) }

// loadKeyFile reads the key at path, refusing one others may read when
// strict (a server that writes; a forensic copy may have lost its modes).
func loadKeyFile(path string, strict bool) (*Key, error) {
	b, err := keyfile.Read(path, "audit key", strict)
	if err != nil {
		return nil, err
	}
	k, err := ParseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// CreateKeyFile writes a new random key to path (mode 0600), refusing to
// replace an existing file; if another process created it first, that
// key is returned. The key is written to a temporary file and linked into
// place, so nobody ever reads a half-written key.
func CreateKeyFile(path string) (*Key, error) {
	k, err := NewKey()
	if err != nil {
		return nil, err
	}
	created, err := keyfile.Create(path, "audit key", k.Encode())
	if err != nil {
		return nil, err
	}
	if !created {
		return LoadKeyFile(path)
	}
	return k, nil
}
