package main

import (
	"errors"
	"os"

	"github.com/resnet-repro/resnet-repro/experiments"
	"github.com/resnet-repro/resnet-repro/results"
	"github.com/urfave/cli/v2"
)

// dbFlag is the --db flag of a command whose database follows --scale: by
// default results/SCALE.db, one database per scale.
func dbFlag(what string) *cli.StringFlag {
	return &cli.StringFlag{Name: "db", Usage: what + " `PATH` (default results/SCALE.db, one database per scale)"}
}

// scaleFlag is the --scale flag of a command that trains or reads one scale.
func scaleFlag(usage string) *cli.StringFlag {
	return &cli.StringFlag{Name: "scale", Value: experiments.ScaleQuick, Usage: usage + ": " + experiments.ScaleList}
}

// dbPath is --db, else the database of --scale.
func dbPath(c *cli.Context) string {
	if p := c.String("db"); p != "" {
		return p
	}
	return results.ScalePath(c.String("scale"))
}

// scaleDBs lists the databases of every scale that exist (results/quick.db,
// results/medium.db, ...), smallest scale first: what `repro report` reads
// unless --db names others.
func scaleDBs() []string {
	var out []string
	for _, s := range experiments.Scales {
		p := results.ScalePath(s)
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			out = append(out, p)
		}
	}
	return out
}
