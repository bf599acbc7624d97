package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// forwardCommand is a placeholder until its package lands.
func forwardCommand() *cli.Command {
	return &cli.Command{
		Name:   "forward",
		Usage:  "(not yet built)",
		Action: func(*cli.Context) error { return errors.New("forward: not yet built") },
	}
}
