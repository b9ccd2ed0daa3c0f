-- Which versions a collection holds, and when each was added to it (the
-- collection's date_added, which TAXII pages and resumes by).
CREATE TABLE intel_collection_objects (
	collection_id TEXT NOT NULL,
	id TEXT NOT NULL,
	version TEXT NOT NULL,
	added_at TEXT NOT NULL,
	PRIMARY KEY (collection_id, id, version)
);
CREATE INDEX intel_collection_objects_added ON intel_collection_objects (collection_id, added_at);
