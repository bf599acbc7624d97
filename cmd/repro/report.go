package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/resnet-repro/resnet-repro/experiments"
	"github.com/resnet-repro/resnet-repro/reports"
	"github.com/resnet-repro/resnet-repro/results"
	"github.com/urfave/cli/v2"
)

// reportCommand writes the reports: `repro report [ID...] [--out reports/]
// [--db PATH...] [--scale S] [--hardware NOTE]`, from every results/SCALE.db
// unless --db names the databases.
func reportCommand() *cli.Command {
	return &cli.Command{
		Name:      "report",
		Usage:     "write markdown reports and plots (paper vs ours, claims checked) and the reports/README.md index",
		ArgsUsage: "[SPEC_ID|FILE...]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Value: "reports", Usage: "output `DIR`"},
			&cli.StringSliceFlag{Name: "db", Usage: "results database `PATH` (repeatable; default: every results/SCALE.db that exists; a missing file is read as empty)"},
			&cli.StringFlag{Name: "scale", Usage: "report every spec at scale `S` (smoke, quick, medium, paper; default: the largest in the database per spec)"},
			&cli.StringFlag{Name: "controls", Value: "tools/torchref/results", Usage: "`DIR` of cross-framework control results (*.json from tools/torchref/medium_control.py)"},
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
			names := c.StringSlice("db")
			if len(names) == 0 {
				if names = scaleDBs(); len(names) == 0 {
					fmt.Fprintf(c.App.ErrWriter, "repro report: no results database (results/SCALE.db) exists; every trained artifact is reported as not run\n")
				}
			}
			var dbs []*results.DB
			var read []string
			for _, name := range names {
				if _, err := os.Stat(name); errors.Is(err, os.ErrNotExist) {
					fmt.Fprintf(c.App.ErrWriter, "repro report: no results database at %s; read as empty\n", name)
					continue
				}
				d, err := results.OpenReadOnly(name)
				if err != nil {
					return asInput(err)
				}
				defer d.Close()
				dbs, read = append(dbs, d), append(read, name)
			}
			controls, err := reports.LoadControls(c.String("controls"))
			if err != nil {
				return asInput(err)
			}
			w, err := reports.Generate(dbs, reports.Options{Out: c.String("out"), Specs: specs, Scale: scale,
				DBNames: read, Controls: controls, Hardware: c.String("hardware")})
			if err != nil {
				return err
			}
			for _, v := range w.Claims {
				if v.Scale == "" {
					continue // analytic: exact numbers, no noise
				}
				fmt.Fprintf(c.App.Writer, "%s at %s: %s %s (noise margin %.3g: %s)\n", v.Spec, v.Scale, v.Claim,
					strings.ReplaceAll(v.Verdict.Status, "_", " "), v.Verdict.Noise.Margin, v.Verdict.Noise.Source)
			}
			fmt.Fprintf(c.App.Writer, "wrote %d files to %s", len(w.Files), c.String("out"))
			if len(w.Removed) > 0 {
				fmt.Fprintf(c.App.Writer, ", removed %d stale plot files", len(w.Removed))
			}
			fmt.Fprintln(c.App.Writer)
			for _, name := range read {
				if err := recordClaims(c, name, w.Claims); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// recordClaims stores the verdicts of the scales that the database at path
// holds in its claims table. A database at an older schema is left as it is
// (a campaign of an older binary may still be writing it); `repro upgrade`
// first.
func recordClaims(c *cli.Context, path string, vs []reports.ClaimVerdict) error {
	v, err := results.FileSchemaVersion(path)
	if err != nil {
		return asInput(err)
	}
	if v != results.SchemaVersion() {
		fmt.Fprintf(c.App.ErrWriter, "repro report: claims not recorded in %s (schema version %d; `repro upgrade --db %s` brings it to %d)\n",
			path, v, path, results.SchemaVersion())
		return nil
	}
	db, err := results.Open(path)
	if err != nil {
		return asInput(err)
	}
	defer db.Close()
	changed, err := reports.RecordClaims(db, vs)
	if err != nil {
		return err
	}
	if changed {
		fmt.Fprintf(c.App.Writer, "recorded the claims' verdicts in %s (table claims)\n", path)
	}
	return nil
}
