-- Grants of a collection to organisations (issue 19, sharing by
-- hierarchy): everyone holding a role at the organisation or under it
-- (a region's grant reaches its trusts; the national body's, everyone),
-- or only those holding one role there when role is not ''. path is the
-- organisation's materialised path when the grant was made.
CREATE TABLE intel_collection_org_grants (
	collection_id TEXT NOT NULL,
	org TEXT NOT NULL,
	path TEXT NOT NULL,
	role TEXT NOT NULL DEFAULT '',
	can_read INTEGER NOT NULL,
	can_write INTEGER NOT NULL,
	granted_by TEXT NOT NULL,
	granted_at TEXT NOT NULL,
	PRIMARY KEY (collection_id, org, role)
);
-- The explicit recipients of a TLP:RED or TLP:AMBER+STRICT object: a
-- user (kind 'user', recipient a user id) or an organisation's own
-- people (kind 'org', recipient an ODS code; not the organisations
-- under it). Such an object is returned to nobody else, by any path.
CREATE TABLE intel_object_recipients (
	id TEXT NOT NULL,
	kind TEXT NOT NULL,
	recipient TEXT NOT NULL,
	added_by TEXT NOT NULL,
	added_at TEXT NOT NULL,
	PRIMARY KEY (id, kind, recipient)
);
