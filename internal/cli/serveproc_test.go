package cli

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"os/exec"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// serveArgsEnv carries a child's `vigil serve` arguments, separated by
// serveArgSep, to TestServeChild.
const (
	serveArgsEnv = "VIGIL_TEST_SERVE_ARGS"
	serveArgSep  = "\x1f"
)

// TestServeChild is `vigil serve` as a process of its own, run from this
// test binary for the tests and benchmarks that kill it or measure it
// from outside (serveProc).
func TestServeChild(t *testing.T) {
	args := os.Getenv(serveArgsEnv)
	if args == "" {
		t.Skip("the child of serveProc")
	}
	// VIGIL_TEST_SERVE_HEAPPROFILE=FILE writes the server's heap profile
	// to FILE every 30 s (replacing it), for a soak's memory;
	// VIGIL_TEST_SERVE_HEAPPROFILE_EVERY sets another interval (a
	// benchmark's few seconds).
	if f := os.Getenv("VIGIL_TEST_SERVE_HEAPPROFILE"); f != "" {
		every := 30 * time.Second
		if d, err := time.ParseDuration(os.Getenv("VIGIL_TEST_SERVE_HEAPPROFILE_EVERY")); err == nil && d > 0 {
			every = d
		}
		go func() {
			for range time.Tick(every) {
				tmp := f + ".tmp"
				out, err := os.Create(tmp)
				if err != nil {
					continue
				}
				err = pprof.Lookup("heap").WriteTo(out, 0)
				if out.Close() == nil && err == nil {
					_ = os.Rename(tmp, f)
				}
			}
		}()
	}
	// VIGIL_TEST_SERVE_CPUPROFILE=FILE profiles the server until it is
	// stopped with SIGTERM (serveProc.term), for a benchmark's profile.
	if f := os.Getenv("VIGIL_TEST_SERVE_CPUPROFILE"); f != "" {
		out, err := os.Create(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.StartCPUProfile(out); err != nil {
			t.Fatal(err)
		}
		code := Run(context.Background(), strings.Split(args, serveArgSep), os.Stdin, os.Stdout, os.Stderr)
		pprof.StopCPUProfile()
		out.Close()
		os.Exit(code)
	}
	os.Exit(Run(context.Background(), strings.Split(args, serveArgSep), os.Stdin, os.Stdout, os.Stderr))
}

// serveProc runs `vigil serve args` as a child process answering on
// http, which can be killed and started again; its output is shown if
// the test fails.
type serveProc struct {
	t    testing.TB
	args []string
	http string

	mu    sync.Mutex
	child *exec.Cmd
	logs  strings.Builder
}

// start starts the server and waits until /readyz answers 200.
func (p *serveProc) start() {
	t := p.t
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestServeChild$")
	cmd.Env = append(os.Environ(), serveArgsEnv+"="+strings.Join(p.args, serveArgSep))
	out, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.mu.Lock()
			p.logs.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get("http://" + p.http + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			p.mu.Lock()
			defer p.mu.Unlock()
			t.Fatalf("vigil serve was not ready within a minute:\n%s", p.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.mu.Lock()
	p.child = cmd
	p.mu.Unlock()
}

// pid is the running server's process ID (0 when it is not running).
func (p *serveProc) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.child == nil {
		return 0
	}
	return p.child.Process.Pid
}

// kill ends the server with SIGKILL, as a crash would.
func (p *serveProc) kill() { p.end(syscall.SIGKILL) }

// term stops the server with SIGTERM and waits for it to end.
func (p *serveProc) term() { p.end(syscall.SIGTERM) }

func (p *serveProc) end(sig os.Signal) {
	p.mu.Lock()
	c := p.child
	p.child = nil
	p.mu.Unlock()
	if c != nil {
		_ = c.Process.Signal(sig)
		_ = c.Wait()
	}
}

// signal sends sig to the running server.
func (p *serveProc) signal(sig os.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.child == nil {
		return os.ErrProcessDone
	}
	return p.child.Process.Signal(sig)
}

// output is what the server has printed so far.
func (p *serveProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// stop is for t.Cleanup: kill, and show the output of a failed test.
func (p *serveProc) stop() {
	p.kill()
	if p.t.Failed() {
		p.mu.Lock()
		p.t.Logf("vigil serve's output:\n%s", p.logs.String())
		p.mu.Unlock()
	}
}
