// Package supply is the national supplier register and its dependency
// graph: suppliers (with group parents), products and services, contracts,
// known vulnerabilities per product, dependencies between products
// (hosting, components, subcontractors, identity providers, shared
// services) and deployments of products by organisations for business
// services. Over it the package answers the supply-chain questions of
// issue 8:
//
//   - Impact: which organisations, services, ICBs and regions — and how
//     many people — are affected if a supplier, product or CVE is
//     compromised, with the dependency paths that explain each answer.
//   - DependsOn: what one organisation depends on, at every depth.
//   - Concentration: market shares and Herfindahl–Hirschman indices per
//     service nationally, per region and per ICB, with snapshots for trends.
//   - Systemic: suppliers ranked by systemic importance, and single points
//     of failure that would make a region (or ICB) hard-down for a service.
//
// Writes go to the store (SQLite or PostgreSQL) inside one transaction
// with their audit entry. Heavy reads run on an in-memory graph rebuilt
// from the store (DESIGN principle 6) when a change bumps the register's
// generation counter; see graph.go for its layout and memory cost.
//
// Scope (who sees what) is documented on access.go.
//
// # Import formats
//
// CSV files have a header row naming their columns (any order; extra
// columns are reported as ignored; a missing required column, marked *,
// is an error for the file). Booleans are yes/no, true/false, y/n or 1/0.
//
//	suppliers.csv     supplier_id*, name*, companies_house_number, parent_supplier_id, country,
//	                  ods_code (set when the supplier is an NHS body), duns, tenant_org,
//	                  designated_critical, contacts
//	products.csv      product_id*, supplier_id*, name*, kind* (software, saas, managed-service,
//	                  hosting, component, shared-service, network), version,
//	                  data (patient, personal or none: the most sensitive data it processes),
//	                  cves (CVE IDs separated by ';')
//	dependencies.csv  product_id*, depends_on_product_id*, kind* (hosting, component,
//	                  subcontractor, identity, shared-service, network), critical* (required:
//	                  an unknown criticality must be stated, not defaulted)
//	deployments.csv   org_ods*, product_id*, service*, criticality* (critical, high, medium,
//	                  low), has_fallback* (an empty value means no fallback)
//	product_vulns.csv product_id*, cve*, component
//	contracts.csv     contract_id*, org_ods*, supplier_id*, product_id, start_date, end_date,
//	                  value_gbp, data_processed, exit_plan, substitutability (easy, moderate,
//	                  hard, none)
//
// Services are normalised to lower-case-with-hyphens ("GP Clinical" →
// "gp-clinical"). A file may carry a prefix (case1-suppliers.csv). The JSON
// form is one Register document (see Register; field names equal the CSV
// column names, booleans are JSON booleans). Export writes both forms and
// they round-trip: CSV cells that a spreadsheet would run as formulas are
// written with a leading apostrophe (CSVCell), which the import removes.
// What each field may hold (names without control characters, amounts,
// YYYY-MM-DD dates, CVE-YYYY-NNNN) is in check.go; which supplier fields
// belong to the register rather than to the supplier is in access.go.
package supply

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations returns the supply domain's schema. It needs the org and
// audit migrations too (scope filters join the orgs table).
func Migrations() store.MigrationSet {
	sub, _ := fs.Sub(migrationFS, "migrations")
	return store.MigrationSet{Domain: "supply", FS: sub}
}

// OrgSource lists every organisation; the org package provides it. Orgs of
// type region and icb give the names of regions and ICBs; Population is the
// registered population where known.
type OrgSource interface {
	All(ctx context.Context) ([]org.Org, error)
}

// OrgGenerations is an OrgSource that can also say cheaply whether the tree
// has changed since (org.Service can): the graph then notices organisation
// changes made by other processes at its periodic check, as it does the
// register's, instead of only at MaxGraphAge.
type OrgGenerations interface {
	Generation(ctx context.Context) (int64, error)
}

// Options are the Service's dependencies.
type Options struct {
	DB    *store.DB
	Audit *audit.Log
	Orgs  OrgSource
	// Now is the clock; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
	// CheckInterval is how often a query may look at the register's (and,
	// with OrgGenerations, the organisation tree's) generation counter to
	// notice changes made by other processes (default 2s). A change made
	// through this Service is seen at once, and so is one announced to
	// Invalidate; this check is the fallback for an announcement missed.
	CheckInterval time.Duration
	// MaxGraphAge rebuilds the graph at least this often, for anything the
	// counters do not cover (default 10 minutes). Invalidate forces a
	// rebuild.
	MaxGraphAge time.Duration
	// MaxPathsPerOrg caps the paths listed per affected organisation
	// (default 5; the total is still counted).
	MaxPathsPerOrg int
	// MaxConcurrentImpacts bounds the blast-radius queries computed or
	// streamed at once; more wait for a slot (as long as their context
	// allows). A slot holds a query scratch — at national scale 5.3 MB for
	// the largest answer, plus the answer itself when it is built whole
	// (Impact rather than OpenImpact) — so the bound is a memory bound:
	// however many clients ask, at most this many scratches and results
	// are held. Default 16: about 90 MB of scratch at national scale,
	// and enough that ordinary concurrency seldom waits.
	MaxConcurrentImpacts int
	// MaxConcurrentExports bounds the register exports read at once; more
	// wait for a slot as long as their context allows. An export holds the
	// rows it read while it is written: an estimated 80 MB for the
	// national register (default 2).
	MaxConcurrentExports int
}

// Service is the supply domain's API. It is safe for concurrent use.
type Service struct {
	db    *store.DB
	audit *audit.Log
	orgs  OrgSource
	now   func() time.Time
	log   *slog.Logger
	opts  Options
	graph atomic.Pointer[graph]
	// epoch counts the changes and invalidations this process knows of; a
	// graph built at an older epoch is stale. (A flag cleared when a rebuild
	// began let a concurrent query take the old graph as current until the
	// new one was installed.)
	epoch  atomic.Int64
	lastCk atomic.Int64 // unix nanos of the last generation check
	build  sync.Mutex
	pool   sync.Pool     // *scratch
	slots  chan struct{} // impact queries running (MaxConcurrentImpacts)
	// exportSlots are the exports being read or written (MaxConcurrentExports).
	exportSlots chan struct{}
	// onChange is called after every committed change to the register.
	onChange []func()
	// concRuns and sysRuns count report computations (reports.go), so
	// tests can tell a cached answer from a computed one.
	concRuns, sysRuns atomic.Int64
}

// New checks o and returns a Service.
func New(o Options) (*Service, error) {
	switch {
	case o.DB == nil:
		return nil, errors.New("supply: Options.DB is required")
	case o.Audit == nil:
		return nil, errors.New("supply: Options.Audit is required")
	case o.Orgs == nil:
		return nil, errors.New("supply: Options.Orgs is required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.CheckInterval == 0 {
		o.CheckInterval = 2 * time.Second
	}
	if o.MaxGraphAge == 0 {
		o.MaxGraphAge = 10 * time.Minute
	}
	if o.MaxPathsPerOrg == 0 {
		o.MaxPathsPerOrg = 5
	}
	if o.MaxConcurrentImpacts == 0 {
		o.MaxConcurrentImpacts = 16
	}
	if o.MaxConcurrentExports == 0 {
		o.MaxConcurrentExports = 2
	}
	if o.CheckInterval < 0 || o.MaxGraphAge < 0 || o.MaxPathsPerOrg < 0 || o.MaxConcurrentImpacts < 0 || o.MaxConcurrentExports < 0 {
		return nil, errors.New("supply: Options.CheckInterval, MaxGraphAge, MaxPathsPerOrg, MaxConcurrentImpacts and MaxConcurrentExports must not be negative")
	}
	s := &Service{db: o.DB, audit: o.Audit, orgs: o.Orgs, now: o.Now, log: o.Logger, opts: o,
		slots: make(chan struct{}, o.MaxConcurrentImpacts), exportSlots: make(chan struct{}, o.MaxConcurrentExports)}
	s.pool.New = func() any { return new(scratch) }
	return s, nil
}

// acquire takes an impact slot, waiting while ctx allows.
func (s *Service) acquire(ctx context.Context) error { return take(ctx, s.slots, "impact") }

// take takes a slot of slots, waiting while ctx allows.
func take(ctx context.Context, slots chan struct{}, what string) error {
	select {
	case slots <- struct{}{}:
		return nil
	default:
	}
	select {
	case slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("supply: waiting for an %s slot (%d busy): %w", what, cap(slots), context.Cause(ctx))
	}
}

// release gives an impact slot back.
func (s *Service) release() { <-s.slots }

// Invalidate makes the next query rebuild the graph (call it after the
// organisation tree changes, or when another process says it changed
// either).
func (s *Service) Invalidate() { s.epoch.Add(1) }

// OnChange registers f to be called after each committed change to the
// register, so the composition root can tell other processes. Register
// hooks before the Service is used.
func (s *Service) OnChange(f func()) { s.onChange = append(s.onChange, f) }

func (s *Service) changed() {
	for _, f := range s.onChange {
		f()
	}
}

// Refresh rebuilds the graph now and returns its statistics.
func (s *Service) Refresh(ctx context.Context) (GraphStats, error) {
	s.epoch.Add(1)
	g, err := s.current(ctx)
	if err != nil {
		return GraphStats{}, err
	}
	return g.stats, nil
}

// Stats returns the current graph's size and memory estimate.
func (s *Service) Stats(ctx context.Context) (GraphStats, error) {
	g, err := s.current(ctx)
	if err != nil {
		return GraphStats{}, err
	}
	return g.stats, nil
}

func (s *Service) generation(ctx context.Context, q store.Queryer) (int64, error) {
	var gen int64
	if err := q.QueryRowContext(ctx, `SELECT generation FROM supply_meta WHERE id = 1`).Scan(&gen); err != nil {
		return 0, fmt.Errorf("supply: read generation: %w", err)
	}
	return gen, nil
}

// orgGeneration is the organisation tree's generation, or 0 when the
// OrgSource does not keep one.
func (s *Service) orgGeneration(ctx context.Context) (int64, error) {
	og, ok := s.orgs.(OrgGenerations)
	if !ok {
		return 0, nil
	}
	return og.Generation(ctx)
}

// bump marks the register changed inside tx, for every process.
func bump(ctx context.Context, tx *store.Tx) error {
	if _, err := tx.ExecContext(ctx, `UPDATE supply_meta SET generation = generation + 1 WHERE id = 1`); err != nil {
		return fmt.Errorf("supply: bump generation: %w", err)
	}
	return nil
}

// current returns an up-to-date graph, rebuilding it when this process
// changed the register, when it was invalidated, when another process
// changed the register or the organisations (seen through the generation
// counters, checked at most every CheckInterval), or when it is older than
// MaxGraphAge.
func (s *Service) current(ctx context.Context) (*graph, error) {
	g := s.graph.Load()
	now := s.now()
	if g != nil && g.epoch == s.epoch.Load() && now.Sub(g.builtAt) < s.opts.MaxGraphAge {
		last := s.lastCk.Load()
		if now.UnixNano()-last < int64(s.opts.CheckInterval) {
			return g, nil
		}
		gen, err := s.generation(ctx, s.db.Q())
		if err != nil {
			return nil, err
		}
		orgGen, err := s.orgGeneration(ctx)
		if err != nil {
			return nil, err
		}
		s.lastCk.Store(now.UnixNano())
		if gen == g.gen && orgGen == g.orgGen {
			return g, nil
		}
	}
	s.build.Lock()
	defer s.build.Unlock()
	// Another caller may have rebuilt while we waited.
	if g2 := s.graph.Load(); g2 != nil && g2 != g && g2.epoch == s.epoch.Load() {
		return g2, nil
	}
	// The epoch is read before the register: a change committed while the
	// graph is read leaves it stale, to be built again by the next query.
	epoch := s.epoch.Load()
	start := time.Now()
	ng, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	ng.builtAt, ng.epoch = now, epoch
	s.install(ng)
	s.log.Info("supply graph built", "generation", ng.gen, "orgs", ng.stats.Orgs, "suppliers", ng.stats.Suppliers,
		"products", ng.stats.Products, "dependencies", ng.stats.Dependencies, "deployments", ng.stats.Deployments,
		"bytes", ng.stats.Bytes, "took", time.Since(start))
	return ng, nil
}

// stamp is the updated_at value for rows written now.
func (s *Service) stamp() string { return s.now().UTC().Format(time.RFC3339) }
