package app

import "testing"

func TestContainsWordStart(t *testing.T) {
	for body, want := range map[string]bool{
		`{"id":"CS-01M973VM1P2MYQFJQ6NHC3RJZF"}`: false,
		`{"org":"RJZ"}`:                          true,
		`<td>RJZ01</td>`:                         true,
		`RJZ at the start`:                       true,
		`x3RJZ then "RJZ"`:                       true,
	} {
		if got := contains(body, "RJZ"); got != want {
			t.Errorf("contains(%q) = %v", body, got)
		}
	}
	// A string that starts with punctuation (a CSV cell) is found anywhere.
	if !contains("Leeds Trust,RJ1,2", ",RJ1,") {
		t.Error(`contains("Leeds Trust,RJ1,2", ",RJ1,") = false`)
	}
}
