package ingest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A disk with less room than the default EVENTS stream (50 GiB) still
// starts: the stream is halved until JetStream can reserve it. A size the
// operator asked for is not shrunk: it is refused with its size named.
func TestEventStreamFitsTheDisk(t *testing.T) {
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), JetStreamMaxStore: 3 << 30, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	t.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ctx := context.Background()

	if _, err := NewPublisher(ctx, PublisherOptions{Conn: nc, Stream: StreamOptions{MaxBytes: 10 << 30}}); err == nil || !strings.Contains(err.Error(), "10240 MiB") {
		t.Fatalf("a 10 GiB stream on a 3 GiB store: %v, want refused naming its size", err)
	}
	if _, err := NewPublisher(ctx, PublisherOptions{Conn: nc}); err != nil {
		t.Fatalf("the default stream on a 3 GiB store: %v", err)
	}
	js, _ := jetstream.New(nc)
	s, err := js.Stream(ctx, EventStream)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.CachedInfo().Config.MaxBytes; got > 3<<30 || got < minStreamBytes {
		t.Errorf("EVENTS MaxBytes = %d, want between 1 and 3 GiB", got)
	}
}

// A cluster reports the shortage as "no suitable peers": the default
// stream shrinks on it too (TestServersOnANATSCluster failed on a disk
// with less than 50 GiB free), and on no other placement failure.
func TestNoRoomOnACluster(t *testing.T) {
	for _, c := range []struct {
		err  jetstream.APIError
		want bool
	}{
		{jetstream.APIError{ErrorCode: 10047, Description: "insufficient storage resources available"}, true},
		{jetstream.APIError{ErrorCode: 10005, Description: "no suitable peers for placement, insufficient storage"}, true},
		{jetstream.APIError{ErrorCode: 10005, Description: "no suitable peers for placement"}, false},
		{jetstream.APIError{ErrorCode: 10058, Description: "stream name already in use with a different configuration"}, false},
	} {
		if got := noRoom(&c.err); got != c.want {
			t.Errorf("noRoom(%d %q) = %v, want %v", c.err.ErrorCode, c.err.Description, got, c.want)
		}
	}
}
