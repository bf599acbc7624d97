package imagenet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/resnet-repro/resnet-repro/engine/tensor"
)

// Mode selects what a Loader produces.
type Mode int

const (
	// ModeTrain: random scale, crop, flip and lighting (Sec. 3.4); images in
	// a fresh permutation each epoch; never ends.
	ModeTrain Mode = iota
	// ModeCenter: one center Crop x Crop view at TestScale per image, in
	// split order, one pass (a cheap validation error).
	ModeCenter
	// ModeTenCrop: the 10 views of Transformer.TenCrop per image, in split
	// order, one pass (Table 3's 10-crop testing).
	ModeTenCrop
	// ModeMultiScale: one image per batch, the whole image at every shorter
	// side of MultiScales (fully-convolutional testing, Tables 3-5).
	ModeMultiScale
)

func (m Mode) String() string {
	switch m {
	case ModeTrain:
		return "train"
	case ModeCenter:
		return "center"
	case ModeTenCrop:
		return "10-crop"
	case ModeMultiScale:
		return "multi-scale"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// LoaderConfig configures a Loader.
type LoaderConfig struct {
	Mode  Mode
	Batch int // images per batch (ModeMultiScale: always 1)
	// Workers decoding and augmenting in parallel; 0 means GOMAXPROCS.
	Workers int
	// Prefetch is how many batches are prepared ahead; 0 means 2.
	Prefetch int
	// Seed drives the epoch permutations and all augmentation (ModeTrain).
	Seed uint64
	// Start is the first iteration (batch) to produce: a resumed run passes
	// the iteration it stopped at and gets the same batches.
	Start     int
	Transform Config
}

// Batch is one batch of views, NCHW float32.
type Batch struct {
	// Iter is the batch's iteration number.
	Iter int
	// Epoch is the training epoch of the batch's first image (0 in the
	// evaluation modes). Batches run across epoch boundaries: iteration i
	// holds positions i·Batch ... (i+1)·Batch-1 of the endless sequence
	// perm(epoch 0), perm(epoch 1), ...
	Epoch int
	// X holds the views: (Images·Views, 3, Crop, Crop), image-major (image
	// b's views are rows b·Views ... b·Views+Views-1). Nil in ModeMultiScale.
	X *tensor.Tensor
	// Views per image: 1 (train, center), 10 (10-crop), len(MultiScales).
	Views int
	// Labels[b] and Index[b] are the class and split index of image b.
	Labels []int
	Index  []int
	// Scales (ModeMultiScale only) holds the single image at each shorter
	// side of MultiScales, in that order: (1, 3, h_s, w_s).
	Scales []*tensor.Tensor
}

// Images is the number of images in the batch.
func (b *Batch) Images() int { return len(b.Labels) }

// ErrClosed is returned by Next after Close.
var ErrClosed = errors.New("imagenet: loader closed")

// Loader decodes and augments a split on a pool of workers, ahead of its
// consumer. The batch for iteration i is a pure function of (split, config,
// seed, i) -- not of the worker count, timing or where the run started.
// Buffers are recycled: in steady state a batch allocates nothing but what
// the decoder needs (none with libjpeg-turbo on JPEGs).
type Loader struct {
	split  *Split
	cfg    LoaderConfig
	views  int
	iters  int // eval modes: number of batches; train: -1
	cancel context.CancelFunc
	jobs   chan job
	ready  chan *batchBuf
	free   chan *batchBuf
	done   sync.WaitGroup
	cur    *batchBuf
	err    error
	closed bool
}

type job struct {
	buf *batchBuf
	b   int
}

type batchBuf struct {
	batch  Batch
	epochs []int
	data   []float32
	scales [][]float32
	wg     sync.WaitGroup
	mu     sync.Mutex
	errAt  int
	err    error
}

// setErr keeps the error of the lowest image slot, so the reported file
// does not depend on worker timing.
func (bb *batchBuf) setErr(b int, err error) {
	bb.mu.Lock()
	if bb.err == nil || b < bb.errAt {
		bb.err, bb.errAt = err, b
	}
	bb.mu.Unlock()
}

// NewLoader starts the pool. Close it when done.
func NewLoader(split *Split, cfg LoaderConfig) (*Loader, error) {
	if err := cfg.Transform.Validate(); err != nil {
		return nil, err
	}
	if split == nil || split.Len() == 0 {
		return nil, errors.New("imagenet: loader needs a split with images")
	}
	if cfg.Mode == ModeMultiScale {
		cfg.Batch = 1
		if len(cfg.Transform.MultiScales) == 0 {
			return nil, errors.New("imagenet: multi-scale mode needs MultiScales")
		}
	}
	if cfg.Batch < 1 {
		return nil, fmt.Errorf("imagenet: batch %d < 1", cfg.Batch)
	}
	if cfg.Start < 0 {
		return nil, fmt.Errorf("imagenet: start iteration %d < 0", cfg.Start)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Prefetch <= 0 {
		cfg.Prefetch = 2
	}
	l := &Loader{split: split, cfg: cfg, views: 1, iters: -1}
	switch cfg.Mode {
	case ModeTrain:
	case ModeCenter:
	case ModeTenCrop:
		l.views = 10
	case ModeMultiScale:
		l.views = len(cfg.Transform.MultiScales)
	default:
		return nil, fmt.Errorf("imagenet: unknown mode %d", int(cfg.Mode))
	}
	if cfg.Mode != ModeTrain {
		l.iters = (split.Len() + cfg.Batch - 1) / cfg.Batch
	}
	nbuf := cfg.Prefetch + 1
	l.jobs = make(chan job, 2*cfg.Workers)
	l.ready = make(chan *batchBuf, nbuf)
	l.free = make(chan *batchBuf, nbuf)
	c := cfg.Transform.Crop
	for i := 0; i < nbuf; i++ {
		bb := &batchBuf{}
		if cfg.Mode == ModeMultiScale {
			bb.scales = make([][]float32, l.views)
			bb.batch.Scales = make([]*tensor.Tensor, l.views)
			for s := range bb.batch.Scales {
				bb.batch.Scales[s] = &tensor.Tensor{Shape: tensor.Shape{1, 3, 0, 0}}
			}
		} else {
			bb.data = make([]float32, cfg.Batch*l.views*3*c*c)
			bb.batch.X = &tensor.Tensor{Shape: tensor.Shape{cfg.Batch * l.views, 3, c, c}, Data: bb.data}
		}
		bb.batch.Views = l.views
		bb.batch.Labels = make([]int, 0, cfg.Batch)
		bb.batch.Index = make([]int, 0, cfg.Batch)
		bb.epochs = make([]int, 0, cfg.Batch)
		l.free <- bb
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	l.done.Add(1 + cfg.Workers)
	go l.dispatch(ctx)
	for w := 0; w < cfg.Workers; w++ {
		go l.work(ctx)
	}
	return l, nil
}

// Iterations is the number of batches of one pass in the evaluation modes
// (counting from iteration 0), or -1 in ModeTrain, which never ends.
func (l *Loader) Iterations() int { return l.iters }

// Next returns the next batch in iteration order; it stays valid until the
// following Next or Close. At the end of an evaluation pass it returns
// io.EOF. When an image cannot be read or decoded, Next returns an error
// naming the file and no batch, and every later call returns the same
// error (no partial batch is ever handed out).
func (l *Loader) Next() (*Batch, error) {
	if l.closed {
		return nil, ErrClosed
	}
	if l.err != nil {
		return nil, l.err
	}
	if l.cur != nil {
		l.free <- l.cur // capacity nbuf: never blocks
		l.cur = nil
	}
	bb, ok := <-l.ready
	if !ok {
		return nil, io.EOF
	}
	bb.wg.Wait()
	if bb.err != nil {
		l.err = bb.err
		return nil, l.err
	}
	l.cur = bb
	return &bb.batch, nil
}

// Close stops the workers and waits for them. Batches handed out become
// invalid.
func (l *Loader) Close() {
	if l.closed {
		return
	}
	l.closed = true
	l.cancel()
	l.done.Wait()
}

// dispatch assigns images to batch buffers in iteration order.
func (l *Loader) dispatch(ctx context.Context) {
	defer l.done.Done()
	defer close(l.jobs)
	defer close(l.ready)
	ord := newTrainOrder(l.split.Len(), l.cfg.Batch, l.cfg.Seed)
	for it := l.cfg.Start; l.iters < 0 || it < l.iters; it++ {
		var bb *batchBuf
		select {
		case bb = <-l.free:
		case <-ctx.Done():
			return
		}
		b := &bb.batch
		b.Iter, b.Epoch = it, 0
		b.Labels, b.Index, bb.epochs = b.Labels[:0], b.Index[:0], bb.epochs[:0]
		bb.err = nil
		if l.cfg.Mode == ModeTrain {
			b.Index, bb.epochs = ord.indices(b.Index, bb.epochs, it)
			b.Epoch = bb.epochs[0]
		} else {
			for i := it * l.cfg.Batch; i < min((it+1)*l.cfg.Batch, l.split.Len()); i++ {
				b.Index = append(b.Index, i)
				bb.epochs = append(bb.epochs, 0)
			}
		}
		for _, i := range b.Index {
			b.Labels = append(b.Labels, l.split.Items[i].Label)
		}
		if b.X != nil {
			n := len(b.Index) * l.views
			c := l.cfg.Transform.Crop
			b.X.Shape[0] = n
			b.X.Data = bb.data[:n*3*c*c]
		}
		bb.wg.Add(len(b.Index))
		l.ready <- bb // capacity nbuf: never blocks
		for slot := range b.Index {
			select {
			case l.jobs <- job{bb, slot}:
			case <-ctx.Done():
				return
			}
		}
	}
}

// work decodes and augments images until the jobs run out.
func (l *Loader) work(ctx context.Context) {
	defer l.done.Done()
	dec := NewDecoder()
	defer dec.Close()
	tr, _ := NewTransformer(l.cfg.Transform) // validated in NewLoader
	for j := range l.jobs {
		if ctx.Err() == nil {
			if err := l.produce(dec, tr, j.buf, j.b); err != nil {
				j.buf.setErr(j.b, err)
			}
		}
		j.buf.wg.Done()
	}
}

// produce fills slot b of a batch buffer.
func (l *Loader) produce(dec *Decoder, tr *Transformer, bb *batchBuf, b int) error {
	t := &l.cfg.Transform
	idx := bb.batch.Index[b]
	path := l.split.Items[idx].Path
	view := 3 * t.Crop * t.Crop
	switch l.cfg.Mode {
	case ModeTrain:
		epoch := bb.epochs[b]
		img, err := dec.DecodeFile(path, TrainScale(*t, l.cfg.Seed, epoch, idx))
		if err != nil {
			return err
		}
		p := DrawTrainParams(*t, img.SrcW, img.SrcH, l.cfg.Seed, epoch, idx)
		tr.Train(bb.data[b*view:(b+1)*view], img, p)
	case ModeCenter:
		img, err := dec.DecodeFile(path, t.TestScale)
		if err != nil {
			return err
		}
		tr.Center(bb.data[b*view:(b+1)*view], img)
	case ModeTenCrop:
		img, err := dec.DecodeFile(path, t.TestScale)
		if err != nil {
			return err
		}
		tr.TenCrop(bb.data[b*10*view:(b+1)*10*view], img)
	case ModeMultiScale:
		img, err := dec.DecodeFile(path, maxInt(t.MultiScales))
		if err != nil {
			return err
		}
		for s, side := range t.MultiScales {
			out, w, h := tr.Full(bb.scales[s], img, side)
			bb.scales[s] = out[:cap(out)]
			x := bb.batch.Scales[s]
			x.Shape[2], x.Shape[3] = h, w
			x.Data = out
		}
	}
	return nil
}

func maxInt(v []int) int {
	m := 0
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

// trainOrder maps iterations to (epoch, split index) pairs, caching the
// permutations of the two most recent epochs.
type trainOrder struct {
	n, batch int
	seed     uint64
	perms    map[int][]int
}

func newTrainOrder(n, batch int, seed uint64) *trainOrder {
	return &trainOrder{n: n, batch: batch, seed: seed, perms: map[int][]int{}}
}

func (o *trainOrder) perm(epoch int) []int {
	if p, ok := o.perms[epoch]; ok {
		return p
	}
	for e := range o.perms {
		if e < epoch-1 {
			delete(o.perms, e)
		}
	}
	p := EpochPermutation(o.n, o.seed, epoch)
	o.perms[epoch] = p
	return p
}

// indices appends the split indices and epochs of iteration it's images.
func (o *trainOrder) indices(idx, epochs []int, it int) ([]int, []int) {
	for k := it * o.batch; k < (it+1)*o.batch; k++ {
		e := k / o.n
		idx = append(idx, o.perm(e)[k%o.n])
		epochs = append(epochs, e)
	}
	return idx, epochs
}

// TrainBatch returns the split indices and epochs of the images of training
// iteration it: positions it·batch ... (it+1)·batch-1 of the sequence
// EpochPermutation(n, seed, 0), EpochPermutation(n, seed, 1), ... It is
// what a ModeTrain Loader uses, as a pure function.
func TrainBatch(n, batch int, seed uint64, it int) (index, epochs []int) {
	return newTrainOrder(n, batch, seed).indices(nil, nil, it)
}
