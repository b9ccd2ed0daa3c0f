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
	for _, area := range []string{"/monitoring", "/incidents", "/intelligence", "/vulnerabilities", "/suppliers", "/assurance"} {
		c["GET "+area] = isolationCheck{}
	}
	return c
}
