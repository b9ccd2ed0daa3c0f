-- Organisations: NHS bodies by ODS code, suppliers by their own code.
-- path is the materialised path from the national root ("/ENG/Y56/QMF/R1K/"),
-- which scope.Filter turns into an index range per grant.
CREATE TABLE orgs (
	code TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	type TEXT NOT NULL,
	parent TEXT NOT NULL DEFAULT '',
	path TEXT COLLATE "C" NOT NULL,
	status TEXT NOT NULL DEFAULT 'active',
	region TEXT NOT NULL DEFAULT '',
	icb TEXT NOT NULL DEFAULT '',
	postcode TEXT NOT NULL DEFAULT '',
	opened TEXT NOT NULL DEFAULT '',
	closed TEXT NOT NULL DEFAULT '',
	population BIGINT NOT NULL DEFAULT 0,
	source TEXT NOT NULL DEFAULT '',
	demo BOOLEAN NOT NULL DEFAULT FALSE,
	search TEXT NOT NULL DEFAULT '',
	updated_at TEXT NOT NULL
);
CREATE INDEX orgs_path ON orgs (path);
CREATE INDEX orgs_parent ON orgs (parent, name);
CREATE INDEX orgs_type ON orgs (type, code);
