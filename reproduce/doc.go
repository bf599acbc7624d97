// Package reproduce is the runner: spec -> resolved runs -> skip finished
// -> resume from the latest checkpoint -> train -> evaluate -> record.
//
// Resume is exact by construction: a run's batches are a pure function of
// (seed, iteration) (datasets/cifar10, datasets/imagenet), checkpoints are
// written only at evaluation boundaries (so no partial-interval
// accumulator is lost) and hold the weights, BN running statistics, SGD
// velocity, the schedule's state (warm-up, plateau) and the warm-up's
// window of recent training errors; the compute backend is deterministic
// for a fixed thread count. A resumed run therefore logs the same metrics,
// bit for bit, as one that never stopped: tested in-process
// (runner_test.go) and with real `repro run` processes killed by SIGKILL or
// stopped by SIGINT (cmd/repro/run_test.go). Ctrl-C (or SIGTERM) stops a
// run at its next iteration; work since its last checkpoint is redone.
//
// # Data
//
// One training loop serves both datasets; a source (source.go) supplies
// the batches and the evaluations. A missing dataset stops `repro run`
// with a message saying how to point at a local copy; with Env.Offline
// (REPRO_OFFLINE) CIFAR-10 is never downloaded.
//
//   - CIFAR-10 (Sec. 4.2): periodic evaluation on the test set, and with
//     the recipe's 45k/5k split also on the 5,000 held-out training images;
//     the evaluation subset applies to both.
//   - ImageNet (Sec. 3.4), when Env.ImageNetRoot holds ILSVRC-2012: scale
//     augmentation, 224 crops, flips, PCA lighting, per-pixel mean (from
//     at most 10,000 training images); periodic evaluation on the center
//     crop of val; at the end 10-crop and multi-scale testing. Subsets of
//     ImageNet splits are spread evenly over the class-ordered split, not
//     its first images. Multi-scale testing evaluates the central s x s
//     square at each shorter side s (the networks take square inputs), an
//     approximation of the paper's full-image view.
//
// # Metrics (results.Metric split/name)
//
// Every evaluation interval: train/loss, train/error (means over the
// interval's mini-batches), train/lr. CIFAR-10: test/loss, test/error and,
// with 45k/5k, val/loss, val/error (the recipe's "val_error", watched by
// a plateau rule). ImageNet: val/loss, val/error, val/top5 (center crop);
// at the last iteration also val/error_10crop, val/top5_10crop,
// val/error_multiscale, val/top5_multiscale. Errors are in percent.
//
// # Progress
//
// Env.Log gets one line per evaluation interval; on a terminal (or with
// ProgressLive) also a status line redrawn in place about once a second.
// Drawing it adds no allocation to a training step: the loop only reads
// the clock, and formats a line at most once a second.
package reproduce
