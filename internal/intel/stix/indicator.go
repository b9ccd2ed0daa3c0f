package stix

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-health/vigil/internal/intel/pattern"
)

// IndicatorOptions describe an indicator Vigil creates.
type IndicatorOptions struct {
	Name, Description string
	// Pattern is a STIX pattern; it is checked before the indicator is made.
	Pattern               string
	ValidFrom, ValidUntil time.Time // ValidUntil optional
	Created               time.Time // required: the caller's clock
	Types                 []string  // indicator_types (indicator-type-ov)
	Confidence            int       // 0 leaves it out
	Markings              []string  // object_marking_refs
	CreatedBy             string    // identity id, optional
	Labels                []string
}

// NewIndicator builds a STIX 2.1 indicator with a new id.
func NewIndicator(o IndicatorOptions) (*Object, error) {
	if _, err := pattern.Parse(o.Pattern); err != nil {
		return nil, &Error{Property: "pattern", Msg: err.Error()}
	}
	if o.Created.IsZero() {
		return nil, errors.New("indicator: Created is required")
	}
	if o.ValidFrom.IsZero() {
		o.ValidFrom = o.Created
	}
	props := map[string]any{
		"type": "indicator", "spec_version": "2.1", "id": NewID("indicator"),
		"created": FormatTimestamp(o.Created), "modified": FormatTimestamp(o.Created),
		"pattern": o.Pattern, "pattern_type": "stix", "valid_from": FormatTimestamp(o.ValidFrom),
	}
	if !o.ValidUntil.IsZero() {
		if !o.ValidUntil.After(o.ValidFrom) {
			return nil, &Error{Property: "valid_until", Msg: "must be after valid_from"}
		}
		props["valid_until"] = FormatTimestamp(o.ValidUntil)
	}
	for k, v := range map[string]string{"name": o.Name, "description": o.Description, "created_by_ref": o.CreatedBy} {
		if v != "" {
			props[k] = v
		}
	}
	for k, v := range map[string][]string{"indicator_types": o.Types, "object_marking_refs": o.Markings, "labels": o.Labels} {
		if len(v) > 0 {
			props[k] = v
		}
	}
	if o.Confidence != 0 {
		props["confidence"] = o.Confidence
	}
	obj := &Object{Props: map[string]json.RawMessage{}}
	for k, v := range props {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		obj.Props[k] = b
	}
	if err := obj.read(); err != nil {
		return nil, err
	}
	return obj, nil
}
