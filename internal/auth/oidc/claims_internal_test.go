package oidc

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
)

// TestReadClaims covers claim shapes the in-process provider does not produce: nested groups
// (Keycloak's realm_access.roles), a lone string, string booleans, split names and bad types.
func TestReadClaims(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, groupsClaim, claims string
		want                      Identity
		haveGroups                bool
		err                       error
	}{
		{
			name: "nested", groupsClaim: "realm_access.roles",
			claims:     `{"realm_access":{"roles":["a","b"]},"email":"x@y","email_verified":"true","given_name":"Ann","family_name":"Lee"}`,
			want:       Identity{Email: "x@y", EmailVerified: true, Name: "Ann Lee", Groups: []string{"a", "b"}},
			haveGroups: true,
		},
		{
			name: "literal dotted name wins", groupsClaim: "a.b",
			claims:     `{"a.b":["lit"],"a":{"b":["nested"]}}`,
			want:       Identity{Groups: []string{"lit"}},
			haveGroups: true,
		},
		{
			name: "lone string", groupsClaim: "groups", claims: `{"groups":"only","name":"N","email_verified":false}`,
			want: Identity{Name: "N", Groups: []string{"only"}}, haveGroups: true,
		},
		{name: "absent", groupsClaim: "groups", claims: `{"sub":"s"}`},
		{name: "null", groupsClaim: "groups", claims: `{"groups":null}`},
		{name: "path through a non-object", groupsClaim: "a.b", claims: `{"a":["x"]}`},
		{name: "object", groupsClaim: "groups", claims: `{"groups":{"a":1}}`, err: ErrClaims},
		{name: "number in list", groupsClaim: "groups", claims: `{"groups":["a",2]}`, err: ErrClaims},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var claims map[string]any
			if err := json.Unmarshal([]byte(tt.claims), &claims); err != nil {
				t.Fatal(err)
			}
			p := &Provider{cfg: Config{GroupsClaim: tt.groupsClaim}}
			var got Identity
			have, err := p.readClaims(&got, claims)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if have != tt.haveGroups || got.Email != tt.want.Email || got.EmailVerified != tt.want.EmailVerified ||
				got.Name != tt.want.Name || !slices.Equal(got.Groups, tt.want.Groups) {
				t.Errorf("got %+v (groups present %v), want %+v (%v)", got, have, tt.want, tt.haveGroups)
			}
		})
	}
}
