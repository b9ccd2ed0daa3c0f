//go:build linux

package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-health/vigil/internal/config"
	"github.com/vigil-health/vigil/internal/testneed"
)

// openPTY opens a pseudo-terminal, like the one `make run` writes to, and
// collects what is written to it.
func openPTY(t *testing.T) (tty *os.File, console func() string) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		testneed.Missing(t, "a pseudo-terminal (/dev/ptmx)", err)
	}
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	var mu sync.Mutex
	var buf bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		b := make([]byte, 4096)
		for {
			n, err := master.Read(b)
			mu.Lock()
			buf.Write(b[:n])
			mu.Unlock()
			if err != nil {
				return // EIO once the terminal side is closed
			}
		}
	}()
	t.Cleanup(func() { tty.Close(); <-done; master.Close() })
	return tty, func() string {
		// Give the terminal a moment to pass on what was written.
		time.Sleep(100 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		return strings.ReplaceAll(buf.String(), "\r\n", "\n")
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServeIsQuietOnATerminal is `make run` on a new data directory: the
// person sees where Vigil is and how to sign in — not the migrations, the
// embedded NATS server's banner or a line for every request.
func TestServeIsQuietOnATerminal(t *testing.T) {
	tty, console := openPTY(t)
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTPAddr = "127.0.0.1:0"
	var stdout lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, &stdout, tty) }()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(stdout.String(), "stop:") {
		if time.Now().After(deadline) {
			t.Fatalf("no start-up message after a minute:\n%s\nconsole:\n%s", stdout.String(), console())
		}
		time.Sleep(50 * time.Millisecond)
	}
	m := regexp.MustCompile(`is running at (http://\S+)`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("no address in:\n%s", stdout.String())
	}
	for _, path := range []string{"/healthz", "/signin"} {
		res, err := http.Get(m[1] + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	out := console()
	for _, noise := range []string{"level=INFO", "nats-server", "JETSTREAM", "migration applied", "msg=http"} {
		if strings.Contains(out, noise) {
			t.Errorf("the terminal shows %q:\n%s", noise, out)
		}
	}
	said := stdout.String()
	for _, want := range []string{"is running at http://127.0.0.1:", "sign in:  admin@vigil.local with the password in ", "initial-admin-password", "stop:     Ctrl-C"} {
		if !strings.Contains(said, want) {
			t.Errorf("start-up message lacks %q:\n%s", want, said)
		}
	}
	if n := strings.Count(strings.TrimSpace(said), "\n") + 1; n > 9 {
		t.Errorf("start-up message is %d lines:\n%s", n, said)
	}
}

// TestLogLevelAuto: by default a terminal gets warnings and errors only,
// anything else (a service manager's journal, a container's log) gets info
// too, and --log-level chooses for both.
func TestLogLevelAuto(t *testing.T) {
	cfg := config.Default()
	if cfg.LogLevel != "auto" {
		t.Fatalf("default log level %q, want auto", cfg.LogLevel)
	}
	tty, console := openPTY(t)
	log := NewLogger(cfg, tty)
	log.Info("routine detail")
	log.Warn("something to look at")
	if out := console(); strings.Contains(out, "routine detail") || !strings.Contains(out, "something to look at") {
		t.Errorf("terminal at auto:\n%s", out)
	}
	var file bytes.Buffer
	log = NewLogger(cfg, &file)
	log.Info("routine detail")
	if !strings.Contains(file.String(), "routine detail") {
		t.Errorf("non-terminal at auto lost info:\n%s", file.String())
	}
	cfg.LogLevel = "info"
	tty2, console2 := openPTY(t)
	NewLogger(cfg, tty2).Info("asked for")
	if !strings.Contains(console2(), "asked for") {
		t.Error("--log-level info on a terminal does not show info")
	}
	if err := cfg.Validate(); err != nil {
		t.Error(err)
	}
	cfg.LogLevel = "auto"
	if err := cfg.Validate(); err != nil {
		t.Errorf("auto refused: %v", err)
	}
}
