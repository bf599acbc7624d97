package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/resnet-repro/resnet-repro/models"
	"github.com/urfave/cli/v2"
)

func archCommand() *cli.Command {
	return &cli.Command{
		Name:      "arch",
		Usage:     "print a network's stage-by-stage layout with parameters and multiply-adds (Table 1)",
		ArgsUsage: "MODEL",
		Flags: append(modelFlags(false, true),
			&cli.StringFlag{Name: "format", Value: "table", Usage: "table, json or markdown"}),
		Action: func(c *cli.Context) error {
			if c.Args().Len() != 1 {
				return badInput("arch: want exactly one MODEL (e.g. resnet-50), got %d arguments", c.Args().Len())
			}
			d, err := defineModel(modelConfig(c, c.Args().First()))
			if err != nil {
				return err
			}
			l := d.Layout()
			w := c.App.Writer
			switch c.String("format") {
			case "json":
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(l)
			case "markdown":
				return renderLayout(w, l, true)
			case "table":
				return renderLayout(w, l, false)
			default:
				return badInput("arch: unknown --format %q (table, json or markdown)", c.String("format"))
			}
		},
	}
}

func renderLayout(w interface{ Write([]byte) (int, error) }, l *models.Layout, markdown bool) error {
	title := fmt.Sprintf("%s (family %s", l.Model, l.Family)
	if l.Shortcut != "" {
		title += ", shortcut " + l.Shortcut
	}
	title += fmt.Sprintf(", width %g, input %dx%d, %d classes)", l.Width, l.Input, l.Input, l.Classes)
	if markdown {
		fmt.Fprintf(w, "### %s\n\n", title)
	} else {
		fmt.Fprintln(w, title)
	}
	opts := []tablewriter.Option{tablewriter.WithHeaderAutoFormat(tw.Off)}
	if markdown {
		opts = append(opts, tablewriter.WithRenderer(renderer.NewMarkdown()))
	}
	tb := tablewriter.NewTable(w, opts...)
	tb.Header([]string{"layer", "output", "blocks", "block", "params", "multiply-adds"})
	for _, s := range l.Stages {
		if err := tb.Append([]string{s.Name, s.Output, fmt.Sprint(s.Blocks), s.Block, fmtInt(s.Params), fmtInt(s.MACs)}); err != nil {
			return err
		}
	}
	if err := tb.Append([]string{"total", "", "", "", fmtInt(l.Params), fmtInt(l.MACs)}); err != nil {
		return err
	}
	if err := tb.Render(); err != nil {
		return err
	}
	sep := "\n"
	if markdown {
		sep = "\n\n"
	}
	fmt.Fprintf(w, "%sparams %s (%s), multiply-adds %.2f x10^9; counted: %s\n", sep, fmtInt(l.Params), models.PaperRound(l.Params), float64(l.MACs)/1e9, strings.TrimSpace(models.Counter))
	return nil
}
