-- The block store (docs/adr/0012-event-blocks.md): events kept in
-- compressed blocks, each up to 8,192 events of one organisation and one
-- hour of event time, newest first, as the events stream's JSON lines
-- (zstd). min_ns and max_ns bound the block's event times; bytes is what
-- the block takes (counted in events_hours, which the block store keeps
-- as the SQL store does); bloom is a Bloom filter of its IDs and ids the
-- IDs themselves, sorted and zstd-compressed, for idempotence and Get.
-- plain is 1 when every number in the block's lines is written without
-- an exponent and with at most 15 significant digits, so that a number
-- a query names is spelt in the line as the query spells it (prefilter.go).
-- keys holds, event by event in the block's order, the event time and
-- the EventID (blockkeys.go), zstd-compressed: counts, histograms and
-- EventID searches read it instead of the events.
-- Unused (empty) unless serve runs with --events-store blocks.
CREATE TABLE event_blocks (
	block INTEGER PRIMARY KEY AUTOINCREMENT,
	org TEXT NOT NULL,
	hour BIGINT NOT NULL,
	min_ns BIGINT NOT NULL,
	max_ns BIGINT NOT NULL,
	events INTEGER NOT NULL,
	bytes BIGINT NOT NULL,
	plain INTEGER NOT NULL,
	bloom BLOB NOT NULL,
	ids BLOB NOT NULL,
	keys BLOB NOT NULL,
	data BLOB NOT NULL
);
-- Newest first over everything in scope, and an organisation's hour
-- (what an append reads to skip IDs already stored).
CREATE INDEX event_blocks_time ON event_blocks (max_ns);
CREATE INDEX event_blocks_org_hour ON event_blocks (org, hour, max_ns);
