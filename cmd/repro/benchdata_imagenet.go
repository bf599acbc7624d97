package main

import (
	"fmt"
	"os"

	"github.com/resnet-repro/resnet-repro/datasets/imagenet"
	"github.com/urfave/cli/v2"
)

// benchDataImageNetCommand is `repro bench data imagenet`: it runs the
// ImageNet input pipeline (decode + augment on a worker pool) over a
// dataset folder and reports images per second.
func benchDataImageNetCommand() *cli.Command {
	return &cli.Command{
		Name:  "imagenet",
		Usage: "measure the ImageNet input pipeline (decode + augment) in images/s",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "path", Usage: "ILSVRC-2012 folder (train/, val/); train/ is used if present, else val/", Required: true},
			&cli.IntFlag{Name: "batch", Value: 32, Usage: "images per batch"},
			&cli.IntFlag{Name: "iters", Value: 20, Usage: "batches to produce"},
			&cli.IntFlag{Name: "workers", Value: 0, Usage: "decoding goroutines (0: one per core)"},
			&cli.IntFlag{Name: "crop", Value: 224, Usage: "crop size; other lengths scale with it (224 is the paper's)"},
			&cli.StringFlag{Name: "mode", Value: "train", Usage: "views to produce: train, center, 10-crop, multi-scale"},
		},
		Action: func(c *cli.Context) error {
			modes := map[string]imagenet.Mode{}
			for _, m := range []imagenet.Mode{imagenet.ModeTrain, imagenet.ModeCenter, imagenet.ModeTenCrop, imagenet.ModeMultiScale} {
				modes[m.String()] = m
			}
			mode, ok := modes[c.String("mode")]
			if !ok {
				return badInput("bench data imagenet: unknown --mode %q (train, center, 10-crop, multi-scale)", c.String("mode"))
			}
			if c.Int("batch") < 1 || c.Int("iters") < 1 || c.Int("workers") < 0 || c.Int("crop") < 1 {
				return badInput("bench data imagenet: --batch, --iters, --crop must be positive and --workers >= 0")
			}
			if _, err := os.Stat(c.String("path")); err != nil {
				return asInput(fmt.Errorf("bench data imagenet: %w", err))
			}
			ds, err := imagenet.Open(c.String("path"), imagenet.Options{})
			if err != nil {
				return asInput(err)
			}
			split := ds.Train
			if split == nil {
				split = ds.Val
			}
			cfg := imagenet.DefaultConfig()
			if crop := c.Int("crop"); crop != cfg.Crop {
				cfg = cfg.Scaled(crop)
			}
			res, err := imagenet.Bench(split, imagenet.LoaderConfig{
				Mode: mode, Batch: c.Int("batch"), Workers: c.Int("workers"), Transform: cfg,
			}, c.Int("iters"))
			if err != nil {
				return asInput(err)
			}
			fmt.Fprintf(c.App.Writer, "imagenet %s views, crop %d, %s split (%d images), batch %d, workers %s: %s\n",
				mode, cfg.Crop, split.Name, split.Len(), c.Int("batch"), workersString(c.Int("workers")), res)
			return nil
		},
	}
}

func workersString(n int) string {
	if n == 0 {
		return "one per core"
	}
	return fmt.Sprint(n)
}
