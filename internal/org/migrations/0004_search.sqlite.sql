-- Organisation search by words (search.go): an FTS5 index over the search
-- column, external content so the words are not stored twice. The
-- triggers keep it in step with every write to orgs, whoever makes it (the
-- service, the import, a test inserting rows by hand); the rebuild indexes
-- the rows of a database made before this step. The search column holds
-- words already (letters and digits, lower case, accents removed, one
-- space between), so the tokenizer only splits on the spaces; a row written
-- before this step still has punctuation, which unicode61 splits on too.
-- orgs_fts's rowid is orgs's rowid: nothing in Vigil runs VACUUM, which
-- may renumber the rowids of a table without an INTEGER PRIMARY KEY (run
-- INSERT INTO orgs_fts (orgs_fts) VALUES ('rebuild') after one).
CREATE VIRTUAL TABLE orgs_fts USING fts5(search, content = 'orgs', content_rowid = 'rowid', tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2');
CREATE TRIGGER orgs_fts_insert AFTER INSERT ON orgs BEGIN
	INSERT INTO orgs_fts (rowid, search) VALUES (new.rowid, new.search);
END;
CREATE TRIGGER orgs_fts_delete AFTER DELETE ON orgs BEGIN
	INSERT INTO orgs_fts (orgs_fts, rowid, search) VALUES ('delete', old.rowid, old.search);
END;
CREATE TRIGGER orgs_fts_update AFTER UPDATE OF search ON orgs BEGIN
	INSERT INTO orgs_fts (orgs_fts, rowid, search) VALUES ('delete', old.rowid, old.search);
	INSERT INTO orgs_fts (rowid, search) VALUES (new.rowid, new.search);
END;
INSERT INTO orgs_fts (orgs_fts) VALUES ('rebuild');
