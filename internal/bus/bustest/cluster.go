package bustest

import (
	"context"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
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
	// child, when set, runs each server as a process of its own
	// (RunClusterProcesses), so Stop is a real SIGKILL.
	child string
}

type clusterNode struct {
	opts *server.Options

	mu  sync.Mutex
	srv *server.Server // nil while stopped (in-process servers)
	cmd *exec.Cmd      // nil while stopped (child processes)
}

// RunCluster starts n ≥ 2 clustered JetStream servers (3 for replicas of 3)
// in t.TempDir() and waits until JetStream has elected its meta leader,
// so streams can be declared at once. They are shut down when the test
// ends.
func RunCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	return runCluster(t, n, "")
}

// RunClusterProcesses is RunCluster with each server a child process:
// this test binary run with -test.run ^childTest$, a test that calls
// NodeChild. Stop then kills the server with SIGKILL, as a crashed
// machine, rather than shutting it down in-process.
func RunClusterProcesses(t testing.TB, n int, childTest string) *Cluster {
	t.Helper()
	return runCluster(t, n, childTest)
}

func runCluster(t testing.TB, n int, child string) *Cluster {
	t.Helper()
	if n < 2 {
		// A lone server configured as a cluster waits for peers and
		// never offers JetStream: use Run for one server.
		t.Fatalf("bustest: a cluster of %d servers; want at least 2 (Run starts one)", n)
	}
	c := &Cluster{t: t, name: fmt.Sprintf("vigil-test-%d", time.Now().UnixNano()), child: child}
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

// freePorts finds n loopback TCP ports free now, below Linux's
// ephemeral range (32768 and up): ports the kernel hands out are also
// the local ports of outgoing connections, and one of those could take a
// port between its release here and the server binding it, which made
// a server fail to start when other tests ran beside. The ports are
// released for the servers to take.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for tries := 0; len(ports) < n; tries++ {
		if tries > 1000 {
			t.Fatalf("bustest: no free port below 32768")
		}
		p := 20000 + mrand.IntN(12000)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		ls = append(ls, l)
		ports = append(ports, p)
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
	if nd.srv != nil || nd.cmd != nil {
		return
	}
	if c.child != "" {
		nd.cmd = c.startChild(i)
		return
	}
	opts := *nd.opts
	srv, err := server.NewServer(&opts)
	if err != nil {
		c.t.Fatalf("bustest: server %d: %v", i+1, err)
	}
	l := &lastError{}
	srv.SetLoggerV2(l, false, false, false)
	srv.Start()
	if !srv.ReadyForConnections(20 * time.Second) {
		srv.Shutdown()
		c.t.Fatalf("bustest: server %d not ready: %s", i+1, l.get())
	}
	nd.srv = srv
}

// Stop shuts server i down at once, as a lost machine: its clients are
// disconnected and its streams' replicas elsewhere elect new leaders. A
// child process is killed with SIGKILL.
func (c *Cluster) Stop(i int) {
	nd := c.nodes[i]
	nd.mu.Lock()
	srv, cmd := nd.srv, nd.cmd
	nd.srv, nd.cmd = nil, nil
	nd.mu.Unlock()
	if cmd != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
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
		running := nd.srv != nil || nd.cmd != nil
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

// nodeEnv carries a child server's settings to NodeChild.
const nodeEnv = "VIGIL_TEST_NATS_NODE"

// childNode is what a child server needs of server.Options.
type childNode struct {
	Name, Cluster, StoreDir, Routes string
	Port, RoutePort                 int
}

// startChild runs server i as a child process and waits until it
// accepts connections.
func (c *Cluster) startChild(i int) *exec.Cmd {
	c.t.Helper()
	o := c.nodes[i].opts
	var routes []string
	for _, u := range o.Routes {
		routes = append(routes, u.String())
	}
	spec, _ := json.Marshal(childNode{Name: o.ServerName, Cluster: o.Cluster.Name, StoreDir: o.StoreDir, Routes: strings.Join(routes, ","),
		Port: o.Port, RoutePort: o.Cluster.Port})
	cmd := exec.Command(os.Args[0], "-test.run", "^"+c.child+"$")
	cmd.Env = append(os.Environ(), nodeEnv+"="+string(spec))
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("bustest: server %d: %v", i+1, err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", o.Port), time.Second)
		if err == nil {
			_ = conn.Close()
			return cmd
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			c.t.Fatalf("bustest: server %d (a child process) not ready: %v", i+1, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// NodeChild is the body of the test RunClusterProcesses runs as each
// server: with the settings it is given, it runs a clustered JetStream
// server until killed. Run as an ordinary test it skips.
func NodeChild(t *testing.T) {
	spec := os.Getenv(nodeEnv)
	if spec == "" {
		t.Skip("a NATS server of bustest.RunClusterProcesses")
	}
	var n childNode
	if err := json.Unmarshal([]byte(spec), &n); err != nil {
		t.Fatal(err)
	}
	srv, err := server.NewServer(&server.Options{
		ServerName: n.Name, Host: "127.0.0.1", Port: n.Port, NoSigs: true, NoLog: true,
		JetStream: true, StoreDir: n.StoreDir, DisableJetStreamBanner: true,
		Cluster: server.ClusterOpts{Name: n.Cluster, Host: "127.0.0.1", Port: n.RoutePort},
		Routes:  server.RoutesFromStr(n.Routes),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	// Until SIGKILL; or until the test that started it is gone, so a
	// crashed test leaves no server behind.
	parent := os.Getppid()
	for os.Getppid() == parent {
		time.Sleep(time.Second)
	}
	srv.Shutdown()
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

// lastError keeps an in-process server's last error, which explains a
// failed start.
type lastError struct {
	mu   sync.Mutex
	last string
}

func (l *lastError) set(format string, v ...any) {
	l.mu.Lock()
	l.last = fmt.Sprintf(format, v...)
	l.mu.Unlock()
}

func (l *lastError) get() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

func (l *lastError) Noticef(string, ...any)         {}
func (l *lastError) Warnf(string, ...any)           {}
func (l *lastError) Debugf(string, ...any)          {}
func (l *lastError) Tracef(string, ...any)          {}
func (l *lastError) Errorf(format string, v ...any) { l.set(format, v...) }
func (l *lastError) Fatalf(format string, v ...any) { l.set(format, v...) }
