package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: one of OWASP's recommended configurations (46 MiB,
// 1 pass, 1 lane). 64 MiB with 2 passes cost 700 ms a sign-in on a busy
// 2-core server, which is itself a denial-of-service lever; this costs
// about a third of that. The parameters are stored in each hash (PHC
// string format), so they can be raised later without breaking existing
// passwords.
const (
	argonTime    = 1
	argonMemory  = 46 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// MinPasswordLength follows NIST SP 800-63B for memorised secrets.
const MinPasswordLength = 12

// HashPassword returns an argon2id PHC string for pw.
func HashPassword(pw string) (string, error) {
	if len(pw) < MinPasswordLength {
		return "", fmt.Errorf("password: at least %d characters please", MinPasswordLength)
	}
	if len(pw) > 1024 {
		return "", errors.New("password: at most 1024 characters")
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether pw matches the PHC string hash.
func CheckPassword(hash, pw string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || len(pw) > 1024 {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m > 1<<22 || t == 0 || t > 16 || p == 0 { // argon2 panics on t or p of 0
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}
