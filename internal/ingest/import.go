package ingest

import (
	"context"
	"time"

	"github.com/vigil-health/vigil/internal/events"
)

// ImportReport says what ImportFiles read.
type ImportReport struct {
	Files []FileReport `json:"files"`
	// Events is how many were handed to the store (it keeps one of each
	// ID, so importing a file again stores nothing new).
	Events      int64 `json:"events"`
	ParseErrors int64 `json:"parse_errors"`
	Truncated   int64 `json:"truncated"`
}

// FileReport is one file's part of an import.
type FileReport struct {
	Path        string `json:"path"`
	Events      int64  `json:"events"`
	ParseErrors int64  `json:"parse_errors"`
}

// ImportBatch is how many events ImportFiles hands to the sink at once.
const ImportBatch = 2000

// ImportFiles reads each file (ReadFile), normalises every record with n,
// gives it to org, and hands the events to sink in batches; progress, when
// set, is told the bytes read of all the files. It stops at the first
// file that cannot be read or batch the sink refuses, and the report says
// what was stored before that (batches already stored stay stored: a
// second import of the same files completes it without duplicates).
func ImportFiles(ctx context.Context, n *Normaliser, paths []string, org string, sink func(context.Context, []events.Event) error, progress func(read, total int64)) (ImportReport, error) {
	rep := ImportReport{Files: []FileReport{}}
	sizes, total := fileSizes(paths)
	var done int64
	batch := make([]events.Event, 0, ImportBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := sink(ctx, batch); err != nil {
			return err
		}
		rep.Events += int64(len(batch))
		batch = batch[:0]
		return nil
	}
	received := time.Now().UTC()
	for i, p := range paths {
		fr := FileReport{Path: p}
		base := done
		err := ReadFile(ctx, p, FileOptions{ReceivedAt: received}, func(read, _ int64) {
			if progress != nil {
				progress(base+read, total)
			}
		}, func(r Record) error {
			ev := n.Normalise(r)
			ev.Org = org
			fr.Events++
			if ev.ParseError != "" {
				fr.ParseErrors++
			}
			if ev.Truncated {
				rep.Truncated++
			}
			batch = append(batch, ev)
			if len(batch) == ImportBatch {
				return flush()
			}
			return nil
		})
		if err == nil {
			err = flush()
		}
		done += sizes[i]
		rep.ParseErrors += fr.ParseErrors
		rep.Files = append(rep.Files, fr)
		if err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func fileSizes(paths []string) ([]int64, int64) {
	sizes := make([]int64, len(paths))
	var total int64
	for i, p := range paths {
		if st, err := statSize(p); err == nil {
			sizes[i] = st
			total += st
		}
	}
	return sizes, total
}
