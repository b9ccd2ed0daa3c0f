-- Per-user notification settings (notify owns them; users belong to auth,
-- so user_id is a reference by value, not a foreign key into its table).
CREATE TABLE notify_settings (
	user_id TEXT PRIMARY KEY,
	email_kinds TEXT NOT NULL,
	webhook_kinds TEXT NOT NULL,
	webhook_url TEXT NOT NULL DEFAULT '',
	-- The HMAC key webhooks are signed with: kept as is, since signing
	-- needs it; shown only to its owner.
	webhook_secret TEXT NOT NULL DEFAULT '',
	updated_at TEXT NOT NULL
);
-- One row per (event, person, channel) sent or given up on: a redelivered
-- event sends nothing twice.
CREATE TABLE notify_deliveries (
	id TEXT PRIMARY KEY,
	event_kind TEXT NOT NULL,
	case_id TEXT NOT NULL,
	user_id TEXT NOT NULL,
	channel TEXT NOT NULL,
	outcome TEXT NOT NULL,
	at TEXT NOT NULL
);
CREATE INDEX notify_deliveries_user ON notify_deliveries (user_id, at);
