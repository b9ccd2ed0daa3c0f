-- Security incident management (issue 15): the alerts inbox, cases and
-- everything a case holds. docs/adr/0004-cases.md explains the model.
--
-- IDs are "<kind>-<ULID>": 48 bits of milliseconds then 80 random bits in
-- Crockford base32, so they sort by creation time, reveal no counts, and
-- the inbox's "newest first" is ORDER BY id DESC on the primary key. Times
-- are UTC text with nine fractional digits (comparing the text compares
-- the times). org is the owning organisation's code: scope.Filter applies
-- to it. PostgreSQL's variant is the same with COLLATE "C" on sorted keys.
CREATE TABLE alerts (
	id TEXT COLLATE "C" PRIMARY KEY,
	org TEXT NOT NULL,
	source TEXT NOT NULL,
	type TEXT NOT NULL,
	source_ref TEXT NOT NULL,
	title TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	severity TEXT NOT NULL,
	tlp TEXT NOT NULL,
	pap TEXT NOT NULL,
	observables TEXT NOT NULL,
	fields TEXT NOT NULL,
	first_seen TEXT NOT NULL,
	last_seen TEXT NOT NULL,
	occurrences BIGINT NOT NULL,
	status TEXT NOT NULL,
	assignee TEXT NOT NULL DEFAULT '',
	disposition TEXT NOT NULL DEFAULT '',
	case_id TEXT NOT NULL DEFAULT '',
	search TEXT NOT NULL,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
);
-- The dedupe key. The organisation is part of it: two trusts' producers may
-- use the same reference, and a key shared across organisations would let
-- one trust's repeat raise, and be answered with, another trust's alert.
CREATE UNIQUE INDEX alerts_key ON alerts (org, source, type, source_ref);
-- The inbox's filters, each ending in id so that a filter is one index
-- range read newest first (docs/performance.md has the measurements).
CREATE INDEX alerts_org ON alerts (org, status, id);
CREATE INDEX alerts_status ON alerts (status, id);
CREATE INDEX alerts_severity ON alerts (severity, status, id);
CREATE INDEX alerts_source ON alerts (source, type, id);
-- Not partial: a partial index (WHERE case_id <> '') is not used for
-- case_id = ? with a bound value, as SQLite cannot prove the value is not ''.
CREATE INDEX alerts_case ON alerts (case_id, id);
CREATE INDEX alerts_assignee ON alerts (assignee, id);
-- Alerts per organisation, kept with every new alert: how many alerts a
-- caller's scope holds decides how the inbox reads them (alerts.go).
CREATE TABLE alert_counts (
	org TEXT PRIMARY KEY,
	alerts BIGINT NOT NULL
);
-- Message IDs of alerts taken from the ALERTS stream, so a redelivered
-- message stores nothing twice (a repeat through the API raises the
-- occurrence count; a redelivery must not).
CREATE TABLE alert_messages (
	msg_id TEXT PRIMARY KEY,
	alert_id TEXT COLLATE "C" NOT NULL,
	received_at TEXT NOT NULL
);
CREATE TABLE alert_dispositions (
	id TEXT COLLATE "C" PRIMARY KEY,
	alert_id TEXT COLLATE "C" NOT NULL,
	disposition TEXT NOT NULL,
	by_id TEXT NOT NULL,
	by_name TEXT NOT NULL,
	reason TEXT NOT NULL DEFAULT '',
	at TEXT NOT NULL
);
CREATE INDEX alert_dispositions_alert ON alert_dispositions (alert_id, id);
CREATE TABLE cases (
	id TEXT COLLATE "C" PRIMARY KEY,
	org TEXT NOT NULL,
	title TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	severity TEXT NOT NULL,
	tlp TEXT NOT NULL,
	pap TEXT NOT NULL,
	status TEXT NOT NULL,
	assignee TEXT NOT NULL DEFAULT '',
	team TEXT NOT NULL DEFAULT '',
	tags TEXT NOT NULL DEFAULT '[]',
	template TEXT NOT NULL DEFAULT '',
	fields TEXT NOT NULL DEFAULT '{}',
	resolution TEXT NOT NULL DEFAULT '',
	impact TEXT NOT NULL DEFAULT '',
	summary TEXT NOT NULL DEFAULT '',
	parent_id TEXT NOT NULL DEFAULT '',
	merged_into TEXT NOT NULL DEFAULT '',
	search TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	acknowledged_at TEXT NOT NULL DEFAULT '',
	resolved_at TEXT NOT NULL DEFAULT '',
	closed_at TEXT NOT NULL DEFAULT ''
);
CREATE INDEX cases_org ON cases (org, status, id);
CREATE INDEX cases_status ON cases (status, id);
CREATE INDEX cases_parent ON cases (parent_id, id);
CREATE INDEX cases_assignee ON cases (assignee, id);
CREATE TABLE case_tags (
	case_id TEXT COLLATE "C" NOT NULL,
	tag TEXT NOT NULL,
	PRIMARY KEY (case_id, tag)
);
CREATE INDEX case_tags_tag ON case_tags (tag, case_id);
CREATE TABLE case_links (
	case_id TEXT COLLATE "C" NOT NULL,
	other_id TEXT NOT NULL,
	kind TEXT NOT NULL,
	created_at TEXT NOT NULL,
	PRIMARY KEY (case_id, other_id)
);
CREATE TABLE case_tasks (
	id TEXT COLLATE "C" PRIMARY KEY,
	case_id TEXT COLLATE "C" NOT NULL,
	title TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	status TEXT NOT NULL,
	assignee TEXT NOT NULL DEFAULT '',
	checklist TEXT NOT NULL DEFAULT '[]',
	position BIGINT NOT NULL,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	done_at TEXT NOT NULL DEFAULT ''
);
CREATE INDEX case_tasks_case ON case_tasks (case_id, position);
CREATE TABLE case_task_logs (
	id TEXT COLLATE "C" PRIMARY KEY,
	task_id TEXT NOT NULL,
	case_id TEXT COLLATE "C" NOT NULL,
	body TEXT NOT NULL,
	by_id TEXT NOT NULL,
	by_name TEXT NOT NULL,
	at TEXT NOT NULL
);
CREATE INDEX case_task_logs_task ON case_task_logs (task_id, id);
-- org is the case's, kept here so "seen in other cases" filters by scope
-- without a join; it moves with the observable.
CREATE TABLE case_observables (
	id TEXT COLLATE "C" PRIMARY KEY,
	case_id TEXT COLLATE "C" NOT NULL,
	org TEXT NOT NULL,
	type TEXT NOT NULL,
	value TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	ioc BOOLEAN NOT NULL DEFAULT FALSE,
	tlp TEXT NOT NULL,
	alert_id TEXT NOT NULL DEFAULT '',
	created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX case_observables_key ON case_observables (case_id, type, value);
CREATE INDEX case_observables_value ON case_observables (type, value, case_id);
CREATE TABLE case_timeline (
	id TEXT COLLATE "C" PRIMARY KEY,
	case_id TEXT COLLATE "C" NOT NULL,
	at TEXT NOT NULL,
	kind TEXT NOT NULL,
	title TEXT NOT NULL,
	body TEXT NOT NULL DEFAULT '',
	ref_id TEXT NOT NULL DEFAULT '',
	by_id TEXT NOT NULL,
	by_name TEXT NOT NULL,
	manual BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX case_timeline_case ON case_timeline (case_id, at, id);
CREATE TABLE case_comments (
	id TEXT COLLATE "C" PRIMARY KEY,
	case_id TEXT COLLATE "C" NOT NULL,
	body TEXT NOT NULL,
	mentions TEXT NOT NULL DEFAULT '[]',
	by_id TEXT NOT NULL,
	by_name TEXT NOT NULL,
	at TEXT NOT NULL
);
CREATE INDEX case_comments_case ON case_comments (case_id, id);
-- Evidence is kept in the database, not under the data directory: several
-- servers share one PostgreSQL database but not a disk, and one backup
-- then holds the evidence with its chain of custody.
CREATE TABLE case_attachments (
	id TEXT COLLATE "C" PRIMARY KEY,
	case_id TEXT COLLATE "C" NOT NULL,
	name TEXT NOT NULL,
	content_type TEXT NOT NULL,
	size BIGINT NOT NULL,
	sha256 TEXT NOT NULL,
	data BYTEA NOT NULL,
	by_id TEXT NOT NULL,
	by_name TEXT NOT NULL,
	created_at TEXT NOT NULL
);
CREATE INDEX case_attachments_case ON case_attachments (case_id, id);
CREATE TABLE case_custody (
	id TEXT COLLATE "C" PRIMARY KEY,
	attachment_id TEXT NOT NULL,
	case_id TEXT COLLATE "C" NOT NULL,
	action TEXT NOT NULL,
	sha256 TEXT NOT NULL,
	by_id TEXT NOT NULL,
	by_name TEXT NOT NULL,
	remote TEXT NOT NULL DEFAULT '',
	note TEXT NOT NULL DEFAULT '',
	at TEXT NOT NULL
);
CREATE INDEX case_custody_attachment ON case_custody (attachment_id, id);
