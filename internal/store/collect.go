package store

import "database/sql"

// Collect reads every row with scan, closes rows and returns what was
// read: an empty (not nil) slice when there are no rows, so that JSON
// answers list []. The first error, of a scan or of the iteration, ends
// it.
func Collect[T any](rows *sql.Rows, scan func(interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	defer func() { _ = rows.Close() }()
	out := []T{}
	for rows.Next() {
		x, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}
