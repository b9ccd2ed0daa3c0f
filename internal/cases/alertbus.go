package cases

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigil-health/vigil/internal/bus"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/scope"
)

// The ALERTS stream: producers inside Vigil (Sigma detection, IOC matches,
// vulnerability alerts) and beside it publish one NewAlert as JSON on
// alerts.<ORG> (the ODS code of the alert's organisation, so consumers can
// shard by organisation), with a stable Nats-Msg-Id: JetStream drops a
// repeated publish within its two-minute window, and the consumer records
// every message ID it stored, so a redelivery after a crash stores nothing
// twice. A message that can never be stored (not JSON, an invalid alert, a
// subject that disagrees with the alert's org, an unknown organisation) is
// rejected — terminated and logged — so it neither blocks the stream nor
// circles for ever.
const (
	AlertStream  = "ALERTS"
	alertSubject = "alerts"
	// alertConsumer is the durable consumer through which the cases
	// service stores alerts: one for every server of a deployment, so each
	// message is stored by one of them.
	alertConsumer = "cases-alerts"
	// alertMaxAge keeps alerts on the stream a week after publishing, for
	// a consumer that was down; they are in the database once consumed.
	alertMaxAge = 7 * 24 * time.Hour
)

// AlertSubject is the subject a producer publishes org's alerts on.
func AlertSubject(org string) string { return alertSubject + "." + strings.ToUpper(org) }

// AlertStreamConfig is the ALERTS stream's configuration.
func AlertStreamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        AlertStream,
		Description: "Alerts for the cases inbox, one NewAlert JSON per message on alerts.<ORG>",
		Subjects:    []string{alertSubject + ".>"},
		Storage:     jetstream.FileStorage,
		MaxAge:      alertMaxAge,
		Duplicates:  2 * time.Minute,
	}
}

// busScope is who the audit log records for alerts from the stream: the
// producers are parts of Vigil or systems its operators connected to the
// bus, which only they can reach.
func busScope(subject string) scope.Scope {
	sc := scope.System("bus:" + subject)
	sc.UserID, sc.Via = "bus", "bus"
	return sc
}

// ConsumeAlerts declares the ALERTS stream and stores its alerts through
// the durable consumer until stop is called or ctx ends. Every server of a
// deployment may run it: they share the consumer.
func (s *Service) ConsumeAlerts(ctx context.Context, b *bus.Bus) (stop func(), err error) {
	if _, err := b.EnsureStream(ctx, AlertStreamConfig()); err != nil {
		return nil, err
	}
	return b.Consume(ctx, AlertStream, alertConsumer, s.handleAlertMessage)
}

// handleAlertMessage stores one message's alert idempotently; the bus
// acknowledges it after this returns nil.
func (s *Service) handleAlertMessage(ctx context.Context, msg jetstream.Msg) error {
	subject := msg.Subject()
	org, ok := strings.CutPrefix(subject, alertSubject+".")
	if !ok || org == "" || strings.Contains(org, ".") {
		return bus.Reject(fmt.Errorf("subject %q: publish alerts on %s.<ORG>", subject, alertSubject))
	}
	id := msg.Headers().Get(jetstream.MsgIDHeader)
	if id == "" {
		// Without the producer's ID the stream position identifies the
		// message: a redelivery carries the same one.
		md, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("message metadata: %w", err)
		}
		id = fmt.Sprintf("seq:%d", md.Sequence.Stream)
	}
	var n NewAlert
	dec := json.NewDecoder(bytes.NewReader(msg.Data()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&n); err != nil {
		return bus.Reject(fmt.Errorf("message %s: not a JSON alert: %w", id, err))
	}
	if !strings.EqualFold(strings.TrimSpace(n.Org), org) {
		return bus.Reject(fmt.Errorf("message %s: org %q differs from the subject's %q", id, n.Org, org))
	}
	if _, err := s.ingest(ctx, busScope(subject), n, id); err != nil {
		var inv *fault.Invalid
		if errors.As(err, &inv) || errors.Is(err, fault.ErrNotFound) {
			return bus.Reject(fmt.Errorf("message %s: %w", id, err))
		}
		return err
	}
	return nil
}

// ingest stores an alert from a trusted producer (the bus): no scope
// check beyond the organisation existing, and msgID makes it idempotent.
func (s *Service) ingest(ctx context.Context, sc scope.Scope, n NewAlert, msgID string) (CreateResult, error) {
	a, err := n.build(s.now())
	if err != nil {
		return CreateResult{}, err
	}
	if _, err := s.orgPath(ctx, a.Org); err != nil {
		if errors.Is(err, fault.ErrNotFound) {
			return CreateResult{}, fault.Invalidf("org", "%s is not a known organisation", a.Org)
		}
		return CreateResult{}, err
	}
	return s.writer.submit(ctx, createReq{alert: a, sc: sc, msgID: msgID})
}
