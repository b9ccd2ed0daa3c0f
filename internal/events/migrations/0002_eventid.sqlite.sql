-- EventID is where Windows searches start (4688 process creation, 4624
-- sign-in, Sysmon 1 and 3): an index on its value and time lets
-- `EventID=4688` over a day read only the matching events instead of the
-- JSON of every event in the day (docs/performance.md). compile.go writes
-- the condition with this exact expression (indexedFields).
CREATE INDEX events_eventid ON events (json_extract(fields, '$."EventID"'), event_ns);
