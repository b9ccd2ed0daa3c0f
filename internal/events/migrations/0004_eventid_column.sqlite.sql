-- EventID becomes a column of its own, filled by Append from the fields
-- it already holds (eventIDOf, sqlstore.go), where the index of 0002 ran
-- json_extract over every event's fields at every insert: 1.2 µs an event
-- of serve's CPU at full ingest, for a key that only Windows events have
-- (docs/performance.md, "Serve's CPU per event"). The index is now
-- partial: syslog lines, flows and the rest (no EventID) cost it nothing.
-- The column has no declared type, so that it keeps what json_extract
-- gave (an integer, a real, text; 1 or 0 for true or false) and
-- `EventID=4688` still matches 4688 and "4688" alike (compile.go). Events stored before take their value
-- here, once: the instr test spares parsing the fields of those without.
ALTER TABLE events ADD COLUMN event_id;
UPDATE events SET event_id = json_extract(fields, '$."EventID"')
	WHERE instr(fields, 'EventID') > 0 AND json_type(fields, '$."EventID"') IN ('integer', 'real', 'text', 'true', 'false');
DROP INDEX events_eventid;
CREATE INDEX events_eventid ON events (event_id, event_ns) WHERE event_id IS NOT NULL;
