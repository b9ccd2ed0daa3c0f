package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigil-health/vigil/internal/bus"
	"github.com/vigil-health/vigil/internal/cases"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// The CASE_EVENTS stream carries the events people are told about, one
// Notice as JSON on case_events.<ORG>.
const (
	EventStream   = "CASE_EVENTS"
	eventSubject  = "case_events"
	eventConsumer = "notify-send"
	eventMaxAge   = 7 * 24 * time.Hour
)

// EventStreamConfig is the CASE_EVENTS stream's configuration.
func EventStreamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        EventStream,
		Description: "Case events for notifications, one JSON notice per message on case_events.<ORG>",
		Subjects:    []string{eventSubject + ".>"},
		Storage:     jetstream.FileStorage,
		MaxAge:      eventMaxAge,
		Duplicates:  2 * time.Minute,
	}
}

// Notice is one event on the stream: the cases event and the ID that
// makes its deliveries idempotent.
type Notice struct {
	ID    string      `json:"id"`
	Event cases.Event `json:"event"`
}

// kindOf maps a cases event to the kind people choose, "" for events
// nobody is told about.
func kindOf(ev cases.Event) string {
	switch ev.Kind {
	case Assigned, Mentioned, Breached, Escalated:
		return ev.Kind
	case "case.created":
		if len(ev.Users) > 0 {
			return Assigned // opened with an assignee
		}
	}
	return ""
}

// Hook is the cases.Service.OnEvent subscriber. It runs on the committing
// goroutine, so it does one thing: publish the events people are told
// about to CASE_EVENTS and wait for the stream to store them (a few
// milliseconds; at most five seconds when the bus is in trouble, and then
// the notice is logged as lost). Every other event returns at once: the
// alert hot path never waits here.
func (s *Service) Hook(ev cases.Event) {
	if kindOf(ev) == "" {
		return
	}
	pub := s.pub.Load()
	if pub == nil {
		s.log.Warn("notify: no bus; notice not sent", "kind", ev.Kind, "case", ev.Case)
		return
	}
	n := Notice{ID: newNoticeID(), Event: ev}
	data, err := json.Marshal(n)
	if err != nil {
		s.log.Error("notify: encode notice", "kind", ev.Kind, "case", ev.Case, "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := pub.Publish(ctx, eventSubject+"."+strings.ToUpper(ev.Org), data, n.ID); err != nil {
		s.log.Error("notify: notice lost: the bus did not store it", "kind", ev.Kind, "case", ev.Case, "err", err)
	}
}

func newNoticeID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // never fails
	return "NT-" + hex.EncodeToString(b[:])
}

// Start declares CASE_EVENTS, makes Hook publish to it, and sends from
// the durable consumer until stop is called or ctx ends. Every server of a
// deployment may run it: they share the consumer, so each notice is sent
// once.
// baseURL, when not empty, replaces Options.BaseURL for links (a server
// listening on a port the kernel chose knows its address only now).
func (s *Service) Start(ctx context.Context, b *bus.Bus, baseURL string) (stop func(), err error) {
	if _, err := b.EnsureStream(ctx, EventStreamConfig()); err != nil {
		return nil, err
	}
	if baseURL != "" {
		s.o.BaseURL = baseURL
	}
	s.pub.Store(b)
	return b.Consume(ctx, EventStream, eventConsumer, s.handleMessage)
}

func (s *Service) handleMessage(ctx context.Context, msg jetstream.Msg) error {
	var n Notice
	dec := json.NewDecoder(bytes.NewReader(msg.Data()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&n); err != nil || n.ID == "" {
		return bus.Reject(fmt.Errorf("not a notice: %v", err))
	}
	return s.Deliver(ctx, n)
}

// Deliver sends one notice to everyone it concerns who may still see the
// case, on the channels each chose, skipping what was sent before. It
// returns an error only for what a later try may mend (the SMTP server
// is down); a webhook that keeps failing is given up after its retries
// and recorded, so one person's broken receiver delays nobody else.
func (s *Service) Deliver(ctx context.Context, n Notice) error {
	ev := n.Event
	kind := kindOf(ev)
	if kind == "" || ev.Case == "" {
		return nil
	}
	if age := s.now().Sub(ev.At); !ev.At.IsZero() && age > s.o.MaxAge {
		s.log.Warn("notify: notice too old, dropped", "id", n.ID, "kind", kind, "case", ev.Case, "age", age.Round(time.Second))
		return nil
	}
	who, err := s.recipients(ctx, kind, ev)
	if err != nil {
		return err
	}
	var errs []error
	for _, person := range who {
		if err := s.deliverTo(ctx, n, kind, person); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// recipients are the people an event names, less the one who caused it.
func (s *Service) recipients(ctx context.Context, kind string, ev cases.Event) ([]string, error) {
	who := slices.Clone(ev.Users)
	if kind == Escalated {
		// The assignee hears of the breach itself (clock.breached); the
		// escalation goes to the organisations it names.
		who = nil
		var orgs []string
		for o := range strings.SplitSeq(ev.Detail["escalate_to"], ",") {
			if o = strings.TrimSpace(o); o != "" {
				orgs = append(orgs, o)
			}
		}
		holders, err := s.o.Users.HoldersOf(ctx, orgs, EscalationRoles())
		if err != nil {
			return nil, err
		}
		who = append(who, holders...)
	}
	var out []string
	for _, w := range who {
		w = strings.ToLower(strings.TrimSpace(w))
		if w == "" || slices.Contains(out, w) || (kind != Breached && kind != Escalated && strings.EqualFold(w, ev.Actor)) {
			continue
		}
		out = append(out, w)
	}
	return out, nil
}

// deliverTo sends n to one person, if they may still see the case.
func (s *Service) deliverTo(ctx context.Context, n Notice, kind, person string) error {
	sc, err := s.o.Users.ScopeOf(ctx, person)
	if errors.Is(err, fault.ErrNotFound) {
		s.log.Info("notify: no such or a disabled user; not sent", "id", n.ID, "to", person)
		return nil
	}
	if err != nil {
		return err
	}
	// The case read with the person's own scope: someone who can no
	// longer see it (moved trust, grant revoked) hears nothing of it.
	c, err := s.o.Cases.GetCase(ctx, sc, n.Event.Case)
	if errors.Is(err, fault.ErrNotFound) {
		s.log.Info("notify: recipient may not see the case; not sent", "id", n.ID, "to", person, "case", n.Event.Case)
		return nil
	}
	if err != nil {
		return err
	}
	st, err := s.settingsOf(ctx, s.db.Q(), sc.UserID)
	if err != nil {
		return err
	}
	var errs []error
	if s.mailer != nil && slices.Contains(st.Email, kind) {
		err := s.once(ctx, n, kind, sc.UserID, "email", func() error {
			return s.mailer.send(ctx, s.email(n, kind, sc, c))
		})
		errs = append(errs, err)
	}
	if st.WebhookURL != "" && slices.Contains(st.Webhook, kind) {
		err := s.once(ctx, n, kind, sc.UserID, "webhook", func() error {
			body, err := json.Marshal(s.payload(n, kind, sc, c))
			if err != nil {
				return err
			}
			if err := s.hooks.post(ctx, st.WebhookURL, st.WebhookSecret, kind, n.ID+"/"+sc.UserID, body); err != nil {
				// Retried already: give up, so one person's broken
				// receiver does not hold everyone's notices back.
				return &permanentError{err}
			}
			return nil
		})
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// once runs send unless this (notice, user, channel) was settled before,
// and records the outcome: sent, or failed for good. A failure that may
// pass is returned, unrecorded, for the bus to redeliver later.
func (s *Service) once(ctx context.Context, n Notice, kind, userID, channel string, send func() error) error {
	return s.onceFor(ctx, n.ID, n.Event.Case, kind, userID, channel, send)
}

// onceFor is once for a notice noticeID about ref (a case, a cyber alert).
func (s *Service) onceFor(ctx context.Context, noticeID, ref, kind, userID, channel string, send func() error) error {
	id := noticeID + "/" + userID + "/" + channel
	var one int
	err := s.db.Q().QueryRowContext(ctx, `SELECT 1 FROM notify_deliveries WHERE id = ?`, id).Scan(&one)
	if err == nil {
		return nil
	}
	outcome := "sent"
	if serr := send(); serr != nil {
		var perm *permanentError
		if !errors.As(serr, &perm) {
			s.log.Warn("notify: send failed; will retry", "id", noticeID, "channel", channel, "user", userID, "err", serr)
			return serr
		}
		s.log.Warn("notify: send failed for good", "id", noticeID, "channel", channel, "user", userID, "err", serr)
		outcome = "failed: " + serr.Error()
		if len(outcome) > 500 {
			outcome = outcome[:500]
		}
	}
	_, err = s.db.Q().ExecContext(ctx, `INSERT INTO notify_deliveries (id, event_kind, case_id, user_id, channel, outcome, at) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`, id, kind, ref, userID, channel, outcome, ts(s.now()))
	if err != nil {
		return fmt.Errorf("notify: record delivery: %w", err)
	}
	return nil
}

// Delivery is one settled notification, for tests and the account page.
type Delivery struct {
	Kind    string    `json:"kind"`
	Case    string    `json:"case_id"`
	Channel string    `json:"channel"`
	Outcome string    `json:"outcome"`
	At      time.Time `json:"at"`
}

// Deliveries returns the caller's latest settled notifications, newest first.
func (s *Service) Deliveries(ctx context.Context, sc scope.Scope, limit int) ([]Delivery, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	rows, err := s.db.Q().QueryContext(ctx, `SELECT event_kind, case_id, channel, outcome, at FROM notify_deliveries WHERE user_id = ? ORDER BY at DESC, id DESC LIMIT ?`, sc.UserID, limit)
	if err != nil {
		return nil, fmt.Errorf("notify: deliveries: %w", err)
	}
	defer rows.Close()
	out := []Delivery{}
	for rows.Next() {
		var d Delivery
		var at string
		if err := rows.Scan(&d.Kind, &d.Case, &d.Channel, &d.Outcome, &at); err != nil {
			return nil, err
		}
		d.At, _ = time.Parse(tsLayout, at)
		out = append(out, d)
	}
	return out, rows.Err()
}

var _ store.Queryer = (*store.Tx)(nil)
