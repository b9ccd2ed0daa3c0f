// Package randid makes random identifiers: a prefix naming the kind of
// thing ("rx", "sv"…), a dash, and 128 random bits in Crockford's base32
// (26 characters, no padding), the alphabet the time-ordered case and
// alert IDs use too. For things listed by name or time, whose IDs need
// no order.
package randid

import (
	"crypto/rand"
	"encoding/base32"
)

var encoding = base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding)

// New returns prefix + "-" + 128 random bits.
func New(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return prefix + "-" + encoding.EncodeToString(b[:])
}
