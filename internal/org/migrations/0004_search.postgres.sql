-- Organisation search by words (search.go): a GIN index over the words of
-- the search column. Rows written before this step hold the lower-cased
-- code and name with their punctuation; they are rewritten here as Go
-- writes them now (punctuation and spaces to one space), so the parser of
-- the 'simple' configuration finds the same words Go makes of a query.
-- (Go also removes accents: a row with an accented name written before
-- this step is found by its accented spelling until the next change to
-- it.) The words are kept as a stored tsvector, so that a search which
-- walks the rows in code order (a word most organisations have, where the
-- planner rightly prefers the primary key) tests each row without parsing
-- its text again; PostgreSQL keeps it and the index in step itself.
UPDATE orgs SET search = btrim(regexp_replace(lower(code || ' ' || name), '[[:space:][:punct:]]+', ' ', 'g'));
ALTER TABLE orgs ADD COLUMN search_words tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, search)) STORED;
CREATE INDEX orgs_search_words ON orgs USING gin (search_words);
