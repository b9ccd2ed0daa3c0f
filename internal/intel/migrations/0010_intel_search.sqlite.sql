-- The search index of the intelligence pages (view.go: Search): the
-- words of every stored version's names, aliases, descriptions, pattern
-- values, labels and external ids (T1059.001, CVE-2021-44228), each with
-- the object it came from. weight 1 is a word of a name, alias, value,
-- id or external id; 2 one of a description only. A search finds the
-- ids whose words begin with every word asked for (a range over token),
-- then reads them through ReadCollection as before, so what it may
-- return is unchanged. Tokens are compared byte by byte (C collation
-- on PostgreSQL), so a prefix is a range. The key is the only index:
-- a query of several words intersects their ranges.
CREATE TABLE intel_search_tokens (
	token TEXT NOT NULL,
	id TEXT NOT NULL,
	type TEXT NOT NULL,
	weight INTEGER NOT NULL,
	PRIMARY KEY (token, id)
) WITHOUT ROWID;
-- 'indexed' once every object stored before this table existed has its
-- words in it (Store.ensureIndex fills it the first time it is needed).
CREATE TABLE intel_search_state (
	k TEXT PRIMARY KEY,
	v TEXT NOT NULL
);
INSERT INTO intel_search_state (k, v) SELECT 'indexed', 'empty store' WHERE NOT EXISTS (SELECT 1 FROM intel_objects);
