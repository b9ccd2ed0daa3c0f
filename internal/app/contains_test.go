package app

import "testing"

func TestContainsWordStart(t *testing.T) {
	for body, want := range map[string]bool{
		`{"id":"CS-01M973VM1P2MYQFJQ6NHC3RJZF"}`:                      false,
		`action="/alerts/views/VW-RJZR43FH941HB62MC1FX5QPNF0/delete"`: false,
		`{"id":"VW-RJZ4R43FH941HB62MC1FX5QPNF"}`:                      false,
		`{"id":"VW-RJZ"}`:                                             true,
		`{"org":"RJZ"}`:                                               true,
		`<td>RJZ01</td>`:                                              true,
		`RJZ at the start`:                                            true,
		`x3RJZ then "RJZ"`:                                            true,
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
