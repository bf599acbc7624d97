package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// queryCommand is a placeholder until its package lands.
func queryCommand() *cli.Command {
	return &cli.Command{
		Name:   "query",
		Usage:  "(not yet built)",
		Action: func(*cli.Context) error { return errors.New("query: not yet built") },
	}
}
