package cases

import (
	"context"
	"strings"

	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/store"
)

// listing gathers a list query's WHERE conditions and their arguments,
// in order, for the alert and case listings: each filter is checked
// as it is added, so a bad one is refused naming its field.
type listing struct {
	conds []string
	args  []any
}

func (l *listing) add(cond string, a ...any) {
	l.conds = append(l.conds, cond)
	l.args = append(l.args, a...)
}

// is adds col = v when v is set, v being one of allowed.
func is[T ~string](l *listing, field, col string, v T, allowed []T) error {
	if v == "" {
		return nil
	}
	if err := oneOf(field, v, allowed); err != nil {
		return err
	}
	l.add(col+" = ?", string(v))
	return nil
}

// eq is one equality filter: a column, the field a user names it by, and
// the value ("" for none).
type eq struct{ col, field, v string }

// equal adds col = v for each value set, each checked as a name.
func (l *listing) equal(fs ...eq) error {
	for _, f := range fs {
		if f.v == "" {
			continue
		}
		if err := checkName(f.field, f.v, false, safetext.MaxName); err != nil {
			return err
		}
		l.add(f.col+" = ?", f.v)
	}
	return nil
}

// after adds the cursor: IDs below the last one of the previous page.
func (l *listing) after(prefix, cursor string) error {
	if cursor == "" {
		return nil
	}
	if !validID(prefix, cursor) {
		return fault.Invalidf("cursor", "not a cursor from this listing")
	}
	l.add("id < ?", cursor)
	return nil
}

// pageLimit is a listing's page size: 100 by default, at most MaxPage.
func pageLimit(n int) (int, error) {
	if n <= 0 {
		return 100, nil
	}
	if n > MaxPage {
		return 0, fault.Invalidf("limit", "want a number from 1 to %d", MaxPage)
	}
	return n, nil
}

// pageSQL is the statement page runs; its last argument is the limit.
func pageSQL(cols, from string, l listing) string {
	return `SELECT ` + cols + ` FROM ` + from + ` WHERE ` + strings.Join(l.conds, " AND ") + ` ORDER BY id DESC LIMIT ?`
}

// page reads one page, newest first: the rows of from (a table and any
// index hint) that meet l's conditions, limit of them, and the next
// page's cursor ("" at the end). A page is never nil.
func page[T any](ctx context.Context, q store.Queryer, cols, from string, l listing, limit int, scan func(scanner) (T, error), id func(T) string) ([]T, string, error) {
	list, err := queryAll(ctx, q, pageSQL(cols, from, l), scan, append(l.args, limit+1)...)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(list) > limit {
		list = list[:limit]
		next = id(list[len(list)-1])
	}
	if list == nil {
		list = []T{}
	}
	return list, next, nil
}
