package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"

	"github.com/resnet-repro/resnet-repro/experiments"
	"github.com/resnet-repro/resnet-repro/reproduce"
	"github.com/resnet-repro/resnet-repro/results"
	"github.com/urfave/cli/v2"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "train the runs of one or more specs (skipping finished runs, resuming interrupted ones)",
		ArgsUsage: "SPEC_ID|FILE...",
		Flags: []cli.Flag{
			scaleFlag("the scale to train at"),
			&cli.StringSliceFlag{Name: "only", Usage: "train only these runs (by name; repeatable)"},
			&cli.StringSliceFlag{Name: "run-id", Usage: "train only the run with this `ID` (see `repro runs`; repeatable)"},
			&cli.IntFlag{Name: "seeds", Usage: "seeds per run (default: the spec's)"},
			&cli.BoolFlag{Name: "fresh", Usage: "retrain runs that are already done, discarding their results"},
			dbFlag("results database"),
			&cli.StringFlag{Name: "data", Usage: "data directory (default $REPRO_DATA, else ./data)"},
			&cli.StringFlag{Name: "checkpoints", Usage: "checkpoint directory (default: checkpoints/ beside the database)"},
			&cli.StringFlag{Name: "imagenet", Usage: "ILSVRC-2012 folder (train/<wnid>/, val/); default: imagenet/ in the data directory. When present, quick and paper scale train ImageNet specs on it"},
			&cli.BoolFlag{Name: "offline", EnvVars: []string{"REPRO_OFFLINE"}, Usage: "never download data; a missing dataset is an error"},
			&cli.BoolFlag{Name: "allow-inexact-resume", Usage: "resume runs under another --backend or --threads than they trained with, recording them as no longer bit-exact"},
			threadsFlag,
			backendFlag,
		},
		Action: func(c *cli.Context) error {
			if c.Args().Len() == 0 {
				return badInput("run: name at least one spec (see `repro specs`)")
			}
			scale := c.String("scale")
			if !experiments.ValidScale(scale) {
				return badInput("run: unknown --scale %q (%s)", scale, experiments.ScaleList)
			}
			be, err := newBackend(c)
			if err != nil {
				return err
			}
			defer be.Close()
			db, err := results.Open(dbPath(c))
			if err != nil {
				return asInput(err)
			}
			defer db.Close()
			ckdir := c.String("checkpoints")
			if ckdir == "" {
				ckdir = filepath.Join(filepath.Dir(dbPath(c)), "checkpoints")
			}
			host, _ := os.Hostname()
			env := &reproduce.Env{DB: db, Backend: be, DataDir: c.String("data"), CheckpointDir: ckdir, Fresh: c.Bool("fresh"),
				Log: c.App.ErrWriter, Host: host, CodeVersion: codeVersion(), ImageNetDir: c.String("imagenet"), Offline: c.Bool("offline"),
				AllowInexactResume: c.Bool("allow-inexact-resume")}
			if dir := c.String("imagenet"); dir != "" && !env.HasImageNet() {
				return badInput("run: --imagenet %s: not a directory", dir)
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			go func() {
				// After the first Ctrl-C the runs stop at their next
				// iteration; a second one ends the process at once.
				<-ctx.Done()
				stop()
			}()
			sum, err := env.RunSpecs(ctx, c.Args().Slice(), reproduce.RunOptions{
				Resolve: experiments.Options{Scale: scale, Seeds: c.Int("seeds"), ImageNet: env.HasImageNet()}, Only: c.StringSlice("only"),
				RunIDs: c.StringSlice("run-id")})
			busy := ""
			if sum.Busy > 0 {
				busy = fmt.Sprintf(", busy %d (trained by another process)", sum.Busy)
			}
			fmt.Fprintf(c.App.Writer, "trained %d, skipped %d (done), diverged %d, failed %d, stopped %d%s\n", sum.Trained, sum.Skipped, sum.Diverged, sum.Failed, sum.Stopped, busy)
			if errors.Is(err, reproduce.ErrInexactResume) {
				return asInput(err)
			}
			if err != nil && sum.Trained+sum.Skipped+sum.Diverged+sum.Failed == 0 && ctx.Err() == nil {
				return asInput(err) // nothing ran: a bad spec, run name or data path
			}
			if err == nil && ctx.Err() != nil {
				return fmt.Errorf("interrupted: %d run(s) stopped at their last checkpoint; the same command resumes them", sum.Stopped)
			}
			return err
		},
	}
}

// version is set at link time by `make build` (-X main.version=<git
// revision>), for builds where Go's own VCS stamping is off.
var version string

// codeVersion is the VCS revision the binary was built from, if known.
func codeVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
		return bi.Main.Version
	}
	return "unknown"
}
