package vuln

import (
	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// decodeJSON is json.Unmarshal for the large documents a scan reads on
// every run — CycloneDX and SPDX JSON SBOMs and OSV records — through
// the JSON v2 decoder (github.com/go-json-experiment/json, the
// encoding/json/v2 candidate). encoding/json checks the whole document
// once before decoding it and then steps byte by byte through every
// member it does not keep (a CycloneDX component's hashes, licences and
// properties are most of the file); the v2 decoder skips them in one
// pass, which made decoding juice-shop's SBOM (1.9 MB) 8 times as fast.
// The options keep encoding/json's meaning: names matched without
// regard to case, a name given twice accepted (the last wins), invalid
// UTF-8 replaced rather than refused; TestDecodeJSONAsV1 and
// FuzzDecodeJSONAsV1 hold it to that. Errors carry the byte offset
// positioned turns into a line and column.
func decodeJSON(b []byte, v any) error {
	return jsonv2.Unmarshal(b, v, v1Compatible)
}

var v1Compatible = jsonv2.JoinOptions(
	jsonv2.MatchCaseInsensitiveNames(true),
	jsontext.AllowDuplicateNames(true),
	jsontext.AllowInvalidUTF8(true),
)
