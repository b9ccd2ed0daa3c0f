package auth_test

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/auth"
)

func TestHashAndCheckPassword(t *testing.T) {
	const pw = "correct horse battery staple"
	h, err := auth.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	// PHC string: version, parameters, 16-byte salt and 32-byte key, base64 without padding.
	if !regexp.MustCompile(`^\$argon2id\$v=19\$m=[1-9][0-9]*,t=[1-9][0-9]?,p=[1-9]\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`).MatchString(h) {
		t.Errorf("hash %q is not an argon2id PHC string", h)
	}
	if strings.Contains(h, pw) {
		t.Error("hash contains the password")
	}
	if !auth.CheckPassword(h, pw) {
		t.Error("right password refused")
	}
	for _, wrong := range []string{"", "correct horse battery stapl", "correct horse battery staple ", "Correct horse battery staple", pw + pw} {
		if auth.CheckPassword(h, wrong) {
			t.Errorf("wrong password %q accepted", wrong)
		}
	}
	// Salted: the same password hashes differently each time, and both check.
	h2, err := auth.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	if h2 == h || !auth.CheckPassword(h2, pw) {
		t.Errorf("second hash %q (first %q)", h2, h)
	}

	// Exactly the minimum length is enough; one less is not; nor is too much.
	if _, err := auth.HashPassword(strings.Repeat("x", auth.MinPasswordLength)); err != nil {
		t.Errorf("%d characters refused: %v", auth.MinPasswordLength, err)
	}
	for _, bad := range []string{"", "short", strings.Repeat("x", auth.MinPasswordLength-1), strings.Repeat("x", 1025)} {
		got, err := auth.HashPassword(bad)
		if err == nil || got != "" {
			t.Errorf("HashPassword(%d characters) = %q, %v; want an error", len(bad), got, err)
		}
	}
	if _, err := auth.HashPassword("short"); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("at least %d characters", auth.MinPasswordLength)) {
		t.Errorf("short password error %v does not say the minimum", err)
	}
}

// Stored hashes come from the database; a damaged one must be refused,
// never crash the sign-in.
func TestCheckPasswordMalformedHashes(t *testing.T) {
	const pw = "correct horse battery staple"
	good, err := auth.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$") // "", argon2id, v=19, params, salt, key
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	b64 := base64.RawStdEncoding.EncodeToString
	cases := map[string]string{
		"empty":                  "",
		"plain text":             pw,
		"only dollars":           "$$$$$",
		"too few parts":          "$argon2id$v=19$m=65536,t=2,p=1$" + parts[4],
		"too many parts":         good + "$extra",
		"argon2i":                with(1, "argon2i"),
		"bcrypt":                 "$2a$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
		"params not numbers":     with(3, "m=lots,t=2,p=1"),
		"params missing":         with(3, ""),
		"params reordered":       with(3, "t=2,m=65536,p=1"),
		"zero passes":            with(3, "m=65536,t=0,p=1"),
		"zero lanes":             with(3, "m=65536,t=2,p=0"),
		"lanes overflow":         with(3, "m=65536,t=2,p=256"),
		"negative memory":        with(3, "m=-1,t=2,p=1"),
		"huge memory":            with(3, "m=99999999,t=2,p=1"),
		"many passes":            with(3, "m=65536,t=1000,p=1"),
		"zero memory":            with(3, "m=0,t=1,p=1"),
		"salt not base64":        with(4, "!!!not-base64!!!"),
		"empty salt":             with(4, ""),
		"key not base64":         with(5, "***"),
		"empty key":              with(5, ""),
		"padded key":             with(5, parts[5]+"=="),
		"truncated key":          with(5, parts[5][:20]),
		"other key":              with(5, b64(make([]byte, 32))),
		"other salt":             with(4, b64([]byte("0123456789abcdef"))),
		"lower memory, same key": with(3, "m=32768,t=2,p=1"),
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("CheckPassword(%q) panicked: %v", h, p)
				}
			}()
			if auth.CheckPassword(h, pw) {
				t.Errorf("CheckPassword(%q) accepted the password", h)
			}
		})
	}
	// An over-long password is refused without hashing it.
	if auth.CheckPassword(good, strings.Repeat("x", 1025)) {
		t.Error("1025-character password accepted")
	}
}
