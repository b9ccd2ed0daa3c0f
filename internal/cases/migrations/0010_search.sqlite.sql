-- Alert and case search by word beginnings (search.go): FTS5 indexes over
-- the search columns, as organisation search has (org 0004_search, ADR
-- 0005). External content, so the words are not stored twice; the
-- triggers keep each index in step with every write to its table, whoever
-- makes it (the service, the bulk writers, the generator, a test inserting
-- rows by hand): an alert's search text is written once, so a new alert
-- costs one FTS insert and a repeat (which changes no search text) none.
--
-- The search column now holds words as Go writes them (safetext.SearchWords:
-- letters and digits, lower case, accents removed, one space between), and
-- a page of a common word is read newest first testing each row's text
-- with LIKE (search.go), which needs those words. Rows written before this
-- step hold the lower-cased text with its punctuation: ASCII punctuation
-- and white space become one space here, before the indexes are built
-- from them. (SQLite has no regular expressions; a row with accents or
-- punctuation beyond ASCII keeps them, which the index splits and folds
-- like Go but the LIKE test does not — such an old row is found by a
-- common word only as it is spelt.) The replacements are nested in three
-- subqueries because SQLite's parser refuses one expression nested some
-- thirty deep.
--
-- Each index's rowid is its table's rowid: nothing in Vigil runs VACUUM,
-- which may renumber the rowids of a table without an INTEGER PRIMARY KEY
-- (run INSERT INTO alerts_fts (alerts_fts) VALUES ('rebuild'), and the
-- same for cases_fts, after one).
UPDATE alerts SET search = (SELECT trim(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(s, ']', ' '), '^', ' '), '_', ' '), '`', ' '), '{', ' '), '|', ' '), '}', ' '), '~', ' '), char(9), ' '), char(10), ' '), char(13), ' '), '  ', ' '), '  ', ' '), '  ', ' '), '  ', ' '), '  ', ' ')) FROM (SELECT replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(s, '-', ' '), '.', ' '), '/', ' '), ':', ' '), ';', ' '), '<', ' '), '=', ' '), '>', ' '), '?', ' '), '@', ' '), '[', ' '), '\', ' ') AS s FROM (SELECT replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(search, '!', ' '), '"', ' '), '#', ' '), '$', ' '), '%', ' '), '&', ' '), '''', ' '), '(', ' '), ')', ' '), '*', ' '), '+', ' '), ',', ' ') AS s)));
UPDATE cases SET search = (SELECT trim(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(s, ']', ' '), '^', ' '), '_', ' '), '`', ' '), '{', ' '), '|', ' '), '}', ' '), '~', ' '), char(9), ' '), char(10), ' '), char(13), ' '), '  ', ' '), '  ', ' '), '  ', ' '), '  ', ' '), '  ', ' ')) FROM (SELECT replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(s, '-', ' '), '.', ' '), '/', ' '), ':', ' '), ';', ' '), '<', ' '), '=', ' '), '>', ' '), '?', ' '), '@', ' '), '[', ' '), '\', ' ') AS s FROM (SELECT replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(search, '!', ' '), '"', ' '), '#', ' '), '$', ' '), '%', ' '), '&', ' '), '''', ' '), '(', ' '), ')', ' '), '*', ' '), '+', ' '), ',', ' ') AS s)));
CREATE VIRTUAL TABLE alerts_fts USING fts5(search, content = 'alerts', content_rowid = 'rowid', tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2');
CREATE TRIGGER alerts_fts_insert AFTER INSERT ON alerts BEGIN
	INSERT INTO alerts_fts (rowid, search) VALUES (new.rowid, new.search);
END;
CREATE TRIGGER alerts_fts_delete AFTER DELETE ON alerts BEGIN
	INSERT INTO alerts_fts (alerts_fts, rowid, search) VALUES ('delete', old.rowid, old.search);
END;
CREATE TRIGGER alerts_fts_update AFTER UPDATE OF search ON alerts BEGIN
	INSERT INTO alerts_fts (alerts_fts, rowid, search) VALUES ('delete', old.rowid, old.search);
	INSERT INTO alerts_fts (rowid, search) VALUES (new.rowid, new.search);
END;
INSERT INTO alerts_fts (alerts_fts) VALUES ('rebuild');
CREATE VIRTUAL TABLE cases_fts USING fts5(search, content = 'cases', content_rowid = 'rowid', tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2');
CREATE TRIGGER cases_fts_insert AFTER INSERT ON cases BEGIN
	INSERT INTO cases_fts (rowid, search) VALUES (new.rowid, new.search);
END;
CREATE TRIGGER cases_fts_delete AFTER DELETE ON cases BEGIN
	INSERT INTO cases_fts (cases_fts, rowid, search) VALUES ('delete', old.rowid, old.search);
END;
CREATE TRIGGER cases_fts_update AFTER UPDATE OF search ON cases BEGIN
	INSERT INTO cases_fts (cases_fts, rowid, search) VALUES ('delete', old.rowid, old.search);
	INSERT INTO cases_fts (rowid, search) VALUES (new.rowid, new.search);
END;
INSERT INTO cases_fts (cases_fts) VALUES ('rebuild');
