package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-health/vigil/internal/bus"
	"github.com/vigil-health/vigil/internal/store"
)

// Change notices keep what every process holds in memory from the
// organisation tree and the supplier register (today the supplier graph,
// whose paths decide what a caller may read in supply answers, and the
// reports cached on it) in step across the processes of one deployment.
//
// A process that changes organisations or the register publishes a small
// core NATS message on vigil.<deployment>.changed.<kind> (kind "orgs" or
// "supply"); every `vigil serve` subscribes to its deployment's subjects at
// start and invalidates its graph on each notice from another process, so
// all servers converge within a second. <deployment> is the database's
// identity (store.DB.Identity): the processes of one deployment share the
// database and nothing else is sure to be shared, and deployments (or test
// runs) sharing a NATS cluster never hear each other. A restored copy of a
// database keeps its identity, so a staging copy on the production NATS
// would hear production's notices: harmless, as a notice carries no data
// and only causes a rebuild.
//
// Notices are best effort. A server that misses one (NATS down, a CLI
// command in embedded mode, which cannot reach the server's in-process
// NATS) still notices the change at the graph's periodic check of the
// organisation and register generations (supply.Options.CheckInterval,
// 2 s). CLI commands have no server bus: when a NATS URL is configured
// they connect at the end of the command, publish what changed, and go.

// Kinds of change announced.
const (
	changedOrgs   = "orgs"
	changedSupply = "supply"
	changedRules  = "rules" // stored Sigma rules or their settings (detect.go)
	changedIntel  = "intel" // threat intelligence imported (ioc.go)
)

// changeSubject is where a deployment's notices of kind go; kind "*" is
// every kind.
func changeSubject(deployment, kind string) string {
	return "vigil." + deployment + ".changed." + kind
}

// changeNotice is a notice's body.
type changeNotice struct {
	// Origin identifies the process that made the change, which ignores
	// its own notices.
	Origin string `json:"origin"`
}

// changes announces this process's changes.
type changes struct {
	log    *slog.Logger
	origin string

	mu         sync.Mutex
	bus        *bus.Bus // set by serve: notices go out at once
	deployment string
	pending    map[string]bool // without a bus: kinds to announce at close

	heard atomic.Int64 // notices from other processes acted on (serve)
}

func newChanges(log *slog.Logger) *changes {
	var b [8]byte
	rand.Read(b[:])
	return &changes{log: log, origin: hex.EncodeToString(b[:]), pending: map[string]bool{}}
}

// changed announces a change of kind: now on the server's bus, or at the
// end of a CLI command.
func (c *changes) changed(kind string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bus == nil {
		c.pending[kind] = true
		return
	}
	c.publish(c.bus, kind)
}

func (c *changes) publish(b *bus.Bus, kind string) {
	data, _ := json.Marshal(changeNotice{Origin: c.origin})
	if err := b.Notify(changeSubject(c.deployment, kind), data); err != nil {
		c.log.Warn("change notice not sent; other servers see the change at their next check", "kind", kind, "err", err)
	}
}

// listen attaches the server's bus: changes are announced on it from now
// on, and onNotice is called with the kind of every other process's notice.
func (c *changes) listen(ctx context.Context, db *store.DB, b *bus.Bus, onNotice func(kind string)) (stop func(), err error) {
	deployment, err := db.Identity(ctx)
	if err != nil {
		return nil, err
	}
	stop, err = b.Subscribe(changeSubject(deployment, "*"), func(subject string, data []byte) {
		var n changeNotice
		if json.Unmarshal(data, &n) != nil || n.Origin == c.origin {
			return
		}
		c.heard.Add(1)
		onNotice(subject[strings.LastIndexByte(subject, '.')+1:])
	})
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.bus, c.deployment = b, deployment
	pending := c.pending
	c.pending = map[string]bool{}
	for kind := range pending {
		c.publish(b, kind)
	}
	c.mu.Unlock()
	return stop, nil
}

// flush announces what a process without a bus (a CLI command) changed,
// when it is configured with an external NATS. It never fails the
// command: the change is committed, and servers see it at their next
// check anyway.
func (c *changes) flush(db *store.DB, natsURL, natsPrefix string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bus != nil || len(c.pending) == 0 {
		return
	}
	defer clear(c.pending)
	if natsURL == "" {
		return // embedded: servers notice at their periodic check
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	deployment, err := db.Identity(ctx)
	if err != nil {
		c.log.Warn("running servers not told of the change; they see it within a few seconds", "err", err)
		return
	}
	b, err := bus.Open(ctx, bus.Options{URL: natsURL, Prefix: natsPrefix, StartTimeout: 3 * time.Second, Logger: c.log})
	if err != nil {
		c.log.Warn("running servers not told of the change; they see it within a few seconds", "err", err)
		return
	}
	c.deployment = deployment
	for kind := range c.pending {
		c.publish(b, kind)
	}
	if err := b.Close(); err != nil { // drains: the notices are sent
		c.log.Warn("closing the bus after change notices", "err", err)
	}
}
