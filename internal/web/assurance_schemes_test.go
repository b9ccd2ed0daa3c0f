package web

import (
	"testing"
	"time"
)

// TestSchemePages records a supplier's health-scheme evidence through the
// supplier and product pages' forms as the supplier's representative, an
// assessor and the deploying trust, without a browser: each sees only the
// forms it may use, a refusal comes back as a message, a representative
// cannot reach another supplier's forms, the cross-links show with their
// reasons, and the expiring page lists the certificate.
func TestSchemePages(t *testing.T) {
	e := newSupplyEnv(t)
	rep := e.signIn("rep@synnovis.test")
	nat := e.signIn("nat@supply.test")
	gstt := e.signIn("gstt@supply.test")

	p := rep.get("/suppliers/s/SYNNOVIS")
	wantStatus(t, "rep's supplier", p, 200)
	mustContain(t, "rep's supplier", p.body, "Health-scheme evidence", "Record evidence as the supplier", `id="certificate-form"`, `id="charter-form"`, `id="principles-form"`, "not signed")
	checkNoInline(t, "rep's supplier", p.body)
	issued := time.Now().UTC().AddDate(-1, 0, 15).Format(time.DateOnly)
	p = rep.post("/suppliers/s/SYNNOVIS/evidence", map[string][]string{"kind": {"certificate"}, "scheme": {"cyber-essentials-plus"}, "number": {"WEB-CEP-1"}, "issued": {issued}})
	wantStatus(t, "rep's certificate", p, 303)
	p = rep.get(p.location())
	mustContain(t, "after the certificate", p.body, "Certificate recorded.", "WEB-CEP-1")
	p = rep.post("/suppliers/s/SYNNOVIS/evidence", map[string][]string{"kind": {"charter"}, "commitment": {"dspt", "mfa"}, "signed": {"2026-11-01"}, "signed_by": {"Sam Synnovis"}})
	wantStatus(t, "charter", p, 303)
	p = rep.post("/suppliers/s/SYNNOVIS/evidence", map[string][]string{"kind": {"principles"}, "assessed": {"2026-11-02"}, "p5": {"partly"}, "note5": {"not in contracts yet"}})
	wantStatus(t, "principles", p, 303)
	p = rep.post("/suppliers/s/SYNNOVIS/evidence", map[string][]string{"kind": {"certificate"}, "scheme": {"soc2"}, "number": {"X"}, "issued": {"2026-01-01"}})
	wantStatus(t, "bad scheme", p, 303)
	p = rep.get(p.location())
	mustContain(t, "bad scheme", p.body, "The evidence was not recorded", "soc2")
	// Another supplier's forms are not there for the representative.
	wantStatus(t, "rep at EMIS", rep.post("/suppliers/s/EMIS/evidence", map[string][]string{"kind": {"certificate"}, "scheme": {"cyber-essentials"}, "number": {"E"}, "issued": {"2026-01-01"}}), 404)
	// The trust sees the evidence, not the supplier's forms, and may not
	// sign for the supplier.
	p = gstt.get("/suppliers/s/SYNNOVIS")
	mustContain(t, "trust's view", p.body, "WEB-CEP-1", "signed 2026-11-01", "not in contracts yet", "Charter commitment 2 (dspt)", "Commitment 2 of the NHS Cyber Security Charter")
	mustNotContain(t, "trust's view", p.body, `id="certificate-form"`, `id="charter-form"`)
	p = gstt.post("/suppliers/s/SYNNOVIS/evidence", map[string][]string{"kind": {"charter"}, "commitment": {"all"}, "signed": {"2026-11-01"}, "signed_by": {"Tom"}})
	wantStatus(t, "trust signs", p, 403)

	// The product page: DTAC and DCB0129 by the assessor, DCB0160 by the trust.
	p = nat.get("/suppliers/p/SYN-LIMS")
	mustContain(t, "product", p.body, "DTAC and clinical safety", `id="dtac-form"`, `id="dcb0129-form"`, `id="dcb0160-form"`, "No DTAC or clinical safety record")
	checkNoInline(t, "product", p.body)
	p = nat.post("/suppliers/p/SYN-LIMS/evidence", map[string][]string{"kind": {"dtac"}, "version": {"2024.1"}, "assessed": {"2026-10-01"}, "c1": {"pass"}, "c2": {"pass"}, "c3": {"pass"}, "c4": {"fail"}, "d_score": {"80"}})
	wantStatus(t, "dtac", p, 303)
	p = nat.post("/suppliers/p/SYN-LIMS/evidence", map[string][]string{"kind": {"dcb0129"}, "version": {"2024.1"}, "safety_case_report": {"CSCR-9"}, "hazard_log": {"HL-9"}, "cso_name": {"Dr Ada"}, "issued": {"2026-09-01"}})
	wantStatus(t, "dcb0129", p, 303)
	p = gstt.get("/suppliers/p/SYN-LIMS")
	mustNotContain(t, "trust's product", p.body, `id="dtac-form"`)
	p = gstt.post("/suppliers/p/SYN-LIMS/evidence", map[string][]string{"kind": {"dcb0160"}, "org_ods": {"RJ1"}, "safety_case_report": {"RJ1-C"}, "hazard_log": {"RJ1-H"}, "cso_name": {"Sister S"}, "issued": {"2026-10-01"}})
	wantStatus(t, "dcb0160", p, 303)
	p = gstt.get(p.location())
	mustContain(t, "after DCB0160", p.body, "DCB0160 record saved.", "RJ1-H", "DTAC C1 of SYN-LIMS 2024.1", "DCB0129 of SYN-LIMS 2024.1: safety case report CSCR-9",
		"DCB0160 of RJ1 for SYN-LIMS", "Cyber Essentials Plus certificate WEB-CEP-1 is expiring")
	p = rep.get("/suppliers/p/SYN-LIMS")
	mustContain(t, "rep's product", p.body, `id="dtac-form"`, "CSCR-9")
	mustNotContain(t, "rep's product", p.body, "RJ1-H", `id="dcb0160-form"`)

	p = gstt.get("/assurance/expiring?within=60d")
	wantStatus(t, "expiring", p, 200)
	mustContain(t, "expiring", p.body, "Cyber Essentials Plus certificate WEB-CEP-1", "expiring", "SYNNOVIS")
	checkNoInline(t, "expiring", p.body)
	p = gstt.get("/assurance/expiring?within=soon")
	wantStatus(t, "expiring soon", p, 400)
	mustContain(t, "expiring soon", p.body, "60d")
}
