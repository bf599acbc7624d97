package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// dataCommand is a placeholder until its package lands.
func dataCommand() *cli.Command {
	return &cli.Command{
		Name:   "data",
		Usage:  "(not yet built)",
		Action: func(*cli.Context) error { return errors.New("data: not yet built") },
	}
}
