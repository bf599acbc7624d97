package cifar10

import (
	"fmt"
	"sync"

	"github.com/resnet-repro/resnet-repro/engine/tensor"
)

// Batch is one mini-batch of preprocessed images.
type Batch struct {
	// Iteration is the training iteration the batch belongs to (for an
	// EvalLoader: the batch's number within the pass, from 0).
	Iteration int
	// Epoch is Iteration / BatchesPerEpoch (0 for evaluation batches).
	Epoch int
	// X is the input, shape (N, 3, 32, 32), NCHW float32, mean subtracted
	// (and augmented for training).
	X *tensor.Tensor
	// Labels[n] is image n's class, 0..9.
	Labels []int
	// Indices[n] is image n's index in the split.
	Indices []int

	ready chan struct{} // filled by a worker (TrainLoader)
	gen   int           // the TrainLoader run that handed it out
}

func newBatch(n int) *Batch {
	return &Batch{
		X:       tensor.New(n, Channels, Height, Width),
		Labels:  make([]int, n),
		Indices: make([]int, n),
		ready:   make(chan struct{}, 1),
	}
}

// LoaderConfig configures a TrainLoader.
type LoaderConfig struct {
	// Batch is the mini-batch size (Sec. 4.2: 128).
	Batch int
	// Seed fixes the epoch permutations and the augmentation.
	Seed uint64
	// Augment enables Sec. 4.2's pad-4, random 32x32 crop, random
	// horizontal flip. Without it images are only mean subtracted (still
	// shuffled).
	Augment bool
	// Mean is the mean image, MeanImage of the training split in use.
	Mean []float32
	// Workers is the number of goroutines building batches (default 1, so
	// that the pipeline does not take cores from the engine).
	Workers int
	// Depth is the number of batch buffers in the ring (default Workers+2):
	// how far the pipeline may run ahead, plus the batches the caller holds.
	Depth int
}

// TrainLoader yields training batches in iteration order, built ahead of
// the caller by Workers goroutines into a ring of Depth reusable buffers.
// Batch i depends only on (Seed, i) (see the package doc). Use:
//
//	l, _ := NewTrainLoader(train, cfg)
//	l.Start(it)             // it: the first iteration to produce (resume point)
//	for ; it < end; it++ {
//		b := l.Next()       // b.Iteration == it
//		... train on b ...
//		l.Release(b)        // hand the buffer back
//	}
//	l.Close()
//
// Next and Release are for one goroutine (the training loop). The caller
// may hold at most Depth-1 batches at a time.
type TrainLoader struct {
	split *Split
	cfg   LoaderConfig
	bpe   int // batches per epoch
	bufs  []*Batch
	perms [][]int32 // one permutation cache per worker
	epoch []int     // the epoch each worker's cache holds (-1: none)

	running  bool
	gen      int // incremented by each Start
	quit     chan struct{}
	free     chan *Batch
	ordered  chan *Batch
	jobs     chan *Batch
	wg       sync.WaitGroup
	held     int
	expected int
}

// NewTrainLoader checks cfg and allocates the loader's buffers; it starts
// nothing.
func NewTrainLoader(s *Split, cfg LoaderConfig) (*TrainLoader, error) {
	if cfg.Batch < 1 {
		return nil, fmt.Errorf("cifar10: batch size %d, want at least 1", cfg.Batch)
	}
	if s.Len() < cfg.Batch {
		return nil, fmt.Errorf("cifar10: %s has %d images, fewer than one batch of %d", s.Name(), s.Len(), cfg.Batch)
	}
	if len(cfg.Mean) != ImageSize {
		return nil, fmt.Errorf("cifar10: mean image has %d values, want %d (use MeanImage)", len(cfg.Mean), ImageSize)
	}
	if cfg.Workers == 0 {
		cfg.Workers = 1
	}
	if cfg.Depth == 0 {
		cfg.Depth = cfg.Workers + 2
	}
	if cfg.Workers < 1 || cfg.Depth < 2 {
		return nil, fmt.Errorf("cifar10: %d workers and %d buffers, want at least 1 and 2", cfg.Workers, cfg.Depth)
	}
	l := &TrainLoader{split: s, cfg: cfg, bpe: s.Len() / cfg.Batch}
	for range cfg.Depth {
		l.bufs = append(l.bufs, newBatch(cfg.Batch))
	}
	for range cfg.Workers {
		l.perms = append(l.perms, make([]int32, s.Len()))
		l.epoch = append(l.epoch, -1)
	}
	return l, nil
}

// BatchesPerEpoch is floor(split size / batch size): the images of an
// epoch's permutation that do not fill a last batch are skipped that epoch.
func (l *TrainLoader) BatchesPerEpoch() int { return l.bpe }

// Config returns the configuration with defaults filled in.
func (l *TrainLoader) Config() LoaderConfig { return l.cfg }

// Start starts the workers; the first batch Next returns is iteration from.
// It panics if the loader is running (Close it first).
func (l *TrainLoader) Start(from int) {
	if l.running {
		panic("cifar10: TrainLoader.Start on a running loader")
	}
	if from < 0 {
		panic("cifar10: TrainLoader.Start at a negative iteration")
	}
	l.running = true
	l.gen++
	l.held = 0
	l.expected = from
	d := len(l.bufs)
	l.quit = make(chan struct{})
	l.free = make(chan *Batch, d)
	l.ordered = make(chan *Batch, d)
	l.jobs = make(chan *Batch)
	for _, b := range l.bufs {
		select { // drop a signal left by a batch filled but never taken
		case <-b.ready:
		default:
		}
		l.free <- b
	}
	l.wg.Add(1 + l.cfg.Workers)
	go l.produce(from)
	for w := range l.cfg.Workers {
		go l.work(w)
	}
}

// produce hands out free buffers in iteration order: each goes first to
// the ordered queue (which Next reads) and then to a worker.
func (l *TrainLoader) produce(from int) {
	defer l.wg.Done()
	for it := from; ; it++ {
		var b *Batch
		select {
		case b = <-l.free:
		case <-l.quit:
			return
		}
		b.Iteration = it
		l.ordered <- b // never blocks: it holds at most Depth buffers
		select {
		case l.jobs <- b:
		case <-l.quit:
			return
		}
	}
}

func (l *TrainLoader) work(w int) {
	defer l.wg.Done()
	for {
		select {
		case b := <-l.jobs:
			l.fill(b, w)
			b.ready <- struct{}{}
		case <-l.quit:
			return
		}
	}
}

// fill builds batch b.Iteration using worker w's permutation cache.
func (l *TrainLoader) fill(b *Batch, w int) {
	it := b.Iteration
	epoch, pos := it/l.bpe, it%l.bpe
	perm := l.perms[w]
	if l.epoch[w] != epoch {
		permute(perm, l.cfg.Seed, epoch)
		l.epoch[w] = epoch
	}
	b.Epoch = epoch
	n := l.cfg.Batch
	x := b.X.Data
	for k := range n {
		idx := int(perm[pos*n+k])
		b.Indices[k] = idx
		b.Labels[k] = l.split.Label(idx)
		dst := x[k*ImageSize : (k+1)*ImageSize]
		if l.cfg.Augment {
			ox, oy, flip := augmentation(l.cfg.Seed, epoch, idx)
			augment(dst, l.split.Image(idx), l.cfg.Mean, ox, oy, flip)
		} else {
			normalize(dst, l.split.Image(idx), l.cfg.Mean)
		}
	}
}

// Next returns the next batch in iteration order, waiting for it if the
// workers are behind. The batch stays valid until it is Released.
func (l *TrainLoader) Next() *Batch {
	if !l.running {
		panic("cifar10: TrainLoader.Next before Start or after Close")
	}
	if l.held >= len(l.bufs)-1 {
		panic(fmt.Sprintf("cifar10: TrainLoader.Next while holding %d of %d buffers; Release batches", l.held, len(l.bufs)))
	}
	b := <-l.ordered
	<-b.ready
	if b.Iteration != l.expected {
		panic("cifar10: TrainLoader delivered batches out of order")
	}
	l.expected++
	l.held++
	b.gen = l.gen
	return b
}

// Release hands a batch from Next back to the pipeline for reuse. A batch
// from before the last Close is ignored: Close reclaimed it.
func (l *TrainLoader) Release(b *Batch) {
	if !l.running || b.gen != l.gen {
		return
	}
	l.held--
	l.free <- b
}

// Close stops the workers and waits for them. Batches not yet released
// become invalid. The loader can be started again.
func (l *TrainLoader) Close() {
	if !l.running {
		return
	}
	close(l.quit)
	l.wg.Wait()
	l.running = false
}

// EvalConfig configures an EvalLoader.
type EvalConfig struct {
	// Batch is the number of images per batch; the last batch of a pass
	// may be smaller.
	Batch int
	// Mean is the mean image of the training split (MeanImage), the same
	// one the TrainLoader subtracts.
	Mean []float32
}

// EvalLoader walks a split in order, image 0 first, in batches of the
// original images with the training mean subtracted (Sec. 4.2: "for
// testing, we only evaluate the single view of the original 32x32
// image"). It works on the caller's goroutine; each batch's buffers are
// reused by the next call to Next.
type EvalLoader struct {
	split      *Split
	cfg        EvalConfig
	next       int
	full, part *Batch
	numBatches int
}

// NewEvalLoader checks cfg and allocates one batch buffer.
func NewEvalLoader(s *Split, cfg EvalConfig) (*EvalLoader, error) {
	if cfg.Batch < 1 {
		return nil, fmt.Errorf("cifar10: batch size %d, want at least 1", cfg.Batch)
	}
	if len(cfg.Mean) != ImageSize {
		return nil, fmt.Errorf("cifar10: mean image has %d values, want %d (use MeanImage)", len(cfg.Mean), ImageSize)
	}
	e := &EvalLoader{split: s, cfg: cfg, full: newBatch(cfg.Batch)}
	e.numBatches = (s.Len() + cfg.Batch - 1) / cfg.Batch
	if r := s.Len() % cfg.Batch; r != 0 {
		e.part = &Batch{
			X:       tensor.FromData(e.full.X.Data[:r*ImageSize], r, Channels, Height, Width),
			Labels:  e.full.Labels[:r],
			Indices: e.full.Indices[:r],
		}
	}
	return e, nil
}

// NumBatches is ceil(split size / batch size).
func (e *EvalLoader) NumBatches() int { return e.numBatches }

// Next returns the next batch of the pass, or (nil, false) after the last.
func (e *EvalLoader) Next() (*Batch, bool) {
	start := e.next * e.cfg.Batch
	if start >= e.split.Len() {
		return nil, false
	}
	b := e.full
	if start+e.cfg.Batch > e.split.Len() {
		b = e.part
	}
	b.Iteration = e.next
	b.Epoch = 0
	for k := range b.Labels {
		idx := start + k
		b.Indices[k] = idx
		b.Labels[k] = e.split.Label(idx)
		normalize(b.X.Data[k*ImageSize:(k+1)*ImageSize], e.split.Image(idx), e.cfg.Mean)
	}
	e.next++
	return b, true
}

// Reset starts a new pass from image 0.
func (e *EvalLoader) Reset() { e.next = 0 }
