-- The findings workflow, VEX kept per product or organisation, the
-- uploaded SBOM files, and the cyber alert clocks and scope refresh added
-- after issue 18's first slice (numbered apart from other vuln steps: the
-- merge may bring those in either order, and none depends on this).
--
-- vuln_finding_states: what people said of a stored finding, kept apart
-- from vuln_findings (which a match writes again): acknowledged, risk
-- accepted until an expiry with a reason, closed as fixed or not affected.
-- Keyed as vuln_findings is, so the state outlives a re-match.
CREATE TABLE vuln_finding_states (
	sbom_id TEXT NOT NULL,
	component INTEGER NOT NULL,
	vuln_id TEXT NOT NULL,
	state TEXT NOT NULL,
	resolution TEXT NOT NULL DEFAULT '',
	reason TEXT NOT NULL DEFAULT '',
	expires TEXT NOT NULL DEFAULT '',
	by_name TEXT NOT NULL,
	at TEXT NOT NULL,
	PRIMARY KEY (sbom_id, component, vuln_id)
);
-- vuln_vex: VEX documents (OpenVEX, CycloneDX VEX, CSAF VEX) stored for a
-- supplier product (all its SBOMs) or an organisation (its inventories),
-- kept whole so they are applied again after each match.
CREATE TABLE vuln_vex (
	id TEXT PRIMARY KEY,
	kind TEXT NOT NULL,
	product_id TEXT NOT NULL DEFAULT '',
	org TEXT NOT NULL DEFAULT '',
	name TEXT NOT NULL,
	format TEXT NOT NULL,
	sha256 TEXT NOT NULL,
	statements INTEGER NOT NULL,
	data BYTEA NOT NULL, -- PostgreSQL's bytes; SQLite keeps a BLOB as it is in a column of any declared type
	added_by TEXT NOT NULL,
	added_at TEXT NOT NULL
);
CREATE INDEX vuln_vex_product ON vuln_vex (product_id);
CREATE INDEX vuln_vex_org ON vuln_vex (org);
-- vuln_suppressions: the stored findings a stored VEX statement
-- suppresses, worked out again when VEX is stored or removed and when a
-- match writes an SBOM's findings again.
CREATE TABLE vuln_suppressions (
	sbom_id TEXT NOT NULL,
	component INTEGER NOT NULL,
	vuln_id TEXT NOT NULL,
	vex_id TEXT NOT NULL,
	body TEXT NOT NULL,
	PRIMARY KEY (sbom_id, component, vuln_id)
);
-- vuln_sbom_files: the uploaded file itself, for download.
CREATE TABLE vuln_sbom_files (
	sbom_id TEXT PRIMARY KEY,
	content_type TEXT NOT NULL,
	data BYTEA NOT NULL
);
-- Cyber alerts: the escalation when the first remediation update is
-- missed, and the scope worked out again when the register changes
-- (an organisation no longer in scope keeps its row, marked).
ALTER TABLE cyber_alert_orgs ADD COLUMN update_escalated_at TEXT NOT NULL DEFAULT '';
ALTER TABLE cyber_alert_orgs ADD COLUMN in_scope INTEGER NOT NULL DEFAULT 1;
ALTER TABLE cyber_alert_orgs ADD COLUMN scope_changed_at TEXT NOT NULL DEFAULT '';
ALTER TABLE cyber_alerts ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cyber_alerts ADD COLUMN refreshed_at TEXT NOT NULL DEFAULT '';
