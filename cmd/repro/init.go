package main

import (
	"fmt"

	"github.com/resnet-repro/resnet-repro/netbuild"
	"github.com/urfave/cli/v2"
)

func initCommand() *cli.Command {
	return &cli.Command{
		Name:  "init",
		Usage: "write a freshly He-initialized network as safetensors (PyTorch state_dict names)",
		Flags: append(modelFlags(true, true),
			&cli.Uint64Flag{Name: "seed", Usage: "initialization seed", Required: true},
			&cli.StringFlag{Name: "out", Usage: "output .safetensors path", Required: true}),
		Action: func(c *cli.Context) error {
			if err := checkNoArgs(c); err != nil {
				return err
			}
			cfg := modelConfig(c, c.String("model"))
			d, err := defineModel(cfg)
			if err != nil {
				return err
			}
			params, err := netbuild.WriteInit(c.String("out"), d, c.Uint64("seed"))
			if err != nil {
				return asInputUnlessWrite(err)
			}
			fmt.Fprintf(c.App.Writer, "wrote %s: %s, %s parameters\n", c.String("out"), d.Config.Model, fmtInt(int64(params)))
			return nil
		},
	}
}
