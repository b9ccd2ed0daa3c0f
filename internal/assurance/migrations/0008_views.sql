-- Disputes, sharing levels and recorded scores (issue 20, items 5–7).

-- A supplier's representative disputes a statement's score (seq 0) or the
-- assessor's decision on one answer (seq > 0); an assessor answers by
-- upholding it or amending the decision. status: open, upheld, amended.
CREATE TABLE assurance_disputes (
	dispute_id TEXT PRIMARY KEY,
	statement_id TEXT NOT NULL,
	supplier_id TEXT NOT NULL,
	seq INTEGER NOT NULL,
	reason TEXT NOT NULL,
	status TEXT NOT NULL,
	raised_by TEXT NOT NULL,
	raised_name TEXT NOT NULL,
	raised_at TEXT NOT NULL,
	decided_name TEXT NOT NULL DEFAULT '',
	decided_at TEXT NOT NULL DEFAULT '',
	decision_note TEXT NOT NULL DEFAULT '',
	amended_seq INTEGER NOT NULL DEFAULT 0,
	amended_from TEXT NOT NULL DEFAULT '',
	amended_to TEXT NOT NULL DEFAULT ''
);
CREATE INDEX assurance_disputes_statement ON assurance_disputes (statement_id);
CREATE INDEX assurance_disputes_supplier ON assurance_disputes (supplier_id);

-- The thread of a dispute, oldest first.
CREATE TABLE assurance_dispute_messages (
	message_id TEXT PRIMARY KEY,
	dispute_id TEXT NOT NULL,
	n INTEGER NOT NULL, -- 1, 2, … within the dispute: the thread's order
	side TEXT NOT NULL,
	author_id TEXT NOT NULL,
	author_name TEXT NOT NULL,
	body TEXT NOT NULL,
	at TEXT NOT NULL
);
CREATE INDEX assurance_dispute_messages_dispute ON assurance_dispute_messages (dispute_id);

-- The level at which a supplier shares its reviewed statements: deployers
-- (every organisation deploying any of its products: the default when no
-- row), products (only organisations deploying the products listed,
-- comma-separated) or national (the national team only). subsidiaries: the
-- statements also stand for the supplier's subsidiaries' deployments.
CREATE TABLE assurance_sharing (
	supplier_id TEXT PRIMARY KEY,
	level TEXT NOT NULL,
	products TEXT NOT NULL DEFAULT '',
	subsidiaries BOOLEAN NOT NULL DEFAULT FALSE,
	set_by TEXT NOT NULL,
	set_at TEXT NOT NULL
);

-- A statement's score as recorded when it was accepted or a dispute
-- amended it, with the method version that computed it: a later method
-- never rewrites what a reader was shown.
CREATE TABLE assurance_score_records (
	statement_id TEXT NOT NULL,
	seq INTEGER NOT NULL,
	method_version INTEGER NOT NULL,
	points INTEGER NOT NULL,
	max_points INTEGER NOT NULL,
	reason TEXT NOT NULL,
	at TEXT NOT NULL,
	PRIMARY KEY (statement_id, seq)
);
