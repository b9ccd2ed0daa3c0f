package events

import (
	"database/sql/driver"
	"net/netip"

	"modernc.org/sqlite"
)

// inCIDR is vigil_in_cidr for SQLite: whether v, as text, is an address
// inside the prefix p; false for anything that is not an address. The
// PostgreSQL twin is a function the events migrations create.
func inCIDR(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	v, ok := args[0].(string)
	if !ok {
		return false, nil
	}
	p, ok := args[1].(string)
	if !ok {
		return false, nil
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return false, nil
	}
	pf, err := netip.ParsePrefix(p)
	if err != nil {
		return false, nil
	}
	return pf.Contains(a.Unmap()) || pf.Contains(a), nil
}

func init() {
	// Registered for every SQLite connection the "sqlite" driver opens
	// from now on; the store opens its connections after init.
	sqlite.MustRegisterDeterministicScalarFunction("vigil_in_cidr", 2, inCIDR)
}
