package assurance

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// Evidence expiry. Dated evidence lapses: a certificate on its expiry
// date, a DTAC assessment on the renewal date set, a DCB0129 or DCB0160
// safety case on its review date. Each is valid through its date. The
// leader's duty (RunExpiry) raises one inbox alert when a piece of
// evidence comes within the notice period of its date and one more when
// it has lapsed — each once: a notice is claimed by inserting its row in
// assurance_expiry_notices (evidence, date, stage) before the alert is
// raised, in one transaction, so two servers checking at once raise it
// once, and a renewal (a new date) is told again when it in turn runs
// out. Evidence first seen already lapsed gets the lapsed notice only. A
// lapsed certificate the supplier has since replaced — a later one of the
// same scheme — is superseded and neither listed nor told; so is a DTAC
// or DCB0129 of a product with a later one (a newer version assessed, a
// newer safety case).

// DefaultExpiryNotice is how long before evidence lapses it is told.
const DefaultExpiryNotice = 30 * 24 * time.Hour

// Expiry stages.
const (
	StageExpiring = "expiring"
	StageExpired  = "expired"
)

// ExpiringItem is one piece of dated evidence near or past its date.
type ExpiringItem struct {
	// Key names the evidence: certificate:<scheme>:<number>,
	// dtac:<product>@<version>, dcb0129:<product>@<version>,
	// dcb0160:<org>:<product>.
	Key        string `json:"key"`
	Kind       string `json:"kind"`
	What       string `json:"what"`
	SupplierID string `json:"supplier_id"`
	ProductID  string `json:"product_id,omitempty"`
	OrgODS     string `json:"org_ods,omitempty"`
	// Date is the last day the evidence is valid (YYYY-MM-DD).
	Date string `json:"date"`
	// State is expiring or expired as of now; Days the whole days left
	// (negative once lapsed).
	State string `json:"state"`
	Days  int    `json:"days"`
}

// dueItems reads every piece of dated evidence valid through until or
// earlier, dropping superseded evidence.
func (s *Service) dueItems(ctx context.Context, q store.Queryer, until string) ([]ExpiringItem, error) {
	var out []ExpiringItem
	certs, err := queryRows(ctx, q, `SELECT supplier_id, scheme, number, expires FROM assurance_certificates ORDER BY supplier_id, scheme, expires`,
		func(r scanner) (Certificate, error) {
			var c Certificate
			err := r.Scan(&c.SupplierID, &c.Scheme, &c.Number, &c.Expires)
			return c, err
		})
	if err != nil {
		return nil, err
	}
	latest := map[string]string{} // supplier+scheme → latest expiry
	for _, c := range certs {
		if k := c.SupplierID + "\x00" + c.Scheme; c.Expires > latest[k] {
			latest[k] = c.Expires
		}
	}
	for _, c := range certs {
		if c.Expires > until || c.Expires < latest[c.SupplierID+"\x00"+c.Scheme] {
			continue
		}
		out = append(out, ExpiringItem{Key: "certificate:" + c.Scheme + ":" + c.Number, Kind: "certificate", SupplierID: c.SupplierID, Date: c.Expires,
			What: fmt.Sprintf("%s certificate %s", SchemeLabel(c.Scheme), c.Number)})
	}
	// A DTAC or DCB0129 of a product is superseded by a later one of the
	// same product (a newer version assessed, a newer safety case).
	dtac, err := dtacRows(ctx, q, ``)
	if err != nil {
		return nil, err
	}
	newest := map[string]string{}
	for _, d := range dtac {
		newest[d.ProductID] = max(newest[d.ProductID], d.Assessed)
	}
	for _, d := range dtac {
		if d.Expires == "" || d.Expires > until || d.Assessed < newest[d.ProductID] {
			continue
		}
		out = append(out, ExpiringItem{Key: "dtac:" + d.ProductID + "@" + d.Version, Kind: "dtac", SupplierID: d.SupplierID, ProductID: d.ProductID, Date: d.Expires,
			What: fmt.Sprintf("DTAC assessment of %s %s", d.ProductID, d.Version)})
	}
	m, err := dcb0129Rows(ctx, q, ``)
	if err != nil {
		return nil, err
	}
	newest = map[string]string{}
	for _, d := range m {
		newest[d.ProductID] = max(newest[d.ProductID], d.Issued)
	}
	for _, d := range m {
		if d.ReviewDue == "" || d.ReviewDue > until || d.Issued < newest[d.ProductID] {
			continue
		}
		out = append(out, ExpiringItem{Key: "dcb0129:" + d.ProductID + "@" + d.Version, Kind: "dcb0129", SupplierID: d.SupplierID, ProductID: d.ProductID, Date: d.ReviewDue,
			What: fmt.Sprintf("DCB0129 safety case of %s %s (review due)", d.ProductID, d.Version)})
	}
	o, err := dcb0160Rows(ctx, q, `WHERE review_due <> '' AND review_due <= ?`, until)
	if err != nil {
		return nil, err
	}
	for _, d := range o {
		out = append(out, ExpiringItem{Key: "dcb0160:" + d.OrgODS + ":" + d.ProductID, Kind: "dcb0160", SupplierID: d.SupplierID, ProductID: d.ProductID, OrgODS: d.OrgODS, Date: d.ReviewDue,
			What: fmt.Sprintf("DCB0160 safety case of %s for %s (review due)", d.OrgODS, d.ProductID)})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Date != out[j].Date {
			return out[i].Date < out[j].Date
		}
		return out[i].Key < out[j].Key
	})
	return out, nil
}

func (it *ExpiringItem) stateAt(now time.Time) {
	end := endOfDay(it.Date)
	it.Days = int(math.Floor(end.Sub(now).Hours() / 24))
	it.State = StageExpiring
	if !now.Before(end) {
		it.State = StageExpired
	}
}

// MaxExpiringWithin bounds the look-ahead of Expiring.
const MaxExpiringWithin = 3 * 366 * 24 * time.Hour

// Expiring lists the dated evidence the caller may see that lapses within
// the period from now or has lapsed (and not been superseded), soonest
// first. A supplier's evidence shows where the caller may see the
// supplier; a DCB0160 record only to readers of its organisation.
func (s *Service) Expiring(ctx context.Context, sc scope.Scope, within time.Duration) ([]ExpiringItem, error) {
	if s.suppliers == nil {
		return nil, fmt.Errorf("assurance: Options.Suppliers is not set")
	}
	if within < 0 || within > MaxExpiringWithin {
		return nil, fault.Invalidf("within", "give a period from 0 to 3 years, e.g. 60d")
	}
	now := s.now()
	items, err := s.dueItems(ctx, s.db.Q(), now.Add(within).UTC().Format(time.DateOnly))
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	orgs := map[string]bool{}
	out := []ExpiringItem{}
	for _, it := range items {
		ok, known := seen[it.SupplierID]
		if !known {
			_, err := s.suppliers.GetSupplier(ctx, sc, it.SupplierID)
			ok = err == nil
			seen[it.SupplierID] = ok
		}
		if ok && it.OrgODS != "" {
			r, known := orgs[it.OrgODS]
			if !known && s.orgs != nil {
				o, err := s.orgs.Get(ctx, sc, it.OrgODS)
				r = err == nil && sc.CanAt(scope.Read, o.Path)
				orgs[it.OrgODS] = r
			}
			ok = r
		}
		if !ok {
			continue
		}
		it.stateAt(now)
		out = append(out, it)
	}
	return out, nil
}

// ExpiryNotice is one notice the expiry check raises.
type ExpiryNotice struct {
	ExpiringItem
	// Stage is expiring (within the notice period) or expired.
	Stage string
	// Notice is the notice period in force.
	Notice time.Duration
}

// Raiser raises a notice (as an inbox alert); an error leaves the notice
// unclaimed, to be tried again at the next check.
type Raiser func(ctx context.Context, n ExpiryNotice) error

var expiryActor = scope.System("assurance-expiry")

// CheckExpiry raises each notice due now once, and returns how many it
// raised.
func (s *Service) CheckExpiry(ctx context.Context, notice time.Duration, raise Raiser) (int, error) {
	if notice <= 0 {
		notice = DefaultExpiryNotice
	}
	now := s.now()
	items, err := s.dueItems(ctx, s.db.Q(), now.Add(notice).UTC().Format(time.DateOnly))
	if err != nil {
		return 0, err
	}
	raised := 0
	for _, it := range items {
		it.stateAt(now)
		n := ExpiryNotice{ExpiringItem: it, Stage: it.State, Notice: notice}
		err := s.db.InTx(ctx, func(tx *store.Tx) error {
			res, err := tx.ExecContext(ctx, `INSERT INTO assurance_expiry_notices (evidence_key, due, stage, raised_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
				it.Key, it.Date, n.Stage, now.UTC().Format(time.RFC3339))
			if err != nil {
				return fmt.Errorf("assurance: claim expiry notice: %w", err)
			}
			if k, err := res.RowsAffected(); err != nil || k == 0 {
				return err // told already
			}
			if n.Stage == StageExpired {
				// Evidence first seen lapsed is told lapsed only.
				if _, err := tx.ExecContext(ctx, `INSERT INTO assurance_expiry_notices (evidence_key, due, stage, raised_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
					it.Key, it.Date, StageExpiring, now.UTC().Format(time.RFC3339)); err != nil {
					return fmt.Errorf("assurance: claim expiry notice: %w", err)
				}
			}
			if _, err := s.audit.Append(ctx, tx, expiryActor, audit.Change{Action: "assurance.evidence.expiry", ObjectType: it.Kind, ObjectID: it.Key, Org: it.OrgODS,
				After: map[string]any{"key": it.Key, "what": it.What, "supplier_id": it.SupplierID, "date": it.Date, "stage": n.Stage}}); err != nil {
				return err
			}
			if err := raise(ctx, n); err != nil {
				return fmt.Errorf("assurance: raise expiry notice for %s: %w", it.Key, err)
			}
			raised++
			return nil
		})
		if err != nil {
			return raised, err
		}
	}
	return raised, nil
}

// RunExpiry checks expiry every interval until stopped (the leader's
// duty) and returns the stop function, which waits for the check running.
func (s *Service) RunExpiry(ctx context.Context, interval, notice time.Duration, raise Raiser, log *slog.Logger) (stop func()) {
	if interval <= 0 {
		interval = time.Hour
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if n, err := s.CheckExpiry(ctx, notice, raise); err != nil && ctx.Err() == nil {
				log.Warn("evidence expiry: check failed; trying again next tick", "err", err)
			} else if n > 0 {
				log.Info("evidence expiry notices raised", "count", n)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() { cancel(); <-done }
}

// ParseWithin reads a look-ahead period: days or weeks ("60d", "8w") or a
// duration ("720h"); empty is DefaultExpiryNotice.
func ParseWithin(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return DefaultExpiryNotice, nil
	}
	bad := fault.Invalidf("within", "%q: give days or weeks such as 60d or 8w (at most 3 years)", s)
	var d time.Duration
	if n, err := strconv.Atoi(s[:len(s)-1]); err == nil && (s[len(s)-1] == 'd' || s[len(s)-1] == 'w') {
		limit := int(MaxExpiringWithin / (24 * time.Hour)) // checked before multiplying, which could wrap
		if s[len(s)-1] == 'w' {
			limit /= 7
		}
		if n < 0 || n > limit {
			return 0, bad
		}
		if s[len(s)-1] == 'w' {
			n *= 7
		}
		d = time.Duration(n) * 24 * time.Hour
	} else if d, err = time.ParseDuration(s); err != nil {
		return 0, bad
	}
	if d < 0 || d > MaxExpiringWithin {
		return 0, bad
	}
	return d, nil
}
