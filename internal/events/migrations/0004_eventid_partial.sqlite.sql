-- The EventID index holds only events whose fields have an EventID (a
-- partial index): SQLite evaluated json_extract, parsing every event's
-- fields, and inserted a NULL key for each syslog line and flow too —
-- 1 to 1.5 µs of the store's 10 µs an event, most events having no
-- EventID (docs/performance.md, "Syslog end to end"). instr() is a
-- substring test that needs no parsing; every JSON encoder Vigil's fields
-- pass through writes the key "EventID" unescaped, so an event with one
-- has the text. compile.go writes a condition on EventID with both the
-- index's WHERE and its expression (indexedFields), so that the planner
-- may use it. PostgreSQL keeps its full index (0002): its ->> reads
-- jsonb without parsing text.
DROP INDEX events_eventid;
CREATE INDEX events_eventid ON events (json_extract(fields, '$."EventID"'), event_ns)
	WHERE instr(fields, '"EventID"') > 0;
