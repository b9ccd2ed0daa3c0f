-- Organisation search by words (search.go): a GIN index over the words of
-- the search column. Rows written before this step hold the lower-cased
-- code and name with their punctuation; they are rewritten here as Go
-- writes them now (punctuation and spaces to one space), so the parser of
-- the 'simple' configuration finds the same words Go makes of a query.
-- (Go also removes accents: a row with an accented name written before
-- this step is found by its accented spelling until the next change to
-- it.) The index is kept in step by PostgreSQL itself.
UPDATE orgs SET search = btrim(regexp_replace(lower(code || ' ' || name), '[[:space:][:punct:]]+', ' ', 'g'));
CREATE INDEX orgs_search_words ON orgs USING gin (to_tsvector('simple'::regconfig, search));
