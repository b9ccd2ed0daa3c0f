package assurance

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

func TestCertificateRules(t *testing.T) {
	for _, tc := range []struct {
		c     Certificate
		field string // "" when valid
	}{
		{Certificate{SupplierID: "S", Scheme: "Cyber-Essentials", Number: "IASME-CE-1", Issued: "2024-02-29"}, ""},
		{Certificate{SupplierID: "S", Scheme: CyberEssentialsPlus, Number: "IASME-CEP-1", Issued: "2026-01-10", Expires: "2027-01-10", QuestionSet: "Willow"}, ""},
		{Certificate{SupplierID: "S", Scheme: CyberEssentials, Number: "X", Issued: "2026-01-10", Expires: "2027-06-10"}, "expires"},
		{Certificate{SupplierID: "S", Scheme: CyberEssentials, Number: "X", Issued: "2026-01-10", CertificationBody: "BSI"}, "certification_body"},
		{Certificate{SupplierID: "S", Scheme: ISO27001, Number: "IS 123", Issued: "2025-03-01", Expires: "2028-03-01", CertificationBody: "BSI", Accreditation: "UKAS 0003"}, ""},
		{Certificate{SupplierID: "S", Scheme: ISO27001, Number: "IS 123", Issued: "2025-03-01", Expires: "2029-03-01", CertificationBody: "BSI"}, "expires"},
		{Certificate{SupplierID: "S", Scheme: ISO27001, Number: "IS 123", Issued: "2025-03-01", Expires: "2028-03-01"}, "certification_body"},
		{Certificate{SupplierID: "S", Scheme: "soc2", Number: "1", Issued: "2025-03-01"}, "scheme"},
		{Certificate{SupplierID: "S", Scheme: ISO27001, Number: "", Issued: "2025-03-01"}, "number"},
		{Certificate{SupplierID: "S", Scheme: ISO27001, Number: "1", Issued: "1/3/2025"}, "issued"},
		{Certificate{SupplierID: "S", Scheme: CyberEssentials, Number: "a\x1bb", Issued: "2025-03-01"}, "number"},
	} {
		err := tc.c.Check()
		var inv *fault.Invalid
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%+v: %v", tc.c, err)
		case tc.field != "" && (!errors.As(err, &inv) || inv.Field != tc.field):
			t.Errorf("%+v: %v, want an error on %s", tc.c, err, tc.field)
		}
	}
	// Cyber Essentials expiry is computed: a leap-day issue expires on 1 March.
	c := Certificate{SupplierID: "S", Scheme: CyberEssentials, Number: "N", Issued: "2024-02-29"}
	if err := c.Check(); err != nil || c.Expires != "2025-03-01" {
		t.Errorf("expires %q %v", c.Expires, err)
	}
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d.Add(12 * time.Hour) }
	for now, want := range map[string]string{"2025-01-01": "valid", "2025-01-29": "valid", "2025-02-01": "expiring", "2025-03-01": "expiring", "2025-03-02": "expired"} {
		if got := c.StateAt(day(now)); got != want {
			t.Errorf("at %s: %s, want %s", now, got, want)
		}
	}
}

func TestCertificatesStoredPerSupplier(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
		s, err := New(Options{DB: db, Audit: audit.New(db, func() time.Time { return now }), Now: func() time.Time { return now },
			Suppliers: fakeSuppliers{"ACME": "", "OTHER": ""}})
		if err != nil {
			t.Fatal(err)
		}
		sys := scope.System("test")
		for _, c := range []Certificate{
			{SupplierID: "ACME", Scheme: ISO27001, Number: "IS 500", Issued: "2025-01-01", Expires: "2027-12-31", CertificationBody: "BSI", Accreditation: "UKAS"},
			{SupplierID: "ACME", Scheme: CyberEssentialsPlus, Number: "CEP-9", Issued: "2026-01-01", QuestionSet: "Willow"},
			{SupplierID: "ACME", Scheme: CyberEssentials, Number: "CE-1", Issued: "2025-06-01"},
		} {
			if _, err := s.PutCertificate(ctx, sys, c); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.Certificates(ctx, sys, "ACME")
		if err != nil {
			t.Fatal(err)
		}
		var states []string
		for _, c := range got {
			states = append(states, c.Number+"="+c.State)
		}
		if strings.Join(states, " ") != "CE-1=expired CEP-9=expiring IS 500=valid" {
			t.Errorf("%v", states)
		}
		// The same number for another supplier is a conflict; for an unknown supplier, not found.
		if _, err := s.PutCertificate(ctx, sys, Certificate{SupplierID: "OTHER", Scheme: CyberEssentials, Number: "CE-1", Issued: "2025-06-01"}); !errors.Is(err, fault.ErrConflict) {
			t.Errorf("other supplier: %v", err)
		}
		if _, err := s.PutCertificate(ctx, sys, Certificate{SupplierID: "NOPE", Scheme: CyberEssentials, Number: "CE-2", Issued: "2025-06-01"}); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("unknown supplier: %v", err)
		}
		trust := scope.Scope{UserID: "u", Grants: []scope.Grant{{Role: scope.OrgAdmin, Org: "RXX", Path: "/Y56/QMJ/RXX/"}}}
		if _, err := s.PutCertificate(ctx, trust, Certificate{SupplierID: "ACME", Scheme: CyberEssentials, Number: "CE-3", Issued: "2026-06-01"}); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("trust admin: %v", err)
		}
		// Renewal replaces by number.
		if _, err := s.PutCertificate(ctx, sys, Certificate{SupplierID: "ACME", Scheme: CyberEssentials, Number: "CE-1", Issued: "2026-06-01"}); err != nil {
			t.Fatal(err)
		}
		got, _ = s.Certificates(ctx, sys, "ACME")
		if len(got) != 3 || got[1].Number != "CE-1" || got[1].State != "valid" || got[1].Expires != "2027-06-01" {
			t.Errorf("after renewal: %+v", got)
		}
	}, audit.Migrations(), org.Migrations(), Migrations())
}
