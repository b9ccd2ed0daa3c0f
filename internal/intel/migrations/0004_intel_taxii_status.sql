-- TAXII status resources (TAXII 2.1 section 4.3): what a POST of an
-- envelope to a collection did, object by object. A status is its
-- poster's: user_id is the only one who may read it.
CREATE TABLE intel_taxii_status (
	id TEXT PRIMARY KEY,
	user_id TEXT NOT NULL,
	collection_id TEXT NOT NULL,
	created_at TEXT NOT NULL,
	body TEXT NOT NULL
);
