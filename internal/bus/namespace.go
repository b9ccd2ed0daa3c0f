package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// Namespace is a deployment's share of a NATS server: every stream,
// durable consumer, key-value bucket and subject a Vigil deployment uses
// goes through it, so two deployments (or two test runs) sharing one NATS
// server or cluster, each with its own prefix, never see each other's
// events, alerts, case events, consumers' positions, leases or cursors.
//
// The empty Namespace is today's names unchanged (EVENTS, events.RB03,
// events-store, VIGIL_LEADER), so a deployment that set no prefix keeps
// its streams. A prefix p makes
//
//   - a stream, durable consumer or bucket name N into "p-N" (EVENTS →
//     p-EVENTS, events-store → p-events-store, VIGIL_LEADER → p-VIGIL_LEADER);
//   - a subject S into "p.S" (events.RB03 → p.events.RB03; a stream's
//     subject filter events.> → p.events.>).
//
// A prefix is letters, digits and "_" only (ValidatePrefix), so the first
// "-" of a name and the first "." of a subject end it and no two prefixes
// give the same name. This type is the one place the rule is written: the
// Bus applies it to what passes through its methods (EnsureStream,
// Publish, Notify, Subscribe, Consume, Lead), and the few packages that
// hold a JetStream context of their own (ingest's publisher and Microsoft
// 365 cursors, the events consumers) apply it through Bus.Namespace.
type Namespace string

// MaxPrefix bounds a prefix's length, so that a prefixed name stays well
// inside the server's limits (stream and bucket names become file names).
const MaxPrefix = 32

// ValidatePrefix accepts "" (no namespace) or 1 to MaxPrefix letters,
// digits and underscores.
func ValidatePrefix(p string) error {
	if len(p) > MaxPrefix {
		return fmt.Errorf("%q is %d characters; at most %d", p, len(p), MaxPrefix)
	}
	for i, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return fmt.Errorf("%q has %q at %d; want letters, digits and _ only", p, r, i)
		}
	}
	return nil
}

// Prefix is the namespace's prefix ("" for none).
func (n Namespace) Prefix() string { return string(n) }

// Name is a stream's, durable consumer's or key-value bucket's name in
// the namespace.
func (n Namespace) Name(name string) string {
	if n == "" {
		return name
	}
	return string(n) + "-" + name
}

// Subject is subject (or a subject filter with wildcards) in the
// namespace.
func (n Namespace) Subject(subject string) string {
	if n == "" {
		return subject
	}
	return string(n) + "." + subject
}

// Local is Subject undone: the subject as its publisher named it. A
// subject outside the namespace is returned unchanged.
func (n Namespace) Local(subject string) string {
	if n == "" {
		return subject
	}
	if s, ok := strings.CutPrefix(subject, string(n)+"."); ok {
		return s
	}
	return subject
}

// Stream is cfg in the namespace: its name and subject filters.
func (n Namespace) Stream(cfg jetstream.StreamConfig) jetstream.StreamConfig {
	if n == "" {
		return cfg
	}
	cfg.Name = n.Name(cfg.Name)
	subjects := make([]string, len(cfg.Subjects))
	for i, s := range cfg.Subjects {
		subjects[i] = n.Subject(s)
	}
	cfg.Subjects = subjects
	return cfg
}

// owns reports whether stream (a name on the server) belongs to the
// namespace: its own streams, and those behind its key-value buckets
// (KV_<bucket>) and object stores (OBJ_<bucket>).
func (n Namespace) owns(stream string) bool {
	if n == "" {
		return false
	}
	p := string(n) + "-"
	return strings.HasPrefix(stream, p) || strings.HasPrefix(stream, "KV_"+p) || strings.HasPrefix(stream, "OBJ_"+p)
}

// DeleteNamespace deletes every stream, and with them every consumer,
// key-value bucket and object store, of the bus's namespace, and returns
// their names: a deployment taken down, or a test's deployment after the
// test. It refuses the empty namespace, whose names are not told apart
// from anything else's on the server.
func (b *Bus) DeleteNamespace(ctx context.Context) ([]string, error) {
	if b.ns == "" {
		return nil, errors.New("bus: delete namespace: there is no prefix (Options.Prefix), so nothing on the server is told apart as this deployment's")
	}
	var names []string
	l := b.js.StreamNames(ctx)
	for name := range l.Name() {
		if b.ns.owns(name) {
			names = append(names, name)
		}
	}
	if err := l.Err(); err != nil {
		return nil, fmt.Errorf("bus: delete namespace %s: list streams: %w", b.ns, err)
	}
	var errs []error
	for _, name := range names {
		if err := b.js.DeleteStream(ctx, name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			errs = append(errs, fmt.Errorf("bus: delete namespace %s: stream %s: %w", b.ns, name, err))
		}
	}
	return names, errors.Join(errs...)
}
