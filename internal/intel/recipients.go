package intel

import "context"

// RecipientOrgs maps each object that names organisations among its
// explicit recipients (Share) to those organisations' codes: the IOC
// matcher matches a TLP:RED or TLP:AMBER+STRICT indicator only against
// the events of these organisations, so its alerts go only to inboxes
// whose people may read it. A user recipient is a person, not an
// inbox, and is left out.
func (s *Store) RecipientOrgs(ctx context.Context) (map[string][]string, error) {
	rows, err := s.db.Q().QueryContext(ctx, `SELECT id, recipient FROM intel_object_recipients WHERE kind = 'org' ORDER BY id, recipient`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string][]string{}
	for rows.Next() {
		var id, org string
		if err := rows.Scan(&id, &org); err != nil {
			return nil, err
		}
		m[id] = append(m[id], org)
	}
	return m, rows.Err()
}
