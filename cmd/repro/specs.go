package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// specsCommand is a placeholder until its package lands.
func specsCommand() *cli.Command {
	return &cli.Command{
		Name:   "specs",
		Usage:  "(not yet built)",
		Action: func(*cli.Context) error { return errors.New("specs: not yet built") },
	}
}
