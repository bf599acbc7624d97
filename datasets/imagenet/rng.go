package imagenet

import "math"

// Randomness is derived, never carried: every random choice of the pipeline
// comes from a generator seeded by hashing (seed, epoch, index, purpose), so
// a batch is a pure function of (seed, iteration) and a resumed run sees
// exactly the batches an uninterrupted one would. The generator is
// splitmix64 (Steele, Lea, Flood 2014), written out here so that the stream
// cannot change with the Go release (math/rand/v2 does not promise that its
// Perm/Shuffle/NormFloat64 algorithms stay fixed).

// Purposes keep the streams for one (seed, epoch) apart.
const (
	streamPerm    = 0x7065726d // "perm": the epoch's permutation
	streamAugment = 0x61756720 // "aug ": one image's augmentation draws
)

// splitmix64 advances x by the golden-ratio increment and returns the
// finalised output (the splitmix64 output function).
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// mix4 hashes four words into one seed.
func mix4(a, b, c, d uint64) uint64 {
	h := splitmix64(a)
	h = splitmix64(h ^ b)
	h = splitmix64(h ^ c)
	return splitmix64(h ^ d)
}

// rng is a splitmix64 generator.
type rng struct{ s uint64 }

func newRNG(seed uint64, epoch, index int, stream uint64) rng {
	return rng{mix4(seed, uint64(epoch), uint64(index), stream)}
}

func (r *rng) uint64() uint64 {
	r.s += 0x9e3779b97f4a7c15
	x := r.s
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// intn returns a uniform integer in [0, n) (rejection sampling, no modulo bias).
func (r *rng) intn(n int) int {
	if n <= 0 {
		panic("imagenet: intn of non-positive bound")
	}
	bound := uint64(n)
	limit := math.MaxUint64 - math.MaxUint64%bound
	for {
		v := r.uint64()
		if v < limit {
			return int(v % bound)
		}
	}
}

// float64 returns a uniform value in [0, 1) with 53 random bits.
func (r *rng) float64() float64 { return float64(r.uint64()>>11) / (1 << 53) }

// normal returns a standard normal deviate (Box–Muller, cosine branch).
func (r *rng) normal() float64 {
	u1 := 1 - r.float64() // (0, 1]: log is finite
	u2 := r.float64()
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// EpochPermutation returns the order in which training epoch `epoch` visits
// the n images of a split: a Fisher–Yates shuffle driven by
// hash(seed, epoch). It is a pure function of its arguments.
func EpochPermutation(n int, seed uint64, epoch int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	r := newRNG(seed, epoch, 0, streamPerm)
	for i := n - 1; i > 0; i-- {
		j := r.intn(i + 1)
		p[i], p[j] = p[j], p[i]
	}
	return p
}
