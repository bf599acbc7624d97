package main

import (
	"fmt"
	"path/filepath"

	"github.com/resnet-repro/resnet-repro/reproduce"
	"github.com/resnet-repro/resnet-repro/results"
	"github.com/urfave/cli/v2"
)

// mergeCommand folds Slurm tasks' shards into the results database
// (reproduce.Merge): `repro merge [SHARD...] [--db PATH]`, by default every
// shards/*.db beside the database.
func mergeCommand() *cli.Command {
	return &cli.Command{
		Name:      "merge",
		Usage:     "fold run shards (written by Slurm array tasks) into the results database; merging twice changes nothing",
		ArgsUsage: "[SHARD...]",
		Flags: []cli.Flag{
			scaleFlag("the scale whose database the shards are merged into"),
			dbFlag("results database; the default shards are shards/*.db beside it:"),
		},
		Action: func(c *cli.Context) error {
			dbPath := dbPath(c)
			shards := c.Args().Slice()
			if len(shards) == 0 {
				var err error
				if shards, err = reproduce.Shards(filepath.Dir(dbPath)); err != nil {
					return err
				}
				if len(shards) == 0 {
					return badInput("merge: no shards in %s", filepath.Join(filepath.Dir(dbPath), "shards"))
				}
			}
			db, err := results.Open(dbPath)
			if err != nil {
				return asInput(err)
			}
			defer db.Close()
			outcomes, err := reproduce.Merge(db, shards)
			out := c.App.Writer
			var imported, kept, partial, skipped, bad int
			for _, o := range outcomes {
				if o.Err != nil {
					bad++
					fmt.Fprintf(out, "%-8s %s: %v\n", "bad", o.Report.Shard, o.Err)
					continue
				}
				if len(o.Report.Runs) == 0 {
					bad++
					fmt.Fprintf(out, "%-8s %s: no run in it\n", "empty", o.Report.Shard)
				}
				for _, r := range o.Report.Runs {
					fmt.Fprintf(out, "%-8s %s %s/%s (%s; %d metrics, %d events) from %s\n", r.Action, r.ID, r.Spec, r.Name, r.Status, r.Metrics, r.Events, o.Report.Shard)
					switch r.Action {
					case results.MergeImported:
						imported++
					case results.MergeKept:
						kept++
					case results.MergePartial:
						partial++
					case results.MergeSkipped:
						skipped++
					}
				}
			}
			fmt.Fprintf(out, "merged %d shard(s) into %s: %d imported, %d kept (database newer), %d partial (not finished), %d skipped, %d bad\n",
				len(shards), dbPath, imported, kept, partial, skipped, bad)
			return err
		},
	}
}
