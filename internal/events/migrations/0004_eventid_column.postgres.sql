-- See the SQLite step: the same column and partial index. PostgreSQL
-- computes the column itself from the fields it has already parsed
-- (JSONB), with the expression the index of 0002 used, so conditions on
-- EventID mean what they meant; adding it rewrites each day partition
-- once.
ALTER TABLE events ADD COLUMN event_id TEXT GENERATED ALWAYS AS (fields ->> 'EventID') STORED;
DROP INDEX events_eventid;
CREATE INDEX events_eventid ON events (event_id, event_ns) WHERE event_id IS NOT NULL;
