-- Case, alert and item IDs are compared as ranges and sorted for the
-- pages' cursors (id > ? ORDER BY id), which holds only in byte order.
-- SQLite compares TEXT by bytes already (nothing to do there: this step is
-- PostgreSQL's alone); PostgreSQL compares by the database's collation
-- unless the column says "C". Databases made before this step have these
-- columns "C" already (a PostgreSQL copy of 0001 made them so), and the
-- statements leave them as they are. Numbered high so that it merges with
-- the steps other work adds to this domain in either order (the store
-- applies every version a database lacks); it depends only on 0001.
ALTER TABLE alerts ALTER COLUMN id TYPE TEXT COLLATE "C";
ALTER TABLE alert_messages ALTER COLUMN alert_id TYPE TEXT COLLATE "C";
ALTER TABLE alert_dispositions ALTER COLUMN id TYPE TEXT COLLATE "C";
ALTER TABLE alert_dispositions ALTER COLUMN alert_id TYPE TEXT COLLATE "C";
ALTER TABLE cases ALTER COLUMN id TYPE TEXT COLLATE "C";
ALTER TABLE case_tags ALTER COLUMN case_id TYPE TEXT COLLATE "C";
ALTER TABLE case_links ALTER COLUMN case_id TYPE TEXT COLLATE "C";
ALTER TABLE case_tasks ALTER COLUMN id TYPE TEXT COLLATE "C";
ALTER TABLE case_tasks ALTER COLUMN case_id TYPE TEXT COLLATE "C";
ALTER TABLE case_task_logs ALTER COLUMN id TYPE TEXT COLLATE "C";
ALTER TABLE case_task_logs ALTER COLUMN case_id TYPE TEXT COLLATE "C";
ALTER TABLE case_observables ALTER COLUMN id TYPE TEXT COLLATE "C";
ALTER TABLE case_observables ALTER COLUMN case_id TYPE TEXT COLLATE "C";
ALTER TABLE case_timeline ALTER COLUMN id TYPE TEXT COLLATE "C";
ALTER TABLE case_timeline ALTER COLUMN case_id TYPE TEXT COLLATE "C";
ALTER TABLE case_comments ALTER COLUMN id TYPE TEXT COLLATE "C";
ALTER TABLE case_comments ALTER COLUMN case_id TYPE TEXT COLLATE "C";
ALTER TABLE case_attachments ALTER COLUMN id TYPE TEXT COLLATE "C";
ALTER TABLE case_attachments ALTER COLUMN case_id TYPE TEXT COLLATE "C";
ALTER TABLE case_custody ALTER COLUMN id TYPE TEXT COLLATE "C";
ALTER TABLE case_custody ALTER COLUMN case_id TYPE TEXT COLLATE "C";
