package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// initCommand is a placeholder until its package lands.
func initCommand() *cli.Command {
	return &cli.Command{
		Name:   "init",
		Usage:  "(not yet built)",
		Action: func(*cli.Context) error { return errors.New("init: not yet built") },
	}
}
