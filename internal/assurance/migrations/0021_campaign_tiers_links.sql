-- Proportionate campaigns, reminders, single-use links (issue 20, items
-- 2-4). Numbered apart from the steps around it so branches merge in any
-- order; nothing here depends on another step but 0003.

-- A campaign may be closed (no more answers; reminders stop), and may ask
-- each supplier against its tier's profile: tier_profiles is JSON
-- {"tier-1":"enhanced","tier-2":"baseline",...}.
ALTER TABLE assurance_campaigns ADD COLUMN closed_at TEXT NOT NULL DEFAULT '';
ALTER TABLE assurance_campaigns ADD COLUMN closed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE assurance_campaigns ADD COLUMN tier_profiles TEXT NOT NULL DEFAULT '';

-- Which of a campaign's requirements each profile names, when statements
-- are asked against different profiles (by tier).
CREATE TABLE assurance_campaign_profile_members (
	campaign_id TEXT NOT NULL,
	profile TEXT NOT NULL,
	seq INTEGER NOT NULL,
	PRIMARY KEY (campaign_id, profile, seq)
);

-- A statement's tier when it was asked (and why), and the profile it is
-- asked against ('' = every requirement of the campaign).
ALTER TABLE assurance_statements ADD COLUMN tier TEXT NOT NULL DEFAULT '';
ALTER TABLE assurance_statements ADD COLUMN tier_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE assurance_statements ADD COLUMN profile TEXT NOT NULL DEFAULT '';

-- Reminders and overdue notices sent: the row is the claim, so a notice
-- goes once per statement, kind and deadline however many servers check
-- (a new deadline earns new reminders).
CREATE TABLE assurance_reminders (
	statement_id TEXT NOT NULL,
	kind TEXT NOT NULL,
	deadline TEXT NOT NULL,
	campaign_id TEXT NOT NULL,
	sent_at TEXT NOT NULL,
	recipients INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (statement_id, kind, deadline)
);

-- Single-use, expiring links for a supplier's first response. Only the
-- SHA-256 of the token (and of the session it opens) is kept.
CREATE TABLE assurance_links (
	link_id TEXT PRIMARY KEY,
	statement_id TEXT NOT NULL,
	token_hash TEXT NOT NULL UNIQUE,
	recipient TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_by_name TEXT NOT NULL,
	created_at TEXT NOT NULL,
	expires_at TEXT NOT NULL,
	used_at TEXT NOT NULL DEFAULT '',
	used_from TEXT NOT NULL DEFAULT '',
	session_hash TEXT NOT NULL DEFAULT '',
	session_expires_at TEXT NOT NULL DEFAULT '',
	csrf TEXT NOT NULL DEFAULT '',
	revoked_at TEXT NOT NULL DEFAULT ''
);
CREATE INDEX assurance_links_statement ON assurance_links (statement_id);
CREATE INDEX assurance_links_session ON assurance_links (session_hash);
