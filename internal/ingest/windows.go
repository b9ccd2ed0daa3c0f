package ingest

import (
	"strconv"
	"strings"
	"time"
)

// Windows events arrive in three shapes; each is flattened so that the
// names Sigma rules use (EventID, Channel, Computer, Provider_Name and the
// event data: CommandLine, Image, TargetFilename, User…) are top-level
// fields, EventID is a float64 whatever the shape sent, and the event's
// time and host are known.
//
//   - evtx-json: the EVTX XML tree as JSON ({"Event":{"System":{…},
//     "EventData":{…}}}), as evtx_dump, python-evtx and Windows Event
//     Forwarding converters print it.
//   - winlogbeat: Winlogbeat's documents (winlog.event_data.* since 7.0,
//     event_data.* with event_id and log_name in 6.x).
//   - windows-flat: one level of keys, the data fields beside Channel and
//     EventID: NXLog's im_msvistalog output and the OTRF exports.

// windowsEVTX rewrites a flattened nested EVTX document in place:
// Event.System.* become System names (Provider.#attributes.Name →
// Provider_Name, EventID.#text → EventID, Execution.#attributes.ProcessID
// → Execution_ProcessID: XML attributes and text drop out of the path and
// the rest is joined with '_', the convention Sigma's Windows pipelines
// use for Provider_Name), Event.EventData.<Name> and
// Event.UserData.<Element>.<Name> become <Name>, and the
// "Data":[{"@Name":…,"#text":…}] form that some converters print for
// <Data Name=…> becomes the same <Name> fields. When an event-data name
// equals a System name the data field keeps its EventData.<Name> path, so
// that neither is lost.
func windowsEVTX(m map[string]any) {
	dataPairs := false
	for k, v := range m {
		rest, ok := strings.CutPrefix(k, "Event.")
		if !ok {
			continue
		}
		var name string
		switch {
		case strings.HasPrefix(rest, "System."):
			name = systemName(rest[len("System."):])
		case strings.HasPrefix(rest, "EventData."):
			d := rest[len("EventData."):]
			if strings.HasPrefix(d, "Data.") && len(d) > 5 && isDigit(d[5]) {
				dataPairs = true
				continue // paired after this loop
			}
			if strings.HasPrefix(d, "#attributes.") {
				delete(m, k)
				continue
			}
			name = sigmaName(d)
			if _, clash := m[name]; clash || isSystemName(name) {
				name = "EventData." + d
			}
		case strings.HasPrefix(rest, "UserData."):
			d := rest[len("UserData."):]
			if j := strings.IndexByte(d, '.'); j >= 0 {
				d = d[j+1:]
			}
			name = sigmaName(stripXMLPath(d, "."))
			if _, clash := m[name]; clash || isSystemName(name) {
				name = "UserData." + name
			}
		default:
			name = stripXMLPath(rest, ".")
		}
		delete(m, k)
		if name == "" || strings.HasPrefix(name, "Event.") {
			continue
		}
		m[name] = v
	}
	if dataPairs {
		for n := 0; ; n++ {
			base := "Event.EventData.Data." + strconv.Itoa(n) + "."
			nameKey, textKey := base+"@Name", base+"#text"
			name, ok := m[nameKey].(string)
			if !ok {
				nameKey = base + "#attributes.Name"
				if name, ok = m[nameKey].(string); !ok {
					if _, more := m[textKey]; !more {
						break
					}
					name = "Data." + strconv.Itoa(n)
				}
			}
			v, ok := m[textKey]
			if !ok {
				v = ""
			}
			delete(m, nameKey)
			delete(m, textKey)
			if name != "" {
				m[sigmaName(name)] = v
			}
		}
	}
	if id, ok := number(m["EventID"]); ok {
		m["EventID"] = id
	}
}

// sigmaName is an event-data name as Sigma rules spell it: Sigma's rules
// specification ("Field Usage") strips the spaces of names such as
// Defender's "Threat Name" and "Source Name" (ThreatName, SourceName).
func sigmaName(n string) string {
	if strings.IndexByte(n, ' ') < 0 {
		return n
	}
	return strings.ReplaceAll(n, " ", "")
}

// systemName turns a System path into its field name.
func systemName(p string) string {
	return stripXMLPath(p, "_")
}

// stripXMLPath drops the "#attributes" and "#text" elements of a
// flattened XML path and joins the rest with sep.
func stripXMLPath(p, sep string) string {
	// Most System elements are plain text ("EventID", "Channel") or text
	// with attributes ("EventID.#text"): substrings, no allocation.
	if strings.IndexByte(p, '.') < 0 {
		return strings.TrimPrefix(p, "@")
	}
	if q, ok := strings.CutSuffix(p, ".#text"); ok && strings.IndexByte(q, '.') < 0 {
		return q
	}
	if !strings.Contains(p, "#") && sep == "." {
		return p
	}
	var b strings.Builder
	for part := range strings.SplitSeq(p, ".") {
		if part == "#attributes" || part == "#text" || part == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(sep)
		}
		b.WriteString(strings.TrimPrefix(part, "@"))
	}
	return b.String()
}

// isSystemName reports names the System element owns, which event data
// must not overwrite.
func isSystemName(n string) bool {
	switch n {
	case "EventID", "Channel", "Computer", "Provider_Name", "Level", "Task", "Opcode", "Keywords", "EventRecordID", "Version":
		return true
	}
	return false
}

// windowsWinlogbeat lifts Winlogbeat's fields: winlog.event_data.<Name>
// (7.0 and later), event_data.<Name> (6.x) and the user_data forms to
// <Name> beside their dotted paths, and the System values to Sigma's names
// (EventID from winlog.event_id or event_id, Channel from winlog.channel
// or log_name, Computer from winlog.computer_name or computer_name,
// Provider_Name from winlog.provider_name or source_name).
func windowsWinlogbeat(m map[string]any) {
	for k, v := range m {
		for _, p := range [...]string{"winlog.event_data.", "event_data.", "winlog.user_data.", "user_data."} {
			if name, ok := strings.CutPrefix(k, p); ok && name != "" {
				name = sigmaName(name)
				if _, exists := m[name]; !exists {
					m[name] = v
				}
				break
			}
		}
	}
	alias(m, "EventID", "winlog.event_id", "event_id", "event.code")
	alias(m, "Channel", "winlog.channel", "log_name")
	alias(m, "Computer", "winlog.computer_name", "computer_name", "host.name")
	alias(m, "Provider_Name", "winlog.provider_name", "source_name")
	alias(m, "EventRecordID", "winlog.record_id", "record_number")
	if id, ok := number(m["EventID"]); ok {
		m["EventID"] = id
	}
}

// windowsFlat completes a flat Windows event: Computer from Hostname (the
// OTRF and NXLog name), Channel from EventLog and Provider_Name from
// Source (Sentinel's Event table), Provider_Name from SourceName (NXLog),
// EventID a number; a data name with spaces also under its Sigma name
// (sigmaName).
func windowsFlat(m map[string]any) {
	alias(m, "Computer", "Hostname")
	alias(m, "Channel", "EventLog")
	alias(m, "Provider_Name", "SourceName", "ProviderName", "Source")
	// After the aliases, so Defender's "Source Name" is not taken for
	// NXLog's SourceName (the provider).
	for k, v := range m {
		if n := sigmaName(k); n != k {
			if _, exists := m[n]; !exists {
				m[n] = v
			}
		}
	}
	if id, ok := number(m["EventID"]); ok {
		m["EventID"] = id
	}
}

// alias sets m[to] from the first of from that is present, unless m[to]
// already is.
func alias(m map[string]any, to string, from ...string) {
	if _, ok := m[to]; ok {
		return
	}
	for _, f := range from {
		if v, ok := m[f]; ok {
			m[to] = v
			return
		}
	}
}

// number reads a float64 or a decimal string as a number.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	}
	return 0, false
}

// windowsTime finds a Windows event's time: the System TimeCreated (UTC
// whether or not it says so), then the flat shapes' TimeCreated, the
// shipper's @timestamp, Sentinel's TimeGenerated, NXLog's EventTime (the
// collecting host's local time with no zone, read in loc, the listener's
// configured zone) and last Sysmon's UtcTime.
func windowsTime(m map[string]any, loc *time.Location) (time.Time, bool) {
	for _, k := range [...]string{"TimeCreated_SystemTime", "TimeCreated", "@timestamp", "TimeGenerated", "EventTime", "UtcTime"} {
		s, ok := m[k].(string)
		if !ok {
			continue
		}
		if k == "EventTime" && loc != nil && loc != time.UTC {
			if t, err := time.ParseInLocation("2006-01-02 15:04:05", s, loc); err == nil {
				return t, true
			}
		}
		if t, ok := parseAnyTime(s); ok {
			return t, true
		}
	}
	return time.Time{}, false
}

// timeLayouts are the layouts parseAnyTime tries after RFC 3339: what
// python-evtx, NXLog, Sysmon, Suricata and Sentinel print.
var timeLayouts = [...]string{
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04:05.999999999-0700",
	"1/2/2006, 3:04:05.999 PM",
}

// parseAnyTime reads the timestamps found in JSON telemetry, in UTC when
// they name no zone.
func parseAnyTime(s string) (time.Time, bool) {
	if len(s) < 8 {
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// epochTime reads seconds since 1970 as float64 or as a decimal string
// (Zeek's ts, auditd's msg=audit(…)).
func epochTime(v any) (time.Time, bool) {
	f, ok := number(v)
	if !ok || f <= 0 || f > 1e11 {
		return time.Time{}, false
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC().Round(time.Microsecond), true
}
