package ingest

import (
	"errors"

	"github.com/vigil-health/vigil/internal/flatjson"
)

// maxJSONDepth bounds nesting (flatjson.MaxDepth).
const maxJSONDepth = flatjson.MaxDepth

// FlattenJSON parses the JSON object s into m with nested object keys
// joined by dots ({"a":{"b":1}} gives "a.b"), as flatjson.Flatten does:
// numbers are float64 (an integer too large for float64 to hold exactly,
// such as a Windows Keywords mask, stays the decimal string so no digit
// is lost), booleans bool, null left out (a null field is absent, as
// Sigma treats it), an array of scalars a []any, containers inside an
// array flattened with the index as a path element ("a.0.b"). Errors are
// SyntaxErrors of format json, giving the byte offset.
func FlattenJSON(s string, m map[string]any) error {
	err := flatjson.Flatten(s, m)
	if se, ok := errors.AsType[*flatjson.SyntaxError](err); ok {
		return syntaxErr("json", se.Offset, se.Msg)
	}
	return err
}
