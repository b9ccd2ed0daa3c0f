-- Ingest tokens (issue 16; ingest.go): a sender's credential bound to one
-- organisation, which may post events for that organisation and do nothing
-- else. Only the SHA-256 hash of the secret is stored.
CREATE TABLE ingest_tokens (
	id TEXT PRIMARY KEY,
	org TEXT NOT NULL,
	name TEXT NOT NULL,
	secret_hash TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TEXT NOT NULL,
	expires_at TEXT NOT NULL DEFAULT '',
	last_used TEXT NOT NULL DEFAULT '',
	revoked_at TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ingest_tokens_org ON ingest_tokens (org);
