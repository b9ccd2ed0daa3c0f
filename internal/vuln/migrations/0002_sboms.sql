-- Stored SBOMs and inventories (issue 18, items 1, 2 and 5).
-- vuln_sboms holds each bill of materials stored: a supplier product's at
-- one version (kind 'product': product_id, version) or an organisation's
-- inventory of its assets and software (kind 'inventory': org, with the
-- asset's criticality and exposure); vuln_components its components with
-- their purls as written; vuln_findings what the last match against OSV
-- found, one row per vulnerability per component, with its priority, SLA
-- due time and the finding as JSON; vuln_finding_ids every ID a finding
-- answers to (its own, aliases, related IDs), so an alert's CVE finds the
-- SBOMs carrying it. Times are
-- UTC text as in the cyber alert tables.
CREATE TABLE vuln_sboms (
	id TEXT PRIMARY KEY,
	kind TEXT NOT NULL,
	product_id TEXT NOT NULL DEFAULT '',
	version TEXT NOT NULL DEFAULT '',
	org TEXT NOT NULL DEFAULT '',
	name TEXT NOT NULL,
	format TEXT NOT NULL,
	sha256 TEXT NOT NULL,
	components INTEGER NOT NULL,
	no_purl INTEGER NOT NULL,
	unsupported INTEGER NOT NULL,
	criticality TEXT NOT NULL DEFAULT '',
	exposure TEXT NOT NULL DEFAULT '',
	added_by TEXT NOT NULL,
	added_at TEXT NOT NULL,
	matched_at TEXT NOT NULL DEFAULT ''
);
CREATE INDEX vuln_sboms_product ON vuln_sboms (product_id, version);
CREATE INDEX vuln_sboms_org ON vuln_sboms (org);
CREATE TABLE vuln_components (
	sbom_id TEXT NOT NULL,
	idx INTEGER NOT NULL,
	name TEXT NOT NULL,
	version TEXT NOT NULL,
	purl TEXT NOT NULL,
	ecosystem TEXT NOT NULL,
	package TEXT NOT NULL,
	PRIMARY KEY (sbom_id, idx)
);
CREATE TABLE vuln_findings (
	sbom_id TEXT NOT NULL,
	component INTEGER NOT NULL,
	vuln_id TEXT NOT NULL,
	priority TEXT NOT NULL,
	points INTEGER NOT NULL,
	first_seen TEXT NOT NULL,
	due TEXT NOT NULL,
	body TEXT NOT NULL,
	PRIMARY KEY (sbom_id, component, vuln_id)
);
CREATE TABLE vuln_finding_ids (
	name TEXT NOT NULL,
	sbom_id TEXT NOT NULL,
	component INTEGER NOT NULL,
	vuln_id TEXT NOT NULL,
	PRIMARY KEY (name, sbom_id, component, vuln_id)
);
CREATE INDEX vuln_finding_ids_sbom ON vuln_finding_ids (sbom_id);
