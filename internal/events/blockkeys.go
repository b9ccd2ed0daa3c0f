package events

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/vigil-health/vigil/internal/scope"
)

// A block's keys column holds, for each of its events in the block's
// order (newest first), what counts, histograms and EventID searches need
// without decompressing and decoding the events themselves: the event
// time, as nanoseconds before the block's newest (a uvarint), and the
// EventID as the event_id column of the SQL store has it (eventIDOf: a
// kind byte — 0 none, 'i' an integer as a varint, 'r' a real as its 8
// bytes, 's' text as a uvarint length and its bytes).

// blockKey is one event's keys.
type blockKey struct {
	ns  int64
	eid any // int64, float64, string or nil
}

// appendBlockKey appends r's keys to b; hi is the block's newest time.
func appendBlockKey(b []byte, hi int64, r blockRow) []byte {
	b = binary.AppendUvarint(b, uint64(hi-r.ns))
	var eid any
	if r.ev.rec == nil { // a record has no EventID (RegisterStreamRecords)
		eid = eventIDOf(fieldsJSONOf(r.ev))
	}
	switch v := eid.(type) {
	case int64:
		b = binary.AppendVarint(append(b, 'i'), v)
	case float64:
		b = binary.LittleEndian.AppendUint64(append(b, 'r'), math.Float64bits(v))
	case string:
		b = binary.AppendUvarint(append(b, 's'), uint64(len(v)))
		b = append(b, v...)
	default:
		b = append(b, 0)
	}
	return b
}

var errBadKeys = errors.New("the keys do not decode")

// decodeBlockKeys reads a block's keys (hi is its newest time).
func decodeBlockKeys(raw []byte, hi int64, n int) ([]blockKey, error) {
	out := make([]blockKey, 0, n)
	for len(raw) > 0 {
		d, k := binary.Uvarint(raw)
		if k <= 0 || len(raw) == k {
			return nil, errBadKeys
		}
		key := blockKey{ns: hi - int64(d)}
		kind := raw[k]
		raw = raw[k+1:]
		switch kind {
		case 0:
		case 'i':
			v, k := binary.Varint(raw)
			if k <= 0 {
				return nil, errBadKeys
			}
			key.eid, raw = v, raw[k:]
		case 'r':
			if len(raw) < 8 {
				return nil, errBadKeys
			}
			key.eid, raw = math.Float64frombits(binary.LittleEndian.Uint64(raw)), raw[8:]
		case 's':
			l, k := binary.Uvarint(raw)
			if k <= 0 || uint64(len(raw)-k) < l {
				return nil, errBadKeys
			}
			key.eid, raw = string(raw[k:k+int(l)]), raw[k+int(l):]
		default:
			return nil, errBadKeys
		}
		out = append(out, key)
	}
	return out, nil
}

// readKeys reads one block's keys.
func (b *Blocks) readKeys(ctx context.Context, bm blockMeta) ([]blockKey, error) {
	var z []byte
	if err := b.db.Q().QueryRowContext(ctx, `SELECT keys FROM event_blocks WHERE block = ?`, bm.block).Scan(&z); err != nil {
		return nil, fmt.Errorf("events: read block %d: %w", bm.block, err)
	}
	raw, err := b.codec.dec.DecodeAll(z, nil)
	if err != nil {
		return nil, fmt.Errorf("events: read block %d: %w", bm.block, err)
	}
	keys, err := decodeBlockKeys(raw, bm.hi, int(bm.events))
	if err != nil {
		return nil, fmt.Errorf("events: read block %d: %w", bm.block, err)
	}
	return keys, nil
}

// eidWanted is the EventID numbers n needs one of — from `EventID=N` or
// `EventID in (N, …)`, N bare numbers, in n or in a chain of ANDs at its
// top — or nil when it needs none.
func eidWanted(n Node) []Value {
	switch n := n.(type) {
	case And:
		if v := eidWanted(n.L); v != nil {
			return v
		}
		return eidWanted(n.R)
	case Compare:
		if n.Field == "EventID" && n.Op == "=" && eidNumber(n.Value) {
			return []Value{n.Value}
		}
	case In:
		if n.Field != "EventID" || len(n.Values) == 0 {
			return nil
		}
		for _, v := range n.Values {
			if !eidNumber(v) {
				return nil
			}
		}
		return n.Values
	}
	return nil
}

// eidNumber says whether v is compared as a number (compile.go's equal).
func eidNumber(v Value) bool {
	return v.IsNum && !v.Quoted && !v.IsPrefix && !v.Wild()
}

// eidOnly says whether n is nothing but the condition eidWanted reads, so
// that the keys answer it alone.
func eidOnly(n Node) bool {
	switch n := n.(type) {
	case Compare, In:
		return eidWanted(n) != nil
	}
	return false
}

// eidMatch says whether an EventID as eventIDOf gives it equals one of
// vals, as the SQL store's `event_id IN (num, text)` does.
func eidMatch(eid any, vals []Value) bool {
	for _, v := range vals {
		switch x := eid.(type) {
		case int64:
			if (sqlNum{isInt: true, i: x}).cmp(v.Num) == 0 {
				return true
			}
		case float64:
			if x == v.Num {
				return true
			}
		case string:
			if x == formatNum(v.Num) {
				return true
			}
		}
	}
	return false
}

// formatNum is a number's text as compile.go binds it.
func formatNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// readMatching reads a block's events whose line passes pre and, when the
// query needs one of eids, whose keys hold one: the keys are read first,
// and a block without such an event is not decompressed at all.
func (b *Blocks) readMatching(ctx context.Context, bm blockMeta, pre prefilter, eids []Value) ([]Event, error) {
	if eids == nil {
		return b.readBlock(ctx, bm.block, pre)
	}
	keys, err := b.readKeys(ctx, bm)
	if err != nil {
		return nil, err
	}
	want := make([]bool, len(keys))
	found := false
	for i, k := range keys {
		if eidMatch(k.eid, eids) {
			want[i], found = true, true
		}
	}
	if !found {
		return nil, nil
	}
	return b.readLines(ctx, bm.block, func(i int, line []byte) bool {
		return i < len(want) && want[i] && (len(pre) == 0 || pre.pass(line))
	})
}

// countKeys calls add with the time of each event of scope and q's range
// that node matches, node being nil or eidOnly: from the keys, never the
// events. A block inside the range that whole takes (node nil) is not read.
func (b *Blocks) countKeys(ctx context.Context, sc scope.Scope, q Query, node Node, whole func(blockMeta) bool, add func(ns int64)) error {
	metas, err := b.blocksIn(ctx, sc, q, math.MaxInt64)
	if err != nil {
		return err
	}
	eids := eidWanted(node)
	since, until := rangeNS(q)
	read := metas[:0:0]
	for _, bm := range metas {
		if node == nil && whole != nil && bm.lo >= since && bm.hi < until && whole(bm) {
			continue
		}
		read = append(read, bm)
	}
	return inOrder(ctx, read, func(ctx context.Context, bm blockMeta) ([]int64, error) {
		keys, err := b.readKeys(ctx, bm)
		if err != nil {
			return nil, err
		}
		var ns []int64
		for _, k := range keys {
			if k.ns >= since && k.ns < until && (eids == nil || eidMatch(k.eid, eids)) {
				ns = append(ns, k.ns)
			}
		}
		return ns, nil
	}, func(_ blockMeta, ns []int64) bool {
		for _, t := range ns {
			add(t)
		}
		return true
	})
}
