-- Every version of every STIX object (STIX 2.1 section 3.6): an object
-- is identified by id, a version by its modified timestamp (created for
-- a marking definition, '' for an SCO, which has one version). version
-- and added_at are fixed-width UTC text (nanoseconds), so text order is
-- time order on both engines.
CREATE TABLE intel_objects (
	id TEXT NOT NULL,
	version TEXT NOT NULL,
	type TEXT NOT NULL,
	revoked INTEGER NOT NULL DEFAULT 0,
	-- The most restrictive TLP of object_marking_refs (1 CLEAR … 5 RED),
	-- 0 when unmarked: what sharing by TLP filters on.
	tlp INTEGER NOT NULL DEFAULT 0,
	-- When Vigil stored this version (TAXII's date_added).
	added_at TEXT NOT NULL,
	-- Where it came from: the file, feed or collection that brought it.
	source TEXT NOT NULL DEFAULT '',
	body TEXT NOT NULL,
	PRIMARY KEY (id, version)
);
CREATE INDEX intel_objects_type ON intel_objects (type, id);
CREATE INDEX intel_objects_added ON intel_objects (added_at);
