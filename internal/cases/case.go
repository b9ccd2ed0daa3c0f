package cases

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/phrase"
	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// Case is an investigation: what happened to one organisation, worked by
// its analysts through tasks, with the alerts, observables and evidence
// that show it.
type Case struct {
	ID          string `json:"id"`
	Org         string `json:"org"`
	Title       string `json:"title"`
	Description string `json:"description"`
	// DescriptionHTML is Description rendered and sanitised (markdown.go).
	DescriptionHTML string         `json:"description_html"`
	Severity        Severity       `json:"severity"`
	TLP             TLP            `json:"tlp"`
	PAP             PAP            `json:"pap"`
	Status          CaseStatus     `json:"status"`
	Assignee        string         `json:"assignee,omitempty"`
	Team            string         `json:"team,omitempty"`
	Tags            []string       `json:"tags"`
	Template        string         `json:"template,omitempty"`
	Fields          map[string]any `json:"fields"`
	Resolution      Resolution     `json:"resolution,omitempty"`
	Impact          Impact         `json:"impact,omitempty"`
	Summary         string         `json:"summary,omitempty"`
	// ParentID is the national incident this case is a child of.
	ParentID string `json:"parent_id,omitempty"`
	// MergedInto is the case this one was merged into (it is then closed
	// as a duplicate).
	MergedInto     string     `json:"merged_into,omitempty"`
	CreatedBy      string     `json:"created_by"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
	ResolvedAt     *time.Time `json:"resolved_at,omitempty"`
	ClosedAt       *time.Time `json:"closed_at,omitempty"`
	// Alerts, Links and Tasks are filled by GetCase: the IDs of the
	// alerts in the case, the linked cases the caller may see, the tasks.
	Alerts []string `json:"alerts,omitempty"`
	Links  []Link   `json:"links,omitempty"`
	Tasks  []Task   `json:"tasks,omitempty"`
	// Clocks are the case's SLA and regulatory clocks (GetCase).
	Clocks []Clock `json:"clocks,omitempty"`
}

// Link is a relation from one case to another.
type Link struct {
	CaseID string `json:"case_id"`
	Title  string `json:"title"`
	Kind   string `json:"kind"`
}

const caseCols = `id, org, title, description, severity, tlp, pap, status, assignee, team, tags, template, fields,
	resolution, impact, summary, parent_id, merged_into, created_by, created_at, updated_at, acknowledged_at, resolved_at, closed_at`

func scanCase(r scanner) (Case, error) {
	var c Case
	var tags, fields, created, updated, ack, resolved, closed string
	err := r.Scan(&c.ID, &c.Org, &c.Title, &c.Description, &c.Severity, &c.TLP, &c.PAP, &c.Status, &c.Assignee, &c.Team, &tags,
		&c.Template, &fields, &c.Resolution, &c.Impact, &c.Summary, &c.ParentID, &c.MergedInto, &c.CreatedBy, &created, &updated, &ack, &resolved, &closed)
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal([]byte(tags), &c.Tags); err != nil {
		return c, fmt.Errorf("case %s tags: %w", c.ID, err)
	}
	d := json.NewDecoder(strings.NewReader(fields))
	d.UseNumber()
	if err := d.Decode(&c.Fields); err != nil {
		return c, fmt.Errorf("case %s fields: %w", c.ID, err)
	}
	c.CreatedAt, c.UpdatedAt = parseTS(created), parseTS(updated)
	c.AcknowledgedAt, c.ResolvedAt, c.ClosedAt = optTS(ack), optTS(resolved), optTS(closed)
	c.DescriptionHTML = RenderMarkdown(c.Description)
	return c, nil
}

// searchText is what q searches: the words of the title and tags
// (search.go).
func (c *Case) searchText() string {
	return searchText(append([]string{c.Title}, c.Tags...)...)
}

// writeCase stores every column of c (insert or update).
func writeCase(ctx context.Context, tx *store.Tx, c *Case, insert bool) error {
	tags, _ := json.Marshal(c.Tags)
	fields, _ := json.Marshal(c.Fields)
	opt := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return ts(*t)
	}
	args := []any{c.Org, c.Title, c.Description, string(c.Severity), string(c.TLP), string(c.PAP), string(c.Status), c.Assignee, c.Team,
		string(tags), c.Template, string(fields), string(c.Resolution), string(c.Impact), c.Summary, c.ParentID, c.MergedInto,
		c.searchText(), c.CreatedBy, ts(c.CreatedAt), ts(c.UpdatedAt), opt(c.AcknowledgedAt), opt(c.ResolvedAt), opt(c.ClosedAt), c.ID}
	q := `UPDATE cases SET org = ?, title = ?, description = ?, severity = ?, tlp = ?, pap = ?, status = ?, assignee = ?, team = ?,
		tags = ?, template = ?, fields = ?, resolution = ?, impact = ?, summary = ?, parent_id = ?, merged_into = ?, search = ?,
		created_by = ?, created_at = ?, updated_at = ?, acknowledged_at = ?, resolved_at = ?, closed_at = ? WHERE id = ?`
	if insert {
		q = `INSERT INTO cases (org, title, description, severity, tlp, pap, status, assignee, team, tags, template, fields,
			resolution, impact, summary, parent_id, merged_into, search, created_by, created_at, updated_at, acknowledged_at,
			resolved_at, closed_at, id) VALUES (` + store.Placeholders(25) + `)`
	}
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("cases: write case %s: %w", c.ID, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM case_tags WHERE case_id = ?`, c.ID); err != nil {
		return err
	}
	for _, t := range c.Tags {
		if _, err := tx.ExecContext(ctx, `INSERT INTO case_tags (case_id, tag) VALUES (?, ?)`, c.ID, t); err != nil {
			return err
		}
	}
	return nil
}

// caseView is what audit entries record of a case (not its evidence).
func caseView(c Case) map[string]any {
	return map[string]any{"title": c.Title, "severity": c.Severity, "tlp": c.TLP, "pap": c.PAP, "status": c.Status, "assignee": c.Assignee,
		"team": c.Team, "tags": c.Tags, "fields": c.Fields, "resolution": c.Resolution, "impact": c.Impact, "merged_into": c.MergedInto}
}

// forUpdate locks the rows a read-modify-write transaction reads: on
// PostgreSQL with FOR UPDATE; SQLite's immediate transactions already
// hold the one write lock.
func forUpdate(tx *store.Tx) string {
	if tx.Dialect() == store.Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// loadCase reads a case sc may read, inside tx (locked for update), with
// its organisation's path; fault.ErrNotFound otherwise.
func (s *Service) loadCase(ctx context.Context, q store.Queryer, sc scope.Scope, id string, lock string) (Case, string, error) {
	if !validID(prefixCase, id) {
		return Case{}, "", notFound("case", id)
	}
	where, args := sc.Filter("org", scope.Read)
	c, err := scanCase(q.QueryRowContext(ctx, `SELECT `+caseCols+` FROM cases WHERE id = ? AND `+where+lock, append([]any{id}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return Case{}, "", notFound("case", id)
	}
	if err != nil {
		return Case{}, "", fmt.Errorf("cases: get case %s: %w", id, err)
	}
	path, err := s.orgPath(ctx, c.Org)
	if err != nil {
		return Case{}, "", err
	}
	return c, path, nil
}

// changeCase runs fn on case id inside a transaction, for a caller who may
// change it; fn records its own timeline and audit entries.
func (s *Service) changeCase(ctx context.Context, sc scope.Scope, id string, fn func(tx *store.Tx, c *Case, path string) error) (Case, error) {
	var out Case
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		c, path, err := s.loadCase(ctx, tx, sc, id, forUpdate(tx))
		if err != nil {
			return err
		}
		if !sc.CanAt(scope.Write, path) {
			return fault.Forbiddenf("you may read but not change case %s", id)
		}
		if err := fn(tx, &c, path); err != nil {
			return err
		}
		out = c
		return nil
	})
	return out, err
}

// timelineEntry is one line of a case's timeline to write.
type timelineEntry struct {
	at     time.Time
	kind   string
	title  string
	body   string
	ref    string
	manual bool
}

func (s *Service) addTimeline(ctx context.Context, tx *store.Tx, sc scope.Scope, caseID string, e timelineEntry) (string, error) {
	if e.at.IsZero() {
		e.at = s.now()
	}
	id := newID(prefixEvent, s.now())
	_, err := tx.ExecContext(ctx, `INSERT INTO case_timeline (id, case_id, at, kind, title, body, ref_id, by_id, by_name, manual) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, caseID, ts(e.at), e.kind, e.title, e.body, e.ref, sc.UserID, actorName(sc), e.manual)
	if err != nil {
		return "", fmt.Errorf("cases: timeline: %w", err)
	}
	return id, nil
}

// NewCase is a case to open. With a template, its title, description,
// severity, markings and tags are the defaults and its tasks are opened;
// with alerts (promotion), the case's organisation defaults to theirs,
// its severity to the highest of theirs, and their observables join it.
type NewCase struct {
	Org         string         `json:"org,omitempty"`
	Title       string         `json:"title,omitempty"`
	Description string         `json:"description,omitempty"`
	Severity    Severity       `json:"severity,omitempty"`
	TLP         TLP            `json:"tlp,omitempty"`
	PAP         PAP            `json:"pap,omitempty"`
	Template    string         `json:"template,omitempty"`
	Assignee    string         `json:"assignee,omitempty"`
	Team        string         `json:"team,omitempty"`
	Tags        []string       `json:"tags,omitempty"`
	Fields      map[string]any `json:"fields,omitempty"`
	AlertIDs    []string       `json:"alert_ids,omitempty"`
	// ParentID makes the case a child of a national incident (set by the
	// incidents service, not through the API).
	ParentID string `json:"-"`
}

// CreateCase opens a case in an organisation sc may change; with AlertIDs
// it promotes those alerts (every one must be one sc may change, and of
// the case's organisation or one below it).
func (s *Service) CreateCase(ctx context.Context, sc scope.Scope, n NewCase) (Case, error) {
	now := s.now()
	var tpl *Template
	if n.Template != "" {
		t, ok := s.templates[n.Template]
		if !ok {
			return Case{}, fault.Invalidf("template", "%q is not a template (templates: %s)", safetext.Terminal(n.Template), strings.Join(sortedKeys(s.templates), ", "))
		}
		tpl = t
	}
	c := Case{ID: newID(prefixCase, now), Org: strings.ToUpper(strings.TrimSpace(n.Org)), Title: strings.TrimSpace(n.Title), Description: n.Description,
		Severity: n.Severity, TLP: n.TLP, PAP: n.PAP, Status: CaseNew, Team: strings.TrimSpace(n.Team), Template: n.Template,
		ParentID: n.ParentID, CreatedBy: actorName(sc), CreatedAt: now, UpdatedAt: now}
	tags := n.Tags
	if tpl != nil {
		if c.Title == "" {
			c.Title = tpl.Title
		}
		if c.Description == "" {
			c.Description = tpl.Description
		}
		if c.Severity == "" {
			c.Severity = tpl.Severity
		}
		if c.TLP == "" {
			c.TLP = tpl.TLP
		}
		if c.PAP == "" {
			c.PAP = tpl.PAP
		}
		tags = append(append([]string{}, tpl.Tags...), tags...)
	}
	alertIDs := []string{}
	if len(n.AlertIDs) > 0 {
		var err error
		if alertIDs, err = checkIDs("alert_ids", prefixAlert, n.AlertIDs); err != nil {
			return Case{}, err
		}
	}
	var err error
	if c.Tags, err = normTags("tags", tags); err != nil {
		return Case{}, err
	}
	if c.Fields, err = checkFieldValues(tpl, n.Fields); err != nil {
		return Case{}, err
	}
	if err := checkName("team", c.Team, false, safetext.MaxName); err != nil {
		return Case{}, err
	}
	if err := checkText("description", c.Description, maxDescription); err != nil {
		return Case{}, err
	}
	var evs []Event
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		var alerts []Alert
		var alertPaths map[string]string
		if len(alertIDs) > 0 {
			var err error
			if alerts, alertPaths, err = s.lockAlerts(ctx, tx, sc, alertIDs); err != nil {
				return err
			}
			if c.Org == "" {
				c.Org = alerts[0].Org
				for _, a := range alerts[1:] {
					if a.Org != c.Org {
						return fault.Invalidf("org", "is required when the alerts belong to several organisations (%s, %s, …)", c.Org, a.Org)
					}
				}
			}
			// Unless asked or templated: the highest severity and the
			// most restricted marking of the alerts, the first one's title.
			sevFromAlerts, tlpFromAlerts := c.Severity == "", c.TLP == ""
			for _, a := range alerts {
				if sevFromAlerts && a.Severity.Rank() > c.Severity.Rank() {
					c.Severity = a.Severity
				}
				if tlpFromAlerts && tlpRank(a.TLP) > tlpRank(c.TLP) {
					c.TLP = a.TLP
				}
				if c.Title == "" {
					c.Title = a.Title
				}
			}
		}
		if c.Org == "" {
			return fault.Invalidf("org", "is required: the ODS code of the organisation the case is about")
		}
		path, err := s.orgPath(ctx, c.Org)
		if errors.Is(err, fault.ErrNotFound) || err == nil && !sc.CanAt(scope.Read, path) {
			return fault.Invalidf("org", "%s is not an organisation you may open cases for", c.Org)
		}
		if err != nil {
			return err
		}
		if !sc.CanAt(scope.Write, path) {
			return fault.Forbiddenf("you may read but not open cases for %s", c.Org)
		}
		if err := c.checkHeader(); err != nil {
			return err
		}
		for _, a := range alerts {
			if !flowsTo(alertPaths[a.Org], path) {
				return fault.Invalidf("alert_ids", "alert %s belongs to %s, which is not %s or under it: its readers could not see the case", a.ID, a.Org, c.Org)
			}
			if a.CaseID != "" {
				return fault.Invalidf("alert_ids", "alert %s is already in case %s", a.ID, a.CaseID)
			}
		}
		if c.Assignee, err = s.assignee(ctx, sc, n.Assignee, c.Org, path); err != nil {
			return err
		}
		if err := writeCase(ctx, tx, &c, true); err != nil {
			return err
		}
		if _, err := s.addTimeline(ctx, tx, sc, c.ID, timelineEntry{kind: "case.created", title: "Case opened"}); err != nil {
			return err
		}
		if err := s.startSLAClocks(ctx, tx, &c); err != nil {
			return err
		}
		if err := s.fieldClocks(ctx, tx, sc, &c); err != nil {
			return err
		}
		if tpl != nil {
			for i, td := range tpl.Tasks {
				if _, err := s.insertTask(ctx, tx, c.ID, NewTask{Title: td.Title, Description: td.Description, Checklist: td.Checklist}, i); err != nil {
					return err
				}
			}
		}
		if _, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "case.create", ObjectType: "case", ObjectID: c.ID, Org: c.Org, After: caseView(c)}); err != nil {
			return err
		}
		if err := s.attachAlerts(ctx, tx, sc, &c, alerts); err != nil {
			return err
		}
		ev := Event{Kind: "case.created", Org: c.Org, Case: c.ID, Actor: actorName(sc), At: now, Detail: map[string]string{"severity": string(c.Severity), "template": c.Template}}
		if c.Assignee != "" {
			ev.Users = []string{c.Assignee}
		}
		evs = append(evs, ev)
		s.after(tx, "case.create", evs...)
		return nil
	})
	if err != nil {
		return Case{}, err
	}
	return s.GetCase(ctx, sc, c.ID)
}

// checkHeader checks the one-line fields and markings of c.
func (c *Case) checkHeader() error {
	if err := checkName("title", c.Title, true, maxTitle); err != nil {
		return err
	}
	if c.Severity == "" {
		c.Severity = Medium
	}
	if err := oneOf("severity", c.Severity, Severities()); err != nil {
		return err
	}
	if c.TLP == "" {
		c.TLP = TLPAmber
	}
	if err := oneOf("tlp", c.TLP, TLPs()); err != nil {
		return err
	}
	if c.PAP == "" {
		c.PAP = PAPAmber
	}
	return oneOf("pap", c.PAP, PAPs())
}

// attachAlerts puts alerts (already checked) into case c: each alert is
// marked in-case, its observables join the case, and the timeline says so.
func (s *Service) attachAlerts(ctx context.Context, tx *store.Tx, sc scope.Scope, c *Case, alerts []Alert) error {
	now := s.now()
	for _, a := range alerts {
		if _, err := tx.ExecContext(ctx, `UPDATE alerts SET status = ?, case_id = ?, updated_at = ? WHERE id = ?`, string(AlertInCase), c.ID, ts(now), a.ID); err != nil {
			return fmt.Errorf("cases: move alert %s: %w", a.ID, err)
		}
		for _, o := range a.Observables {
			if err := s.upsertObservable(ctx, tx, c, CaseObservable{Type: o.Type, Value: o.Value, TLP: a.TLP, AlertID: a.ID}); err != nil {
				return err
			}
		}
		if _, err := s.addTimeline(ctx, tx, sc, c.ID, timelineEntry{kind: "alert.added", title: "Alert added: " + a.Title, ref: a.ID,
			body: fmt.Sprintf("%s/%s %s, severity %s, seen %s", a.Source, a.Type, a.SourceRef, a.Severity, phrase.Count(a.Occurrences, "time", ""))}); err != nil {
			return err
		}
		if _, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "alert.add-to-case", ObjectType: "alert", ObjectID: a.ID, Org: a.Org,
			Before: map[string]string{"status": string(a.Status), "case_id": a.CaseID}, After: map[string]string{"status": string(AlertInCase), "case_id": c.ID}}); err != nil {
			return err
		}
	}
	if len(alerts) > 0 {
		s.after(tx, "case.alerts:"+c.ID, Event{Kind: "case.alerts", Org: c.Org, Case: c.ID, Actor: actorName(sc), At: now,
			Detail: map[string]string{"count": fmt.Sprint(len(alerts))}})
	}
	return nil
}

// AddAlerts puts alerts into a case: every alert must be one sc may
// change, not in a case yet, and of the case's organisation or one below.
func (s *Service) AddAlerts(ctx context.Context, sc scope.Scope, caseID string, alertIDs []string) (Case, error) {
	ids, err := checkIDs("ids", prefixAlert, alertIDs)
	if err != nil {
		return Case{}, err
	}
	_, err = s.changeCase(ctx, sc, caseID, func(tx *store.Tx, c *Case, path string) error {
		if c.Status == CaseClosed {
			return fault.Invalidf("ids", "case %s is closed: reopen it first", c.ID)
		}
		alerts, paths, err := s.lockAlerts(ctx, tx, sc, ids)
		if err != nil {
			return err
		}
		for _, a := range alerts {
			if !flowsTo(paths[a.Org], path) {
				return fault.Invalidf("ids", "alert %s belongs to %s, which is not %s or under it: its readers could not see the case", a.ID, a.Org, c.Org)
			}
			if a.CaseID != "" {
				return fault.Invalidf("ids", "alert %s is already in case %s", a.ID, a.CaseID)
			}
		}
		if err := s.attachAlerts(ctx, tx, sc, c, alerts); err != nil {
			return err
		}
		return touch(ctx, tx, c, s.now())
	})
	if err != nil {
		return Case{}, err
	}
	return s.GetCase(ctx, sc, caseID)
}

// touch records that c changed now.
func touch(ctx context.Context, tx *store.Tx, c *Case, now time.Time) error {
	c.UpdatedAt = now
	_, err := tx.ExecContext(ctx, `UPDATE cases SET updated_at = ? WHERE id = ?`, ts(now), c.ID)
	return err
}

// GetCase returns one case sc may read, with its alerts' IDs, the linked
// cases sc may read, and its tasks; fault.ErrNotFound otherwise.
func (s *Service) GetCase(ctx context.Context, sc scope.Scope, id string) (Case, error) {
	q := s.db.Q()
	c, _, err := s.loadCase(ctx, q, sc, id, "")
	if err != nil {
		return Case{}, err
	}
	if c.Alerts, err = queryAll(ctx, q, `SELECT id FROM alerts WHERE case_id = ? ORDER BY id`, scanString, id); err != nil {
		return Case{}, err
	}
	where, args := sc.Filter("c.org", scope.Read)
	if c.Links, err = queryAll(ctx, q, `SELECT l.other_id, c.title, l.kind FROM case_links l JOIN cases c ON c.id = l.other_id
		WHERE l.case_id = ? AND `+where+` ORDER BY l.other_id`, func(r scanner) (Link, error) {
		var l Link
		err := r.Scan(&l.CaseID, &l.Title, &l.Kind)
		return l, err
	}, append([]any{id}, args...)...); err != nil {
		return Case{}, err
	}
	if c.Tasks, err = s.tasks(ctx, q, id); err != nil {
		return Case{}, err
	}
	if c.Clocks, err = s.caseClocks(ctx, q, id); err != nil {
		return Case{}, err
	}
	return c, nil
}

func scanString(r scanner) (string, error) {
	var s string
	err := r.Scan(&s)
	return s, err
}

// CaseFilter narrows a case listing. Zero fields match everything.
type CaseFilter struct {
	Status   CaseStatus
	Severity Severity
	Org      string
	Assignee string
	Tag      string
	Template string
	Parent   string
	Query    string
	After    string
	Limit    int
}

// ListCases returns the cases sc may read that match f, newest first, and
// the next page's cursor. Items carry no alerts, links or tasks.
func (s *Service) ListCases(ctx context.Context, sc scope.Scope, f CaseFilter) ([]Case, string, error) {
	limit, err := pageLimit(f.Limit)
	if err != nil {
		return nil, "", err
	}
	var l listing
	if sc.National(scope.Read) {
		l.add("1=1") // every organisation is under the root (inboxScope)
	} else {
		where, args := sc.Filter("org", scope.Read)
		l.add(where, args...)
	}
	if err := is(&l, "status", "status", f.Status, CaseStatuses()); err != nil {
		return nil, "", err
	}
	if err := is(&l, "severity", "severity", f.Severity, Severities()); err != nil {
		return nil, "", err
	}
	if err := l.equal(eq{"org", "org", strings.ToUpper(f.Org)}, eq{"assignee", "assignee", f.Assignee},
		eq{"template", "template", f.Template}, eq{"parent_id", "parent", f.Parent}); err != nil {
		return nil, "", err
	}
	if f.Tag != "" {
		l.add("id IN (SELECT case_id FROM case_tags WHERE tag = ?)", strings.ToLower(f.Tag))
	}
	from := "cases"
	if strings.TrimSpace(f.Query) != "" {
		phrases, err := searchPhrases(f.Query)
		if err != nil {
			return nil, "", err
		}
		// Cases have no per-organisation counts: the choice is made as for
		// a national view. For a small scope that understates the walk
		// (it skips other organisations' cases), so a walk may be chosen
		// where a lookup would be faster; cases number thousands, not
		// the inbox's millions.
		plan, err := s.chooseSearchPlan(ctx, "cases", phrases, limit, 0, false)
		if err != nil {
			return nil, "", err
		}
		if plan == planLookup && s.db.Dialect == store.SQLite && len(phrases) > 0 {
			from = "cases NOT INDEXED" // as the inbox: read the matches by rowid
		}
		c, a := searchCond(s.db.Dialect, "cases", phrases, plan)
		l.add(c, a...)
	}
	if err := l.after(prefixCase, f.After); err != nil {
		return nil, "", err
	}
	return page(ctx, s.db.Q(), caseCols, from, l, limit, scanCase, func(c Case) string { return c.ID })
}

// CasePatch changes a case; nil fields are left alone. Fields are merged
// into the case's custom fields (null clears one).
type CasePatch struct {
	Title       *string        `json:"title,omitempty"`
	Description *string        `json:"description,omitempty"`
	Severity    *Severity      `json:"severity,omitempty"`
	TLP         *TLP           `json:"tlp,omitempty"`
	PAP         *PAP           `json:"pap,omitempty"`
	Assignee    *string        `json:"assignee,omitempty"`
	Team        *string        `json:"team,omitempty"`
	Tags        *[]string      `json:"tags,omitempty"`
	Fields      map[string]any `json:"fields,omitempty"`
}

// UpdateCase changes an open case sc may change.
func (s *Service) UpdateCase(ctx context.Context, sc scope.Scope, id string, p CasePatch) (Case, error) {
	_, err := s.changeCase(ctx, sc, id, func(tx *store.Tx, c *Case, path string) error {
		if c.Status == CaseClosed {
			return fault.Invalidf("status", "case %s is closed: reopen it to change it", c.ID)
		}
		before := *c
		now := s.now()
		var notes []string
		if p.Title != nil {
			c.Title = strings.TrimSpace(*p.Title)
		}
		if p.Description != nil {
			if err := checkText("description", *p.Description, maxDescription); err != nil {
				return err
			}
			c.Description = *p.Description
		}
		if p.Severity != nil {
			c.Severity = *p.Severity
		}
		if p.TLP != nil {
			c.TLP = *p.TLP
		}
		if p.PAP != nil {
			c.PAP = *p.PAP
		}
		if err := c.checkHeader(); err != nil {
			return err
		}
		if p.Team != nil {
			if err := checkName("team", *p.Team, false, safetext.MaxName); err != nil {
				return err
			}
			c.Team = strings.TrimSpace(*p.Team)
		}
		if p.Tags != nil {
			tags, err := normTags("tags", *p.Tags)
			if err != nil {
				return err
			}
			c.Tags = tags
		}
		if p.Fields != nil {
			tpl := s.templates[c.Template]
			if c.Template != "" && tpl == nil {
				return fault.Invalidf("fields", "the case's template %q is no longer known", c.Template)
			}
			merged := map[string]any{}
			for k, v := range c.Fields {
				merged[k] = v
			}
			for k, v := range p.Fields {
				merged[k] = v
				if v == nil {
					delete(merged, k)
					if tpl != nil && tpl.field(k) == nil {
						merged[k] = v // let the check name the unknown field
					}
				}
			}
			f, err := checkFieldValues(tpl, merged)
			if err != nil {
				return err
			}
			c.Fields = f
		}
		var evs []Event
		if p.Assignee != nil && strings.TrimSpace(*p.Assignee) != c.Assignee {
			a, err := s.assignee(ctx, sc, *p.Assignee, c.Org, path)
			if err != nil {
				return err
			}
			c.Assignee = a
			if c.Assignee != before.Assignee {
				notes = append(notes, "assigned to "+orNobody(c.Assignee))
				ev := Event{Kind: "case.assigned", Org: c.Org, Case: c.ID, Actor: actorName(sc), At: now}
				if c.Assignee != "" {
					ev.Users = []string{c.Assignee}
				}
				evs = append(evs, ev)
			}
		}
		if c.Severity != before.Severity {
			notes = append(notes, fmt.Sprintf("severity %s → %s", before.Severity, c.Severity))
		}
		c.UpdatedAt = now
		if err := writeCase(ctx, tx, c, false); err != nil {
			return err
		}
		if c.Severity != before.Severity {
			if err := s.rescheduleSLA(ctx, tx, c); err != nil {
				return err
			}
		}
		if p.Fields != nil {
			if err := s.fieldClocks(ctx, tx, sc, c); err != nil {
				return err
			}
		}
		if len(notes) > 0 {
			if _, err := s.addTimeline(ctx, tx, sc, c.ID, timelineEntry{kind: "case.updated", title: "Case " + strings.Join(notes, "; ")}); err != nil {
				return err
			}
		}
		if _, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "case.update", ObjectType: "case", ObjectID: c.ID, Org: c.Org,
			Before: caseView(before), After: caseView(*c)}); err != nil {
			return err
		}
		evs = append(evs, Event{Kind: "case.updated", Org: c.Org, Case: c.ID, Actor: actorName(sc), At: now})
		s.after(tx, "case.update", evs...)
		return nil
	})
	if err != nil {
		return Case{}, err
	}
	return s.GetCase(ctx, sc, id)
}

func orNobody(s string) string {
	if s == "" {
		return "nobody"
	}
	return s
}

// transitions is the case workflow: new → in-progress → resolved →
// closed, with closing allowed from any open status (a false positive
// found at once) and reopening from resolved or closed to in-progress.
var transitions = map[CaseStatus][]CaseStatus{
	CaseNew:        {CaseInProgress, CaseResolved, CaseClosed},
	CaseInProgress: {CaseResolved, CaseClosed},
	CaseResolved:   {CaseClosed, CaseInProgress},
	CaseClosed:     {CaseInProgress},
}

// StatusChange moves a case along its workflow. Closing needs a
// resolution and an impact, and every custom field the template marks
// required_on_close.
type StatusChange struct {
	Status     CaseStatus `json:"status"`
	Resolution Resolution `json:"resolution,omitempty"`
	Impact     Impact     `json:"impact,omitempty"`
	Summary    string     `json:"summary,omitempty"`
}

// SetStatus moves a case sc may change to another status; a transition
// the workflow does not allow is fault.Invalid naming the allowed ones.
func (s *Service) SetStatus(ctx context.Context, sc scope.Scope, id string, ch StatusChange) (Case, error) {
	if err := oneOf("status", ch.Status, CaseStatuses()); err != nil {
		return Case{}, err
	}
	if err := checkText("summary", ch.Summary, maxShortText); err != nil {
		return Case{}, err
	}
	_, err := s.changeCase(ctx, sc, id, func(tx *store.Tx, c *Case, path string) error {
		return s.setStatus(ctx, tx, sc, c, ch, false)
	})
	if err != nil {
		return Case{}, err
	}
	return s.GetCase(ctx, sc, id)
}

// setStatus applies ch to c inside tx. merged skips the template's
// mandatory fields: a case merged away is closed as a duplicate, and its
// fields live on in the case it joined.
func (s *Service) setStatus(ctx context.Context, tx *store.Tx, sc scope.Scope, c *Case, ch StatusChange, merged bool) error {
	from := c.Status
	allowed := false
	for _, to := range transitions[from] {
		allowed = allowed || to == ch.Status
	}
	if !allowed {
		return fault.Invalidf("status", "a %s case cannot become %s (from %s: %s)", from, ch.Status, from, names(transitions[from]))
	}
	before := *c
	now := s.now()
	switch ch.Status {
	case CaseInProgress:
		if c.AcknowledgedAt == nil {
			c.AcknowledgedAt = &now
		}
		if from == CaseResolved || from == CaseClosed {
			c.Resolution, c.Impact, c.Summary, c.ResolvedAt, c.ClosedAt = "", "", "", nil, nil
		}
	case CaseResolved:
		c.ResolvedAt = &now
	case CaseClosed:
		if ch.Resolution == "" {
			return fault.Invalidf("resolution", "is required to close a case: one of %s", names(Resolutions()))
		}
		if err := oneOf("resolution", ch.Resolution, Resolutions()); err != nil {
			return err
		}
		if ch.Impact == "" {
			return fault.Invalidf("impact", "is required to close a case: one of %s", names(Impacts()))
		}
		if err := oneOf("impact", ch.Impact, Impacts()); err != nil {
			return err
		}
		if tpl := s.templates[c.Template]; tpl != nil && !merged {
			var missing []string
			for _, f := range MissingToClose(tpl, c.Fields) {
				missing = append(missing, f.Name)
			}
			if len(missing) > 0 {
				return fault.Invalidf("fields."+missing[0], "is required to close a %s case (missing: %s)", tpl.Name, strings.Join(missing, ", "))
			}
		}
		c.Resolution, c.Impact, c.Summary = ch.Resolution, ch.Impact, ch.Summary
		if c.ResolvedAt == nil {
			c.ResolvedAt = &now
		}
		c.ClosedAt = &now
	}
	c.Status = ch.Status
	c.UpdatedAt = now
	if err := writeCase(ctx, tx, c, false); err != nil {
		return err
	}
	if err := s.meetClocks(ctx, tx, c); err != nil {
		return err
	}
	title := fmt.Sprintf("Status %s → %s", from, c.Status)
	if c.Status == CaseClosed {
		title += fmt.Sprintf(" (%s, impact %s)", c.Resolution, c.Impact)
	}
	if _, err := s.addTimeline(ctx, tx, sc, c.ID, timelineEntry{kind: "case.status", title: title, body: ch.Summary}); err != nil {
		return err
	}
	if _, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "case.status", ObjectType: "case", ObjectID: c.ID, Org: c.Org,
		Before: caseView(before), After: caseView(*c)}); err != nil {
		return err
	}
	s.after(tx, "case.status:"+c.ID, Event{Kind: "case.status", Org: c.Org, Case: c.ID, Actor: actorName(sc), At: now,
		Detail: map[string]string{"from": string(from), "to": string(c.Status)}})
	return nil
}
