package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// mergeCommand is a placeholder until its package lands.
func mergeCommand() *cli.Command {
	return &cli.Command{
		Name:   "merge",
		Usage:  "(not yet built)",
		Action: func(*cli.Context) error { return errors.New("merge: not yet built") },
	}
}
