-- Submitted versions of statements (issue 20). Every submission keeps the
-- statement as submitted: who signed it, in what role, when, and every
-- answer with its justification and the references of its evidence (as a
-- JSON list: id, kind, name, sha256, url). Rows are only ever inserted:
-- a version never changes once kept. Plain types only, the same text on
-- SQLite and PostgreSQL.
CREATE TABLE assurance_statement_versions (
	statement_id TEXT NOT NULL,
	version INTEGER NOT NULL,
	submitted_at TEXT NOT NULL,
	signed_name TEXT NOT NULL,
	signed_role TEXT NOT NULL,
	PRIMARY KEY (statement_id, version)
);

CREATE TABLE assurance_statement_version_answers (
	statement_id TEXT NOT NULL,
	version INTEGER NOT NULL,
	seq INTEGER NOT NULL,
	ref TEXT NOT NULL DEFAULT '',
	name TEXT NOT NULL DEFAULT '',
	answer TEXT NOT NULL,
	justification TEXT NOT NULL DEFAULT '',
	evidence TEXT NOT NULL DEFAULT '[]',
	PRIMARY KEY (statement_id, version, seq)
);
