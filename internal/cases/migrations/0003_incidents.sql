-- National incidents (issue 15): a national incident is a case owned by
-- the national root (template supplier-compromise) with one child case per
-- affected organisation (cases.parent_id). incidents holds what the
-- incident was opened about; incident_members one row per organisation
-- ever in its blast radius: its child case, where it sits (ICB, region)
-- for the progress view, its impact class now, whether it is still in
-- scope (an organisation no longer affected is marked, never deleted), and
-- its acknowledgement. docs/adr/0005-clocks-incidents.md.
CREATE TABLE incidents (
	id TEXT PRIMARY KEY,
	supplier TEXT NOT NULL,
	product TEXT NOT NULL DEFAULT '',
	subject TEXT NOT NULL,
	generation BIGINT NOT NULL,
	opened_by TEXT NOT NULL,
	opened_at TEXT NOT NULL,
	refreshed_at TEXT NOT NULL
);
CREATE TABLE incident_members (
	incident_id TEXT NOT NULL,
	org TEXT NOT NULL,
	case_id TEXT NOT NULL,
	name TEXT NOT NULL,
	icb TEXT NOT NULL DEFAULT '',
	icb_name TEXT NOT NULL DEFAULT '',
	region TEXT NOT NULL DEFAULT '',
	region_name TEXT NOT NULL DEFAULT '',
	impact TEXT NOT NULL,
	in_scope BOOLEAN NOT NULL,
	ack_status TEXT NOT NULL DEFAULT '',
	ack_note TEXT NOT NULL DEFAULT '',
	ack_by TEXT NOT NULL DEFAULT '',
	ack_at TEXT NOT NULL DEFAULT '',
	added_at TEXT NOT NULL,
	changed_at TEXT NOT NULL,
	PRIMARY KEY (incident_id, org)
);
CREATE UNIQUE INDEX incident_members_case ON incident_members (case_id);
