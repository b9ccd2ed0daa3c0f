package stix

// For the external tests (package stix_test), which check what other
// packages make of STIX against the same schemas.
var (
	Schemas  = schemas
	Validate = validate
)
