// Package deps pins the project's named third-party dependencies in go.mod
// while the packages that use them are being written in parallel branches.
// It is removed once every dependency has a real importer.
package deps

import (
	_ "github.com/mattn/go-sqlite3"
	_ "github.com/olekukonko/tablewriter"
	_ "github.com/urfave/cli/v2"
	_ "go4.org/unsafe/assume-no-moving-gc"
	_ "gonum.org/v1/plot"
	_ "gopkg.in/yaml.v3"
	_ "gorgonia.org/tensor"
)
