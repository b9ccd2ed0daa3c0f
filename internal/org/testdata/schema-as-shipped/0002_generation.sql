-- A counter bumped in every transaction that changes organisations, so that
-- other processes (another server, a CLI command) can tell cheaply that the
-- tree changed: the supplier graph checks it along with the register's own.
CREATE TABLE org_meta (
	id INTEGER PRIMARY KEY,
	generation BIGINT NOT NULL
);
INSERT INTO org_meta (id, generation) VALUES (1, 0);
