-- The UK health evidence schemes beyond DSPT and certificates (issue 20):
-- DTAC per product version, DCB0129 per product version (the
-- manufacturer's clinical safety), DCB0160 per deployment (the deploying
-- organisation's), the NHS Cyber Security Charter commitments a supplier
-- signed, the NCSC supply-chain principles per supplier, and the expiry
-- notices raised once each. Numbered 0020 to stay clear of the numbers
-- other branches of the assurance work take (steps need not run without
-- gaps; none of these depends on another branch's).
CREATE TABLE assurance_dtac (
	product_id TEXT NOT NULL,
	version TEXT NOT NULL,
	supplier_id TEXT NOT NULL,
	assessed TEXT NOT NULL,
	c1 TEXT NOT NULL,
	c2 TEXT NOT NULL,
	c3 TEXT NOT NULL,
	c4 TEXT NOT NULL,
	d_score INTEGER NOT NULL,
	expires TEXT NOT NULL DEFAULT '',
	notes TEXT NOT NULL DEFAULT '',
	source TEXT NOT NULL,
	recorded_by TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	PRIMARY KEY (product_id, version)
);
CREATE INDEX assurance_dtac_supplier ON assurance_dtac (supplier_id);

CREATE TABLE assurance_dcb0129 (
	product_id TEXT NOT NULL,
	version TEXT NOT NULL,
	supplier_id TEXT NOT NULL,
	safety_case TEXT NOT NULL DEFAULT '',
	hazard_log TEXT NOT NULL DEFAULT '',
	cso_name TEXT NOT NULL DEFAULT '',
	cso_registration TEXT NOT NULL DEFAULT '',
	issued TEXT NOT NULL,
	review_due TEXT NOT NULL DEFAULT '',
	source TEXT NOT NULL,
	recorded_by TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	PRIMARY KEY (product_id, version)
);
CREATE INDEX assurance_dcb0129_supplier ON assurance_dcb0129 (supplier_id);

CREATE TABLE assurance_dcb0160 (
	org_ods TEXT NOT NULL,
	product_id TEXT NOT NULL,
	supplier_id TEXT NOT NULL,
	safety_case TEXT NOT NULL DEFAULT '',
	hazard_log TEXT NOT NULL DEFAULT '',
	cso_name TEXT NOT NULL DEFAULT '',
	cso_registration TEXT NOT NULL DEFAULT '',
	issued TEXT NOT NULL,
	review_due TEXT NOT NULL DEFAULT '',
	recorded_by TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	PRIMARY KEY (org_ods, product_id)
);
CREATE INDEX assurance_dcb0160_product ON assurance_dcb0160 (product_id);

CREATE TABLE assurance_charter (
	supplier_id TEXT NOT NULL,
	commitment TEXT NOT NULL,
	signed TEXT NOT NULL,
	signed_by TEXT NOT NULL,
	signer_role TEXT NOT NULL DEFAULT '',
	source TEXT NOT NULL,
	recorded_by TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	PRIMARY KEY (supplier_id, commitment)
);

CREATE TABLE assurance_ncsc_principles (
	supplier_id TEXT NOT NULL,
	principle INTEGER NOT NULL,
	state TEXT NOT NULL,
	note TEXT NOT NULL DEFAULT '',
	assessed TEXT NOT NULL,
	source TEXT NOT NULL,
	recorded_by TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	PRIMARY KEY (supplier_id, principle)
);

-- Who recorded a certificate, and whether the supplier declared it or an
-- assessor recorded it (the supplier's representatives may now enter
-- their own).
ALTER TABLE assurance_certificates ADD COLUMN source TEXT NOT NULL DEFAULT 'assessor';
ALTER TABLE assurance_certificates ADD COLUMN recorded_by TEXT NOT NULL DEFAULT '';

-- One row per notice raised: the evidence, the date it lapses and the
-- stage (expiring, expired). A renewal moves the date, so the next lapse
-- is told again; the same lapse never twice.
CREATE TABLE assurance_expiry_notices (
	evidence_key TEXT NOT NULL,
	due TEXT NOT NULL,
	stage TEXT NOT NULL,
	raised_at TEXT NOT NULL,
	PRIMARY KEY (evidence_key, due, stage)
);
