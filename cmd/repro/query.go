package main

import (
	"errors"
	"flag"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/resnet-repro/resnet-repro/experiments"
	"github.com/resnet-repro/resnet-repro/results"
	"github.com/urfave/cli/v2"
)

// queryCommand answers one read-only SQL query on the results database:
// `repro query "SQL" [--format table|csv|json] [--scale S | --db PATH]`. A statement that
// writes is refused (exit status 2).
func queryCommand() *cli.Command {
	return &cli.Command{
		Name:      "query",
		Usage:     "answer a read-only SQL query on the results database",
		ArgsUsage: `"SQL"`,
		Description: "Tables: runs, metrics, events, checkpoints, responses, schema_version. A statement\n" +
			"that writes (INSERT, UPDATE, DELETE, CREATE, DROP, ATTACH, a PRAGMA that sets a value) is refused.",
		Flags: []cli.Flag{
			scaleFlag("the scale whose database is queried"),
			dbFlag("results database (any SQLite file)"),
			&cli.StringFlag{Name: "format", Value: results.FormatTable, Usage: "output `FORMAT`: table, csv or json"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return badInput(`query: missing the SQL (repro query "SELECT ..." )`)
			}
			// urfave/cli v2 stops reading flags at the first argument; accept
			// them after the SQL too, as the usage line shows them.
			db, scale, format := c.String("db"), c.String("scale"), c.String("format")
			fs := flag.NewFlagSet("query", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			fs.StringVar(&db, "db", db, "")
			fs.StringVar(&scale, "scale", scale, "")
			fs.StringVar(&format, "format", format, "")
			if err := fs.Parse(c.Args().Tail()); err != nil {
				return badInput("query: %v", err)
			}
			if fs.NArg() > 0 {
				return badInput("query: one SQL argument expected, got also %q (quote the SQL)", strings.Join(fs.Args(), " "))
			}
			if !experiments.ValidScale(scale) {
				return badInput("query: unknown --scale %q (%s)", scale, experiments.ScaleList)
			}
			if db == "" {
				db = results.ScalePath(scale)
			}
			if !slices.Contains(results.Formats(), format) {
				return badInput("query: unknown format %q (want %s)", format, strings.Join(results.Formats(), ", "))
			}
			t, err := results.QueryReadOnly(db, c.Args().First())
			switch {
			case errors.Is(err, os.ErrNotExist):
				return badInput("query: no results database at %s", db)
			case errors.Is(err, results.ErrWriteRefused), errors.Is(err, results.ErrBadQuery):
				return asInput(err)
			case err != nil:
				return err
			}
			return t.Write(c.App.Writer, format)
		},
	}
}
