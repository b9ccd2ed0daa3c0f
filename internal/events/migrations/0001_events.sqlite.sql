-- The event store on SQLite (docs/adr/0007-event-store.md). One table, the
-- day being a range of the time index: dropping a day is a DELETE over
-- that range, whose pages SQLite reuses for the next days' events.
-- Times are Unix nanoseconds (integers compare and divide fast, and both
-- engines spell them alike). fields is the event's fields as JSON text;
-- raw is the raw text, zstd-compressed (codec.go); raw_text holds the raw
-- text plain only for events that could not be parsed, which have no
-- fields for free text to search. size is what the event costs, for
-- retention by size.
CREATE TABLE events (
	id TEXT NOT NULL PRIMARY KEY,
	org TEXT NOT NULL,
	event_ns INTEGER NOT NULL,
	received_ns INTEGER NOT NULL,
	host TEXT NOT NULL DEFAULT '',
	product TEXT NOT NULL DEFAULT '',
	service TEXT NOT NULL DEFAULT '',
	category TEXT NOT NULL DEFAULT '',
	protocol TEXT NOT NULL DEFAULT '',
	source_addr TEXT NOT NULL DEFAULT '',
	source_token TEXT NOT NULL DEFAULT '',
	source_format TEXT NOT NULL DEFAULT '',
	fields TEXT NOT NULL DEFAULT '{}',
	raw BLOB,
	raw_text TEXT,
	truncated INTEGER NOT NULL DEFAULT 0,
	parse_error TEXT NOT NULL DEFAULT '',
	size INTEGER NOT NULL DEFAULT 0
);
-- Newest first over everything in scope, and per organisation.
CREATE INDEX events_time ON events (event_ns);
CREATE INDEX events_org_time ON events (org, event_ns);

-- What each organisation holds per hour (hour = Unix hour number), kept
-- by Append from the rows it actually inserted: retention by size reads
-- it instead of summing the events, and a histogram of every event in
-- scope reads it instead of the events (a week is 168 rows a trust).
CREATE TABLE events_hours (
	org TEXT NOT NULL,
	hour BIGINT NOT NULL,
	events BIGINT NOT NULL,
	bytes BIGINT NOT NULL,
	PRIMARY KEY (org, hour)
);
