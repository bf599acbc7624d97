// Package reproduce is the runner: spec -> resolved runs -> skip finished
// -> resume from the latest checkpoint -> train -> evaluate -> record.
//
// Resume is exact by construction: a run's batches are a pure function of
// (seed, iteration) (datasets/cifar10), checkpoints are written only at
// evaluation boundaries (so no partial-interval accumulator is lost) and
// hold the weights, BN running statistics, SGD velocity, the schedule's
// state (warm-up, plateau) and the warm-up's window of recent training
// errors; the compute backend is deterministic for a fixed thread count.
// A resumed run therefore logs the same metrics, bit for bit, as one that
// never stopped (tested in runner_test.go).
package reproduce
