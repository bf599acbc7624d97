package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// archCommand is a placeholder until its package lands.
func archCommand() *cli.Command {
	return &cli.Command{
		Name:   "arch",
		Usage:  "(not yet built)",
		Action: func(*cli.Context) error { return errors.New("arch: not yet built") },
	}
}
