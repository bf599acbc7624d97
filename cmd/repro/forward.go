package main

import (
	"fmt"

	"github.com/resnet-repro/resnet-repro/engine/nn"
	"github.com/resnet-repro/resnet-repro/engine/tensor"
	"github.com/resnet-repro/resnet-repro/netbuild"
	"github.com/urfave/cli/v2"
)

func forwardCommand() *cli.Command {
	return &cli.Command{
		Name:  "forward",
		Usage: "run one forward pass on an NCHW float32 .npy batch (and, with labels, write all parameter gradients)",
		Flags: append(modelFlags(true, false),
			&cli.StringFlag{Name: "weights", Usage: ".safetensors weights (from repro init or PyTorch)", Required: true},
			&cli.StringFlag{Name: "input", Aliases: []string{"x"}, Usage: "NCHW float32 .npy batch", Required: true},
			&cli.StringFlag{Name: "mode", Value: "eval", Usage: "eval (BN running statistics) or train (batch statistics)"},
			&cli.StringFlag{Name: "output", Usage: "where to write the logits (.npy, N x classes)", Required: true},
			&cli.StringFlag{Name: "labels", Usage: "integer .npy labels; with --grads, gradients of the mean cross-entropy"},
			&cli.StringFlag{Name: "grads", Usage: "where to write the parameter gradients (.safetensors)"},
			threadsFlag, backendFlag),
		Action: forwardAction,
	}
}

func forwardAction(c *cli.Context) error {
	if err := checkNoArgs(c); err != nil {
		return err
	}
	mode := c.String("mode")
	if mode != "eval" && mode != "train" {
		return badInput("forward: unknown --mode %q (eval or train)", mode)
	}
	if (c.String("labels") == "") != (c.String("grads") == "") {
		return badInput("forward: --labels and --grads go together")
	}
	x, err := tensor.ReadNpyFloat32(c.String("input"))
	if err != nil {
		return asInput(err)
	}
	if len(x.Shape) != 4 || x.Shape[1] != 3 || x.Shape[2] != x.Shape[3] {
		return badInput("forward: %s has shape %v, want (N, 3, H, H)", c.String("input"), x.Shape)
	}
	if x.Shape[0] == 0 || x.Shape[2] == 0 {
		return badInput("forward: %s has shape %v and holds no pixels, want (N, 3, H, H) with N and H at least 1", c.String("input"), x.Shape)
	}
	// --input is the .npy path here, so the image size comes from the file.
	cfg := modelConfig(c, c.String("model"))
	cfg.Input = x.Shape[2]
	d, err := defineModel(cfg)
	if err != nil {
		return err
	}
	be, err := newBackend(c)
	if err != nil {
		return err
	}
	defer be.Close()
	net, err := netbuild.Build(nn.NewContext[float32](be), d, x.Shape[0])
	if err != nil {
		return asInput(err)
	}
	weights, _, err := tensor.ReadSafetensors(c.String("weights"))
	if err != nil {
		return asInput(err)
	}
	if err := netbuild.LoadTensors(net, weights, c.String("weights")); err != nil {
		return asInput(err)
	}
	var labels []int
	if c.String("labels") != "" {
		if labels, err = tensor.ReadNpyLabels(c.String("labels")); err != nil {
			return asInput(err)
		}
		if len(labels) != x.Shape[0] {
			return badInput("forward: %s has %d labels for %d images", c.String("labels"), len(labels), x.Shape[0])
		}
		for i, l := range labels {
			if l < 0 || l >= d.Classes {
				return badInput("forward: %s: label %d of image %d is outside [0, %d)", c.String("labels"), l, i, d.Classes)
			}
		}
	}
	logits := net.Forward(x.Data, mode == "train")
	out := tensor.FromData(append([]float32(nil), logits...), x.Shape[0], d.Classes)
	if err := tensor.WriteNpy(c.String("output"), out); err != nil {
		return err
	}
	msg := fmt.Sprintf("wrote %s (%dx%d logits, %s mode, backend %s)", c.String("output"), x.Shape[0], d.Classes, mode, be.Name())
	if labels != nil {
		loss, errs := net.Loss(labels)
		net.Backward()
		if err := tensor.WriteSafetensors(c.String("grads"), netbuild.Gradients(net), map[string]string{"loss": fmt.Sprint(loss)}); err != nil {
			return err
		}
		msg += fmt.Sprintf("; loss %.6f, %d/%d top-1 errors; gradients in %s", loss, errs, len(labels), c.String("grads"))
	}
	fmt.Fprintln(c.App.Writer, msg)
	return nil
}
