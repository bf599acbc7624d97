package main

import (
	"fmt"
	"time"

	"github.com/resnet-repro/resnet-repro/datasets/cifar10"
	"github.com/urfave/cli/v2"
)

// benchDataCIFAR10Command is `repro bench data cifar10`: the throughput of
// the Sec. 4.2 training pipeline (mean subtraction, pad-crop-flip) on the
// real training split, with nothing consuming the batches.
func benchDataCIFAR10Command() *cli.Command {
	return &cli.Command{
		Name:  "cifar10",
		Usage: "images/s of the augmenting CIFAR-10 training pipeline",
		Flags: []cli.Flag{
			dataDirFlag(),
			&cli.StringFlag{Name: "path", Usage: "the archive or extracted folder (default: the one in the data directory)"},
			&cli.IntFlag{Name: "batch", Value: 128, Usage: "images per batch (Sec. 4.2: 128)"},
			&cli.IntFlag{Name: "iters", Value: 400, Usage: "batches to time"},
			&cli.IntFlag{Name: "workers", Value: 1, Usage: "pipeline goroutines"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of the permutation and augmentation"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return badInput("bench data cifar10: unexpected argument %q", c.Args().First())
			}
			iters := c.Int("iters")
			if iters < 1 {
				return badInput("bench data cifar10: --iters %d, want at least 1", iters)
			}
			ds, err := loadCIFAR10(c)
			if err != nil {
				return err
			}
			l, err := cifar10.NewTrainLoader(ds.Train, cifar10.LoaderConfig{
				Batch: c.Int("batch"), Seed: c.Uint64("seed"), Augment: true,
				Mean: cifar10.MeanImage(ds.Train), Workers: c.Int("workers"),
			})
			if err != nil {
				return asInput(err)
			}
			l.Start(0)
			defer l.Close()
			l.Release(l.Next()) // the workers are running
			start := time.Now()
			for range iters {
				l.Release(l.Next())
			}
			el := time.Since(start).Seconds()
			cfg := l.Config()
			n := iters * cfg.Batch
			fmt.Fprintf(c.App.Writer, "cifar10 train pipeline (mean subtraction, pad 4, random crop, flip): batch %d, %d worker(s): %d batches, %d images in %.3f s: %.0f images/s\n",
				cfg.Batch, cfg.Workers, iters, n, el, float64(n)/el)
			return nil
		},
	}
}
