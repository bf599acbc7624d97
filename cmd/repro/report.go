package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/resnet-repro/resnet-repro/experiments"
	"github.com/resnet-repro/resnet-repro/reports"
	"github.com/resnet-repro/resnet-repro/results"
	"github.com/urfave/cli/v2"
)

// reportCommand writes the reports: `repro report [ID...] [--out reports/]
// [--db PATH] [--scale S] [--hardware NOTE]`.
func reportCommand() *cli.Command {
	return &cli.Command{
		Name:      "report",
		Usage:     "write markdown reports and plots (paper vs ours, claims checked) and the reports/README.md index",
		ArgsUsage: "[SPEC_ID|FILE...]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Value: "reports", Usage: "output `DIR`"},
			&cli.StringFlag{Name: "db", Value: results.DefaultPath, Usage: "results database `PATH` (a missing file reports every trained artifact as not run)"},
			&cli.StringFlag{Name: "scale", Usage: "report every spec at scale `S` (smoke, quick, medium, paper; default: the largest in the database per spec)"},
			&cli.StringFlag{Name: "hardware", Usage: "a `NOTE` on the hardware, printed in the provenance"},
		},
		Action: func(c *cli.Context) error {
			scale := c.String("scale")
			if scale != "" && !experiments.ValidScale(scale) {
				return badInput("report: unknown --scale %q (%s)", scale, experiments.ScaleList)
			}
			var specs []*experiments.Spec
			for _, id := range c.Args().Slice() {
				s, err := experiments.Lookup(id, nil)
				if err != nil {
					return asInput(fmt.Errorf("report: %w", err))
				}
				specs = append(specs, s)
			}
			var db *results.DB
			dbName := c.String("db")
			if _, err := os.Stat(dbName); errors.Is(err, os.ErrNotExist) {
				fmt.Fprintf(c.App.ErrWriter, "repro report: no results database at %s; every trained artifact is reported as not run\n", dbName)
				dbName = ""
			} else {
				d, err := results.OpenReadOnly(dbName)
				if err != nil {
					return asInput(err)
				}
				defer d.Close()
				db = d
			}
			w, err := reports.Generate(db, reports.Options{Out: c.String("out"), Specs: specs, Scale: scale,
				DBName: dbName, Hardware: c.String("hardware")})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "wrote %d files to %s", len(w.Files), c.String("out"))
			if len(w.Removed) > 0 {
				fmt.Fprintf(c.App.Writer, ", removed %d stale plot files", len(w.Removed))
			}
			fmt.Fprintln(c.App.Writer)
			return nil
		},
	}
}
