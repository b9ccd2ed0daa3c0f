package audit

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// names is a reader who may see Alice, Carol and three organisations.
type names map[string]string

func (n names) UserName(id string) string  { return n["user:"+id] }
func (n names) OrgName(code string) string { return n["org:"+code] }

var reader = names{
	"user:u_alice": "Alice Smith", "user:u_carol": "Carol Jones",
	"org:RJ1": "Guy's and St Thomas' NHS Foundation Trust", "org:QKK": "NHS South East London ICB", "org:QWO": "NHS West Yorkshire ICB",
}

func raw(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	return json.RawMessage(s)
}

// alice is an entry by Alice, signed in on the web.
func alice(action, typ, id, org, before, after string) Entry {
	return Entry{ActorID: "u_alice", Actor: "alice@nhs.net", Via: "web", Action: action, ObjectType: typ, ObjectID: id, Org: org, Before: raw(before), After: raw(after)}
}

// TestDescribe holds every action Vigil records to a sentence, built from
// the documents each one writes (the shapes are those of auth.User,
// auth.Token, org.Org and the supply types).
func TestDescribe(t *testing.T) {
	const carolBefore = `{"id":"u_carol","email":"carol@nhs.net","name":"Carol Jones","org":"RJ1","disabled":false,"has_password":true,"oidc":false,"created_at":"2026-11-30T09:00:00Z","grants":[]}`
	cases := []struct {
		name string
		e    Entry
		n    Names
		want string
	}{
		{"sign in", alice("auth.signin", "user", "u_alice", "RJ1", "", ""), reader, "Alice Smith (alice@nhs.net) signed in"},
		{"events export", alice("events.export", "events", "csv", "RJ1", "", `{"query":"EventID=1","since":"2026-12-05T09:00:00Z","until":"","org":"RJ1","format":"csv","max":1000000}`), reader,
			"Alice Smith (alice@nhs.net) exported the events matching “EventID=1” of Guy's and St Thomas' NHS Foundation Trust (RJ1) since 2026-12-05 09:00 UTC as CSV"},
		{"ingest token", alice("ingest_token.create", "ingest_token", "i_1", "RJ1", "", `{"id":"i_1","org":"RJ1","name":"rsyslog on log01","expires_at":"2027-03-01T00:00:00Z"}`), reader,
			"Alice Smith (alice@nhs.net) created the ingest token “rsyslog on log01”, with which a sender posts the events of Guy's and St Thomas' NHS Foundation Trust (RJ1), expiring 2027-03-01"},
		{"ingest token revoked", alice("ingest_token.revoke", "ingest_token", "i_1", "RJ1", `{"id":"i_1","org":"RJ1","name":"rsyslog on log01"}`, `{"id":"i_1","org":"RJ1","name":"rsyslog on log01","revoked_at":"x"}`), reader,
			"Alice Smith (alice@nhs.net) revoked the ingest token “rsyslog on log01” of Guy's and St Thomas' NHS Foundation Trust (RJ1)"},
		{"sign out", alice("auth.signout", "user", "u_alice", "RJ1", "", ""), reader, "Alice Smith (alice@nhs.net) signed out"},
		{"wrong password", Entry{ActorID: "u_carol", Actor: "carol@nhs.net", Action: "auth.signin_failed", ObjectType: "user", ObjectID: "u_carol", Org: "RJ1"}, reader,
			"Carol Jones (carol@nhs.net) was refused: wrong password"},
		{"no such account", Entry{Actor: "nobody@nhs.net", Action: "auth.signin_failed", ObjectType: "user"}, reader,
			"nobody@nhs.net was refused: no account has this address"},
		{"single sign-on without a role", Entry{Actor: "dan@nhs.net", Action: "auth.signin_failed", ObjectType: "user", After: raw(`{"reason":"no role"}`)}, reader,
			"dan@nhs.net was refused single sign-on: the identity provider gave them no role in Vigil"},
		{"throttled", Entry{ActorID: "u_carol", Actor: "carol@nhs.net", Action: "auth.signin_throttled", ObjectType: "user", ObjectID: "u_carol",
			After: raw(`{"limit":"account-address","retry_after_seconds":118}`)}, reader,
			"Carol Jones (carol@nhs.net) was refused: too many sign-in attempts (on this account from this address; may try again in 2 minutes)"},
		{"csrf", alice("auth.csrf_refused", "request", "POST /admin/users", "RJ1", "", `{"request_id":"r1"}`), reader,
			"Alice Smith (alice@nhs.net) was refused POST /admin/users: the form's security token was missing or wrong (a page left open too long, or a request forged by another site)"},
		{"add a user", alice("user.create", "user", "u_carol", "RJ1", "", `{"id":"u_carol","email":"carol@nhs.net","name":"Carol Jones","org":"RJ1","grants":[{"role":"org-analyst","org":"RJ1"}]}`), reader,
			"Alice Smith (alice@nhs.net) added the user Carol Jones (carol@nhs.net) at Guy's and St Thomas' NHS Foundation Trust (RJ1) as org-analyst"},
		{"add a user with a role elsewhere", alice("user.create", "user", "u_carol", "RJ1", "", `{"id":"u_carol","email":"carol@nhs.net","name":"Carol Jones","org":"RJ1","grants":[{"role":"region-lead","org":"QKK"}]}`), reader,
			"Alice Smith (alice@nhs.net) added the user Carol Jones (carol@nhs.net) at Guy's and St Thomas' NHS Foundation Trust (RJ1) with region-lead on NHS South East London ICB (QKK)"},
		{"account made at single sign-on", Entry{ActorID: "system", Actor: "oidc", Action: "user.create", ObjectType: "user", ObjectID: "u_dan", Org: "RJ1",
			After: raw(`{"email":"dan@nhs.net","name":"Dan Brown","via":"oidc"}`)}, reader,
			"Single sign-on created the account of Dan Brown (dan@nhs.net) at their first single sign-on, at Guy's and St Thomas' NHS Foundation Trust (RJ1)"},
		{"grant", alice("user.grant", "user", "u_carol", "RJ1", `[]`, `[{"role":"org-analyst","org":"RJ1"}]`), reader,
			"Alice Smith (alice@nhs.net) granted org-analyst on Guy's and St Thomas' NHS Foundation Trust (RJ1) to Carol Jones"},
		{"grant to someone the reader cannot see", alice("user.grant", "user", "u_zed", "QKK", `[{"role":"org-analyst","org":"RJ1"}]`, `[{"role":"org-analyst","org":"RJ1"},{"role":"org-admin","org":"QKK"}]`), nil,
			"alice@nhs.net granted org-admin on QKK to user u_zed"},
		{"revoke", alice("user.revoke", "user", "u_carol", "RJ1", `[{"role":"org-analyst","org":"RJ1"},{"role":"org-admin","org":"RJ1"}]`, `[{"role":"org-analyst","org":"RJ1"}]`), reader,
			"Alice Smith (alice@nhs.net) took org-admin on Guy's and St Thomas' NHS Foundation Trust (RJ1) away from Carol Jones"},
		{"disable", alice("user.update", "user", "u_carol", "RJ1", carolBefore, strings.Replace(carolBefore, `"disabled":false`, `"disabled":true`, 1)), reader,
			"Alice Smith (alice@nhs.net) disabled Carol Jones (signed out everywhere)"},
		{"enable", alice("user.update", "user", "u_carol", "RJ1", strings.Replace(carolBefore, `"disabled":false`, `"disabled":true`, 1), carolBefore), reader,
			"Alice Smith (alice@nhs.net) enabled Carol Jones"},
		{"rename and reset", alice("user.update", "user", "u_carol", "RJ1", carolBefore,
			strings.Replace(strings.Replace(carolBefore, `"Carol Jones"`, `"Caroline Jones"`, 1), `"grants":[]`, `"grants":[],"password_changed":true`, 1)), nil,
			"alice@nhs.net renamed Carol Jones to “Caroline Jones” and reset the password of them (signed out everywhere, API tokens revoked)"},
		{"own password", Entry{ActorID: "u_carol", Actor: "carol@nhs.net", Action: "user.update", ObjectType: "user", ObjectID: "u_carol",
			Before: raw(carolBefore), After: raw(strings.Replace(carolBefore, `"grants":[]`, `"grants":[],"password_changed":true`, 1))}, reader,
			"Carol Jones (carol@nhs.net) changed their own password"},
		{"token for someone", alice("token.create", "token", "t_1", "RJ1", "", `{"id":"t_1","user_id":"u_carol","user":"carol@nhs.net","name":"SIEM export","created_at":"2026-12-01T10:00:00Z","expires_at":"2027-03-01T10:00:00Z"}`), reader,
			"Alice Smith (alice@nhs.net) created the API token “SIEM export” for Carol Jones, expiring 2027-03-01"},
		{"own token", alice("token.create", "token", "t_2", "RJ1", "", `{"id":"t_2","user_id":"u_alice","user":"alice@nhs.net","name":"laptop"}`), reader,
			"Alice Smith (alice@nhs.net) created their own API token “laptop”, never expiring"},
		{"revoke a token", alice("token.revoke", "token", "t_1", "RJ1", `{"id":"t_1","user_id":"u_carol","user":"carol@nhs.net","name":"SIEM export"}`,
			`{"id":"t_1","user_id":"u_carol","user":"carol@nhs.net","name":"SIEM export","revoked_at":"2026-12-02T10:00:00Z"}`), nil,
			"alice@nhs.net revoked the API token “SIEM export” of carol@nhs.net"},
		{"create an organisation", alice("org.create", "org", "RR8", "RR8", "", `{"ods":"RR8","name":"Leeds Teaching Hospitals NHS Trust","type":"trust","parent":"QWO","status":"active"}`), reader,
			"Alice Smith (alice@nhs.net) created the organisation Leeds Teaching Hospitals NHS Trust (RR8) under NHS West Yorkshire ICB (QWO)"},
		{"close an organisation", alice("org.update", "org", "RJ1", "RJ1", `{"ods":"RJ1","name":"Guy's","parent":"QKK","status":"active","postcode":"SE1 7EH"}`,
			`{"ods":"RJ1","name":"Guy's","parent":"QKK","status":"closed","postcode":"SE1 9RT"}`), reader,
			"Alice Smith (alice@nhs.net) closed Guy's and St Thomas' NHS Foundation Trust (RJ1); also: postcode SE1 7EH → SE1 9RT"},
		{"move an organisation", alice("org.update", "org", "RJ1", "RJ1", `{"ods":"RJ1","name":"Guy's","parent":"QKK","status":"active"}`,
			`{"ods":"RJ1","name":"Guy's","parent":"QWO","status":"active"}`), reader,
			"Alice Smith (alice@nhs.net) moved Guy's and St Thomas' NHS Foundation Trust (RJ1) from NHS South East London ICB (QKK) to NHS West Yorkshire ICB (QWO)"},
		{"import one organisation", Entry{ActorID: "cli:root", Actor: "cli:root", Via: "cli", Action: "org.import", ObjectType: "org", ObjectID: "RJ1", Org: "RJ1",
			After: raw(`{"ods":"RJ1","name":"GUY'S AND ST THOMAS' NHS FOUNDATION TRUST","parent":"QKK","status":"active"}`)}, nil,
			"The operator root (command line) imported GUY'S AND ST THOMAS' NHS FOUNDATION TRUST (RJ1) from the ODS lists"},
		{"import a run of organisations", Entry{ActorID: "cli:root", Actor: "cli:root", Via: "cli", Action: "org.import", ObjectType: "ods_import", ObjectID: "2026-12-01T10:00:00Z",
			After: raw(`{"created":9053,"updated":38,"closed":2034}`)}, nil,
			"The operator root (command line) imported the ODS organisation lists (2,034 closed, 9,053 created, 38 updated)"},
		{"an import that stopped", Entry{ActorID: "cli:root", Actor: "cli:root", Via: "cli", Action: "org.import.incomplete", ObjectType: "import", ObjectID: "2026-12-01T10:00:00Z",
			After: raw(`{"applied":2000,"planned":9125,"error":"disk full"}`)}, nil,
			"The operator root (command line) stopped importing the ODS organisation lists after 2,000 changes of 9,125 (the rest was not applied)"},
		{"export the register", Entry{ActorID: "cli:root", Actor: "cli:root", Via: "cli", Action: "export", ObjectType: "supply_register", ObjectID: "2026-12-01T10:00:00Z",
			After: raw(`{"contracts":0,"dependencies":6,"deployments":97,"products":10,"suppliers":11,"vulns":1}`)}, nil,
			"The operator root (command line) exported the supplier register (11 suppliers, 10 products, 6 dependencies, 97 deployments, 1 vulnerability, 0 contracts)"},
		{"download a blast radius", alice("export", "supply_impact", "vigil-impact-supplier-DEMO-PATH.csv", "RJ1", "", `{"query":"supplier=DEMO-PATH","format":"csv","rows":14}`), reader,
			"Alice Smith (alice@nhs.net) downloaded the blast radius of supplier DEMO-PATH as CSV (14 rows)"},
		{"download a picture", alice("export", "supply_picture", "vigil-map.png", "RJ1", "", `{"picture":"map","format":"png","query":"supplier=DEMO-PATH&level=icb&download=1"}`), reader,
			"Alice Smith (alice@nhs.net) downloaded the picture map of level icb, supplier DEMO-PATH as PNG"},
		{"another export", alice("export", "report", "r1", "RJ1", "", ""), reader,
			"Alice Smith (alice@nhs.net) exported report r1"},
		{"import the register", alice("supply.import", "import", "2026-12-01T10:00:00Z", "RJ1", "",
			`{"files":[{"file":"suppliers.csv"},{"file":"products.csv"}],"tables":[{"table":"suppliers","created":2,"updated":1,"unchanged":8},{"table":"products","created":0,"updated":0,"unchanged":10}]}`), reader,
			"Alice Smith (alice@nhs.net) imported the supplier register from 2 files: suppliers 2 created, 1 updated"},
		{"import changing nothing", alice("supply.import", "import", "x", "RJ1", "", `{"files":[],"tables":[{"table":"suppliers","unchanged":8}]}`), reader,
			"Alice Smith (alice@nhs.net) imported the supplier register (nothing changed)"},
		{"snapshot", Entry{ActorID: "system", Actor: "vigil", Action: "supply.snapshot", ObjectType: "concentration_snapshot", ObjectID: "2026-12-01T10:00:00Z", After: raw(`{"taken_at":"2026-12-01T10:00:00Z","rows":78}`)}, nil,
			"Vigil took a concentration snapshot (78 rows)"},
		{"add a supplier", alice("supply.supplier.put", "supplier", "DEMO-PATH", "", "", `{"supplier_id":"DEMO-PATH","name":"Demo Pathology Partnership LLP","country":"GB"}`), reader,
			"Alice Smith (alice@nhs.net) added the supplier Demo Pathology Partnership LLP (DEMO-PATH) to the register"},
		{"change a supplier", alice("supply.supplier.put", "supplier", "DEMO-PATH", "", `{"supplier_id":"DEMO-PATH","name":"Demo Pathology","country":"GB","updated_at":"a"}`,
			`{"supplier_id":"DEMO-PATH","name":"Demo Pathology","country":"IE","designated_critical":true,"updated_at":"b"}`), reader,
			"Alice Smith (alice@nhs.net) changed the supplier Demo Pathology (DEMO-PATH): country GB → IE, designated critical (none) → yes"},
		{"add a product", alice("supply.product.put", "product", "DEMO-LIMS", "", "", `{"product_id":"DEMO-LIMS","supplier_id":"DEMO-PATH","name":"Pathology LIMS","kind":"saas"}`), reader,
			"Alice Smith (alice@nhs.net) added the product Pathology LIMS (DEMO-LIMS) to the register"},
		{"remove a product", alice("supply.product.delete", "product", "DEMO-LIMS", "", `{"product_id":"DEMO-LIMS","name":"Pathology LIMS"}`, ""), reader,
			"Alice Smith (alice@nhs.net) removed the product Pathology LIMS (DEMO-LIMS) from the register"},
		{"add a dependency", alice("supply.dependency.put", "dependency", "DEMO-LIMS->DEMO-CLOUD-LDN", "", "", `{"product_id":"DEMO-LIMS","depends_on_product_id":"DEMO-CLOUD-LDN","kind":"hosting","critical":true}`), reader,
			"Alice Smith (alice@nhs.net) recorded that product DEMO-LIMS depends on DEMO-CLOUD-LDN (hosting, critical)"},
		{"remove a dependency", alice("supply.dependency.delete", "dependency", "DEMO-LIMS->DEMO-CLOUD-LDN", "", `{"product_id":"DEMO-LIMS","depends_on_product_id":"DEMO-CLOUD-LDN","kind":"hosting","critical":true}`, ""), reader,
			"Alice Smith (alice@nhs.net) removed the dependency of product DEMO-LIMS on DEMO-CLOUD-LDN"},
		{"record a CVE", alice("supply.vuln.put", "product_vuln", "DEMO-SENTINEL-AGENT/CVE-2099-4242", "", "", `{"product_id":"DEMO-SENTINEL-AGENT","cve":"CVE-2099-4242","component":"agent"}`), reader,
			"Alice Smith (alice@nhs.net) recorded CVE-2099-4242 in product DEMO-SENTINEL-AGENT (component agent)"},
		{"remove a CVE", alice("supply.vuln.delete", "product_vuln", "DEMO-SENTINEL-AGENT/CVE-2099-4242", "", "", ""), reader,
			"Alice Smith (alice@nhs.net) removed CVE-2099-4242 from product DEMO-SENTINEL-AGENT"},
		{"record a deployment", alice("supply.deployment.put", "deployment", "RJ1/DEMO-LIMS/pathology", "RJ1", "", `{"org_ods":"RJ1","product_id":"DEMO-LIMS","service":"pathology","criticality":"critical","has_fallback":false}`), reader,
			"Alice Smith (alice@nhs.net) recorded the use of product DEMO-LIMS by Guy's and St Thomas' NHS Foundation Trust (RJ1) for pathology (critical, no fallback)"},
		{"change a deployment", alice("supply.deployment.put", "deployment", "RJ1/DEMO-LIMS/pathology", "RJ1", `{"org_ods":"RJ1","product_id":"DEMO-LIMS","service":"pathology","criticality":"high","has_fallback":false}`,
			`{"org_ods":"RJ1","product_id":"DEMO-LIMS","service":"pathology","criticality":"critical","has_fallback":true}`), nil,
			"alice@nhs.net changed the use of product DEMO-LIMS by RJ1 for pathology: criticality high → critical, has fallback no → yes"},
		{"remove a deployment", alice("supply.deployment.delete", "deployment", "RJ1/DEMO-LIMS/pathology", "RJ1", `{"org_ods":"RJ1","product_id":"DEMO-LIMS","service":"pathology"}`, ""), reader,
			"Alice Smith (alice@nhs.net) removed the use of product DEMO-LIMS by Guy's and St Thomas' NHS Foundation Trust (RJ1) for pathology"},
		{"record a contract", alice("supply.contract.put", "contract", "C-1", "RJ1", "", `{"contract_id":"C-1","org_ods":"RJ1","supplier_id":"DEMO-PATH","value_gbp":1000}`), reader,
			"Alice Smith (alice@nhs.net) added the contract C-1 of Guy's and St Thomas' NHS Foundation Trust (RJ1) with supplier DEMO-PATH to the register"},
		{"import boundaries", Entry{ActorID: "cli:root", Actor: "cli:root", Action: "geo.import", ObjectType: "geo_boundaries", ObjectID: "icb_apr2023_en_bsc.geojson",
			After: raw(`{"source":"icb_apr2023_en_bsc.geojson","levels":{"icb":42},"created":42,"updated":0,"points_in":23809,"points_kept":11234}`)}, nil,
			"The operator root (command line) imported map boundaries from icb_apr2023_en_bsc.geojson (42 ICBs: 42 created, 0 updated)"},
		{"an alert reported", alice("alert.create", "alert", "AL-1", "RJ1", "", `{"source":"demo-edr","severity":"critical","title":"Ransomware behaviour blocked"}`), reader,
			"Alice Smith (alice@nhs.net) reported critical alert AL-1 from demo-edr: Ransomware behaviour blocked"},
		{"an alert repeated", alice("alert.repeat", "alert", "AL-1", "RJ1", "", `{"occurrences":3}`), reader,
			"Alice Smith (alice@nhs.net) reported alert AL-1 again (3 times)"},
		{"alerts generated", Entry{ActorID: "cli:root", Actor: "cli:root", Via: "cli", Action: "alert.generate", ObjectType: "alert", After: raw(`{"count":1000000,"orgs":120,"seed":1}`)}, nil,
			"The operator root (command line) generated 1,000,000 synthetic alerts across 120 organisations for testing"},
		{"an alert triaged", alice("alert.triage.close", "alert", "AL-1", "RJ1", `{"status":"new"}`, `{"status":"closed","disposition":"false-positive","assignee":""}`), reader,
			"Alice Smith (alice@nhs.net) triaged alert AL-1 (close): now closed, false-positive"},
		{"an alert joins a case", alice("alert.add-to-case", "alert", "AL-1", "RJ1", `{"status":"new","case_id":""}`, `{"status":"in-case","case_id":"CS-9"}`), reader,
			"Alice Smith (alice@nhs.net) added alert AL-1 to case CS-9"},
		{"a case opened", alice("case.create", "case", "CS-9", "RJ1", "", `{"title":"Ransomware on ward PCs","status":"new"}`), reader,
			"Alice Smith (alice@nhs.net) opened case CS-9 (Ransomware on ward PCs)"},
		{"a case changed", alice("case.update", "case", "CS-9", "RJ1", `{"title":"Ransomware","severity":"high"}`, `{"title":"Ransomware","severity":"critical"}`), reader,
			"Alice Smith (alice@nhs.net) changed case CS-9 (Ransomware) (severity high → critical)"},
		{"a case closed", alice("case.status", "case", "CS-9", "RJ1", `{"title":"Ransomware","status":"in-progress"}`, `{"title":"Ransomware","status":"closed","resolution":"true-positive","impact":"significant"}`), reader,
			"Alice Smith (alice@nhs.net) moved case CS-9 (Ransomware) from in-progress to closed (true-positive, impact significant)"},
		{"cases merged", alice("case.merge", "case", "CS-9", "RJ1", "", `{"merged":"CS-10"}`), reader,
			"Alice Smith (alice@nhs.net) merged case CS-10 into case CS-9"},
		{"cases linked", alice("case.link", "case", "CS-9", "RJ1", "", `{"linked":"CS-11"}`), reader,
			"Alice Smith (alice@nhs.net) linked case CS-9 with case CS-11"},
		{"a case split", alice("case.split", "case", "CS-9", "RJ1", "", `{"new_case":"CS-12"}`), reader,
			"Alice Smith (alice@nhs.net) split case CS-12 off case CS-9"},
		{"notification settings", alice("notify.settings", "user", "u_alice", "RJ1", "", `{"email":["case.assigned","clock.breached"],"webhook":["case.escalated"],"webhook_url":"https://hooks.rj1.example/vigil","new_secret":true}`), reader,
			"Alice Smith (alice@nhs.net) changed their notification settings: e-mail for case.assigned, clock.breached, webhook https://hooks.rj1.example/vigil for case.escalated (new webhook secret)"},
		{"a PDF report", alice("case.report", "case", "CS-9", "RJ1", "", `{"kind":"case","format":"pdf"}`), reader,
			"Alice Smith (alice@nhs.net) exported a report of case CS-9 as PDF"},
		{"a regulatory pack", alice("case.report", "case", "CS-9", "RJ1", "", `{"kind":"regulatory","format":"md"}`), reader,
			"Alice Smith (alice@nhs.net) exported the regulatory report pack (NIS, ICO) of case CS-9 as Markdown"},
		{"a comment", alice("case.comment", "case", "CS-9", "RJ1", "", `{"comment":"CM-1","mentions":[]}`), reader,
			"Alice Smith (alice@nhs.net) commented on case CS-9"},
		{"an observable", alice("case.observable.add", "case", "CS-9", "RJ1", "", `{"type":"ip","value":"203.0.113.9"}`), reader,
			"Alice Smith (alice@nhs.net) added the observable ip 203.0.113.9 to case CS-9"},
		{"a timeline entry", alice("case.timeline.add", "case", "CS-9", "RJ1", "", `{"id":"TL-1"}`), reader,
			"Alice Smith (alice@nhs.net) added a timeline entry to case CS-9"},
		{"a task added", alice("case.task.create", "task", "TK-1", "RJ1", "", `{"title":"Isolate affected hosts","status":"open"}`), reader,
			"Alice Smith (alice@nhs.net) added task TK-1 (Isolate affected hosts)"},
		{"a task done", alice("case.task.update", "task", "TK-1", "RJ1", `{"status":"open"}`, `{"title":"Isolate affected hosts","status":"done"}`), reader,
			"Alice Smith (alice@nhs.net) updated task TK-1 (Isolate affected hosts), now done"},
		{"work logged", alice("case.task.log", "task", "TK-1", "RJ1", "", `{"log":"LG-1"}`), reader,
			"Alice Smith (alice@nhs.net) logged work on task TK-1"},
		{"evidence uploaded", alice("case.attachment.upload", "attachment", "AT-1", "RJ1", "", `{"case":"CS-9","name":"ransom-note.txt","size":2048}`), reader,
			"Alice Smith (alice@nhs.net) uploaded the evidence file ransom-note.txt (2,048 bytes) of case CS-9"},
		{"an incident opened", Entry{ActorID: "u_nadia", Actor: "nadia@nhs.net", Via: "web", Action: "incident.open", ObjectType: "case", ObjectID: "CS-1", Org: "ENG",
			After: raw(`{"title":"Pathology ransomware","supplier":"DEMO-PATH","product":"","organisations":12,"hard_down":3,"degraded":4,"exposed":5}`)}, nil,
			"nadia@nhs.net opened national incident CS-1 (Pathology ransomware) over the compromise of supplier DEMO-PATH, with a case for each of 12 affected organisations"},
		{"an incident refreshed", Entry{ActorID: "system", Actor: "incidents", Via: "cli", Action: "incident.refresh", ObjectType: "case", ObjectID: "CS-1", Org: "ENG",
			After: raw(`{"generation":7,"added":1,"changed":0,"dropped":2,"returned":0}`)}, nil,
			"Vigil (incidents) refreshed national incident CS-1 from the supplier register: 1 new case opened, 0 changed, 2 no longer affected, 0 affected again"},
		{"an incident acknowledged", alice("incident.ack", "case", "CS-2", "RJ1", `{"status":""}`, `{"incident":"CS-1","status":"fallback-in-use","note":"paper"}`), reader,
			"Alice Smith (alice@nhs.net) acknowledged national incident CS-1 on case CS-2, reporting fallback in use"},
		{"an incident update shared", Entry{ActorID: "u_nadia", Actor: "nadia@nhs.net", Via: "web", Action: "incident.update", ObjectType: "case", ObjectID: "CS-1", Org: "ENG",
			After: raw(`{"title":"Cut the VPN","children":12}`)}, nil,
			"nadia@nhs.net shared the update \"Cut the VPN\" of national incident CS-1 with 12 affected organisations"},
		{"a clock breached", Entry{ActorID: "system", Actor: "clocks", Via: "cli", Action: "case.clock.breach", ObjectType: "case", ObjectID: "CS-9", Org: "RJ1",
			After: raw(`{"clock":"respond","label":"Respond","due":"2026-11-02T10:00:00Z","escalate_to":"Y56,ENG"}`)}, nil,
			"Vigil (clocks) recorded that the respond clock of case CS-9 was breached (due 2026-11-02T10:00:00Z) and escalated it to Y56 and ENG"},
		{"a regulatory clock started", alice("case.clock.start", "case", "CS-9", "RJ1", "", `{"clock":"ico","started":"2026-11-02T00:00:00Z","due":"2026-11-05T00:00:00Z","source":"field aware_on"}`), reader,
			"Alice Smith (alice@nhs.net) started the ICO breach report clock of case CS-9, due 2026-11-05T00:00:00Z"},
		{"a report made", alice("case.clock.reported", "case", "CS-9", "RJ1", `{"clock":"nis","state":"running"}`, `{"clock":"nis","at":"2026-11-03T00:00:00Z","note":""}`), reader,
			"Alice Smith (alice@nhs.net) recorded the report for the NIS incident report clock of case CS-9 as made"},
		{"a clock cancelled", alice("case.clock.cancel", "case", "CS-9", "RJ1", `{"clock":"ico","state":"running"}`, `{"clock":"ico","note":"no personal data involved"}`), reader,
			"Alice Smith (alice@nhs.net) cancelled the ICO breach report clock of case CS-9: no personal data involved"},
		{"an inbox view saved", alice("alert.view.save", "view", "VW-1", "", "", `{"name":"Critical, unassigned","query":"severity=critical"}`), reader,
			"Alice Smith (alice@nhs.net) saved the inbox view “Critical, unassigned”"},
		{"an inbox view deleted", alice("alert.view.delete", "view", "VW-1", "", `{"name":"Critical, unassigned"}`, ""), reader,
			"Alice Smith (alice@nhs.net) deleted their saved inbox view “Critical, unassigned”"},
		{"an event search saved", alice("event.search.save", "event_search", "ES-1", "", "", `{"name":"Failed sign-ins","query":"q=EventID%3D4625&since=7d"}`), reader,
			"Alice Smith (alice@nhs.net) saved the event search “Failed sign-ins”"},
		{"an event search deleted", alice("event.search.delete", "event_search", "ES-1", "", `{"name":"Failed sign-ins"}`, ""), reader,
			"Alice Smith (alice@nhs.net) deleted their saved event search “Failed sign-ins”"},
		{"rules imported", alice("rule.import", "rule_pack", "sigmahq", "", "", `{"files":3141,"added":["a","b"],"updated":["c"],"unchanged":3138,"failed":0,"note":"r2026-12"}`), reader,
			"Alice Smith (alice@nhs.net) imported the detection rule pack “sigmahq”: 3,141 files read, 2 new, 1 changed (“r2026-12”)"},
		{"a rule saved", alice("rule.save", "rule", "R-1", "", `{"version":1}`, `{"version":2,"sha256":"ab","note":"tighter"}`), reader,
			"Alice Smith (alice@nhs.net) saved version 2 of the detection rule R-1 (“tighter”)"},
		{"a rule disabled for a trust", alice("rule.enable", "rule", "R-1", "RJ1", `{"enabled":"on"}`, `{"enabled":"off"}`), reader,
			"Alice Smith (alice@nhs.net) disabled the detection rule R-1 for Guy's and St Thomas' NHS Foundation Trust (RJ1)"},
		{"a rule's level everywhere", alice("rule.level", "rule", "R-1", "", `{"level":""}`, `{"level":"critical"}`), reader,
			"Alice Smith (alice@nhs.net) set the level of the detection rule R-1 to critical for every organisation"},
		{"a trust's settings reset", alice("rule.reset", "rule", "R-1", "RJ1", `{"enabled":"off","level":""}`, `{"enabled":"inherit","level":""}`), reader,
			"Alice Smith (alice@nhs.net) reset the settings of the detection rule R-1 for Guy's and St Thomas' NHS Foundation Trust (RJ1) (it follows the global ones again)"},
		{"an exception added", alice("rule.except", "rule", "R-1", "RJ1", "", `{"exception":"EX-1","owner":"a@b","reason":"backup job","expires_at":"2027-01-05T00:00:00Z"}`), reader,
			"Alice Smith (alice@nhs.net) added the exception EX-1 to the detection rule R-1 for Guy's and St Thomas' NHS Foundation Trust (RJ1) until 2027-01-05, because “backup job”"},
		{"an exception removed", alice("rule.unexcept", "rule", "R-1", "", `{"exception":"EX-1"}`, ""), reader,
			"Alice Smith (alice@nhs.net) removed the exception EX-1 from the detection rule R-1 for every organisation"},
		{"a cyber alert issued", Entry{ActorID: "u_nadia", Actor: "nadia@nhs.net", Via: "web", Action: "cyberalert.issue", ObjectType: "cyber_alert", ObjectID: "CA-1", Org: "ENG",
			After: raw(`{"title":"Agent RCE","severity":"critical","organisations":2}`)}, nil,
			"nadia@nhs.net issued national cyber alert CA-1 “Agent RCE” (critical) to 2 organisations"},
		{"an organisation in scope", Entry{ActorID: "u_nadia", Actor: "nadia@nhs.net", Via: "web", Action: "cyberalert.scope", ObjectType: "cyber_alert", ObjectID: "CA-1", Org: "RJ1",
			After: raw(`{"path":"RJ1 deploys EPR"}`)}, reader,
			"nadia@nhs.net put Guy's and St Thomas' NHS Foundation Trust (RJ1) in the scope of national cyber alert CA-1: RJ1 deploys EPR"},
		{"a cyber alert acknowledged", alice("cyberalert.acknowledge", "cyber_alert", "CA-1", "RJ1", "", `{"action":"acknowledge"}`), reader,
			"Alice Smith (alice@nhs.net) acknowledged national cyber alert CA-1 for Guy's and St Thomas' NHS Foundation Trust (RJ1)"},
		{"applicability given", alice("cyberalert.applicability", "cyber_alert", "CA-1", "RJ1", "", `{"action":"applicability","applicability":"not-affected","text":"no agent"}`), reader,
			"Alice Smith (alice@nhs.net) said national cyber alert CA-1 is not affected for Guy's and St Thomas' NHS Foundation Trust (RJ1): “no agent”"},
		{"an update given", alice("cyberalert.update", "cyber_alert", "CA-1", "RJ1", "", `{"action":"update","text":"half patched"}`), reader,
			"Alice Smith (alice@nhs.net) gave a remediation update on national cyber alert CA-1 for Guy's and St Thomas' NHS Foundation Trust (RJ1): “half patched”"},
		{"a cyber alert closed", alice("cyberalert.close", "cyber_alert", "CA-1", "RJ1", "", `{"action":"close","text":"all patched"}`), reader,
			"Alice Smith (alice@nhs.net) closed national cyber alert CA-1 for Guy's and St Thomas' NHS Foundation Trust (RJ1) with the evidence “all patched”"},
		{"a reminder", Entry{ActorID: "system", Actor: "cyberalert-clocks", Via: "cli", Action: "cyberalert.remind", ObjectType: "cyber_alert", ObjectID: "CA-1", Org: "RJ1",
			After: raw(`{"clock":"ack"}`)}, reader,
			"Vigil (cyberalert-clocks) reminded Guy's and St Thomas' NHS Foundation Trust (RJ1) of national cyber alert CA-1 (the ack clock)"},
		{"an escalation", Entry{ActorID: "system", Actor: "cyberalert-clocks", Via: "cli", Action: "cyberalert.escalate", ObjectType: "cyber_alert", ObjectID: "CA-1", Org: "RJ1",
			After: raw(`{"clock":"ack"}`)}, reader,
			"Vigil (cyberalert-clocks) escalated national cyber alert CA-1 to the region: Guy's and St Thomas' NHS Foundation Trust (RJ1) missed the ack clock"},
		{"a product SBOM stored", alice("vuln.sbom.add", "sbom", "SB-1", "", "", `{"kind":"product","product":"FLUX","version":"0.26.3","name":"flux.spdx.json","format":"SPDX JSON","components":212}`), reader,
			"Alice Smith (alice@nhs.net) stored the SBOM SB-1 of product FLUX version 0.26.3 (“flux.spdx.json”, SPDX JSON, 212 components)"},
		{"a product SBOM removed", alice("vuln.sbom.delete", "sbom", "SB-1", "", `{"kind":"product","product":"FLUX","version":"0.26.3","name":"flux.spdx.json"}`, ""), reader,
			"Alice Smith (alice@nhs.net) removed the SBOM SB-1 of product FLUX version 0.26.3 (“flux.spdx.json”) and its findings"},
		{"an inventory stored", alice("vuln.inventory.add", "sbom", "SB-2", "RJ1", "", `{"kind":"inventory","org":"RJ1","name":"GitOps","format":"CycloneDX JSON","components":1,"criticality":"high","exposure":"internet"}`), reader,
			"Alice Smith (alice@nhs.net) stored the inventory SB-2 “GitOps” of Guy's and St Thomas' NHS Foundation Trust (RJ1) (CycloneDX JSON, 1 component, criticality high, exposure internet)"},
		{"an inventory removed", alice("vuln.inventory.delete", "sbom", "SB-2", "RJ1", `{"kind":"inventory","org":"RJ1","name":"GitOps"}`, ""), reader,
			"Alice Smith (alice@nhs.net) removed the inventory SB-2 “GitOps” of Guy's and St Thomas' NHS Foundation Trust (RJ1) and its findings"},
		{"a match", alice("vuln.match", "osv", "osv", "ENG", "", `{"mode":"incremental","advisories":462,"changed":1,"sboms":2,"rewritten":1,"findings":215}`), reader,
			"Alice Smith (alice@nhs.net) matched the stored SBOMs against the OSV directory “osv” (incremental): 462 advisories, 1 changed, 1 of 2 SBOMs written again, 215 findings"},
		{"a finding acknowledged", alice("vuln.finding.acknowledge", "vuln_finding", "SB-2/3/GO-2023-2102", "RJ1", `{"state":"open"}`, `{"sbom":"SB-2","owner":"organisation RJ1","component":"golang.org/x/net v0.0.0","vuln":"GO-2023-2102","priority":"P1","bulk":true}`), reader,
			"Alice Smith (alice@nhs.net) acknowledged the finding GO-2023-2102 in golang.org/x/net v0.0.0 (P1) of organisation RJ1, with others at once"},
		{"a finding's risk accepted", alice("vuln.finding.accept", "vuln_finding", "SB-2/3/GO-2023-2102", "RJ1", "", `{"owner":"organisation RJ1","component":"x/net 1","vuln":"GO-2023-2102","priority":"P2","reason":"segregated","expires":"2027-03-31T00:00:00Z"}`), reader,
			"Alice Smith (alice@nhs.net) accepted the risk of the finding GO-2023-2102 in x/net 1 (P2) of organisation RJ1 until 2027-03-31, because “segregated”"},
		{"a finding closed", alice("vuln.finding.close", "vuln_finding", "SB-1/0/GO-1", "", "", `{"owner":"product FLUX 0.26.3","component":"x/net 1","vuln":"GO-1","priority":"P3","resolution":"not-affected","reason":"no HTTP/2"}`), reader,
			"Alice Smith (alice@nhs.net) closed the finding GO-1 in x/net 1 (P3) of product FLUX 0.26.3 as not affected: “no HTTP/2”"},
		{"a finding reopened", alice("vuln.finding.reopen", "vuln_finding", "SB-1/0/GO-1", "", "", `{"owner":"product FLUX 0.26.3","component":"x/net 1","vuln":"GO-1","priority":"P3"}`), reader,
			"Alice Smith (alice@nhs.net) reopened the finding GO-1 in x/net 1 (P3) of product FLUX 0.26.3"},
		{"VEX stored", alice("vuln.vex.add", "vex", "VEX-1", "RJ1", "", `{"kind":"inventory","org":"RJ1","name":"x.openvex.json","format":"OpenVEX","statements":4}`), reader,
			"Alice Smith (alice@nhs.net) stored the VEX VEX-1 “x.openvex.json” (OpenVEX, 4 statements) for organisation Guy's and St Thomas' NHS Foundation Trust (RJ1)"},
		{"VEX removed", alice("vuln.vex.delete", "vex", "VEX-2", "", `{"kind":"product","product":"FLUX","name":"f.json","format":"CSAF VEX","suppressed":1}`, ""), reader,
			"Alice Smith (alice@nhs.net) removed the VEX VEX-2 “f.json” of product FLUX (it suppressed 1 finding)"},
		{"out of an alert's scope", Entry{ActorID: "system", Actor: "cyberalerts", Via: "cli", Action: "cyberalert.unscope", ObjectType: "cyber_alert", ObjectID: "CA-1", Org: "RJ1",
			After: raw(`{"refresh":true}`)}, reader,
			"Vigil (cyberalerts) took Guy's and St Thomas' NHS Foundation Trust (RJ1) out of the scope of national cyber alert CA-1: the register no longer puts it there (its row and answers are kept)"},
		{"a missed update escalated", Entry{ActorID: "system", Actor: "cyberalerts", Via: "cli", Action: "cyberalert.escalate", ObjectType: "cyber_alert", ObjectID: "CA-1", Org: "RJ1",
			After: raw(`{"clock":"update_escalated_at"}`)}, reader,
			"Vigil (cyberalerts) escalated national cyber alert CA-1 to the region: Guy's and St Thomas' NHS Foundation Trust (RJ1) gave no first remediation update in time"},
		{"a requirement set imported", alice("assurance.set.import", "requirement-set", "caf@3.2", "", "", `{"key":"caf","version":"3.2","source":"caf.yaml","nodes":200,"indicators":449,"profiles":["baseline","enhanced"]}`), reader,
			"Alice Smith (alice@nhs.net) imported the requirement set “caf” version 3.2 from “caf.yaml”: 200 nodes, 449 indicators, 2 profiles"},
		{"DSPT imported", alice("assurance.dspt.import", "dspt-snapshot", "a.csv,b.csv", "", "", `{"created":10,"updated":2}`), reader,
			"Alice Smith (alice@nhs.net) imported the DSPT snapshots a.csv,b.csv: 10 new, 2 changed"},
		{"a certificate recorded", alice("assurance.certificate.put", "certificate", "CE:123", "", "", `{"supplier_id":"S-1","scheme":"CE","number":"123","expires":"2027-12-01"}`), reader,
			"Alice Smith (alice@nhs.net) recorded the CE certificate 123 of supplier S-1, expiring 2027-12-01"},
		{"a DTAC recorded", alice("assurance.dtac.put", "dtac", "EPR@5", "", "", `{"product_id":"EPR","version":"5","passed":true,"d_usability_score":82,"source":"supplier"}`), reader,
			"Alice Smith (alice@nhs.net) recorded the DTAC assessment of EPR 5 as the supplier's representative: C1–C4 passed, usability score 82"},
		{"a DCB0129 replaced", alice("assurance.dcb0129.put", "dcb0129", "EPR@5", "", `{"product_id":"EPR"}`, `{"product_id":"EPR","version":"5","complete":false,"missing":["hazard log"],"source":"assessor"}`), reader,
			"Alice Smith (alice@nhs.net) replaced the DCB0129 clinical safety record of EPR 5 (lacking a hazard log)"},
		{"a DCB0160 recorded", alice("assurance.dcb0160.put", "dcb0160", "RJ1:EPR", "RJ1", "", `{"org_ods":"RJ1","product_id":"EPR","complete":true}`), reader,
			"Alice Smith (alice@nhs.net) recorded the DCB0160 clinical safety record of Guy's and St Thomas' NHS Foundation Trust (RJ1) for EPR (complete)"},
		{"the charter signed", alice("assurance.charter.sign", "supplier", "S-1", "", "", `{"supplier_id":"S-1","commitments":["dspt","mfa"],"signed":"2026-11-01","signed_by":"Alf Smith","source":"supplier"}`), reader,
			"Alice Smith (alice@nhs.net) recorded that “Alf Smith” signed the NHS Cyber Security Charter commitments dspt, mfa for supplier S-1 on 2026-11-01 as the supplier's representative"},
		{"principles set", alice("assurance.principles.set", "supplier", "S-1", "", "", `{"supplier_id":"S-1","assessed":"2026-11-02","states":[{"principle":1,"state":"met"},{"principle":5,"state":"not_met"}],"source":"assessor"}`), reader,
			"Alice Smith (alice@nhs.net) set the NCSC supply-chain principles of supplier S-1 as assessed on 2026-11-02: 1 met, 5 not met"},
		{"an expiry notice", alice("assurance.evidence.expiry", "certificate", "certificate:cyber-essentials:CE-1", "", "", `{"what":"Cyber Essentials certificate CE-1","supplier_id":"S-1","date":"2026-12-20","stage":"expired"}`), reader,
			"Alice Smith (alice@nhs.net) raised an alert: the Cyber Essentials certificate CE-1 of supplier S-1 lapsed after 2026-12-20"},
		{"a campaign started", alice("assurance.campaign.create", "assurance-campaign", "AC-1", "", "", `{"name":"CAF 2027","set_id":"webcaf-caf@3.2","profile":"baseline","deadline":"2027-03-31","suppliers":10,"requirements":39}`), reader,
			"Alice Smith (alice@nhs.net) started the assurance campaign “CAF 2027” (AC-1) against webcaf-caf@3.2 (profile baseline): 10 suppliers asked about 39 requirements by 2027-03-31"},
		{"a statement requested", alice("assurance.statement.request", "assurance-statement", "ST-1", "", "", `{"campaign":"AC-1","supplier_id":"ACME"}`), reader,
			"Alice Smith (alice@nhs.net) asked supplier ACME for statement ST-1 in campaign AC-1"},
		{"an answer saved", alice("assurance.answer.save", "assurance-statement", "ST-1", "", "", `{"seq":3,"answer":"not_met","justification":"x"}`), reader,
			"Alice Smith (alice@nhs.net) answered requirement 3 of statement ST-1: not met"},
		{"an answer amended", alice("assurance.answer.save", "assurance-statement", "ST-1", "", `{"seq":3,"answer":"not_met"}`, `{"seq":3,"answer":"met"}`), reader,
			"Alice Smith (alice@nhs.net) changed the answer to requirement 3 of statement ST-1: met"},
		{"evidence attached", alice("assurance.evidence.add", "assurance-statement", "ST-1", "", "", `{"seq":1,"kind":"file","name":"policy.pdf","sha256":"ab12"}`), reader,
			"Alice Smith (alice@nhs.net) attached “policy.pdf” (SHA-256 ab12) as evidence for requirement 1 of statement ST-1"},
		{"a link given", alice("assurance.evidence.add", "assurance-statement", "ST-1", "", "", `{"seq":1,"kind":"link","name":"trust centre","url":"https://example.com/t"}`), reader,
			"Alice Smith (alice@nhs.net) gave the link “https://example.com/t” as evidence for requirement 1 of statement ST-1"},
		{"a statement submitted", alice("assurance.statement.submit", "assurance-statement", "ST-1", "", `{"status":"draft"}`, `{"status":"submitted","version":2,"signed_role":"CISO"}`), reader,
			"Alice Smith (alice@nhs.net) submitted statement ST-1 (version 2), signed as “CISO”"},
		{"an answer queried", alice("assurance.answer.review", "assurance-statement", "ST-1", "", "", `{"seq":2,"review":"queried","note":"which MFA?","status":"returned"}`), reader,
			"Alice Smith (alice@nhs.net) queried the answer to requirement 2 of statement ST-1: “which MFA?” (the statement went back to the supplier)"},
		{"an answer accepted", alice("assurance.answer.review", "assurance-statement", "ST-1", "", "", `{"seq":2,"review":"accepted","note":""}`), reader,
			"Alice Smith (alice@nhs.net) accepted the answer to requirement 2 of statement ST-1"},
		{"an answer discussed", alice("assurance.answer.comment", "assurance-statement", "ST-1", "", "", `{"seq":2,"side":"supplier","body":"FIDO2 keys"}`), reader,
			"Alice Smith (alice@nhs.net) commented as the supplier on requirement 2 of statement ST-1: “FIDO2 keys”"},
		{"a statement accepted", alice("assurance.statement.accept", "assurance-statement", "ST-1", "", `{"status":"submitted"}`, `{"status":"accepted"}`), reader,
			"Alice Smith (alice@nhs.net) accepted statement ST-1 as reviewed"},
		{"a review disputed", alice("assurance.dispute.raise", "assurance-statement", "ST-1", "", "", `{"dispute":"DP-1","seq":3,"subject":"the review of B2.a (rejected)","reason":"MFA report attached"}`), reader,
			"Alice Smith (alice@nhs.net) disputed the review of B2.a (rejected) of statement ST-1 (DP-1): “MFA report attached”"},
		{"a dispute discussed", alice("assurance.dispute.comment", "assurance-statement", "ST-1", "", "", `{"dispute":"DP-1","side":"supplier","body":"page 4"}`), reader,
			"Alice Smith (alice@nhs.net) wrote as the supplier in dispute DP-1 of statement ST-1: “page 4”"},
		{"a dispute amended", alice("assurance.dispute.answer", "assurance-statement", "ST-1", "", `{"dispute":"DP-1","status":"open"}`, `{"dispute":"DP-1","decision":"amend","note":"fair","seq":3,"review_from":"rejected","review_to":"accepted"}`), reader,
			"Alice Smith (alice@nhs.net) amended the review of requirement 3 of statement ST-1 from rejected to accepted, answering dispute DP-1: “fair”"},
		{"a dispute upheld", alice("assurance.dispute.answer", "assurance-statement", "ST-1", "", "", `{"dispute":"DP-2","decision":"uphold","note":"weights stand"}`), reader,
			"Alice Smith (alice@nhs.net) upheld the decision disputed in DP-2 of statement ST-1: “weights stand”"},
		{"sharing chosen", alice("assurance.sharing.set", "supplier", "ACME", "", "", `{"level":"products","products":["ACME-EPR"],"subsidiaries":true}`), reader,
			"Alice Smith (alice@nhs.net) set supplier ACME's statements to be shared with only organisations that deploy ACME-EPR, standing for its subsidiaries too"},
		{"a campaign edited", alice("assurance.campaign.edit", "assurance-campaign", "AC-1", "", `{"name":"CAF","deadline":"2027-03-31"}`, `{"name":"CAF 2027","deadline":"2027-04-30"}`), reader,
			"Alice Smith (alice@nhs.net) changed the assurance campaign AC-1: renamed it from “CAF” to “CAF 2027” and moved its deadline from 2027-03-31 to 2027-04-30"},
		{"a campaign closed", alice("assurance.campaign.close", "assurance-campaign", "AC-1", "", `{"closed":false}`, `{"closed":true,"reason":"superseded"}`), reader,
			"Alice Smith (alice@nhs.net) closed the assurance campaign AC-1 (no more answers; reminders stop): “superseded”"},
		{"a reminder", alice("assurance.statement.remind", "assurance-statement", "ST-1", "", "", `{"kind":"overdue","deadline":"2027-03-31","campaign":"AC-1","supplier_id":"ACME","recipients":2}`), reader,
			"Alice Smith (alice@nhs.net) sent the overdue notice to supplier ACME of statement ST-1 in campaign AC-1, due 2027-03-31 (2 recipients)"},
		{"a link made", alice("assurance.link.create", "assurance-statement", "ST-1", "", "", `{"link":"LK-1","recipient":"alf@acme.test","expires_at":"2027-03-08T09:00:00Z"}`), reader,
			"Alice Smith (alice@nhs.net) made the single-use link LK-1 for “alf@acme.test” to answer statement ST-1, valid until 2027-03-08T09:00:00Z"},
		{"a link revoked", alice("assurance.link.revoke", "assurance-statement", "ST-1", "", `{"link":"LK-1"}`, `{"link":"LK-1","recipient":"alf@acme.test","revoked":true}`), reader,
			"Alice Smith (alice@nhs.net) revoked the single-use link LK-1 for “alf@acme.test” to statement ST-1"},
		{"a link used", alice("assurance.link.use", "assurance-statement", "ST-1", "", "", `{"link":"LK-1","from":"192.0.2.7"}`), reader,
			"Alice Smith (alice@nhs.net) used the single-use link LK-1 from 192.0.2.7 to open statement ST-1"},
		{"a collection created", alice("intel.collection.create", "taxii-collection", "c-1", "", "", `{"title":"National feed","tlp_ceiling":"TLP:AMBER"}`), reader,
			"Alice Smith (alice@nhs.net) created the intelligence collection “National feed” (c-1, up to TLP:AMBER)"},
		{"a collection shared", alice("intel.collection.grant", "taxii-collection", "c-1", "RJ1", "", `{"title":"National feed","org":"RJ1","role":"","can_read":true,"can_write":false}`), reader,
			"Alice Smith (alice@nhs.net) shared the intelligence collection “National feed” (c-1) with everyone at or under Guy's and St Thomas' NHS Foundation Trust (RJ1), to read"},
		{"a collection unshared", alice("intel.collection.revoke", "taxii-collection", "c-1", "RJ1", "", `{"title":"National feed","org":"RJ1","role":"org-analyst","can_read":false,"can_write":false}`), reader,
			"Alice Smith (alice@nhs.net) stopped sharing the intelligence collection “National feed” (c-1) with the org-analysts at or under Guy's and St Thomas' NHS Foundation Trust (RJ1)"},
		{"an object deleted from a collection", alice("intel.collection.remove", "taxii-collection", "c-1", "", `{"title":"National feed","object":"indicator--1","versions":["2026-12-01T00:00:00.000000000Z","2026-12-02T00:00:00.000000000Z"]}`, ""), reader,
			"Alice Smith (alice@nhs.net) deleted 2 versions of indicator--1 from the intelligence collection “National feed” (c-1); the object stays in the store"},
		{"an object purged", alice("intel.object.purge", "stix-object", "indicator--1", "", `{"type":"indicator","versions":2,"collections":1}`, `{"reason":"posted with a patient's name in it"}`), reader,
			"Alice Smith (alice@nhs.net) purged the intelligence object indicator--1 (indicator, 2 versions, from 1 collection) from Vigil altogether: “posted with a patient's name in it”"},
		{"a RED object shared", alice("intel.object.share", "stix-object", "indicator--1", "RJ1", "", `{"kind":"org","recipient":"RJ1","tlp":"TLP:RED"}`), reader,
			"Alice Smith (alice@nhs.net) named the people of Guy's and St Thomas' NHS Foundation Trust (RJ1) a recipient of the TLP:RED intelligence object indicator--1"},
		{"an indicator linked to a technique", alice("intel.object.link", "stix-object", "indicator--1", "", "", `{"relationship":"relationship--9","relationship_type":"indicates","target":"attack-pattern--7","target_name":"T1059.001","collection":"c-1"}`), reader,
			"Alice Smith (alice@nhs.net) linked the intelligence object indicator--1 to T1059.001 (attack-pattern--7) (indicates, relationship relationship--9 in collection c-1)"},
		{"an indicator edited", alice("intel.object.edit", "stix-object", "indicator--1", "", `{"confidence":80,"labels":null}`, `{"changes":{"confidence":40,"labels":null},"version":"2026-12-07T10:00:00.000Z","collection":"c-1"}`), reader,
			"Alice Smith (alice@nhs.net) edited the indicator indicator--1: set its confidence to 40, removed its labels (new version 2026-12-07T10:00:00.000Z in collection c-1)"},
		{"a feed added", alice("intel.feed.add", "intel-feed", "f-1", "", "", `{"name":"Partner","kind":"taxii","url":"https://partner.example/taxii2/","remote_collection":"c-9","auth":"bearer","collection":"c-1","collection_title":"National feed","interval_seconds":3600}`), reader,
			"Alice Smith (alice@nhs.net) subscribed the intelligence collection “National feed” to the TAXII collection c-9 at “https://partner.example/taxii2/” as the feed “Partner” (f-1), pulled every 60 minutes"},
		{"a feed changed", alice("intel.feed.edit", "intel-feed", "f-1", "", `{"url":"https://old.example/taxii2/","enabled":true}`, `{"url":"https://partner.example/taxii2/","enabled":false,"secret":"changed","interval_seconds":21600,"feed":"Partner","collection_title":"National feed","cursor_cleared":true}`), reader,
			"Alice Smith (alice@nhs.net) changed the intelligence feed “Partner” (f-1): its URL to “https://partner.example/taxii2/”, gave it a new password or token, its interval to 360 minutes, disabled its scheduled pulls; it starts again from nothing"},
		{"a feed removed", alice("intel.feed.remove", "intel-feed", "f-1", "", `{"name":"Partner","url":"https://partner.example/taxii2/","collection_title":"National feed","objects_added":25}`, ""), reader,
			"Alice Smith (alice@nhs.net) removed the intelligence feed “Partner” (f-1) from “https://partner.example/taxii2/” into the collection “National feed”; the 25 objects it pulled stay"},
		{"values allowlisted", alice("intel.allowlist.add", "intel-allowlist", "8.8.8.8", "", "", `{"values":2,"added":1,"first":"8.8.8.8","reason":"public resolver","source":"analyst"}`), reader,
			"Alice Smith (alice@nhs.net) allowlisted 2 values (“8.8.8.8” first) so that no indicator matches them, 1 new, from analyst: “public resolver”"},
		{"values taken off the allowlist", alice("intel.allowlist.remove", "intel-allowlist", "192.0.2.0/24", "", "", `{"values":2,"removed":2,"first":"192.0.2.0/24","reason":"resolvers retired"}`), reader,
			"Alice Smith (alice@nhs.net) took 2 values (“192.0.2.0/24” first) off the allowlist, so indicators listing them match again: “resolvers retired”"},
		{"decay model defined", alice("intel.decay.model", "intel-decay-model", "fast-ips", "", "", `{"name":"fast-ips","half_life_days":{"ip":7,"domain":30.5},"threshold":25,"false_positive_orgs":2}`), reader,
			"Alice Smith (alice@nhs.net) defined the indicator decay model “fast-ips”: half-lives domain 30.5 days, ip 7 days; threshold 25; withdrawn after false positives from 2 organisations"},
		{"decay model changed", alice("intel.decay.model", "intel-decay-model", "slow", "", `{"name":"slow"}`, `{"name":"slow","half_life_days":{"sha256":365},"threshold":10,"false_positive_orgs":0}`), reader,
			"Alice Smith (alice@nhs.net) changed the indicator decay model “slow”: half-lives sha256 365 days; threshold 10; never withdrawn by false positives"},
		{"decay default", alice("intel.decay.default", "intel-decay-model", "fast-ips", "", `{"model":"standard"}`, `{"model":"fast-ips"}`), reader,
			"Alice Smith (alice@nhs.net) made “fast-ips” the default indicator decay model (it was “standard”)"},
		{"decay assigned", alice("intel.decay.assign", "intel-source", "feed:abuse-ch", "", `{"model":""}`, `{"model":"fast-ips"}`), reader,
			"Alice Smith (alice@nhs.net) gave the intelligence source “feed:abuse-ch” the decay model “fast-ips”"},
		{"decay unassigned", alice("intel.decay.assign", "intel-source", "taxii:*", "", `{"model":"fast-ips"}`, `{"model":""}`), reader,
			"Alice Smith (alice@nhs.net) took the decay model “fast-ips” away from the intelligence source “taxii:*”, which follows the default again"},
		{"a submission approved", alice("intel.submission.approve", "intel-submission", "s-1", "RJ1", `{"state":"pending"}`, `{"collection":"c-1","collection_title":"National feed","object":"indicator--1","type":"indicator","org":"RJ1","submitted_by":"u-2"}`), reader,
			"Alice Smith (alice@nhs.net) approved the indicator indicator--1 submitted by Guy's and St Thomas' NHS Foundation Trust (RJ1) to the intelligence collection “National feed” (c-1) for every reader of the collection"},
		{"a submission rejected", alice("intel.submission.reject", "intel-submission", "s-2", "RJ1", `{"state":"pending"}`, `{"collection":"c-1","collection_title":"National feed","object":"indicator--2","type":"indicator","org":"RJ1","submitted_by":"u-2","reason":"a CDN address"}`), reader,
			"Alice Smith (alice@nhs.net) rejected the indicator indicator--2 submitted by Guy's and St Thomas' NHS Foundation Trust (RJ1) to the intelligence collection “National feed” (c-1), which leaves the collection: “a CDN address”"},
		{"intelligence imported", alice("intel.import", "stix-source", "attack.json", "", "", `{"collection":"c-1","objects":3,"added":2,"new_versions":1,"unchanged":0,"refused":0}`), reader,
			"Alice Smith (alice@nhs.net) imported 3 STIX objects of threat intelligence from “attack.json” into collection c-1: 2 new, 1 new versions, 0 unchanged, 0 refused"},
		{"audit keyed", Entry{ActorID: "system", Actor: "vigil", Action: "audit.keyed", ObjectType: "audit_key", ObjectID: "0e3318ec2ce0bf73", After: raw(`{"key_id":"0e3318ec2ce0bf73","unkeyed_entries":12}`)}, nil,
			"Vigil began keying the audit chain with audit key 0e3318ec2ce0bf73 (its MAC also binds the 12 entries before it)"},
	}
	covered := map[string]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, known := describe(tc.e, tc.n)
			if !known {
				t.Errorf("%s is not an action Describe knows", tc.e.Action)
			}
			if got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			if got != Describe(tc.e, tc.n) {
				t.Error("Describe differs from describe")
			}
		})
		covered[tc.e.Action] = true
	}

	// Every action written anywhere in Vigil has a case above, so a new
	// one cannot reach the audit pages as a bare code.
	for _, a := range recordedActions(t) {
		if strings.HasSuffix(a, ".") { // a prefix the code completes: "alert.triage." + the action
			for c := range covered {
				if strings.HasPrefix(c, a) {
					covered[a] = true
				}
			}
		}
		if !covered[a] {
			t.Errorf("action %q is recorded (see internal/) but TestDescribe has no case for it", a)
		}
	}
}

// recordedActions finds the actions the code records: Action: "…" in a
// Change, and the variables and arguments that become one.
func recordedActions(t *testing.T) []string {
	t.Helper()
	res := []*regexp.Regexp{
		regexp.MustCompile(`audit\.Change\{Action:\s*"([a-z_.]+)"`),
		regexp.MustCompile(`\bChange\{Action:\s*"([a-z_.]+)"`),
		regexp.MustCompile(`\baction\s*:?=\s*"([a-z_.]+)"`),
		regexp.MustCompile(`recordSignIn\([^,]+, [^,]+, "([a-z_.]+)"`),
	}
	found := map[string]bool{}
	err := filepath.WalkDir("..", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, re := range res {
			for _, m := range re.FindAllSubmatch(b, -1) {
				found[string(m[1])] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) < 20 {
		t.Fatalf("found only %d actions in internal/: the patterns no longer match how entries are written", len(found))
	}
	out := make([]string, 0, len(found))
	for a := range found {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// An action Describe does not know still says who did what to what, and a
// document that is not what the action writes does not break the sentence.
func TestDescribeUnknownAndMalformed(t *testing.T) {
	got, known := describe(alice("case.assign", "case", "C-7", "RJ1", "", ""), reader)
	if known || got != "Alice Smith (alice@nhs.net) did case.assign on case C-7" {
		t.Errorf("unknown action: %q (known %v)", got, known)
	}
	for _, action := range []string{"user.grant", "user.update", "token.create", "org.update", "export", "supply.import", "geo.import", "supply.deployment.put"} {
		e := alice(action, "x", "y", "RJ1", `"not an object"`, `[1,2`)
		if s := Describe(e, reader); !strings.HasPrefix(s, "Alice Smith (alice@nhs.net) ") {
			t.Errorf("%s with broken documents: %q", action, s)
		}
	}
	// Stored text cannot break the line or run on without end.
	e := alice("supply.supplier.put", "supplier", "S1", "", "", `{"name":"Evil\nCorp`+strings.Repeat("x", 200)+`"}`)
	if s := Describe(e, nil); strings.Contains(s, "\n") || len(s) > 200 {
		t.Errorf("long or multi-line name: %q", s)
	}
}
