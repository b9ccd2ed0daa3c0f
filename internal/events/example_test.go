package events_test

import (
	"errors"
	"fmt"

	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/fault"
)

// A query that cannot be read says where, as fault.Invalid for the
// query field (an API answers 400 with this text).
func ExampleParse_errors() {
	for _, q := range []string{`(EventID=1`, `bytes>lots`, `Image="C:\Windows`, `EventID in (1 2)`, `x AND OR y`} {
		_, err := events.Parse(q)
		var inv *fault.Invalid
		errors.As(err, &inv)
		fmt.Println(inv)
	}
	// Output:
	// query: at character 11: expected ')' to close the '(' at 1, found end of query
	// query: at character 7: > needs a number, not "lots"
	// query: at character 7: unterminated quoted string
	// query: at character 15: expected ',' or ')' in the list opened at 12, found '2'
	// query: at character 7: OR needs a condition before it
}
