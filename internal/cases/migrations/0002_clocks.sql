-- Clocks (issue 15): per-severity SLA clocks (ack, respond, resolve) and
-- regulatory clocks (nis, ico) of cases; docs/adr/0005-clocks-incidents.md.
-- One row per case and clock. state is running, met, breached or
-- cancelled; the serve ticker reads running clocks by due time
-- (case_clocks_due) and breaches those past due, a batch per transaction.
-- Times are UTC text as in 0001 (comparing the text compares the times).
CREATE TABLE case_clocks (
	case_id TEXT NOT NULL,
	clock TEXT NOT NULL,
	org TEXT NOT NULL,
	state TEXT NOT NULL,
	started_at TEXT NOT NULL,
	due_at TEXT NOT NULL,
	met_at TEXT NOT NULL DEFAULT '',
	breached_at TEXT NOT NULL DEFAULT '',
	source TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (case_id, clock)
);
CREATE INDEX case_clocks_due ON case_clocks (state, due_at);
