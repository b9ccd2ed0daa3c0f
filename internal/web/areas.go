package web

import (
	"net/http"

	"github.com/vigil-health/vigil/internal/scope"
)

// area is one of the product's areas in the navigation and on the home page.
type area struct {
	Key, Label, Href string
	// Summary is one line for the home page card; Coming lists what the
	// area will hold, for its page until it arrives.
	Summary string
	Coming  []string
	// Ready is true once the area has real pages.
	Ready   bool
	handler func(http.ResponseWriter, *http.Request, scope.Scope)
}

// areas lists the product areas in navigation order. An area that arrives
// replaces its placeholder handler (Suppliers: supply_home.go).
func (w *Web) areas() []area {
	return []area{
		{Key: "monitoring", Label: "Monitoring", Href: "/monitoring",
			Summary: "Security events from your systems, collected, searchable, and watched for silent sources.",
			Coming: []string{
				"Collection of syslog, Windows and cloud audit events from your organisation's systems",
				"Search across events with a query language, with timelines and histograms",
				"Sender health: an alert when a source that should be sending goes silent",
			}, handler: w.placeholder("monitoring")},
		{Key: "incidents", Label: "Alerts & Incidents", Href: "/incidents",
			Summary: "Detections triaged into cases, and incidents coordinated across organisations.",
			Coming: []string{
				"An alerts inbox fed by Sigma detection rules and threat-intelligence matches",
				"Cases with tasks, observables, evidence and response clocks",
				"Regional and national incidents linking the cases of many organisations, with notifications",
			}, handler: w.placeholder("incidents")},
		{Key: "intelligence", Label: "Intelligence", Href: "/intelligence",
			Summary: "Threat indicators and reports shared across the NHS, matched against your events.",
			Coming: []string{
				"Indicators and reports exchanged over TAXII and MISP",
				"Matching of indicators against your organisation's events as they arrive",
				"National cyber alerts and the intelligence behind them",
			}, handler: w.placeholder("intelligence")},
		{Key: "vulnerabilities", Label: "Vulnerabilities", Href: "/vulnerabilities",
			Summary: "Advisories matched against the software you run, prioritised.",
			Coming: []string{
				"Software bills of materials (SBOMs) for the systems you run",
				"Advisories from OSV, NVD, CISA KEV, EPSS and suppliers' CSAF and VEX documents",
				"Findings prioritised by exploitation and exposure, and national cyber alerts",
			}, handler: w.placeholder("vulnerabilities")},
		{Key: "suppliers", Label: "Suppliers", Href: "/suppliers",
			Summary: "Who supplies what to whom, and what a supplier incident would reach.",
			Coming: []string{
				"The supplier register: suppliers, their products and where they are deployed",
				"The dependency graph between suppliers, products and organisations",
				"Blast radius of a supplier incident and concentration risk across the NHS",
			}, handler: w.suppliers, Ready: w.o.Supply != nil},
		{Key: "assurance", Label: "Assurance", Href: "/assurance",
			Summary: "Security frameworks, assessment campaigns, evidence and scores.",
			Coming: []string{
				"Frameworks such as the Data Security and Protection Toolkit and the Cyber Assessment Framework",
				"Assessment campaigns with statements and evidence from each organisation",
				"Review of submissions and scores that show which answers produced them",
			}, handler: w.placeholder("assurance")},
	}
}

func (w *Web) areaByKey(key string) area {
	for _, a := range w.areas() {
		if a.Key == key {
			return a
		}
	}
	panic("web: no area " + key)
}

type areaData struct{ Area area }

// placeholder is the honest page of an area that has not arrived yet.
func (w *Web) placeholder(key string) func(http.ResponseWriter, *http.Request, scope.Scope) {
	return func(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
		a := w.areaByKey(key)
		v := w.page(r, sc, a.Label, a.Key)
		v.D = areaData{a}
		w.render(rw, r, http.StatusOK, "area", v)
	}
}
