package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// benchCommand is a placeholder until its package lands.
func benchCommand() *cli.Command {
	return &cli.Command{
		Name:   "bench",
		Usage:  "(not yet built)",
		Action: func(*cli.Context) error { return errors.New("bench: not yet built") },
	}
}
