package match

import (
	"hash/maphash"
	"math/bits"
)

// bloom is a one-word-per-key Bloom filter in front of the largest maps.
// Most look-ups miss (an event's every parent domain, every address),
// and with a million indicators a miss in a map is a cache miss or two
// on a 100 MB index; the filter is 2 bytes a key, so it stays in cache
// and answers most misses from one word.
type bloom struct {
	words []uint64
	mask  uint64
}

func newBloom(n int) bloom {
	w := max(1, n/4) // 16 bits a key
	w = 1 << bits.Len(uint(w-1))
	return bloom{words: make([]uint64, w), mask: uint64(w - 1)}
}

// bits of h in its word: two of 64, from the hash's upper bits.
func (b *bloom) probe(h uint64) (int, uint64) {
	return int(h & b.mask), 1<<(h>>58) | 1<<(h>>52&63)
}

func (b *bloom) add(h uint64) {
	i, m := b.probe(h)
	b.words[i] |= m
}

func (b *bloom) has(h uint64) bool {
	if len(b.words) == 0 {
		return true
	}
	i, m := b.probe(h)
	return b.words[i]&m == m
}

// hashU32 spreads an IPv4 address over 64 bits (Fibonacci hashing).
func hashU32(x uint32) uint64 {
	h := uint64(x) * 0x9E3779B97F4A7C15
	return h ^ h>>29
}

func hashString(seed maphash.Seed, s string) uint64 { return maphash.String(seed, s) }
