package supplygen

import (
	"bytes"
	"testing"
)

func TestDeterministicAndSized(t *testing.T) {
	c := Config{Seed: 7, SyntheticOrg: 500, Suppliers: 600, Products: 1500, Deployments: 9000, Dependencies: 3000}
	a, b := Generate(c).Bytes(), Generate(c).Bytes()
	for _, n := range FileNames {
		if !bytes.Equal(a[n], b[n]) {
			t.Errorf("%s differs between runs with the same seed", n)
		}
	}
	e := Generate(c)
	if n := len(e.Files["suppliers.csv"]) - 1; n != 600 {
		t.Errorf("suppliers = %d", n)
	}
	if n := len(e.Files["products.csv"]) - 1; n != 1500 {
		t.Errorf("products = %d", n)
	}
	if n := len(e.Files["dependencies.csv"]) - 1; n < 2700 || n > 3300 {
		t.Errorf("dependencies = %d", n)
	}
	if n := len(e.Files["deployments.csv"]) - 1; n < 7000 || n > 11000 {
		t.Errorf("deployments = %d", n)
	}
	if len(e.Orgs) != 500 {
		t.Errorf("orgs = %d", len(e.Orgs))
	}
}
