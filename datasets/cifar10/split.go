package cifar10

import (
	"fmt"
	"sort"
)

// Split is a list of labelled images: the official training or test split,
// or a fixed view of one (the 45k/5k split, a smoke-scale subset). Views
// share the pixels of the split they come from. A Split is read-only and
// safe for concurrent use.
type Split struct {
	name   string
	pixels []byte  // backing images, ImageSize bytes each (CHW, as in the file)
	labels []uint8 // backing labels
	index  []int32 // image i of the split is backing image index[i]; nil: identity
}

func newSplit(name string, n int) *Split {
	return &Split{name: name, pixels: make([]byte, n*ImageSize), labels: make([]uint8, n)}
}

// NewSplit wraps images (ImageSize bytes each: the R, G and B 32x32 planes,
// row-major, as in a record of the binary files) and their labels (0..9),
// without copying. It is for synthetic data in tests and benchmarks; real
// data comes from [Load].
func NewSplit(name string, images []byte, labels []uint8) (*Split, error) {
	if len(images) != len(labels)*ImageSize {
		return nil, fmt.Errorf("cifar10: %d image bytes for %d labels, want %d", len(images), len(labels), len(labels)*ImageSize)
	}
	for i, l := range labels {
		if l >= NumClasses {
			return nil, fmt.Errorf("cifar10: image %d: label %d outside 0..%d", i, l, NumClasses-1)
		}
	}
	return &Split{name: name, pixels: images, labels: labels}, nil
}

// Name says which split this is: "train", "test", "train45k", "val5k",
// "train[subset 256]", ...
func (s *Split) Name() string { return s.name }

// Len is the number of images.
func (s *Split) Len() int {
	if s.index != nil {
		return len(s.index)
	}
	return len(s.labels)
}

func (s *Split) backing(i int) int {
	if s.index != nil {
		return int(s.index[i])
	}
	return i
}

// Image returns image i's ImageSize bytes: the R, G and B 32x32 planes,
// row-major (pixel (c, y, x) is at c*1024 + y*32 + x). Do not modify it.
func (s *Split) Image(i int) []byte {
	b := s.backing(i)
	return s.pixels[b*ImageSize : (b+1)*ImageSize : (b+1)*ImageSize]
}

// Label returns image i's class, 0..9.
func (s *Split) Label(i int) int { return int(s.labels[s.backing(i)]) }

func (s *Split) view(name string, idx []int32) *Split {
	v := &Split{name: name, pixels: s.pixels, labels: s.labels, index: make([]int32, len(idx))}
	for i, j := range idx {
		v.index[i] = int32(s.backing(int(j)))
	}
	return v
}

// HoldOut splits s into (rest, held): held is the last perClass images of
// each class in s's order, rest is all other images, both in s's order.
// On the official training split with perClass 500 this is the 45k/5k
// train/val split of Sec. 4.2, named "train45k" and "val5k".
func (s *Split) HoldOut(perClass int) (rest, held *Split, err error) {
	var count [NumClasses]int
	for i := 0; i < s.Len(); i++ {
		count[s.Label(i)]++
	}
	for c, n := range count {
		if n < perClass {
			return nil, nil, fmt.Errorf("cifar10: %s has %d images of class %d (%s), fewer than the %d to hold out",
				s.name, n, c, ClassNames()[c], perClass)
		}
	}
	// Image i is held out when it is among the last perClass of its class:
	// walk backwards, taking the first perClass seen of each class.
	isHeld := make([]bool, s.Len())
	var taken [NumClasses]int
	for i := s.Len() - 1; i >= 0; i-- {
		if c := s.Label(i); taken[c] < perClass {
			taken[c]++
			isHeld[i] = true
		}
	}
	var restIdx, heldIdx []int32
	for i, h := range isHeld {
		if h {
			heldIdx = append(heldIdx, int32(i))
		} else {
			restIdx = append(restIdx, int32(i))
		}
	}
	restName, heldName := fmt.Sprintf("%s-%d", s.name, len(restIdx)), fmt.Sprintf("%s-holdout-%d", s.name, len(heldIdx))
	if s.name == "train" && s.Len() == TrainSize && perClass == 500 {
		restName, heldName = "train45k", "val5k"
	}
	return s.view(restName, restIdx), s.view(heldName, heldIdx), nil
}

// First returns the first k images of s, in s's order (`repro eval
// --limit`: the same images another framework's script takes with x[:k]).
// k must be in 1..s.Len().
func (s *Split) First(k int) (*Split, error) {
	if k < 1 || k > s.Len() {
		return nil, fmt.Errorf("cifar10: first %d images of %s, which has %d", k, s.name, s.Len())
	}
	idx := make([]int32, k)
	for i := range idx {
		idx[i] = int32(i)
	}
	return s.view(fmt.Sprintf("%s[first %d]", s.name, k), idx), nil
}

// SubsetSeed fixes the shuffled order from which [Split.Subset] takes its
// images. It is not a run's seed: every run at a scale sees the same subset.
const SubsetSeed = 20160627 // CVPR 2016's first day; any fixed number would do

// Subset returns the first k images of a fixed shuffled order of s (the
// permutation of epoch 0 under seed SubsetSeed), kept in s's order. A
// smaller subset is contained in a larger one. k must be in 1..s.Len().
func (s *Split) Subset(k int) (*Split, error) {
	if k < 1 || k > s.Len() {
		return nil, fmt.Errorf("cifar10: subset of %d images from %s, which has %d", k, s.name, s.Len())
	}
	perm := make([]int32, s.Len())
	permute(perm, SubsetSeed, 0)
	idx := perm[:k]
	sort.Slice(idx, func(a, b int) bool { return idx[a] < idx[b] })
	return s.view(fmt.Sprintf("%s[subset %d]", s.name, k), idx), nil
}
