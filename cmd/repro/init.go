package main

import (
	"fmt"

	"github.com/resnet-repro/resnet-repro/engine/nn"
	"github.com/resnet-repro/resnet-repro/engine/tensor"
	"github.com/resnet-repro/resnet-repro/models"
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
			net, err := netbuild.Build(nn.NewContext[float32](nil), d, 1)
			if err != nil {
				return asInput(err)
			}
			net.InitHe(c.Uint64("seed"))
			if err := tensor.WriteSafetensors(c.String("out"), netbuild.Tensors(net), weightsMetadata(d, c.Uint64("seed"))); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "wrote %s: %s, %s parameters\n", c.String("out"), d.Config.Model, fmtInt(int64(net.ParamCount())))
			return nil
		},
	}
}

// weightsMetadata describes the network in a safetensors header.
func weightsMetadata(d *models.Def, seed uint64) map[string]string {
	cfg := d.Config
	return map[string]string{
		"model": cfg.Model, "family": string(cfg.Family), "shortcut": cfg.Shortcut,
		"width": fmt.Sprint(cfg.Width), "classes": fmt.Sprint(cfg.Classes), "input": fmt.Sprint(cfg.Input),
		"seed": fmt.Sprint(seed), "format": "pt", "producer": "resnet-repro",
	}
}
