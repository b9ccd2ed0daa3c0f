-- Subscriptions to remote intelligence (issue 19 item 4): a TAXII 2.1
-- collection or a MISP feed by URL, pulled on a schedule into a local
-- collection. cursor is where the next pull resumes: for TAXII the last
-- X-TAXII-Date-Added-Last seen (added_after), for MISP a JSON object of
-- event uuid -> timestamp already imported. It changes in the same
-- transaction as the objects it covers are stored, so a failure leaves
-- both as they were. auth_secret is a password or bearer token, never
-- returned by any read.
CREATE TABLE intel_feeds (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	kind TEXT NOT NULL,
	url TEXT NOT NULL,
	remote_collection TEXT NOT NULL DEFAULT '',
	auth_kind TEXT NOT NULL DEFAULT '',
	auth_user TEXT NOT NULL DEFAULT '',
	auth_secret TEXT NOT NULL DEFAULT '',
	collection_id TEXT NOT NULL,
	interval_seconds INTEGER NOT NULL,
	page_size INTEGER NOT NULL DEFAULT 0,
	created_by TEXT NOT NULL,
	created_at TEXT NOT NULL,
	cursor TEXT NOT NULL DEFAULT '',
	last_attempt TEXT NOT NULL DEFAULT '',
	last_success TEXT NOT NULL DEFAULT '',
	last_error TEXT NOT NULL DEFAULT '',
	last_added INTEGER NOT NULL DEFAULT 0,
	objects_added INTEGER NOT NULL DEFAULT 0,
	pulls INTEGER NOT NULL DEFAULT 0,
	failures INTEGER NOT NULL DEFAULT 0,
	next_run TEXT NOT NULL DEFAULT ''
);
