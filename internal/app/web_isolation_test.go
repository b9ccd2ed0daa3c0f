package app

// webIsolationChecks covers the web UI's authenticated pages: Alice (org
// admin of RJ1) aims each at Bob's trust RJZ or Bob himself.
func webIsolationChecks(f fixture) map[string]isolationCheck {
	c := map[string]isolationCheck{
		"GET /{$}":                                     {},
		"POST /signout":                                {status: 303},
		"POST /context/org":                            {body: "org=RJZ&next=/", status: 404},
		"GET /orgs":                                    {path: "/orgs?q=king"},
		"GET /orgs/children":                           {path: "/orgs/children?parent=RJZ", status: 404},
		"GET /orgs/{code}":                             {path: "/orgs/RJZ", status: 404},
		"GET /admin":                                   {},
		"GET /admin/users":                             {path: "/admin/users?q=bob"},
		"GET /admin/users/new":                         {},
		"POST /admin/users":                            {body: "email=m%40x.nhs.test&name=M&org=RJZ&role=org-analyst", status: 422},
		"GET /admin/users/{id}":                        {path: "/admin/users/" + f.bob.ID, status: 404},
		"POST /admin/users/{id}/grants":                {path: "/admin/users/" + f.bob.ID + "/grants", body: "role=org-analyst&org=RJZ", status: 404},
		"POST /admin/users/{id}/grants/revoke":         {path: "/admin/users/" + f.bob.ID + "/grants/revoke", body: "role=org-admin&org=RJZ", status: 404},
		"POST /admin/users/{id}/status":                {path: "/admin/users/" + f.bob.ID + "/status", body: "disabled=true", status: 404},
		"POST /admin/users/{id}/tokens/{token}/revoke": {path: "/admin/users/" + f.bob.ID + "/tokens/" + f.bobTokID + "/revoke", status: 404},
		"GET /admin/audit":                             {path: "/admin/audit?org=RJZ", status: 403},
		"GET /admin/audit/verify":                      {status: 403},
		"GET /account":                                 {},
		"POST /account/password":                       {body: "current=x&password=y&confirm=y", status: 422},
		"POST /account/tokens":                         {body: "name=laptop&expires=30d", status: 201},
		"POST /account/tokens/{id}/revoke":             {path: "/account/tokens/" + f.bobTokID + "/revoke", status: 404},
	}
	// Suppliers area: Alice reads the shared register, but nothing of RJZ's
	// deployments, impact, graph or downloads; reports need the
	// supply-chain role; concentration trends (and recording a snapshot)
	// are for national supply-chain managers; boundaries are for national
	// users.
	for k, v := range map[string]isolationCheck{
		"GET /suppliers/register":                   {path: "/suppliers/register?q=iso"},
		"GET /suppliers/s/{id}":                     {path: "/suppliers/s/ISO-SUP"},
		"GET /suppliers/p/{id}":                     {path: "/suppliers/p/ISO-LIMS"},
		"GET /suppliers/impact":                     {path: "/suppliers/impact?supplier=ISO-SUP"},
		"GET /suppliers/impact/download":            {path: "/suppliers/impact/download?org=RJZ&format=csv", status: 404},
		"GET /suppliers/concentration":              {path: "/suppliers/concentration?service=pathology&by=icb", status: 404},
		"GET /suppliers/graph":                      {path: "/suppliers/graph?node=org:RJZ&depth=2", status: 404},
		"GET /suppliers/map":                        {path: "/suppliers/map?supplier=ISO-SUP&level=icb"},
		"GET /suppliers/pictures/graph.svg":         {path: "/suppliers/pictures/graph.svg?node=product:ISO-LIMS&depth=3"},
		"GET /suppliers/pictures/graph.png":         {path: "/suppliers/pictures/graph.png?node=org:RJZ&depth=1", status: 404},
		"GET /suppliers/pictures/map.svg":           {path: "/suppliers/pictures/map.svg?product=ISO-LIMS&level=region"},
		"GET /suppliers/pictures/map.png":           {path: "/suppliers/pictures/map.png?view=concentration&service=pathology", status: 404},
		"GET /suppliers/pictures/concentration.svg": {path: "/suppliers/pictures/concentration.svg?service=pathology&by=icb", status: 404},
		"GET /suppliers/pictures/concentration.png": {path: "/suppliers/pictures/concentration.png?service=pathology&by=region", status: 404},
		"GET /suppliers/pictures/trend.svg":         {path: "/suppliers/pictures/trend.svg?service=pathology&by=icb&group=QKK", status: 404},
		"GET /suppliers/pictures/trend.png":         {path: "/suppliers/pictures/trend.png?service=pathology&by=national", status: 404},
		"POST /suppliers/concentration/snapshots":   {body: "service=pathology&by=icb&group=QKK", status: 404},
		"GET /suppliers/import":                     {},
		"POST /suppliers/import":                    {body: "action=import", status: 422},
		"GET /suppliers/boundaries":                 {status: 404},
		"POST /suppliers/boundaries":                {body: "action=import", status: 404},
	} {
		c[k] = v
	}
	for _, area := range []string{"/monitoring", "/incidents", "/intelligence", "/vulnerabilities", "/suppliers", "/assurance"} {
		c["GET "+area] = isolationCheck{}
	}
	return c
}
