// Package progress reports progress of long work on a terminal: a single
// updating line when the writer is a terminal, nothing otherwise (so logs
// and pipes stay clean).
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
)

// Bar is a progress line.
type Bar struct {
	w     io.Writer
	label string
	tty   bool
	mu    sync.Mutex
	last  time.Time
	shown bool
}

// New returns a Bar writing to w when w is a terminal.
func New(w io.Writer, label string) *Bar {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = isatty.IsTerminal(f.Fd())
	}
	return &Bar{w: w, label: label, tty: tty}
}

// Update shows done of total, at most ten times a second.
func (b *Bar) Update(done, total int) {
	if b == nil || !b.tty {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if time.Since(b.last) < 100*time.Millisecond && done != total {
		return
	}
	b.last = time.Now()
	pct := 100
	if total > 0 {
		pct = done * 100 / total
	}
	fmt.Fprintf(b.w, "\r%s: %d/%d (%d%%)   ", b.label, done, total, pct)
	b.shown = true
}

// Done ends the line.
func (b *Bar) Done() {
	if b != nil && b.shown {
		fmt.Fprintln(b.w)
	}
}
