package bustest

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Cluster is a NATS JetStream cluster of embedded servers on loopback,
// as a national deployment runs three on three machines: each server
// has its own client port, cluster (route) port and JetStream store, and
// routes to the others. Servers can be stopped and started again to
// test what a lost node costs.
type Cluster struct {
	t     testing.TB
	name  string
	nodes []*clusterNode
}

type clusterNode struct {
	opts *server.Options

	mu  sync.Mutex
	srv *server.Server // nil while stopped
}

// RunCluster starts n clustered JetStream servers (3 for replicas of 3)
// in t.TempDir() and waits until JetStream has elected its meta leader,
// so streams can be declared at once. They are shut down when the test
// ends.
func RunCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	if n < 1 {
		t.Fatalf("bustest: a cluster of %d servers", n)
	}
	c := &Cluster{t: t, name: fmt.Sprintf("vigil-test-%d", time.Now().UnixNano())}
	clientPorts, routePorts := freePorts(t, n), freePorts(t, n)
	var routes []string
	for _, p := range routePorts {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", p))
	}
	dir := t.TempDir()
	for i := range n {
		c.nodes = append(c.nodes, &clusterNode{opts: &server.Options{
			ServerName:             fmt.Sprintf("n%d", i+1),
			Host:                   "127.0.0.1",
			Port:                   clientPorts[i],
			NoSigs:                 true,
			NoLog:                  true,
			JetStream:              true,
			StoreDir:               filepath.Join(dir, fmt.Sprintf("n%d", i+1)),
			DisableJetStreamBanner: true,
			Cluster:                server.ClusterOpts{Name: c.name, Host: "127.0.0.1", Port: routePorts[i]},
			Routes:                 server.RoutesFromStr(strings.Join(routes, ",")),
		}})
	}
	// Registered after TempDir's cleanup, so it runs first.
	t.Cleanup(func() {
		for i := range c.nodes {
			c.Stop(i)
		}
	})
	for i := range c.nodes {
		c.Start(i)
	}
	c.WaitJetStream(30 * time.Second)
	return c
}

// freePorts reserves n loopback TCP ports the kernel chose, releasing
// them for the servers to take.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("bustest: %v", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		_ = l.Close()
	}
	return ports
}

// URL is the comma-separated client URLs of every server, as Vigil's
// --nats takes them.
func (c *Cluster) URL() string {
	var urls []string
	for i := range c.nodes {
		urls = append(urls, c.NodeURL(i))
	}
	return strings.Join(urls, ",")
}

// NodeURL is server i's client URL.
func (c *Cluster) NodeURL(i int) string {
	return fmt.Sprintf("nats://127.0.0.1:%d", c.nodes[i].opts.Port)
}

// Start starts server i (again), on the same ports and store.
func (c *Cluster) Start(i int) {
	c.t.Helper()
	nd := c.nodes[i]
	nd.mu.Lock()
	defer nd.mu.Unlock()
	if nd.srv != nil {
		return
	}
	opts := *nd.opts
	srv, err := server.NewServer(&opts)
	if err != nil {
		c.t.Fatalf("bustest: server %d: %v", i+1, err)
	}
	srv.Start()
	if !srv.ReadyForConnections(20 * time.Second) {
		srv.Shutdown()
		c.t.Fatalf("bustest: server %d not ready", i+1)
	}
	nd.srv = srv
}

// Stop shuts server i down at once, as a lost machine: its clients are
// disconnected and its streams' replicas elsewhere elect new leaders.
func (c *Cluster) Stop(i int) {
	nd := c.nodes[i]
	nd.mu.Lock()
	srv := nd.srv
	nd.srv = nil
	nd.mu.Unlock()
	if srv != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
	}
}

// WaitJetStream waits until JetStream answers through every running
// server: the cluster has a meta leader, so streams can be declared.
func (c *Cluster) WaitJetStream(timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for i, nd := range c.nodes {
		nd.mu.Lock()
		running := nd.srv != nil
		nd.mu.Unlock()
		if !running {
			continue
		}
		for {
			err := c.ping(i)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				c.t.Fatalf("bustest: JetStream on server %d not ready after %s: %v", i+1, timeout, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

func (c *Cluster) ping(i int) error {
	nc, err := nats.Connect(c.NodeURL(i), nats.Timeout(2*time.Second))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = js.AccountInfo(ctx)
	return err
}
