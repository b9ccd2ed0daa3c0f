-- Rule IDs are listed and paged in id order (id > ? ORDER BY id), which
-- holds only in byte order: SQLite compares TEXT by bytes already;
-- PostgreSQL does only for "C" columns.
ALTER TABLE sigma_rules ALTER COLUMN id TYPE TEXT COLLATE "C";
