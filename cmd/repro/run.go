package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// runCommand is a placeholder until its package lands.
func runCommand() *cli.Command {
	return &cli.Command{
		Name:   "run",
		Usage:  "(not yet built)",
		Action: func(*cli.Context) error { return errors.New("run: not yet built") },
	}
}
