package auth_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
)

// TestValidatePassword is the NIST SP 800-63B check: long enough, not too
// long, no composition rules, and nothing guessers try first.
func TestValidatePassword(t *testing.T) {
	personal := []string{"gary.guys@rj1.nhs.test", "Gary Guy's"}
	cases := []struct {
		pw   string
		ok   bool
		says string // part of the message for a refusal
	}{
		// Accepted: passphrases and random strings, with or without
		// digits, capitals or symbols — no composition rules.
		{"correct horse battery", true, ""},
		{"correct horse battery staple", true, ""},
		{"tangerine mooring ladder", true, ""},
		{"alllowercaseletterswithoutspaces", true, ""},
		{"Xk9mP2vL5wQ8", true, ""},
		{"bXw7bcsQz9TtzWJ3mMNe", true, ""},
		{"demo-q8rw3vmn2kxtpz7h", true, ""},
		{"a long enough password 1", true, ""},
		{"the right password", true, ""},
		{"reset by the trust admin", true, ""},
		{"übergrößenträger straße", true, ""},
		{"行く川の流れは絶えずして", true, ""}, // twelve characters, more bytes
		// Too short or too long.
		{"", false, "at least 12 characters"},
		{"hunter2", false, "at least 12 characters"},
		{"elevenchars", false, "at least 12 characters"},
		{strings.Repeat("long passphrase ", 20), false, "at most 256 characters"},
		// Common passwords, whatever is added around them.
		{"password1234", false, "commonly used"},
		{"Password123!", false, "commonly used"},
		{"P@ssw0rd2024!", false, "commonly used"},
		{"letmein12345", false, "commonly used"},
		{"iloveyou1234", false, "commonly used"},
		{"trustno1trustno1", false, "commonly used"},
		{"welcome12345!", false, "commonly used"},
		{"monkeydragon1", false, "commonly used"},
		{"changeme2025!", false, "commonly used"},
		// Repeated, sequential and keyboard patterns.
		{"aaaaaaaaaaaa", false, "repeated"},
		{"abcabcabcabc", false, "repeated"},
		{"121212121212", false, "repeated"},
		{"123456789012", false, "sequen"},
		{"abcdefghijklmn", false, "sequen"},
		{"zyxwvutsrqpo", false, "sequen"},
		{"qwertyuiop12", false, "keyboard"},
		{"1qaz2wsx3edc", false, "keyboard"},
		{"asdfghjkl;'#", false, "keyboard"},
		{"zxcvbnm,./12", false, "keyboard"},
		// Seasons, months and years.
		{"Summer2025!!!", false, "season"},
		{"september2024", false, "season"},
		{"Winter1999Winter", false, "season"},
		// The user, the service, the NHS.
		{"gary.guys@rj1.nhs.test", false, "your name"},
		{"garyguys1234", false, "your name"},
		{"Gary Guy's 2025", false, "your name"},
		{"vigilvigil2025", false, "Vigil"},
		{"nhsvigil12345", false, "Vigil"},
		{"VigilNHS-2025", false, "Vigil"},
	}
	for _, c := range cases {
		err := auth.ValidatePassword(c.pw, personal...)
		if c.ok {
			if err != nil {
				t.Errorf("%q refused: %v", c.pw, err)
			}
			continue
		}
		var ve *fault.Invalid
		if !errors.As(err, &ve) || ve.Field != "password" {
			t.Errorf("%q = %v, want a fault.Invalid on password", c.pw, err)
			continue
		}
		if !strings.Contains(ve.Reason, c.says) {
			t.Errorf("%q: %q does not say %q", c.pw, ve.Reason, c.says)
		}
		// Every refusal says what to do instead, and never repeats the password.
		if !strings.Contains(ve.Reason, "choose") && !strings.Contains(ve.Reason, "use") {
			t.Errorf("%q: %q does not say what to do", c.pw, ve.Reason)
		}
		if len(c.pw) >= 4 && strings.Contains(ve.Reason, c.pw) {
			t.Errorf("%q: the message repeats the password", c.pw)
		}
	}
}

// TestPasswordPolicyOnEveryPath: AddUser and UpdateUser (admin reset and
// own change) apply the same check with the user's own name and e-mail.
func TestPasswordPolicyOnEveryPath(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		_, err := e.auth.AddUser(ctx, e.nat, auth.NewUser{Email: "priya.patel@rj1.example.org", Name: "Priya Patel", Org: "RJ1", Role: scope.OrgAnalyst, Password: "priyapatel2025"})
		wantValidation(t, err, "password", "your name")
		_, err = e.auth.AddUser(ctx, e.nat, auth.NewUser{Email: "priya.patel@rj1.example.org", Name: "Priya Patel", Org: "RJ1", Role: scope.OrgAnalyst, Password: "Password1234"})
		wantValidation(t, err, "password", "commonly used")
		if _, err := e.auth.GetUser(ctx, e.nat, "priya.patel@rj1.example.org"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("refused AddUser stored the user (%v)", err)
		}
		u := e.add(t, "priya.patel@rj1.example.org", scope.OrgAnalyst, "RJ1", "saffron lantern evening")
		weak := "qwerty123456"
		_, err = e.auth.UpdateUser(ctx, e.nat, u.ID, auth.UserPatch{Password: &weak})
		wantValidation(t, err, "password", "keyboard")
		self := e.scopeOf(t, u.ID)
		cur, mine := "saffron lantern evening", "priya.patel@rj1.example.org"
		_, err = e.auth.UpdateUser(ctx, self, u.ID, auth.UserPatch{Password: &mine, CurrentPassword: &cur})
		wantValidation(t, err, "password", "your name")
		if id, err := e.auth.Authenticate(ctx, u.Email, "saffron lantern evening", "192.0.2.9"); err != nil || id != u.ID {
			t.Errorf("refused changes changed the password: %v", err)
		}
	})
}

// TestOwnPasswordChangeNeedsCurrentPassword is issue 13 item 5: a stolen
// session or token alone cannot change the password.
func TestOwnPasswordChangeNeedsCurrentPassword(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		const oldPW, newPW = "saffron lantern evening", "copper kettle morning"
		u := e.add(t, "dan@rj1.example.org", scope.OrgAnalyst, "RJ1", oldPW)
		_, tok, err := e.auth.CreateToken(ctx, e.nat, u.ID, "dan's script", 0)
		if err != nil {
			t.Fatal(err)
		}
		self, err := e.auth.TokenScope(ctx, tok, "192.0.2.20")
		if err != nil {
			t.Fatal(err)
		}
		pw, wrong, right := newPW, "not my current one", oldPW
		_, err = e.auth.UpdateUser(ctx, self, u.ID, auth.UserPatch{Password: &pw})
		wantValidation(t, err, "current_password", "current password")
		_, err = e.auth.UpdateUser(ctx, self, u.ID, auth.UserPatch{Password: &pw, CurrentPassword: &wrong})
		wantValidation(t, err, "current_password", "not right")
		if _, err := e.auth.Authenticate(ctx, u.Email, oldPW, "192.0.2.21"); err != nil {
			t.Fatalf("refused changes changed the password: %v", err)
		}
		if _, err := e.auth.UpdateUser(ctx, self, u.ID, auth.UserPatch{Password: &pw, CurrentPassword: &right}); err != nil {
			t.Fatalf("own change with the current password: %v", err)
		}
		if _, err := e.auth.Authenticate(ctx, u.Email, newPW, "192.0.2.21"); err != nil {
			t.Errorf("new password refused: %v", err)
		}
		// One's own change keeps one's tokens (they are not the password).
		if _, err := e.auth.TokenScope(ctx, tok, ""); err != nil {
			t.Errorf("own password change revoked own token: %v", err)
		}
		// A name change alone needs no password.
		name := "Daniel"
		if _, err := e.auth.UpdateUser(ctx, self, u.ID, auth.UserPatch{Name: &name}); err != nil {
			t.Errorf("own rename: %v", err)
		}
		// Single sign-on users have no current password to give: an
		// administrator sets one.
		sso := e.add(t, "sso@rj1.example.org", scope.OrgAnalyst, "RJ1", "")
		_, err = e.auth.UpdateUser(ctx, e.scopeOf(t, sso.ID), sso.ID, auth.UserPatch{Password: &pw, CurrentPassword: &right})
		wantValidation(t, err, "current_password", "administrator")
	})
}

// TestAdminResetRevokesTokens: an administrator's reset ends the user's
// sessions and revokes their API tokens, as the account may be
// compromised.
func TestAdminResetRevokesTokens(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		u := e.add(t, "erin@rj1.example.org", scope.OrgAnalyst, "RJ1", "saffron lantern evening")
		other := e.add(t, "fay@rj1.example.org", scope.OrgAnalyst, "RJ1", "")
		_, tok, _ := e.auth.CreateToken(ctx, e.nat, u.ID, "erin's script", 0)
		_, keep, _ := e.auth.CreateToken(ctx, e.nat, other.ID, "fay's script", 0)
		se, _ := e.auth.StartSession(ctx, u.ID, "", "")
		rj1Admin := e.as(t, "admin@rj1.example.org", scope.OrgAdmin, "RJ1")
		pw := "copper kettle morning"
		if _, err := e.auth.UpdateUser(ctx, rj1Admin, u.ID, auth.UserPatch{Password: &pw}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.auth.TokenScope(ctx, tok, ""); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("token after an admin reset = %v, want ErrNotFound", err)
		}
		if _, _, err := e.auth.SessionScope(ctx, se.Secret, ""); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("session after an admin reset = %v, want ErrNotFound", err)
		}
		if _, err := e.auth.TokenScope(ctx, keep, ""); err != nil {
			t.Errorf("another user's token after the reset: %v", err)
		}
		ts, _ := e.auth.ListTokens(ctx, e.nat, u.ID)
		if len(ts) != 1 || ts[0].RevokedAt == "" {
			t.Errorf("tokens after the reset: %+v", ts)
		}
		if n := auditCount(t, e, "token.revoke"); n != 1 {
			t.Errorf("%d token.revoke audit entries, want 1", n)
		}
	})
}

// FuzzValidatePassword: any input gets an answer, never a panic, and a
// refusal is always a fault.Invalid on the password.
func FuzzValidatePassword(f *testing.F) {
	for _, s := range []string{"correct horse battery", "P@ssw0rd2024!", "aaaaaaaaaaaa", "1qaz2wsx3edc", "行く川の流れは絶えずして", "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5\xf4"} {
		f.Add(s, "gary.guys@rj1.nhs.test")
	}
	f.Fuzz(func(t *testing.T, pw, email string) {
		err := auth.ValidatePassword(pw, email, "Gary Guy's")
		var ve *fault.Invalid
		if err != nil && (!errors.As(err, &ve) || ve.Field != "password") {
			t.Fatalf("ValidatePassword(%q) = %v", pw, err)
		}
	})
}
