package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/resnet-repro/resnet-repro/reproduce"
	"github.com/resnet-repro/resnet-repro/results"
	"github.com/urfave/cli/v2"
)

// evalCommand evaluates trained weights on the test set (reproduce.Evaluate):
// `repro eval --run ID [--weights F]` as the run's training evaluated it,
// `repro eval --model M --weights F` on the CIFAR-10 test set, or with
// `--imagenet DIR [--views V] [--normalize N]` on ImageNet validation images.
func evalCommand() *cli.Command {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "run", Usage: "evaluate run `ID` (see `repro runs`) as its training did: its network, data split, mean image and views"},
		&cli.StringFlag{Name: "weights", Usage: "safetensors `FILE` to evaluate: a checkpoint of ours or a state dict with PyTorch names (default with --run: its latest checkpoint)"},
		&cli.StringFlag{Name: "model", Usage: "network of --weights without --run, e.g. resnet-20"},
		&cli.IntFlag{Name: "batch", Value: 100, Usage: "images per forward pass without --run (a run uses its training batch)"},
		&cli.IntFlag{Name: "limit", Usage: "without --run: the first `N` test images only"},
		&cli.BoolFlag{Name: "responses", Usage: "also measure Fig. 7's layer responses: the std of every 3x3 layer's BN output over the evaluation set, beside what the run recorded"},
		&cli.BoolFlag{Name: "record", Usage: "record the result as an \"eval\" event of the run"},
		&cli.StringFlag{Name: "save-weights", Usage: "write the evaluated weights (no optimizer state) to `FILE` as a state dict with PyTorch names"},
		&cli.StringFlag{Name: "format", Value: results.FormatTable, Usage: "output `FORMAT`: table or json"},
		scaleFlag("the scale whose database holds --run"),
		dbFlag("results database of --run"),
		&cli.StringFlag{Name: "data", Usage: "data directory (default $REPRO_DATA, else ./data)"},
		&cli.StringFlag{Name: "imagenet", Usage: "ILSVRC-2012 `DIR` (val/<wnid>/ or a flat val/ with its ground truth): of an ImageNet run (default: imagenet/ in the data directory), or, with --weights, the validation images to evaluate them on instead of CIFAR-10"},
		&cli.StringSliceFlag{Name: "views", Usage: "ImageNet testing `VIEW`s (Sec. 3.4): center, 10-crop, multi-scale (repeatable or comma-separated; default all three)"},
		&cli.StringFlag{Name: "normalize", Usage: "ImageNet input normalization `N`: torchvision (channel mean and std, as torchvision's weights; the default), channel-mean (mean only), per-pixel (our runs' per-pixel mean of 10,000 training images; needs train/)"},
		&cli.BoolFlag{Name: "offline", EnvVars: []string{"REPRO_OFFLINE"}, Usage: "never download data; a missing dataset is an error"},
		threadsFlag,
		backendFlag,
	}
	flags = append(flags, modelFlags(false, true)...)
	return &cli.Command{
		Name:      "eval",
		Usage:     "evaluate a run's checkpoint, or weights trained elsewhere, on the test set (top-1, top-5, loss)",
		ArgsUsage: " ",
		Flags:     flags,
		Action:    evalAction,
	}
}

// evalAction checks the flags, opens the backend and (for --run) the
// results database, and evaluates (reproduce.Env.Evaluate).
func evalAction(c *cli.Context) error {
	if err := checkNoArgs(c); err != nil {
		return err
	}
	format := c.String("format")
	if format != results.FormatTable && format != results.FormatJSON {
		return badInput("eval: unknown format %q (want table or json)", format)
	}
	req, err := evalRequest(c)
	if err != nil {
		return err
	}
	be, err := newBackend(c)
	if err != nil {
		return err
	}
	defer be.Close()
	env := &reproduce.Env{Backend: be, DataDir: c.String("data"), Log: c.App.ErrWriter, ImageNetDir: c.String("imagenet"), Offline: c.Bool("offline")}
	if req.RunID != "" {
		open := results.OpenReadOnly
		if req.Record {
			open = results.Open
		}
		db, err := open(dbPath(c))
		if err != nil {
			return asInput(err)
		}
		defer db.Close()
		env.DB = db
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := env.Evaluate(ctx, req)
	if err != nil {
		return asInput(err)
	}
	if format == results.FormatJSON {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	return writeEval(c, res)
}

// evalRequest reads the flags into what to evaluate, refusing the
// combinations that do not go together; without --run it defines the
// network of --model.
func evalRequest(c *cli.Context) (reproduce.EvalRequest, error) {
	req := reproduce.EvalRequest{RunID: c.String("run"), Weights: c.String("weights"), Batch: c.Int("batch"),
		Limit: c.Int("limit"), Record: c.Bool("record"), SaveWeights: c.String("save-weights"), Responses: c.Bool("responses"),
		ImageNet: c.String("run") == "" && c.IsSet("imagenet"), Views: c.StringSlice("views"), Normalize: c.String("normalize")}
	if !c.IsSet("batch") && req.ImageNet {
		req.Batch = 10 // one image's ten crops per forward pass
	}
	switch {
	case req.RunID != "" && (len(req.Views) > 0 || req.Normalize != ""):
		return req, badInput("eval: --views and --normalize are for weights without a run (--imagenet DIR); a run is evaluated with its own views and input")
	case req.RunID == "" && !req.ImageNet && (len(req.Views) > 0 || req.Normalize != ""):
		return req, badInput("eval: --views and --normalize are for ImageNet weights: add --imagenet DIR")
	case req.RunID == "" && (c.String("model") == "" || req.Weights == ""):
		return req, badInput("eval: give --run ID, or --model and --weights")
	case req.RunID != "" && c.String("model") != "":
		return req, badInput("eval: --model is for weights without a run; a run's network is its own")
	case req.RunID != "" && c.IsSet("limit"):
		return req, badInput("eval: --limit is for weights without a run; a run is evaluated on its own evaluation set")
	case req.Limit < 0:
		return req, badInput("eval: --limit %d must be positive", req.Limit)
	}
	if req.RunID == "" {
		def, err := defineModel(modelConfig(c, c.String("model")))
		if err != nil {
			return req, err
		}
		req.Def = def
	}
	return req, nil
}

// writeEval prints an evaluation: what was evaluated, then one row per
// metric with the run's recorded value beside it.
func writeEval(c *cli.Context, res reproduce.EvalResult) error {
	out := c.App.Writer
	what := res.Model
	if res.RunID != "" {
		what = "run " + res.RunID + " (" + res.Model + ")"
	}
	at := ""
	if res.Iteration > 0 {
		at = fmt.Sprintf(" at iteration %d", res.Iteration)
	}
	fmt.Fprintf(out, "%s, weights %s%s: %d images, backend %s\n", what, res.Weights, at, res.Images, res.Backend)
	t := &results.Table{Columns: []string{"split", "metric", "value", "recorded", "same"}}
	for _, m := range res.Metrics {
		var rec, same any
		if m.HasRecorded {
			rec, same = m.Recorded, "no"
			if m.Same() {
				same = "yes"
			}
		}
		t.Rows = append(t.Rows, []any{m.Split, m.Name, m.Value, rec, same})
	}
	if err := t.Write(out, results.FormatTable); err != nil {
		return err
	}
	if len(res.Responses) == 0 {
		return nil
	}
	fmt.Fprintf(out, "\nlayer responses (std of each 3x3 layer's BN output, Fig. 7):\n")
	t = &results.Table{Columns: []string{"layer", "name", "std", "recorded"}}
	for _, r := range res.Responses {
		var rec any
		if r.HasRecorded {
			rec = r.Recorded
		}
		t.Rows = append(t.Rows, []any{r.LayerIndex, r.LayerName, r.Std, rec})
	}
	return t.Write(out, results.FormatTable)
}
