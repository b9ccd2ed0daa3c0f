-- TAXII collections (TAXII 2.1 section 5.2). tlp_ceiling is the most
-- restrictive TLP (1 CLEAR … 5 RED, stix.TLP) the collection hands out:
-- an object marked above it is never returned from it.
CREATE TABLE intel_collections (
	id TEXT PRIMARY KEY,
	title TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	tlp_ceiling INTEGER NOT NULL,
	created_by TEXT NOT NULL,
	created_at TEXT NOT NULL
);
-- Who may read and write a collection. This first slice grants users
-- (the creator); grants to roles at organisations come with the TAXII
-- server's authentication.
CREATE TABLE intel_collection_grants (
	collection_id TEXT NOT NULL,
	user_id TEXT NOT NULL,
	can_read INTEGER NOT NULL,
	can_write INTEGER NOT NULL,
	PRIMARY KEY (collection_id, user_id)
);
