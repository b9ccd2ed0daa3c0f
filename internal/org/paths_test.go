package org_test

import (
	"fmt"
	"testing"
)

func TestPaths(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.tree(t)
		got, err := e.svc.Paths(t.Context(), []string{"RJ1", "SUP-X", "NOPE", "RJ1", "Y56", "bad\x00code", ""})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"RJ1": "/ENG/Y56/QKK/RJ1/", "SUP-X": "/ENG/SUP-X/", "Y56": "/ENG/Y56/"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("Paths = %v, want %v", got, want)
		}
		// More codes than one query takes, in chunks.
		var many []string
		for i := range 1200 {
			many = append(many, fmt.Sprintf("X%04d", i))
		}
		many = append(many, "QKK")
		got, err = e.svc.Paths(t.Context(), many)
		if err != nil || len(got) != 1 || got["QKK"] != "/ENG/Y56/QKK/" {
			t.Errorf("Paths of 1,201 codes = %v, %v", got, err)
		}
		if got, err := e.svc.Paths(t.Context(), nil); err != nil || len(got) != 0 {
			t.Errorf("Paths(nil) = %v, %v", got, err)
		}
	})
}
