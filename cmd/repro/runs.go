package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/resnet-repro/resnet-repro/reproduce"
	"github.com/resnet-repro/resnet-repro/results"
	"github.com/urfave/cli/v2"
)

// runsCommand lists the runs of the results database with their status and
// headline numbers: `repro runs [--spec ID] [--status S] [--db PATH]
// [--format table|json]`.
func runsCommand() *cli.Command {
	return &cli.Command{
		Name:      "runs",
		Usage:     "list runs with their status and headline metrics",
		ArgsUsage: " ",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "spec", Usage: "only the runs of spec `ID`"},
			&cli.StringFlag{Name: "status", Usage: "only runs with status `S` (pending, submitted, running, done, failed, diverged)"},
			scaleFlag("the scale whose database is listed"),
			dbFlag("results database"),
			&cli.StringFlag{Name: "format", Value: results.FormatTable, Usage: "output `FORMAT`: table or json"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return badInput("runs: unexpected argument %q (use --spec ID to select a spec)", c.Args().First())
			}
			format := c.String("format")
			if format != results.FormatTable && format != results.FormatJSON {
				return badInput("runs: unknown format %q (want table or json)", format)
			}
			filter := results.RunFilter{Spec: c.String("spec")}
			if s := c.String("status"); s != "" {
				st, err := results.ParseStatus(s)
				if err != nil {
					return asInput(fmt.Errorf("runs: --status: %w", err))
				}
				filter.Status = st
			}
			db, err := results.OpenReadOnly(dbPath(c))
			if errors.Is(err, os.ErrNotExist) {
				return badInput("runs: no results database at %s (nothing has run at this scale yet, or --db/--scale name another)", dbPath(c))
			}
			if err != nil {
				return err
			}
			defer db.Close()
			ss, err := db.Summaries(filter)
			if err != nil {
				return err
			}
			out := c.App.Writer
			if format == results.FormatJSON {
				return results.WriteSummariesJSON(out, ss)
			}
			if len(ss) == 0 {
				_, err := fmt.Fprintf(out, "no runs in %s\n", db.Path())
				return err
			}
			return withSlurmStates(c, results.SummaryTable(ss), ss).Write(out, results.FormatTable)
		},
	}
}

// withSlurmStates adds a "slurm" column with the Slurm state (squeue, else
// sacct) of each run that has a job id, when the cluster still knows it.
func withSlurmStates(c *cli.Context, t *results.Table, ss []results.RunSummary) *results.Table {
	var jobs []string
	for _, s := range ss {
		if s.JobID != "" {
			jobs = append(jobs, s.JobID)
		}
	}
	if len(jobs) == 0 {
		return t
	}
	states := reproduce.SlurmStates(c.Context, jobs)
	if len(states) == 0 {
		return t
	}
	t.Columns = append(t.Columns, "slurm")
	for i, s := range ss {
		t.Rows[i] = append(t.Rows[i], states[s.JobID]) // "" when unknown
	}
	return t
}
