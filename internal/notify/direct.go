package notify

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/fault"
)

// Direct is a notice addressed to named people rather than derived from a
// case event: the national cyber alerts' issue notices, reminders and
// escalations (internal/vuln). The sender has chosen the recipients (the
// holders of roles on the organisations concerned), so no case is read
// with their scope.
type Direct struct {
	// ID is stable for one notice, so a resend sends nothing twice.
	ID string
	// Kind names the notice (cyberalert.issued, …) and Ref what it is
	// about (the alert's ID); both are recorded with each delivery.
	Kind, Ref string
	// To are the recipients' e-mail addresses (users of Vigil).
	To            []string
	Subject, Body string
	// Payload is what the webhook's body carries under "data".
	Payload any
}

// DirectPayload is the JSON body of a direct notice's webhook POST: the
// envelope of case notices' Payload (id, kind, at, to) with the sender's
// own data.
type DirectPayload struct {
	// ID identifies the delivery; the same on every retry of it.
	ID   string    `json:"id"`
	Kind string    `json:"kind"`
	At   time.Time `json:"at"`
	To   string    `json:"to"`
	Ref  string    `json:"ref"`
	Data any       `json:"data"`
}

// SendDirect sends d by e-mail to each recipient and, to those who have
// set a webhook, posts its payload there. A national cyber alert is a
// duty to answer, not a preference: it goes by e-mail whatever a person's
// settings say of case notices. Each (notice, person, channel) is
// recorded in notify_deliveries as case notices are, so sending d again
// sends nothing twice; a failure that may pass is returned for the caller
// to try again.
func (s *Service) SendDirect(ctx context.Context, d Direct) error {
	var errs []error
	for _, to := range d.To {
		to = strings.ToLower(strings.TrimSpace(to))
		if to == "" {
			continue
		}
		sc, err := s.o.Users.ScopeOf(ctx, to)
		if errors.Is(err, fault.ErrNotFound) {
			s.log.Info("notify: no such or a disabled user; not sent", "id", d.ID, "to", to)
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if s.mailer != nil {
			errs = append(errs, s.onceFor(ctx, d.ID, d.Ref, d.Kind, sc.UserID, "email", func() error {
				return s.mailer.send(ctx, message{To: sc.Email, Subject: d.Subject, Body: d.Body, ID: strings.ReplaceAll(d.ID, "/", ".") + "." + sc.UserID + "@vigil"})
			}))
		}
		st, err := s.settingsOf(ctx, s.db.Q(), sc.UserID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if st.WebhookURL != "" && d.Payload != nil {
			errs = append(errs, s.onceFor(ctx, d.ID, d.Ref, d.Kind, sc.UserID, "webhook", func() error {
				id := d.ID + "/" + sc.UserID
				body, err := json.Marshal(DirectPayload{ID: id, Kind: d.Kind, At: s.now().UTC(), To: sc.Email, Ref: d.Ref, Data: d.Payload})
				if err != nil {
					return err
				}
				if err := s.hooks.post(ctx, st.WebhookURL, st.WebhookSecret, d.Kind, id, body); err != nil {
					return &permanentError{err}
				}
				return nil
			}))
		}
	}
	return errors.Join(errs...)
}
