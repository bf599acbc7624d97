package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// reportCommand is a placeholder until its package lands.
func reportCommand() *cli.Command {
	return &cli.Command{
		Name:   "report",
		Usage:  "(not yet built)",
		Action: func(*cli.Context) error { return errors.New("report: not yet built") },
	}
}
