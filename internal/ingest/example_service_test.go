package ingest_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/vigil-health/vigil/internal/bus"
	"github.com/vigil-health/vigil/internal/ingest"
)

// How `vigil serve` runs the listeners: the flags fill ServiceOptions,
// the service starts once the bus is up and closes before it. The event
// lands on the EVENTS stream under the organisation the mapping gives
// the sender.
func ExampleNewService() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "vigil-example")
	defer os.RemoveAll(dir)
	b, err := bus.Open(ctx, bus.Options{DataDir: dir})
	if err != nil {
		panic(err)
	}
	defer b.Close()

	mapFile := filepath.Join(dir, "ingest-map.yaml") // --ingest-map
	_ = os.WriteFile(mapFile, []byte("senders:\n  - match: 127.0.0.0/8\n    org: RJ1\n"), 0o600)
	svc, err := ingest.NewService(ctx, ingest.ServiceOptions{
		Conn:      b.Conn(),
		Root:      "ENG", // the national root: owner when nothing maps
		MapFile:   mapFile,
		SyslogTCP: "127.0.0.1:0", // --syslog-tcp
		RELP:      "127.0.0.1:0", // --relp
	})
	if err != nil {
		panic(err)
	}
	if err := svc.Start(ctx); err != nil {
		panic(err)
	}
	c, _ := net.Dial("tcp", svc.Addrs()[ingest.ListenerSyslogTCP].String())
	fmt.Fprint(c, "<13>1 2026-12-06T13:00:00Z web1 app - - - hello\n")
	c.Close()
	// The sender is gone before the listener has read it: wait for the
	// event to reach the stream before closing the service.
	s, _ := b.JetStream().Stream(ctx, ingest.EventStream)
	info, _ := s.Info(ctx)
	for deadline := time.Now().Add(10 * time.Second); info.State.Msgs == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		info, _ = s.Info(ctx)
	}
	_ = svc.Close() // before the bus
	fmt.Println(info.State.Msgs, info.Config.Subjects)
	counts, _ := svc.Metrics().Snapshot()
	fmt.Println(counts[0].Listener, counts[0].Org, counts[0].Events)
	// Output:
	// 1 [events.>]
	// syslog-tcp RJ1 1
}
