-- The event store on PostgreSQL (docs/adr/0007-event-store.md): declarative
-- partitioning by range of the UTC day (Unix day number), one partition
-- per day created by Append when a day first appears, so that retention
-- drops a day's partition (DROP TABLE, no row-by-row delete, no bloat)
-- and a search over a time range reads only its days' partitions.
-- The primary key must include the partition key; an event's day follows
-- from its event time, which ingest sets before the event enters the
-- stream, so a redelivered event lands in the same partition and its ID
-- conflicts there. id is COLLATE "C" so keyset paging compares bytes.
CREATE TABLE events (
	id TEXT COLLATE "C" NOT NULL,
	org TEXT NOT NULL,
	day INTEGER NOT NULL,
	event_ns BIGINT NOT NULL,
	received_ns BIGINT NOT NULL,
	host TEXT NOT NULL DEFAULT '',
	product TEXT NOT NULL DEFAULT '',
	service TEXT NOT NULL DEFAULT '',
	category TEXT NOT NULL DEFAULT '',
	protocol TEXT NOT NULL DEFAULT '',
	source_addr TEXT NOT NULL DEFAULT '',
	source_token TEXT NOT NULL DEFAULT '',
	source_format TEXT NOT NULL DEFAULT '',
	fields JSONB NOT NULL DEFAULT '{}',
	raw BYTEA,
	raw_text TEXT,
	truncated BOOLEAN NOT NULL DEFAULT FALSE,
	parse_error TEXT NOT NULL DEFAULT '',
	size INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (id, day)
) PARTITION BY RANGE (day);
CREATE INDEX events_time ON events (event_ns);
CREATE INDEX events_org_time ON events (org, event_ns);

-- Per organisation and hour: see the SQLite step.
CREATE TABLE events_hours (
	org TEXT NOT NULL,
	hour BIGINT NOT NULL,
	events BIGINT NOT NULL,
	bytes BIGINT NOT NULL,
	PRIMARY KEY (org, hour)
);
