package events

import (
	"errors"
	"fmt"

	"github.com/klauspost/compress/zstd"
)

// codec compresses raw text. A stored raw value starts with one byte
// saying how it is kept: 'z' zstd, 'p' plain (short text, or text zstd
// does not shrink). zstd at its fastest level: Windows event JSON shrinks
// to about a third at a few hundred MB/s a core, and decompressing for a
// page of results is cheaper still.
type codec struct {
	enc *zstd.Encoder
	dec *zstd.Decoder
}

// minCompress is the length below which compressing is not worth its
// cost: a syslog line of 200 bytes shrinks by a fifth or so, and zstd
// spent 10 µs on each (building its tables for every small input), 11 %
// of the CPU of syslog end to end (BenchmarkSyslogEndToEnd's profile).
const minCompress = 512

func newCodec() (*codec, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, fmt.Errorf("events: zstd encoder: %w", err)
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(64<<20))
	if err != nil {
		return nil, fmt.Errorf("events: zstd decoder: %w", err)
	}
	return &codec{enc: enc, dec: dec}, nil
}

func (c *codec) close() {
	c.dec.Close()
}

// compress returns raw as stored. EncodeAll is safe for concurrent use.
func (c *codec) compress(raw string) []byte {
	if len(raw) >= minCompress {
		out := c.enc.EncodeAll([]byte(raw), make([]byte, 1, len(raw)/2+16))
		out[0] = 'z'
		if len(out) < len(raw)+1 {
			return out
		}
	}
	out := make([]byte, 0, len(raw)+1)
	return append(append(out, 'p'), raw...)
}

func (c *codec) decompress(b []byte) (string, error) {
	if len(b) == 0 {
		return "", nil
	}
	switch b[0] {
	case 'p':
		return string(b[1:]), nil
	case 'z':
		out, err := c.dec.DecodeAll(b[1:], nil)
		if err != nil {
			return "", err
		}
		return string(out), nil
	}
	return "", errors.New("unknown raw encoding")
}
