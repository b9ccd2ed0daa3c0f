CREATE TABLE users (
	id TEXT PRIMARY KEY,
	email TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL,
	home_org TEXT NOT NULL,
	password_hash TEXT NOT NULL DEFAULT '',
	oidc_subject TEXT NOT NULL DEFAULT '',
	disabled BOOLEAN NOT NULL DEFAULT FALSE,
	demo BOOLEAN NOT NULL DEFAULT FALSE,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	last_login TEXT NOT NULL DEFAULT ''
);
CREATE INDEX users_home ON users (home_org, email);
CREATE TABLE grants (
	user_id TEXT NOT NULL,
	role TEXT NOT NULL,
	org TEXT NOT NULL,
	source TEXT NOT NULL DEFAULT 'local',
	PRIMARY KEY (user_id, role, org)
);
CREATE INDEX grants_org ON grants (org);
-- Sessions and tokens store only SHA-256 hashes of their secrets.
CREATE TABLE sessions (
	id_hash TEXT PRIMARY KEY,
	user_id TEXT NOT NULL,
	csrf TEXT NOT NULL,
	created_at TEXT NOT NULL,
	expires_at TEXT NOT NULL,
	remote TEXT NOT NULL DEFAULT '',
	user_agent TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE TABLE tokens (
	id TEXT PRIMARY KEY,
	user_id TEXT NOT NULL,
	name TEXT NOT NULL,
	secret_hash TEXT NOT NULL,
	created_at TEXT NOT NULL,
	expires_at TEXT NOT NULL DEFAULT '',
	last_used TEXT NOT NULL DEFAULT '',
	revoked_at TEXT NOT NULL DEFAULT ''
);
CREATE INDEX tokens_user ON tokens (user_id);
-- Short-lived OIDC sign-in state (state, nonce, PKCE verifier), keyed by state.
CREATE TABLE oidc_states (
	state TEXT PRIMARY KEY,
	nonce TEXT NOT NULL,
	verifier TEXT NOT NULL,
	return_to TEXT NOT NULL DEFAULT '',
	created_at TEXT NOT NULL
);
