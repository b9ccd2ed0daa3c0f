package app

import (
	"net/http"
	"strings"
	"testing"

	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/config"
)

// --password-hash-memory sizes the process's password-hashing slots, and
// the default is the one auth derives from its argon2id parameters.
func TestPasswordHashMemorySizesTheHasher(t *testing.T) {
	if d := config.Default().PasswordHashMemoryMiB; d != auth.DefaultHashMemoryMiB {
		t.Errorf("config default %d MiB, auth default %d MiB: they must agree", d, auth.DefaultHashMemoryMiB)
	}
	s := startWith(t, func(c *config.Config) { c.PasswordHashMemoryMiB = 100 })
	if n := s.Hasher.Slots(); n != 2 {
		t.Errorf("100 MiB gave %d slots, want 2 (46 MiB each)", n)
	}
	_, body := get(t, http.DefaultClient, s.url("/metrics"), "")
	for _, want := range []string{"vigil_password_hash_slots 2", "vigil_password_hash_active 0", "vigil_password_hash_busy_total 0", "vigil_change_notices_heard_total 0"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
