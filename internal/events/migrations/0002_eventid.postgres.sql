-- See the SQLite step: the same index on PostgreSQL, created on every
-- day partition by the partitioned parent.
CREATE INDEX events_eventid ON events ((fields ->> 'EventID'), event_ns);
