package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// runsCommand is a placeholder until its package lands.
func runsCommand() *cli.Command {
	return &cli.Command{
		Name:   "runs",
		Usage:  "(not yet built)",
		Action: func(*cli.Context) error { return errors.New("runs: not yet built") },
	}
}
