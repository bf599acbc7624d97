package main

import (
	"fmt"

	"github.com/resnet-repro/resnet-repro/reproduce"
	"github.com/urfave/cli/v2"
)

// upgradeCommand migrates results databases in place to the newest schema
// and records which runs each built-in spec shares and the paper's numbers
// (reproduce.Upgrade): `repro upgrade [--db PATH]...`, by default every
// results/SCALE.db that exists.
func upgradeCommand() *cli.Command {
	return &cli.Command{
		Name:      "upgrade",
		Usage:     "upgrade results databases in place to this version's schema (nothing is lost) and record the specs' runs and paper targets",
		ArgsUsage: " ",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "db", Usage: "results database `PATH` (repeatable; default: every results/SCALE.db that exists)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return badInput("upgrade: unexpected argument %q (use --db PATH)", c.Args().First())
			}
			paths := c.StringSlice("db")
			if len(paths) == 0 {
				paths = scaleDBs()
			}
			if len(paths) == 0 {
				return badInput("upgrade: no results database (no results/SCALE.db exists; name one with --db)")
			}
			for _, p := range paths {
				rep, err := reproduce.Upgrade(p)
				if err != nil {
					return asInput(err)
				}
				fmt.Fprintf(c.App.Writer, "%s: schema version %d -> %d; %d run-spec memberships, %d paper targets recorded\n",
					rep.Path, rep.FromVersion, rep.ToVersion, rep.Catalog.RunSpecs, rep.Catalog.PaperTargets)
			}
			return nil
		},
	}
}
