-- Submissions upward (issue 19 item 8). A moderated collection takes
-- what an organisation's people add to it (TAXII POST, the CLI, a feed)
-- as pending until a national analyst approves it: meanwhile the
-- version's membership names the submitter's organisation in
-- pending_org, and only that organisation's people and the approvers
-- read it there. Approval clears pending_org (and gives the version a
-- new date added, so TAXII readers paging by added_after get it);
-- rejection takes it out of the collection. intel_submissions keeps
-- every submission and its decision.
ALTER TABLE intel_collections ADD COLUMN moderated INTEGER NOT NULL DEFAULT 0;
ALTER TABLE intel_collection_objects ADD COLUMN pending_org TEXT NOT NULL DEFAULT '';
CREATE TABLE intel_submissions (
	sub_id TEXT PRIMARY KEY,
	collection_id TEXT NOT NULL,
	id TEXT NOT NULL,
	version TEXT NOT NULL,
	org TEXT NOT NULL,
	submitted_by TEXT NOT NULL,
	submitted_at TEXT NOT NULL,
	state TEXT NOT NULL,
	decided_by TEXT NOT NULL DEFAULT '',
	decided_at TEXT NOT NULL DEFAULT '',
	reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX intel_submissions_state ON intel_submissions (state, submitted_at);
CREATE INDEX intel_submissions_object ON intel_submissions (collection_id, id, version);
