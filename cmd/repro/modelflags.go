package main

import (
	"fmt"

	"github.com/resnet-repro/resnet-repro/engine/backend"
	"github.com/resnet-repro/resnet-repro/engine/backend/choose"
	"github.com/resnet-repro/resnet-repro/models"
	"github.com/urfave/cli/v2"
)

// modelFlags are the flags that select a network (see models.Config).
// withModel adds --model; commands whose input size comes from a file
// (forward) drop --input, which they use for the file.
func modelFlags(withModel, withInputSize bool) []cli.Flag {
	fs := []cli.Flag{
		&cli.StringFlag{Name: "shortcut", Usage: "shortcut option A, B or C (default: B for ImageNet models, A for CIFAR)"},
		&cli.Float64Flag{Name: "width", Value: 1, Usage: "filter-count multiplier (1 = the paper's)"},
		&cli.IntFlag{Name: "classes", Usage: "number of classes (default 1000 ImageNet, 10 CIFAR)"},
		&cli.IntFlag{Name: "input", Usage: "input height and width (default 224 ImageNet, 32 CIFAR)"},
		&cli.StringFlag{Name: "family", Usage: "imagenet or cifar (default: inferred from the depth)"},
		&cli.BoolFlag{Name: "cifar-stem", Usage: "ImageNet block layout with the CIFAR 3x3 stem (proxy on 32x32 inputs)"},
		&cli.BoolFlag{Name: "stride-3x3", Usage: "bottleneck stride on the 3x3 (torchvision v1.5) instead of the first 1x1 (paper)"},
	}
	if !withInputSize {
		out := fs[:0]
		for _, f := range fs {
			if f.Names()[0] != "input" {
				out = append(out, f)
			}
		}
		fs = out
	}
	if withModel {
		fs = append([]cli.Flag{&cli.StringFlag{Name: "model", Usage: "network, e.g. resnet-20, resnet-50, plain-34", Required: true}}, fs...)
	}
	return fs
}

// modelConfig reads the model flags; model is the network's name.
func modelConfig(c *cli.Context, model string) models.Config {
	return models.Config{
		Model: model, Shortcut: c.String("shortcut"), Width: c.Float64("width"), Classes: c.Int("classes"),
		Input: inputSize(c), Family: models.Family(c.String("family")), CIFARStem: c.Bool("cifar-stem"),
		Stride3x3: c.Bool("stride-3x3"),
	}
}

// defineModel resolves the flags into a definition; errors are bad input.
func defineModel(cfg models.Config) (*models.Def, error) {
	d, err := models.Define(cfg)
	if err != nil {
		return nil, asInput(err)
	}
	return d, nil
}

// threadsFlag and backendFlag choose the compute engine; the data
// pipelines run on their own goroutines and do not count against threads.
var (
	threadsFlag = &cli.IntFlag{Name: "threads", Usage: "compute threads (default: all cores)"}
	backendFlag = &cli.StringFlag{Name: "backend", Value: "auto", Usage: "compute backend: auto (onednn when built in), onednn or reference (pure Go)"}
)

// newBackend returns the compute backend for the --backend and --threads
// flags. The caller closes it.
func newBackend(c *cli.Context) (backend.Backend, error) {
	if c.Int("threads") < 0 {
		return nil, badInput("--threads %d must be positive", c.Int("threads"))
	}
	be, err := choose.New(c.String("backend"), c.Int("threads"))
	if err != nil {
		return nil, asInput(err)
	}
	return be, nil
}

func checkNoArgs(c *cli.Context) error {
	if c.Args().Len() > 0 {
		return badInput("%s: unexpected argument %q", c.Command.Name, c.Args().First())
	}
	return nil
}

func fmtInt(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// inputSize reads --input when it is the model's input size (an int flag).
func inputSize(c *cli.Context) int {
	for _, f := range c.Command.Flags {
		if _, ok := f.(*cli.IntFlag); ok && f.Names()[0] == "input" {
			return c.Int("input")
		}
	}
	return 0
}
