-- Sign-in throttling shared by every server on the database (throttle.go):
-- one leaky bucket per key, a SHA-256 hash of what it counts (an account, an
-- account at an address, an address, a device), never the e-mail itself.
-- level is the attempts not yet drained as of at_ms (Unix milliseconds).
CREATE TABLE signin_throttle (
	bucket TEXT PRIMARY KEY,
	level DOUBLE PRECISION NOT NULL,
	at_ms BIGINT NOT NULL
);
CREATE INDEX signin_throttle_at ON signin_throttle (at_ms);
-- Browsers that have signed in to an account (OWASP device cookies): only the
-- SHA-256 hash of the cookie's secret is stored.
CREATE TABLE signin_devices (
	id_hash TEXT PRIMARY KEY,
	user_id TEXT NOT NULL,
	created_at TEXT NOT NULL
);
CREATE INDEX signin_devices_user ON signin_devices (user_id, created_at);
