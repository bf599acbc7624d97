package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime/pprof"
	"syscall"

	"github.com/resnet-repro/resnet-repro/netbuild"
	"github.com/urfave/cli/v2"
)

func benchCommand() *cli.Command {
	return &cli.Command{
		Name:  "bench",
		Usage: "time training or inference steps of a model (images/s, GFLOP/s, peak RSS); `bench data` times the input pipelines",
		Flags: append(append([]cli.Flag{&cli.StringFlag{Name: "model", Usage: "network, e.g. resnet-20, resnet-50 (required unless `bench data`)"}}, modelFlags(false, true)...),
			&cli.IntFlag{Name: "batch", Value: 128, Usage: "images per step"},
			&cli.StringFlag{Name: "mode", Value: "train", Usage: "train (forward, loss, backward, SGD step) or infer (forward with BN running statistics)"},
			&cli.IntFlag{Name: "iters", Value: 10, Usage: "timed steps (after 2 warm-up steps)"},
			&cli.BoolFlag{Name: "json", Usage: "print one JSON object per measurement"},
			&cli.StringFlag{Name: "cpuprofile", Usage: "write a Go CPU profile of the timed steps to this file (`go tool pprof`; time in oneDNN is charged to the calling layer)"},
			threadsFlag, backendFlag),
		Action: benchAction,
		Subcommands: []*cli.Command{{
			Name:        "data",
			Usage:       "time an input pipeline (decode, augment, batch)",
			Subcommands: []*cli.Command{benchDataCIFAR10Command(), benchDataImageNetCommand()},
		}},
	}
}

// benchResult is one measurement; the JSON keys match
// ../shared/bench/bench_torch.py so the two can be compared line by line.
type benchResult struct {
	Model        string  `json:"model"`
	Mode         string  `json:"mode"`
	Batch        int     `json:"batch"`
	Input        int     `json:"input"`
	Threads      int     `json:"threads"`
	ImagesPerSec float64 `json:"images_per_sec"`
	GFLOPS       float64 `json:"gflops"`
	MedianStepMS float64 `json:"median_step_ms"`
	PeakRSSMB    float64 `json:"peak_rss_mb"`
	Backend      string  `json:"backend"`
	Iters        int     `json:"iters"`
}

func benchAction(c *cli.Context) error {
	if err := checkNoArgs(c); err != nil {
		return err
	}
	if c.String("model") == "" {
		return badInput("bench: --model is required (e.g. --model resnet-20), or use `repro bench data cifar10|imagenet`")
	}
	mode := c.String("mode")
	if mode != "train" && mode != "infer" {
		return badInput("bench: unknown --mode %q (train or infer)", mode)
	}
	if c.Int("batch") < 1 || c.Int("iters") < 1 {
		return badInput("bench: --batch and --iters must be positive")
	}
	d, err := defineModel(modelConfig(c, c.String("model")))
	if err != nil {
		return err
	}
	be, err := newBackend(c)
	if err != nil {
		return err
	}
	defer be.Close()
	batch := c.Int("batch")
	cfg := netbuild.BenchConfig{Batch: batch, Iters: c.Int("iters"), Train: mode == "train"}
	if path := c.String("cpuprofile"); path != "" {
		cfg.Started = func() (func(), error) { return startCPUProfile(path) }
	}
	res, err := netbuild.Bench(be, d, cfg)
	if err != nil {
		return asInput(err)
	}
	med := res.Median()
	flopsPerImage := 2 * float64(d.Layout().MACs)
	if mode == "train" {
		flopsPerImage *= 3 // forward, backward-data, backward-weights
	}
	r := benchResult{Model: d.Config.Model, Mode: mode, Batch: batch, Input: d.Config.Input, Threads: be.Threads(),
		ImagesPerSec: float64(batch) / med, GFLOPS: flopsPerImage * float64(batch) / med / 1e9,
		MedianStepMS: med * 1000, PeakRSSMB: peakRSSMB(), Backend: be.Name(), Iters: len(res.StepSeconds)}
	if c.Bool("json") {
		return json.NewEncoder(c.App.Writer).Encode(r)
	}
	fmt.Fprintf(c.App.Writer, "%s %s batch %d input %d: %.1f images/s, %.1f GFLOP/s, median step %.1f ms, peak RSS %.0f MB (backend %s, %d threads, %d steps)\n",
		r.Model, r.Mode, r.Batch, r.Input, r.ImagesPerSec, r.GFLOPS, r.MedianStepMS, r.PeakRSSMB, r.Backend, r.Threads, r.Iters)
	return nil
}

// startCPUProfile writes a CPU profile to path until the returned stop.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, asInput(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// peakRSSMB is the process's peak resident set size (getrusage, KiB on Linux).
func peakRSSMB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024
}
