package cases

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// ---- Observables ----

// CaseObservable is an observable of a case, with where else it was seen.
type CaseObservable struct {
	ID          string         `json:"id"`
	Type        ObservableType `json:"type"`
	Value       string         `json:"value"`
	Description string         `json:"description,omitempty"`
	IOC         bool           `json:"ioc"`
	TLP         TLP            `json:"tlp"`
	AlertID     string         `json:"alert_id,omitempty"`
	CreatedAt   time.Time      `json:"created_at"`
	// SeenIn lists the other cases holding the same observable that the
	// caller may read (ListObservables only).
	SeenIn []SeenIn `json:"seen_in"`
}

// SeenIn is another case an observable appears in.
type SeenIn struct {
	CaseID string     `json:"case_id"`
	Title  string     `json:"title"`
	Org    string     `json:"org"`
	Status CaseStatus `json:"status"`
}

// NewObservable is an observable an analyst adds to a case.
type NewObservable struct {
	Type        ObservableType `json:"type"`
	Value       string         `json:"value"`
	Description string         `json:"description,omitempty"`
	IOC         bool           `json:"ioc,omitempty"`
	TLP         TLP            `json:"tlp,omitempty"`
}

// upsertObservable adds o to case c unless the case holds it already.
func (s *Service) upsertObservable(ctx context.Context, tx *store.Tx, c *Case, o CaseObservable) error {
	if o.ID == "" {
		o.ID = newID(prefixObservable, s.now())
	}
	if o.TLP == "" {
		o.TLP = c.TLP
	}
	if o.CreatedAt.IsZero() {
		o.CreatedAt = s.now()
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO case_observables (id, case_id, org, type, value, description, ioc, tlp, alert_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (case_id, type, value) DO NOTHING`,
		o.ID, c.ID, c.Org, string(o.Type), o.Value, o.Description, o.IOC, string(o.TLP), o.AlertID, ts(o.CreatedAt))
	if err != nil {
		return fmt.Errorf("cases: add observable: %w", err)
	}
	return nil
}

const observableCols = `id, type, value, description, ioc, tlp, alert_id, created_at`

func scanObservable(r scanner) (CaseObservable, error) {
	var o CaseObservable
	var at string
	err := r.Scan(&o.ID, &o.Type, &o.Value, &o.Description, &o.IOC, &o.TLP, &o.AlertID, &at)
	o.CreatedAt = parseTS(at)
	o.SeenIn = []SeenIn{}
	return o, err
}

// ListObservables returns a case's observables, each with the other cases
// sc may read that hold the same one.
func (s *Service) ListObservables(ctx context.Context, sc scope.Scope, caseID string) ([]CaseObservable, error) {
	q := s.db.Q()
	if _, _, err := s.loadCase(ctx, q, sc, caseID, ""); err != nil {
		return nil, err
	}
	list, err := queryAll(ctx, q, `SELECT `+observableCols+` FROM case_observables WHERE case_id = ? ORDER BY type, value`, scanObservable, caseID)
	if err != nil {
		return nil, err
	}
	where, args := sc.Filter("o.org", scope.Read)
	type seen struct {
		typ, value string
		in         SeenIn
	}
	// One query for every observable of the case: the others holding the
	// same (type, value), through the (type, value) index, in scope.
	others, err := queryAll(ctx, q, `SELECT o.type, o.value, c.id, c.title, c.org, c.status FROM case_observables o
		JOIN case_observables mine ON mine.type = o.type AND mine.value = o.value AND mine.case_id = ?
		JOIN cases c ON c.id = o.case_id
		WHERE o.case_id <> ? AND `+where+` ORDER BY o.type, o.value, c.id LIMIT 5000`, func(r scanner) (seen, error) {
		var x seen
		err := r.Scan(&x.typ, &x.value, &x.in.CaseID, &x.in.Title, &x.in.Org, &x.in.Status)
		return x, err
	}, append([]any{caseID, caseID}, args...)...)
	if err != nil {
		return nil, err
	}
	for i := range list {
		for _, x := range others {
			if string(list[i].Type) == x.typ && list[i].Value == x.value {
				list[i].SeenIn = append(list[i].SeenIn, x.in)
			}
		}
	}
	if list == nil {
		list = []CaseObservable{}
	}
	return list, nil
}

// AddObservable adds an observable to a case sc may change (a repeat of
// one the case holds is answered with the one held).
func (s *Service) AddObservable(ctx context.Context, sc scope.Scope, caseID string, n NewObservable) (CaseObservable, error) {
	o, err := NormaliseObservable("observable", Observable{Type: n.Type, Value: n.Value})
	if err != nil {
		return CaseObservable{}, err
	}
	if err := checkText("description", n.Description, maxShortText); err != nil {
		return CaseObservable{}, err
	}
	if n.TLP != "" {
		if err := oneOf("tlp", n.TLP, TLPs()); err != nil {
			return CaseObservable{}, err
		}
	}
	_, err = s.changeCase(ctx, sc, caseID, func(tx *store.Tx, c *Case, path string) error {
		co := CaseObservable{Type: o.Type, Value: o.Value, Description: n.Description, IOC: n.IOC, TLP: n.TLP}
		if err := s.upsertObservable(ctx, tx, c, co); err != nil {
			return err
		}
		if _, err := s.addTimeline(ctx, tx, sc, c.ID, timelineEntry{kind: "observable.added", title: fmt.Sprintf("Observable added: %s %s", o.Type, o.Value)}); err != nil {
			return err
		}
		if _, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "case.observable.add", ObjectType: "case", ObjectID: c.ID, Org: c.Org, After: o}); err != nil {
			return err
		}
		return touch(ctx, tx, c, s.now())
	})
	if err != nil {
		return CaseObservable{}, err
	}
	list, err := s.ListObservables(ctx, sc, caseID)
	if err != nil {
		return CaseObservable{}, err
	}
	for _, x := range list {
		if x.Type == o.Type && x.Value == o.Value {
			return x, nil
		}
	}
	return CaseObservable{}, notFound("observable", o.Value)
}

// ---- Timeline ----

// TimelineEntry is one event of a case: written by Vigil (an alert added,
// a status changed, a task done, a comment) or by an analyst (manual).
type TimelineEntry struct {
	ID     string    `json:"id"`
	At     time.Time `json:"at"`
	Kind   string    `json:"kind"`
	Title  string    `json:"title"`
	Body   string    `json:"body,omitempty"`
	RefID  string    `json:"ref_id,omitempty"`
	By     string    `json:"by"`
	Manual bool      `json:"manual"`
}

// NewTimelineEntry is an event an analyst records (when it happened, not
// when it is written: "09:12 the first host encrypted").
type NewTimelineEntry struct {
	At    *time.Time `json:"at,omitempty"`
	Title string     `json:"title"`
	Body  string     `json:"body,omitempty"`
}

// Timeline returns a case's timeline in the order events happened.
func (s *Service) Timeline(ctx context.Context, sc scope.Scope, caseID string) ([]TimelineEntry, error) {
	q := s.db.Q()
	if _, _, err := s.loadCase(ctx, q, sc, caseID, ""); err != nil {
		return nil, err
	}
	out, err := queryAll(ctx, q, `SELECT id, at, kind, title, body, ref_id, by_name, manual FROM case_timeline WHERE case_id = ? ORDER BY at, id`,
		func(r scanner) (TimelineEntry, error) {
			var e TimelineEntry
			var at string
			err := r.Scan(&e.ID, &at, &e.Kind, &e.Title, &e.Body, &e.RefID, &e.By, &e.Manual)
			e.At = parseTS(at)
			return e, err
		}, caseID)
	if out == nil && err == nil {
		out = []TimelineEntry{}
	}
	return out, err
}

// AddTimelineEntry records a manual event in a case sc may change.
func (s *Service) AddTimelineEntry(ctx context.Context, sc scope.Scope, caseID string, n NewTimelineEntry) (TimelineEntry, error) {
	if err := checkName("title", strings.TrimSpace(n.Title), true, maxTitle); err != nil {
		return TimelineEntry{}, err
	}
	if err := checkText("body", n.Body, maxShortText); err != nil {
		return TimelineEntry{}, err
	}
	now := s.now()
	at := now
	if n.At != nil {
		at = n.At.UTC()
		if at.Year() < 1990 || at.After(now.Add(24*time.Hour)) {
			return TimelineEntry{}, fault.Invalidf("at", "must lie between 1990 and a day from now")
		}
	}
	var out TimelineEntry
	_, err := s.changeCase(ctx, sc, caseID, func(tx *store.Tx, c *Case, path string) error {
		id, err := s.addTimeline(ctx, tx, sc, c.ID, timelineEntry{at: at, kind: "manual", title: strings.TrimSpace(n.Title), body: n.Body, manual: true})
		if err != nil {
			return err
		}
		out = TimelineEntry{ID: id, At: at, Kind: "manual", Title: strings.TrimSpace(n.Title), Body: n.Body, By: actorName(sc), Manual: true}
		if _, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "case.timeline.add", ObjectType: "case", ObjectID: c.ID, Org: c.Org, After: out}); err != nil {
			return err
		}
		return touch(ctx, tx, c, now)
	})
	return out, err
}

// ---- Comments ----

// Comment is a note on a case, in Markdown, naming people with @e-mail.
type Comment struct {
	ID       string    `json:"id"`
	Body     string    `json:"body"`
	BodyHTML string    `json:"body_html"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
	// Mentions are the people named who may read the case: they are told
	// (Event comment.mention). Others named stay plain text.
	Mentions []string `json:"mentions"`
}

// mentionRE finds @e-mail mentions.
var mentionRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?:^|[^\w.@])@([A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})`)
})

// Comments lists a case's comments, oldest first.
func (s *Service) Comments(ctx context.Context, sc scope.Scope, caseID string) ([]Comment, error) {
	q := s.db.Q()
	if _, _, err := s.loadCase(ctx, q, sc, caseID, ""); err != nil {
		return nil, err
	}
	out, err := queryAll(ctx, q, `SELECT id, body, mentions, by_name, at FROM case_comments WHERE case_id = ? ORDER BY id`, scanComment, caseID)
	if out == nil && err == nil {
		out = []Comment{}
	}
	return out, err
}

func scanComment(r scanner) (Comment, error) {
	var c Comment
	var mentions, at string
	if err := r.Scan(&c.ID, &c.Body, &mentions, &c.By, &at); err != nil {
		return c, err
	}
	c.At = parseTS(at)
	c.BodyHTML = RenderMarkdown(c.Body)
	if err := json.Unmarshal([]byte(mentions), &c.Mentions); err != nil {
		return c, fmt.Errorf("comment %s mentions: %w", c.ID, err)
	}
	return c, nil
}

// AddComment adds a comment to a case sc may change. Mentions resolve to
// the people named who may read the case; the answer is the same whether
// a person named does not exist or may not see it.
func (s *Service) AddComment(ctx context.Context, sc scope.Scope, caseID, body string) (Comment, error) {
	if strings.TrimSpace(body) == "" {
		return Comment{}, fault.Invalidf("body", "is required")
	}
	if err := checkText("body", body, maxDescription); err != nil {
		return Comment{}, err
	}
	var out Comment
	_, err := s.changeCase(ctx, sc, caseID, func(tx *store.Tx, c *Case, path string) error {
		now := s.now()
		mentions := []string{}
		seen := map[string]bool{}
		for _, m := range mentionRE().FindAllStringSubmatch(body, 20) {
			email, ok, err := s.userCan(ctx, sc, m[1], path, scope.Read)
			if err != nil {
				return err
			}
			if ok && !seen[email] {
				seen[email] = true
				mentions = append(mentions, email)
			}
		}
		cm := Comment{ID: newID(prefixComment, now), Body: body, BodyHTML: RenderMarkdown(body), By: actorName(sc), At: now, Mentions: mentions}
		list, _ := json.Marshal(mentions)
		if _, err := tx.ExecContext(ctx, `INSERT INTO case_comments (id, case_id, body, mentions, by_id, by_name, at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			cm.ID, c.ID, body, string(list), sc.UserID, cm.By, ts(now)); err != nil {
			return fmt.Errorf("cases: comment: %w", err)
		}
		if _, err := s.addTimeline(ctx, tx, sc, c.ID, timelineEntry{kind: "comment", title: "Comment by " + cm.By, ref: cm.ID}); err != nil {
			return err
		}
		if _, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "case.comment", ObjectType: "case", ObjectID: c.ID, Org: c.Org,
			After: map[string]any{"comment": cm.ID, "mentions": mentions}}); err != nil {
			return err
		}
		if len(mentions) > 0 {
			s.after(tx, "comment.mention:"+cm.ID, Event{Kind: "comment.mention", Org: c.Org, Case: c.ID, Actor: cm.By, At: now, Users: mentions,
				Detail: map[string]string{"comment": cm.ID}})
		}
		out = cm
		return touch(ctx, tx, c, now)
	})
	return out, err
}
