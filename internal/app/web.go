package app

import (
	"context"
	"fmt"

	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/auth/oidc"
	"github.com/vigil-health/vigil/internal/web"
)

// registerWeb mounts the web UI, with single sign-on when an issuer is set.
func (s *Server) registerWeb(ctx context.Context) error {
	var sso *auth.SSO
	cfg := s.Config // BaseURL is filled in by Start from the listening address
	if cfg.OIDCIssuer != "" {
		roles, err := oidc.ParseRoleMap(cfg.OIDCRoleMap)
		if err != nil {
			return fmt.Errorf("--oidc-role-map: %w", err)
		}
		sso, err = s.Auth.NewSSO(ctx, oidc.Config{
			Issuer: cfg.OIDCIssuer, ClientID: cfg.OIDCClientID, ClientSecret: cfg.OIDCClientSecret,
			RedirectURL: cfg.PublicURL() + "/signin/callback", RoleMap: roles,
		})
		if err != nil {
			return fmt.Errorf("single sign-on with %s: %w", cfg.OIDCIssuer, err)
		}
	}
	// Map boundaries live in the "geo" tables (geo.Migrations); the
	// web UI draws maps on them and national users upload them.
	wo := web.Options{Orgs: s.Orgs, Auth: s.Auth, Audit: s.Audit, SSO: sso, SSOName: cfg.OIDCName,
		TLS: cfg.TLS(), Version: Version, Logger: s.Log, Demo: s.Orgs.HasDemo, Supply: s.Supply, Boundaries: s.Geo, Cases: s.Cases, Now: s.Now, Notify: s.Notify, KPIs: s.Cases, Events: s.Events, EventSearches: s.EventSearches, Rules: s.Rules, Assurance: s.Assurance, CyberAlerts: s.Alerts, SBOMs: s.SBOMs, Intel: s.Intel}
	if s.IngestHealth != nil {
		wo.Ingest = s.IngestHealth
	}
	if s.attack != nil {
		wo.Coverage = s.Coverage
	}
	w, err := web.New(wo)
	if err != nil {
		return err
	}
	w.Register(s.Router)
	s.Web = w
	return nil
}
