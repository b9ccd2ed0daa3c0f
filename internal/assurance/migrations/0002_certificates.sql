-- Certificates a supplier holds as evidence (issue 20): Cyber Essentials,
-- Cyber Essentials Plus and ISO/IEC 27001, one row per scheme and
-- certificate number.
CREATE TABLE assurance_certificates (
	scheme TEXT NOT NULL,
	number TEXT NOT NULL,
	supplier_id TEXT NOT NULL,
	cert_scope TEXT NOT NULL DEFAULT '',
	question_set TEXT NOT NULL DEFAULT '',
	certification_body TEXT NOT NULL DEFAULT '',
	accreditation TEXT NOT NULL DEFAULT '',
	issued TEXT NOT NULL,
	expires TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	PRIMARY KEY (scheme, number)
);
CREATE INDEX assurance_certificates_supplier ON assurance_certificates (supplier_id);
CREATE INDEX assurance_certificates_expires ON assurance_certificates (expires);
