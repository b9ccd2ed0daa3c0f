package web

import (
	"net/http"

	"github.com/vigil-health/vigil/internal/scope"
)

// area is one of the product's areas in the navigation.
type area struct {
	Key, Label, Href string
	handler          func(http.ResponseWriter, *http.Request, scope.Scope)
	// shown, when set, says whether the area is in sc's navigation (the
	// page itself still answers: an empty inbox, not a 404).
	shown func(sc scope.Scope) bool
}

// areas lists the product's areas that have pages, in navigation order.
// An area still to come (monitoring, alerts and incidents, intelligence,
// vulnerabilities, assurance) has no entry: no navigation link, no card on
// the home page and no address — its address answers 404 like any other
// unknown one — until it arrives with real pages and adds itself here.
// An empty page promising what will come is no use to anyone at work.
func (w *Web) areas() []area {
	var out []area
	if w.o.Supply != nil {
		out = append(out, area{Key: "suppliers", Label: "Suppliers", Href: "/suppliers", handler: w.suppliers})
	}
	// A supplier representative reads no organisation's alerts or cases.
	readsOrgs := func(sc scope.Scope) bool { return sc.Can(scope.Read) && !isRepOnly(sc) }
	if w.o.Cases != nil {
		out = append(out, area{Key: "alerts", Label: "Alerts", Href: "/alerts", handler: w.alertsInbox, shown: readsOrgs},
			area{Key: "cases", Label: "Cases", Href: "/cases", handler: w.caseList, shown: readsOrgs})
	}
	if w.o.Events != nil {
		out = append(out, area{Key: "events", Label: "Events", Href: "/events", handler: w.eventsSearch, shown: readsOrgs},
			area{Key: "hunt", Label: "Hunt", Href: "/hunt", handler: w.huntPage, shown: readsOrgs})
	}
	if w.o.Rules != nil {
		out = append(out, area{Key: "rules", Label: "Rules", Href: "/rules", handler: w.rulesList, shown: readsOrgs})
	}
	if w.o.Coverage != nil {
		out = append(out, area{Key: "coverage", Label: "ATT&CK coverage", Href: "/coverage", handler: w.coveragePage, shown: readsOrgs})
	}
	if w.o.Ingest != nil {
		out = append(out, area{Key: "ingest", Label: "Ingest", Href: "/ingest", handler: w.ingestPage, shown: readsOrgs})
	}
	if w.o.Intel != nil {
		out = append(out, area{Key: "intel", Label: "Intelligence", Href: "/intel", handler: w.intelSearch, shown: readsOrgs})
	}
	if w.o.Assurance != nil {
		out = append(out, area{Key: "assurance", Label: "Assurance", Href: "/assurance", handler: w.assuranceSets})
	}
	if w.o.CyberAlerts != nil {
		out = append(out, area{Key: "cyber-alerts", Label: "Cyber alerts", Href: "/cyber-alerts", handler: w.cyberAlertsPage, shown: readsOrgs})
	}
	if w.o.KPIs != nil {
		out = append(out, area{Key: "kpis", Label: "Case KPIs", Href: "/cases/kpis", handler: w.kpis, shown: readsOrgs})
	}
	return out
}
