-- Campaigns, statements of adherence, evidence and review (issue 20).
-- A campaign asks suppliers for a statement against one requirement set
-- version (optionally one profile of it); its requirements are copied
-- with their weights when it is made, so a score never changes under a
-- statement because a set or a weight changed later. owner_org is where
-- the assessors' Supply grant must reach (scope.Filter on it).
CREATE TABLE assurance_campaigns (
	campaign_id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	set_id TEXT NOT NULL,
	profile TEXT NOT NULL DEFAULT '',
	owner_org TEXT NOT NULL,
	deadline TEXT NOT NULL,
	selection TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_by_name TEXT NOT NULL,
	created_at TEXT NOT NULL
);
CREATE INDEX assurance_campaigns_owner ON assurance_campaigns (owner_org);

CREATE TABLE assurance_campaign_requirements (
	campaign_id TEXT NOT NULL,
	seq INTEGER NOT NULL,
	node_key TEXT NOT NULL,
	ref TEXT NOT NULL DEFAULT '',
	name TEXT NOT NULL DEFAULT '',
	objective_key TEXT NOT NULL DEFAULT '',
	objective_name TEXT NOT NULL DEFAULT '',
	principle_key TEXT NOT NULL DEFAULT '',
	principle_name TEXT NOT NULL DEFAULT '',
	weight INTEGER NOT NULL,
	PRIMARY KEY (campaign_id, seq)
);

-- One statement per supplier and campaign: draft → submitted → (returned
-- → submitted)* → accepted. version counts submissions.
CREATE TABLE assurance_statements (
	statement_id TEXT PRIMARY KEY,
	campaign_id TEXT NOT NULL,
	supplier_id TEXT NOT NULL,
	supplier_name TEXT NOT NULL DEFAULT '',
	status TEXT NOT NULL,
	version INTEGER NOT NULL DEFAULT 0,
	signed_name TEXT NOT NULL DEFAULT '',
	signed_role TEXT NOT NULL DEFAULT '',
	submitted_at TEXT NOT NULL DEFAULT '',
	accepted_at TEXT NOT NULL DEFAULT '',
	accepted_by TEXT NOT NULL DEFAULT '',
	updated_at TEXT NOT NULL,
	UNIQUE (campaign_id, supplier_id)
);
CREATE INDEX assurance_statements_supplier ON assurance_statements (supplier_id);

-- An answer per requirement answered (none: not answered yet). review is
-- '' (waiting for the assessor), accepted, queried or rejected.
CREATE TABLE assurance_answers (
	statement_id TEXT NOT NULL,
	seq INTEGER NOT NULL,
	answer TEXT NOT NULL,
	justification TEXT NOT NULL DEFAULT '',
	review TEXT NOT NULL DEFAULT '',
	answered_at TEXT NOT NULL,
	answered_by TEXT NOT NULL,
	reviewed_at TEXT NOT NULL DEFAULT '',
	reviewed_by TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (statement_id, seq)
);

-- The conversation about one answer: the assessor's queries and the
-- supplier's replies, oldest first.
CREATE TABLE assurance_answer_comments (
	comment_id TEXT PRIMARY KEY,
	statement_id TEXT NOT NULL,
	seq INTEGER NOT NULL,
	side TEXT NOT NULL,
	author_id TEXT NOT NULL,
	author_name TEXT NOT NULL,
	body TEXT NOT NULL,
	at TEXT NOT NULL
);
CREATE INDEX assurance_answer_comments_statement ON assurance_answer_comments (statement_id, seq);

-- Evidence for an answer: a file kept in the database with its SHA-256
-- (like case evidence: one backup, no shared disk), or a link.
CREATE TABLE assurance_evidence (
	evidence_id TEXT PRIMARY KEY,
	statement_id TEXT NOT NULL,
	seq INTEGER NOT NULL,
	kind TEXT NOT NULL,
	name TEXT NOT NULL,
	content_type TEXT NOT NULL DEFAULT '',
	size BIGINT NOT NULL DEFAULT 0,
	sha256 TEXT NOT NULL DEFAULT '',
	url TEXT NOT NULL DEFAULT '',
	data BYTEA, -- PostgreSQL's bytes; SQLite keeps a BLOB as it is in a column of any declared type
	added_by TEXT NOT NULL,
	added_at TEXT NOT NULL
);
CREATE INDEX assurance_evidence_statement ON assurance_evidence (statement_id, seq);
