package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/resnet-repro/resnet-repro/experiments"
	"github.com/resnet-repro/resnet-repro/reproduce"
	"github.com/resnet-repro/resnet-repro/results"
	"github.com/urfave/cli/v2"
)

// submitCommand hands the runs of specs to a Slurm cluster as one job array
// (reproduce.Submit): `repro submit ID... --slurm [--scale S] [--only RUN...]
// [--seeds N] [--partition P] [--time T] [--cpus-per-task C] [--mem M]
// [--dry-run] [--db PATH]`.
func submitCommand() *cli.Command {
	return &cli.Command{
		Name:      "submit",
		Usage:     "submit the runs of specs to a Slurm cluster as a job array (one task per run, each into its own shard)",
		ArgsUsage: "SPEC_ID|FILE...",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "slurm", Usage: "submit with sbatch (the one scheduler supported; required)"},
			scaleFlag("the scale to train at"),
			&cli.StringSliceFlag{Name: "only", Usage: "submit only these runs (by name; repeatable)"},
			&cli.IntFlag{Name: "seeds", Usage: "seeds per run (default: the spec's)"},
			&cli.StringFlag{Name: "partition", Usage: "Slurm partition `P` (default: the cluster's)"},
			&cli.StringFlag{Name: "time", Usage: "time limit `T` per run, e.g. 2-00:00:00 (default: the partition's)"},
			&cli.IntFlag{Name: "cpus-per-task", Usage: "cores `C` per run; also its compute threads"},
			&cli.StringFlag{Name: "mem", Usage: "memory `M` per run, e.g. 8G"},
			&cli.BoolFlag{Name: "dry-run", Usage: "write the script into results/slurm/ but do not submit or record anything"},
			&cli.BoolFlag{Name: "resubmit", Usage: "also submit runs recorded as submitted or running (a lost or cancelled job)"},
			dbFlag("results database; the script goes to slurm/ and the shards to shards/ beside it:"),
			&cli.StringFlag{Name: "data", Usage: "data directory the tasks use (default: theirs, $REPRO_DATA or ./data)"},
			&cli.StringFlag{Name: "bin", Usage: "repro executable the tasks run (default: this one)"},
		},
		Action: submitAction,
	}
}

// submitAction checks the flags, plans the runs and submits them
// (reproduce.Submit), then says what it did.
func submitAction(c *cli.Context) error {
	if !c.Bool("slurm") {
		return badInput("submit: say --slurm (Slurm is the one scheduler supported)")
	}
	if c.Args().Len() == 0 {
		return badInput("submit: name at least one spec (see `repro specs`)")
	}
	scale := c.String("scale")
	if !experiments.ValidScale(scale) {
		return badInput("submit: unknown --scale %q (%s)", scale, experiments.ScaleList)
	}
	if c.Int("seeds") < 0 || c.Int("cpus-per-task") < 0 {
		return badInput("submit: --seeds and --cpus-per-task must be positive")
	}
	bin, err := submitBinary(c.String("bin"))
	if err != nil {
		return err
	}
	runOpts := reproduce.RunOptions{Resolve: experiments.Options{Scale: scale, Seeds: c.Int("seeds")}, Only: c.StringSlice("only")}
	res := reproduce.Resources{Partition: c.String("partition"), Time: c.String("time"),
		CPUsPerTask: c.Int("cpus-per-task"), Mem: c.String("mem")}
	if err := res.Validate(); err != nil {
		return badInput("submit: %v", err)
	}
	// Bad specs and run names are found before the database is touched.
	if _, err := reproduce.Plan(c.Args().Slice(), runOpts); err != nil {
		return asInput(fmt.Errorf("submit: %w", err))
	}
	dbPath := dbPath(c)
	db, err := openSubmitDB(dbPath, c.Bool("dry-run"))
	if err != nil {
		return asInput(err)
	}
	if db != nil {
		defer db.Close()
	}
	sub, err := reproduce.Submit(c.Context, db, c.Args().Slice(), reproduce.SubmitOptions{
		Run: runOpts, Resources: res, ResultsDir: filepath.Dir(dbPath), Binary: bin, DataDir: c.String("data"),
		DryRun: c.Bool("dry-run"), Resubmit: c.Bool("resubmit"),
	})
	out := c.App.Writer
	for _, s := range sub.Skipped {
		fmt.Fprintf(out, "skip %s %s/%s seed %d: %s\n", s.Run.ID, s.Run.Spec, s.Run.Name, s.Run.Seed, s.Reason)
	}
	if err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	writeSubmission(out, sub, dbPath)
	return nil
}

// submitBinary is the absolute path of the repro executable the tasks run:
// bin (--bin) or, if empty, this one.
func submitBinary(bin string) (string, error) {
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", fmt.Errorf("submit: finding this executable (give --bin): %w", err)
		}
		bin = exe
	}
	return filepath.Abs(bin)
}

// openSubmitDB opens the results database at path for a submission. A dry
// run writes nothing to the database (and needs none): it opens it
// read-only, and a missing database is nil, not an error.
func openSubmitDB(path string, dryRun bool) (*results.DB, error) {
	if !dryRun {
		return results.Open(path)
	}
	db, err := results.OpenReadOnly(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return db, err
}

// writeSubmission says what a submission did (its skipped runs aside): one
// line per task, the script and run list, and how to submit a dry run or
// follow a submitted job array.
func writeSubmission(out io.Writer, sub reproduce.Submission, dbPath string) {
	if sub.Script == nil {
		fmt.Fprintf(out, "nothing to submit (%d run(s) skipped)\n", len(sub.Skipped))
		return
	}
	for i, r := range sub.Submitted {
		job := "(dry run)"
		if sub.JobID != "" {
			job = "job " + sub.TaskJobID(i)
		}
		fmt.Fprintf(out, "task %d: %s %s/%s seed %d %s\n", i, r.ID, r.Spec, r.Name, r.Seed, job)
	}
	fmt.Fprintf(out, "script %s\nrun list %s\n", sub.Script.ScriptPath(), sub.Script.ListPath())
	if sub.JobID == "" {
		dir, _ := reproduce.ShellQuote(sub.Script.SlurmDir) // Script quoted it already
		fmt.Fprintf(out, "dry run: not submitted; to submit it yourself: cd %s && sbatch %s\n", dir, filepath.Base(sub.Script.ScriptPath()))
		return
	}
	fmt.Fprintf(out, "submitted job array %s (%d task(s)); `repro runs` shows their state, `repro merge` folds the finished shards into %s\n",
		sub.JobID, len(sub.Submitted), dbPath)
}
