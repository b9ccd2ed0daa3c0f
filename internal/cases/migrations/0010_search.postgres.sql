-- Alert and case search by word beginnings (search.go): GIN indexes over
-- the words of the search columns, as organisation search has (org
-- 0004_search, ADR 0005). Rows written before this step hold the
-- lower-cased text with its punctuation; they are rewritten here as Go
-- writes them now (punctuation and white space to one space), so the
-- parser of the 'simple' configuration finds the same words Go makes of a
-- query — it would otherwise read "ws-r3i2t4-004", "203.0.113.66" or an
-- e-mail address as tokens of their own. (Go also removes accents: an old
-- row with accented text is found by its accented spelling.) The words
-- are kept as a stored tsvector, so that a page of a common word, which
-- the planner rightly reads newest first along the primary key, tests
-- each row without parsing its text again; PostgreSQL keeps the column
-- and the index in step itself.
UPDATE alerts SET search = btrim(regexp_replace(search, '[[:space:][:punct:]]+', ' ', 'g'));
ALTER TABLE alerts ADD COLUMN search_words tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, search)) STORED;
CREATE INDEX alerts_search_words ON alerts USING gin (search_words);
UPDATE cases SET search = btrim(regexp_replace(search, '[[:space:][:punct:]]+', ' ', 'g'));
ALTER TABLE cases ADD COLUMN search_words tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, search)) STORED;
CREATE INDEX cases_search_words ON cases USING gin (search_words);
