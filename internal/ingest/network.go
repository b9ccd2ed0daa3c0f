package ingest

import "time"

// Zeek and Suricata write JSON; FlattenJSON reads both and these give the
// event its time. Which Sigma log source each log type is (Zeek's @stream
// or _path, Suricata's event_type) is data, in logsources.yaml.

// isZeek reports a Zeek JSON record: Zeek names its log in _path (or
// @stream, as the OTRF captures of Zeek through a shipper do) and times it
// in ts.
func isZeek(m map[string]any) bool {
	if p, ok := m["@proc"].(string); ok && p == "zeek" {
		return true
	}
	_, path := m["_path"]
	_, stream := m["@stream"]
	_, ts := m["ts"]
	return ts && (path || stream)
}

// isSuricata reports a Suricata EVE JSON record: every EVE record has
// timestamp and event_type.
func isSuricata(m map[string]any) bool {
	_, ts := m["timestamp"]
	et, ok := m["event_type"].(string)
	return ts && ok && et != ""
}

// zeekTime reads ts: epoch seconds (Zeek's default) or ISO 8601 (with
// LogAscii::json_timestamps set to JSON::TS_ISO8601).
func zeekTime(m map[string]any) (time.Time, bool) {
	if t, ok := epochTime(m["ts"]); ok {
		return t, true
	}
	if s, ok := m["ts"].(string); ok {
		return parseAnyTime(s)
	}
	return time.Time{}, false
}

// suricataTime reads timestamp, which Suricata writes with a zone offset
// without a colon ("2018-07-05T15:01:09.820360-0400").
func suricataTime(m map[string]any) (time.Time, bool) {
	if s, ok := m["timestamp"].(string); ok {
		return parseAnyTime(s)
	}
	return time.Time{}, false
}
