// Package imagenet is the ILSVRC-2012 input pipeline of He et al. 2016,
// Sec. 3.4: it reads the dataset layout a user has, decodes JPEGs, makes the
// training and test views, and runs all of it on a worker pool ahead of the
// engine.
//
// # Layout and labels (Open)
//
// train/<wnid>/*.JPEG, and val/ either as val/<wnid>/*.JPEG or flat, labelled
// by the devkit's ILSVRC2012_validation_ground_truth.txt (1-based
// ILSVRC2012_IDs, line i for ILSVRC2012_val_<i>.JPEG) plus a text synset map
// (map_clsloc.txt "wnid id name", or one wnid a line in ILSVRC2012_ID order;
// the devkit's meta.mat is not read), or by Kaggle's LOC_val_solution.csv.
// The class index is sorted wnid order; a class list file (the shared
// sample's classes.tsv, or LOC_synset_mapping.txt) fixes the 1000-class
// index when only some class folders are present. Every error names the file
// (and line) at fault; Open returns no dataset with an error.
//
// # Decoding (Decoder)
//
// libjpeg-turbo through its TurboJPEG API (cgo; Debian package
// libturbojpeg0-dev), with the standard library as the fallback for what
// libjpeg-turbo rejects or warns about, for PNG data (ILSVRC-2012 has a PNG
// named .JPEG) and as the whole decoder in builds without cgo or with the
// build tag noturbojpeg. Measured on the 104 shared sample images (mean
// 190k pixels), one goroutine, this machine: image/jpeg 164-180 images/s,
// libjpeg-turbo 623 images/s (3.5-3.8x; in every later run on the loaded
// shared machine the ratio stayed 3.5-3.8x), and 749 images/s decoding at
// half size through the DCT, which the pipeline uses when the target shorter
// side allows (reduced-resolution proxies). At 224 pixels the decoder is the
// pipeline's main cost, so the faster one pays for itself. Grayscale becomes
// three equal channels; CMYK/YCCK JPEGs (Adobe, stored inverted, as
// Photoshop writes them and as the 22 CMYK files of ILSVRC-2012 train are)
// become RGB by R = (255-C)(255-K)/255. The two decoders differ by at most 2.01 grey levels
// mean absolute difference on any sample image (chroma upsampling differs),
// so batches are bit-identical only within one build; a run should record
// DecoderName. Steady state, measured: about 11 KB and 6 allocations per
// training image with libjpeg-turbo (file handles, buffers growing to a new
// largest image), 500 KB with image/jpeg (its decoded image).
//
// # Views (Transformer, Config)
//
// Training (Sec. 3.4, after AlexNet and VGG): the shorter side resized to a
// length uniform in [256, 480], a random 224x224 crop, a horizontal flip with
// probability 1/2, AlexNet's PCA lighting noise (alpha ~ N(0, 0.1²), the
// ImageNet RGB eigenvalues/vectors published with fb.resnet.torch), and mean
// subtraction. The paper subtracts the per-pixel mean; Config.MeanImage holds
// one (ComputeMean makes it from the training split's center views at the
// test scale) and is subtracted by output position; without it the
// per-channel Config.Mean (default ImageNetMean) is used, which is what a
// per-pixel mean of scale-augmented crops nearly is anyway. Full-image views
// (whose size varies) always use the per-channel mean. No division by a
// standard deviation unless Config.Std says so.
//
// Testing: 10-crop (the image resized to shorter side 256; the 224 crops at
// the four corners and the center, then the same five mirrored), a single
// center crop, and the fully-convolutional multi-scale views (the whole image
// at shorter sides {224, 256, 384, 480, 640}; the model averages the scores).
//
// Resizing is antialiased bilinear (a triangle filter widened by the
// downscale factor, as Pillow's BILINEAR): plain bilinear when enlarging,
// close to an area average when shrinking, so small proxies are not aliased.
// Resize and crop are fused: only the window's taps and the source rows it
// needs are computed. Output is NCHW float32. Config.Scaled(crop) shrinks all
// lengths for reduced-cost proxies (e.g. 112 or 64 pixels).
//
// # Batches (Loader)
//
// A training batch is a pure function of (split, config, seed, iteration):
// iteration i takes positions i·B ... (i+1)·B-1 of the endless sequence of
// epoch permutations EpochPermutation(n, seed, 0), (n, seed, 1), ..., and
// each image's random draws come from hash(seed, epoch, image index). A run
// resumed at iteration k (LoaderConfig.Start = k) sees exactly the batches an
// uninterrupted one would, whatever the number of workers. The randomness is
// splitmix64, written out here so it cannot change with the Go release.
// Batch buffers are recycled, and with libjpeg-turbo the workers decode into
// reused buffers.
//
// This package imports only engine/tensor and the standard library.
package imagenet
