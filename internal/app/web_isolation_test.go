package app

import "strings"

// webIsolationChecks covers the web UI's authenticated pages (see
// isolation_test.go for how a routeCheck is walked).
func webIsolationChecks(w world) map[string]routeCheck {
	guys := "GUY'S AND ST THOMAS' NHS FOUNDATION TRUST"
	carol := "/admin/users/" + w.carol.ID
	c := map[string]routeCheck{
		"GET /{$}":      {own: own(alice, probe{want: []string{"Alice"}}), deny: 200},
		"POST /signout": {attack: probe{status: 303}, own: own(alice, probe{status: 303}), skip: noReplay},
		"POST /context/org": {attack: probe{body: "org=RJZ&next=/", status: 404},
			own:  own(alice, probe{body: "org=RJ1CH&next=/", status: 303}),
			deny: 404, status: statuses(audrey, 303, nadia, 303)},
		"GET /orgs": {attack: probe{path: "/orgs?q=king"},
			own: own(alice, probe{path: "/orgs?q=guy", want: []string{guys}}), deny: 200, seers: rj1Readers},
		"GET /orgs/children": {attack: probe{path: "/orgs/children?parent=RJZ", status: 404},
			own:  own(alice, probe{path: "/orgs/children?parent=RJ1", want: []string{"Evelina Test Clinic"}}),
			deny: 404, status: statuses(audrey, 200, nadia, 200), seers: rj1Readers},
		"GET /orgs/{code}": {attack: probe{path: "/orgs/RJZ", status: 404},
			own:  own(alice, probe{path: "/orgs/RJ1", want: []string{guys}}),
			deny: 404, status: statuses(audrey, 200, nadia, 200), seers: rj1Readers},

		"GET /admin": {attack: probe{}, own: own(alice, probe{want: []string{"/admin/users"}}), skip: everyone},
		"GET /admin/users": {attack: probe{path: "/admin/users?q=bob"},
			own: own(alice, probe{path: "/admin/users?q=carol", want: []string{w.carol.Email}}), seers: rj1Readers},
		"GET /admin/users/new": {attack: probe{}, own: own(alice, probe{want: []string{`name="email"`}}), skip: everyone},
		"POST /admin/users": {attack: probe{body: "email=m%40x.nhs.test&name=M&org=RJZ&role=org-analyst", status: 422},
			own:  own(alice, probe{body: "email=erin%40rj1.nhs.test&name=Erin&org=RJ1&role=org-analyst", status: 303}),
			deny: 422, status: statuses(audrey, 403, sam, 403), skip: []string{nadia}},
		"GET /admin/users/{id}": {attack: probe{path: "/admin/users/" + w.bob.ID, status: 404},
			own:  own(alice, probe{path: carol, want: []string{w.carol.Email}}),
			deny: 404, status: statuses(audrey, 200, nadia, 200, sam, 403), seers: rj1Readers},
		"POST /admin/users/{id}/grants": {attack: probe{path: "/admin/users/" + w.bob.ID + "/grants", body: "role=org-analyst&org=RJZ", status: 404},
			own:  own(alice, probe{path: carol + "/grants", body: "role=org-analyst&org=RJ1CH", status: 303}),
			deny: 404, status: statuses(audrey, 403), skip: []string{nadia}},
		"POST /admin/users/{id}/grants/revoke": {attack: probe{path: "/admin/users/" + w.bob.ID + "/grants/revoke", body: "role=org-admin&org=RJZ", status: 404},
			own:  own(alice, probe{path: carol + "/grants/revoke", body: "role=org-analyst&org=RJ1CH", status: 303}),
			deny: 404, status: statuses(audrey, 403), skip: []string{nadia}},
		"POST /admin/users/{id}/status": {attack: probe{path: "/admin/users/" + w.bob.ID + "/status", body: "disabled=true", status: 404},
			own:  own(alice, probe{path: carol + "/status", body: "disabled=false", status: 303}),
			deny: 404, status: statuses(audrey, 403), skip: []string{nadia}},
		"POST /admin/users/{id}/tokens/{token}/revoke": {attack: probe{path: "/admin/users/" + w.bob.ID + "/tokens/" + w.bobTokID + "/revoke", status: 404},
			own:  own(alice, probe{path: carol + "/tokens/" + w.carolTk[1] + "/revoke", status: 303}),
			deny: 404, skip: []string{nadia}},
		"GET /admin/audit": {attack: probe{path: "/admin/audit?org=RJZ", status: 403},
			own:  own(audrey, probe{path: "/admin/audit?org=RJ1", want: []string{w.carol.ID}}),
			deny: 403, status: statuses(nadia, 200), seers: []string{nadia}},
		"GET /admin/audit/verify": {attack: probe{status: 403},
			own: own(nadia, probe{want: []string{"intact"}}), deny: 403},

		"GET /account": {attack: probe{}, own: own(alice, probe{want: []string{w.alice.Email}}), deny: 200},
		"POST /account/password": {attack: probe{body: "current=x&password=y&confirm=y", status: 422},
			own: own("carol", probe{body: "current=correct+horse+battery&password=another+long+passphrase&password2=another+long+passphrase", status: 303}), skip: noReplay},
		"POST /account/tokens": {attack: probe{body: "name=laptop&expires=30d", status: 201},
			own: own(alice, probe{body: "name=desktop&expires=30d", status: 201, want: []string{"vigil_"}}), skip: noReplay},
		"POST /account/tokens/{id}/revoke": {attack: probe{path: "/account/tokens/" + w.bobTokID + "/revoke", status: 404},
			own:  own(alice, probe{path: "/account/tokens/" + w.aliceTk + "/revoke", status: 303}),
			deny: 404},
	}
	// Suppliers area: Alice reads the shared register, but nothing of RJZ's
	// deployments, impact, graph or downloads; reports need the
	// supply-chain role; concentration trends (and recording a snapshot)
	// are for national supply-chain managers; boundaries are for national
	// users. Sam sees Othersoft only.
	for k, v := range map[string]routeCheck{
		"GET /suppliers/register": {attack: probe{path: "/suppliers/register?q=iso"},
			own:  own(alice, probe{path: "/suppliers/register?q=iso", want: []string{"Isolation Pathology Ltd"}}, also(sam, probe{path: "/suppliers/register?q=other", want: []string{"Othersoft Ltd"}})),
			deny: 200, seers: nhsReaders},
		"GET /suppliers/s/{id}": {attack: probe{path: "/suppliers/s/ISO-SUP"},
			own:  own(alice, probe{path: "/suppliers/s/ISO-SUP", want: []string{"Isolation Pathology Ltd"}}, also(sam, probe{path: "/suppliers/s/OTHER-SUP", want: []string{"Othersoft Records"}})),
			deny: 200, status: statuses(sam, 404), seers: nhsReaders},
		"GET /suppliers/p/{id}": {attack: probe{path: "/suppliers/p/ISO-LIMS"},
			own:  own(alice, probe{path: "/suppliers/p/ISO-LIMS", want: []string{"Isolation LIMS"}}, also(sam, probe{path: "/suppliers/p/OTHER-APP", want: []string{"Othersoft Cloud"}})),
			deny: 200, status: statuses(sam, 404), seers: nhsReaders},
		"GET /suppliers/impact": {attack: probe{path: "/suppliers/impact?supplier=ISO-SUP"},
			own:   own(alice, probe{path: "/suppliers/impact?supplier=ISO-SUP", want: []string{guys}}),
			seers: rj1Readers},
		"GET /suppliers/impact/download": {attack: probe{path: "/suppliers/impact/download?org=RJZ&format=csv", status: 404},
			own:  own(alice, probe{path: "/suppliers/impact/download?org=RJ1&format=csv", want: []string{"ISO-LIMS"}}),
			deny: 404, status: statuses(audrey, 200, nadia, 200), seers: rj1Readers},
		"GET /suppliers/concentration": {attack: probe{path: "/suppliers/concentration?service=pathology&by=icb", status: 404},
			own:  own(nadia, probe{path: "/suppliers/concentration?service=pathology&by=icb", want: []string{"Isolation Pathology Ltd"}}),
			deny: 404, status: statuses(rex, 200)},
		"GET /suppliers/graph": {attack: probe{path: "/suppliers/graph?node=org:RJZ&depth=2", status: 404},
			own:  own(alice, probe{path: "/suppliers/graph?node=org:RJ1&depth=2", want: []string{"Isolation LIMS"}}),
			deny: 404, status: statuses(audrey, 200, nadia, 200), seers: rj1Readers},
		"GET /suppliers/map": {attack: probe{path: "/suppliers/map?supplier=ISO-SUP&level=icb"},
			// The map aggregates over the caller's own organisations; Bob
			// sees his ICB too. Nothing of RJZ may reach Alice (attack).
			own: own(alice, probe{path: "/suppliers/map?supplier=ISO-SUP&level=icb", want: []string{"QKK"}}), seers: everyone},
		"GET /suppliers/pictures/graph.svg": {attack: probe{path: "/suppliers/pictures/graph.svg?node=product:ISO-LIMS&depth=3"},
			own:  own(alice, probe{path: "/suppliers/pictures/graph.svg?node=org:RJ1&depth=1", want: []string{"Isolation LIMS"}}),
			deny: 404, status: statuses(audrey, 200, nadia, 200), seers: rj1Readers},
		"GET /suppliers/pictures/graph.png": {attack: probe{path: "/suppliers/pictures/graph.png?node=org:RJZ&depth=1", status: 404},
			own:  own(alice, probe{path: "/suppliers/pictures/graph.png?node=org:RJ1&depth=1", want: []string{"\x89PNG"}}),
			deny: 404, status: statuses(audrey, 200, nadia, 200), seers: rj1Readers},
		"GET /suppliers/pictures/map.svg": {attack: probe{path: "/suppliers/pictures/map.svg?product=ISO-LIMS&level=region"},
			own: own(alice, probe{path: "/suppliers/pictures/map.svg?product=ISO-LIMS&level=region", want: []string{"<svg"}}), seers: everyone},
		"GET /suppliers/pictures/map.png": {attack: probe{path: "/suppliers/pictures/map.png?view=concentration&service=pathology", status: 404},
			own: own(alice, probe{path: "/suppliers/pictures/map.png?product=ISO-LIMS&level=region", want: []string{"\x89PNG"}}), seers: everyone},
		"GET /suppliers/pictures/concentration.svg": {attack: probe{path: "/suppliers/pictures/concentration.svg?service=pathology&by=icb", status: 404},
			own:  own(nadia, probe{path: "/suppliers/pictures/concentration.svg?service=pathology&by=icb", want: []string{"<svg"}}),
			deny: 404, status: statuses(rex, 200), seers: everyone},
		"GET /suppliers/pictures/concentration.png": {attack: probe{path: "/suppliers/pictures/concentration.png?service=pathology&by=region", status: 404},
			own:  own(nadia, probe{path: "/suppliers/pictures/concentration.png?service=pathology&by=region", want: []string{"\x89PNG"}}),
			deny: 404, status: statuses(rex, 200), seers: everyone},
		"POST /suppliers/concentration/snapshots": {attack: probe{body: "service=pathology&by=icb&group=QKK", status: 404},
			own:  own(nadia, probe{body: "service=pathology&by=icb&group=QKK", status: 303}),
			deny: 404},
		"GET /suppliers/pictures/trend.svg": {attack: probe{path: "/suppliers/pictures/trend.svg?service=pathology&by=icb&group=QKK", status: 404},
			own:  own(nadia, probe{path: "/suppliers/pictures/trend.svg?service=pathology&by=icb&group=QKK", want: []string{"<svg"}}),
			deny: 404, seers: everyone},
		"GET /suppliers/pictures/trend.png": {attack: probe{path: "/suppliers/pictures/trend.png?service=pathology&by=national", status: 404},
			own:  own(nadia, probe{path: "/suppliers/pictures/trend.png?service=pathology&by=national", want: []string{"\x89PNG"}}),
			deny: 404, seers: everyone},
		"GET /suppliers/import": {attack: probe{}, own: own(alice, probe{want: []string{"multipart/form-data"}}), skip: everyone},
		"POST /suppliers/import": {attack: probe{body: "action=import", status: 422},
			own: own(alice, probe{body: "action=check", status: 200, want: []string{"deployments.csv"},
				files: map[string]string{"deployments.csv": "org_ods,product_id,service,criticality,has_fallback\nRJ1,ISO-LIMS,pathology,critical,yes\n"}}),
			deny: 422, status: statuses(nadia, 200), seers: everyone},
		"GET /suppliers/boundaries": {attack: probe{status: 404},
			own: own(nadia, probe{want: []string{"Integrated care boards"}}), deny: 404},
		"POST /suppliers/boundaries": {attack: probe{body: "action=import", status: 404},
			own: own(nadia, probe{body: "action=check", want: []string{"Nothing has been changed"},
				files: map[string]string{"icb.geojson": `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"ICB23CDH":"QKK","ICB23NM":"NHS South East London Integrated Care Board","NHSER24CDH":"Y56"},` +
					`"geometry":{"type":"Polygon","coordinates":[[[-0.2,51.35],[0.1,51.35],[0.1,51.55],[-0.2,51.55],[-0.2,51.35]]]}}]}`}}),
			deny: 404},
	} {
		c[k] = v
	}
	// Areas not built yet (monitoring, incidents, intelligence,
	// vulnerabilities, assurance) have no routes until they arrive.
	for _, area := range []string{"/suppliers"} {
		label := strings.ToUpper(area[1:2]) + area[2:]
		c["GET "+area] = routeCheck{attack: probe{}, own: own(alice, probe{want: []string{label}}), skip: everyone}
	}
	return c
}
