package supply

import (
	"testing"

	"github.com/vigil-health/vigil/internal/org"
)

// An ICB or region without its own population gets its open practices'
// registered patients; one with its own keeps it.
func TestGroupPopulationFromPractices(t *testing.T) {
	orgs := []org.Org{
		{Code: "ENG", Type: org.National, Path: "/ENG/"},
		{Code: "Y56", Type: org.Region, Parent: "ENG", Region: "Y56", Path: "/ENG/Y56/"},
		{Code: "QKK", Type: org.ICB, Parent: "Y56", Region: "Y56", ICB: "QKK", Path: "/ENG/Y56/QKK/"},
		{Code: "QWE", Type: org.ICB, Parent: "Y56", Region: "Y56", ICB: "QWE", Population: 5, Path: "/ENG/Y56/QWE/"},
		{Code: "G1", Type: org.GPPractice, Parent: "QKK", Region: "Y56", ICB: "QKK", Population: 1000, Path: "/ENG/Y56/QKK/G1/"},
		{Code: "G2", Type: org.GPPractice, Parent: "QKK", Region: "Y56", ICB: "QKK", Population: 2000, Path: "/ENG/Y56/QKK/G2/"},
		{Code: "G3", Type: org.GPPractice, Parent: "QKK", Region: "Y56", ICB: "QKK", Population: 4000, Status: org.Closed, Path: "/ENG/Y56/QKK/G3/"},
		{Code: "G4", Type: org.GPPractice, Parent: "QWE", Region: "Y56", ICB: "QWE", Population: 300, Path: "/ENG/Y56/QWE/G4/"},
	}
	g := buildGraph(orgs, &Register{})
	want := map[string]int64{"QKK": 3000, "QWE": 5, "Y56": 3300}
	for code, p := range want {
		if got := g.orgs[g.orgIdx[code]].pop; got != p {
			t.Errorf("%s population = %d, want %d", code, got, p)
		}
	}
}
