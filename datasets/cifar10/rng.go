package cifar10

import "math/bits"

// The batch randomness: splitmix64 (Steele, Lea, Flood 2014, "Fast
// splittable pseudorandom number generators"), written out so that batches
// stay the same across Go releases. Every random decision is a hash of
// (seed, domain, epoch[, index]), so any batch can be rebuilt on its own.

const golden = 0x9e3779b97f4a7c15 // splitmix64's increment, 2^64 / phi

// Domains keep the permutation and augmentation streams independent.
const (
	domainPermutation  = 0x7065726d // "perm"
	domainAugmentation = 0x6175676d // "augm"
)

// mix64 is splitmix64's output function, a bijection on uint64 with good
// avalanche.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// key hashes a sequence of words into one 64-bit value.
func key(words ...uint64) uint64 {
	h := uint64(golden)
	for _, w := range words {
		h = mix64((h + golden) ^ w)
	}
	return h
}

// stream is a splitmix64 generator.
type stream struct{ state uint64 }

func (s *stream) next() uint64 {
	s.state += golden
	return mix64(s.state)
}

// below returns a number in [0, n) from a 64-bit draw by Lemire's
// multiply-shift (bias at most n/2^64, negligible for n <= 50,000).
func below(r uint64, n int) int {
	hi, _ := bits.Mul64(r, uint64(n))
	return int(hi)
}

// permute fills perm with the permutation of 0..len(perm)-1 for (seed,
// epoch): Fisher-Yates driven by a stream keyed on (seed, "perm", epoch).
func permute(perm []int32, seed uint64, epoch int) {
	for i := range perm {
		perm[i] = int32(i)
	}
	s := stream{state: key(seed, domainPermutation, uint64(epoch))}
	for i := len(perm) - 1; i > 0; i-- {
		j := below(s.next(), i+1)
		perm[i], perm[j] = perm[j], perm[i]
	}
}

// augmentation returns image index's crop offset (ox, oy in 0..8, the
// top-left corner of the 32x32 window in the 40x40 padded image) and flip
// for (seed, epoch): one hash of (seed, "augm", epoch, index).
func augmentation(seed uint64, epoch, index int) (ox, oy int, flip bool) {
	h := key(seed, domainAugmentation, uint64(epoch), uint64(index))
	const span = 2*Pad + 1 // 9 offsets per axis
	ox = below(h, span)
	h = mix64(h)
	oy = below(h, span)
	h = mix64(h)
	flip = h>>63 == 1
	return ox, oy, flip
}
