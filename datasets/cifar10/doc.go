// Package cifar10 reads, verifies, fetches and feeds CIFAR-10 (Krizhevsky,
// 2009) exactly as He et al. 2016 train and test on it (Sec. 4.2).
//
// # Files
//
// The official binary distribution, cifar-10-binary.tar.gz, holds
// cifar-10-batches-bin/ with data_batch_1..5.bin (training, 5 x 10,000
// records) and test_batch.bin (10,000 records). A record is 3,073 bytes: a
// label byte (0..9), then the 32x32 red, green and blue planes, row-major
// (so a record's pixels are already in CHW order). [Load] reads the archive
// directly (gzip + tar, nothing extracted) or the extracted folder, checks
// every file's size, every label and the MD5 of each of the six files
// against the official sums, and returns either a complete [Dataset] or an
// error that names the file and record; never a partial dataset.
//
// # Data directory
//
// The data directory is --data DIR, else $REPRO_DATA, else ./data
// ([DataDir]). It holds cifar10/ with the archive or its extracted folder
// ([Locate]); ../shared/datasets is laid out this way. [Fetch] downloads the
// official archive (resuming a partial download with an HTTP Range request,
// verifying the archive MD5, storing it atomically); [Import] stores a local
// copy, accepting an archive whose MD5 differs from the official one when
// its six batch files carry the official per-file MD5s (the shared copy is
// such a re-packed archive).
//
// # Input as in Sec. 4.2
//
// Value scale: a pixel byte p becomes p/255 in [0,1]; the per-pixel mean
// image (3x32x32, [MeanImage]) of the training split actually used (all
// 50,000, the 45k part of the 45k/5k split, or a smoke-scale subset) is then
// subtracted. Training augmentation pads 4 pixels on each side with zeros,
// takes a random 32x32 crop and flips it horizontally with probability 1/2.
// The padding is zero after mean subtraction (as in fb.resnet.torch, which
// normalizes before padding), i.e. the border is the mean image's value in
// pixel space. Testing uses the original image, mean subtracted.
//
// The 45k/5k train/val split ([Split.HoldOut], [Dataset.TrainVal]) holds
// out the last 500 images of each class in the official record order
// (data_batch_1 record 0 first): fixed, class balanced, and needing no
// random numbers. The training part keeps the official order of the other
// 45,000. A smoke-scale subset ([Split.Subset]) is the first K images of one
// fixed shuffled order (seed [SubsetSeed], independent of the run's seed),
// so smaller subsets are contained in larger ones.
//
// # Batches
//
// A [TrainLoader] yields batch i as a pure function of (seed, i): iteration
// i belongs to epoch e = i / BatchesPerEpoch (the remainder of each epoch's
// permutation that does not fill a batch is dropped, so every batch is
// full); epoch e visits the images in a permutation derived from (seed, e);
// image j's crop offsets and flip in epoch e are derived from (seed, e, j).
// A run resumed at any iteration therefore sees exactly the batches it
// would have seen. The random numbers come from splitmix64 (Steele et al.
// 2014), written out here rather than taken from math/rand so that batches
// cannot change with the Go release. Batches are built ahead of the engine
// by a small pool of goroutines (one by default) into a fixed ring of
// reusable buffers; in steady state nothing is allocated. An [EvalLoader]
// walks a split in order, in batches, the last partial batch included.
package cifar10
