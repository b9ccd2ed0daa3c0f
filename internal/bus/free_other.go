//go:build !unix

package bus

// freeBytes cannot read the free space here: nats-server's default applies.
func freeBytes(string) (int64, bool) { return 0, false }
