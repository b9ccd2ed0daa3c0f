package cases

import (
	"context"
	"fmt"
	"strings"

	"github.com/vigil-health/vigil/internal/store"
)

// bulk collects rows for several tables and writes them in multi-row
// INSERTs: a national incident opens thousands of child cases, each with
// its tags, tasks, clocks, timeline entry and membership, and one
// statement per row costs most of the time on SQLite (docs/performance.md).
type bulk struct {
	tx     *store.Tx
	tables map[string]*bulkTable
	order  []string
}

type bulkTable struct {
	head string // "INSERT INTO t (a, b) VALUES "
	row  string // "(?, ?)"
	cols int
	args []any
}

// bulkParams bounds the parameters of one statement, well under both
// engines' limits (SQLite 32,766, PostgreSQL 65,535).
const bulkParams = 20000

func newBulk(tx *store.Tx) *bulk { return &bulk{tx: tx, tables: map[string]*bulkTable{}} }

// add queues one row of table (cols comma-separated, as in SQL).
func (b *bulk) add(ctx context.Context, table, cols string, vals ...any) error {
	key := table + "(" + cols + ")"
	t := b.tables[key]
	if t == nil {
		n := strings.Count(cols, ",") + 1
		t = &bulkTable{head: "INSERT INTO " + table + " (" + cols + ") VALUES ", row: "(" + store.Placeholders(n) + ")", cols: n}
		b.tables[key] = t
		b.order = append(b.order, key)
	}
	if len(vals) != t.cols {
		return fmt.Errorf("cases: bulk %s: %d values for %d columns", table, len(vals), t.cols)
	}
	t.args = append(t.args, vals...)
	if len(t.args)+t.cols > bulkParams {
		return b.flushTable(ctx, t)
	}
	return nil
}

func (b *bulk) flushTable(ctx context.Context, t *bulkTable) error {
	if len(t.args) == 0 {
		return nil
	}
	n := len(t.args) / t.cols
	q := t.head + strings.TrimSuffix(strings.Repeat(t.row+", ", n), ", ")
	if _, err := b.tx.ExecContext(ctx, q, t.args...); err != nil {
		return fmt.Errorf("cases: bulk %s: %w", strings.TrimPrefix(t.head, "INSERT INTO "), err)
	}
	t.args = t.args[:0]
	return nil
}

// flush writes every queued row.
func (b *bulk) flush(ctx context.Context) error {
	for _, k := range b.order {
		if err := b.flushTable(ctx, b.tables[k]); err != nil {
			return err
		}
	}
	return nil
}
