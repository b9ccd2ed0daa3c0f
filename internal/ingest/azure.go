package ingest

import (
	"bytes"
	"encoding/json"
)

// Azure Monitor's diagnostic settings send Entra ID's sign-in and audit
// logs (and every other Azure resource log) to an Event Hub as messages
// of the form {"records": [ {…}, {…} ]}, each element one log record in
// the diagnostic shape (time, category, operationName, resultType,
// properties{…}). A storage-account export writes the same records one
// per line. SplitAzureRecords lets the file import and POST
// /api/v1/events take either: a wrapper becomes its records.

// AzureMaxMessage is the largest records wrapper the file import reads
// as one line: an Event Hub message (Premium and Dedicated tiers) is at
// most 1 MiB.
const AzureMaxMessage = 1 << 20

// SplitAzureRecords returns the records of an Azure Monitor / Event Hub
// message, {"records":[…]} with that one key and an array of objects;
// ok is false for anything else, which is then one event as it is.
func SplitAzureRecords(line []byte) (records []json.RawMessage, ok bool) {
	t := bytes.TrimLeft(line, " \t\r\n\ufeff")
	// Cheap test first: every other JSON event pays only this.
	if len(t) < 12 || t[0] != '{' || !bytes.HasPrefix(bytes.TrimLeft(t[1:], " \t\r\n"), []byte(`"records"`)) {
		return nil, false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(t, &m) != nil || len(m) != 1 {
		return nil, false
	}
	if json.Unmarshal(m["records"], &records) != nil || len(records) == 0 {
		return nil, false
	}
	for _, r := range records {
		if r = bytes.TrimLeft(r, " \t\r\n"); len(r) == 0 || r[0] != '{' {
			return nil, false
		}
	}
	return records, true
}
