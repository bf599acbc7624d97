package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// submitCommand is a placeholder until its package lands.
func submitCommand() *cli.Command {
	return &cli.Command{
		Name:   "submit",
		Usage:  "(not yet built)",
		Action: func(*cli.Context) error { return errors.New("submit: not yet built") },
	}
}
