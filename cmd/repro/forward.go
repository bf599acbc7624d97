package main

import (
	"fmt"

	"github.com/resnet-repro/resnet-repro/engine/backend"
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

// forwardAction checks the flags that go together and runs the pass
// (netbuild.Forward).
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
	// --input is the .npy path here, so the image size comes from the file.
	res, err := netbuild.Forward(modelConfig(c, c.String("model")), netbuild.ForwardConfig{
		Input: c.String("input"), Weights: c.String("weights"), Output: c.String("output"),
		Labels: c.String("labels"), Grads: c.String("grads"), Train: mode == "train",
		OpenBackend: func() (backend.Backend, error) { return newBackend(c) },
	})
	if err != nil {
		return asInputUnlessWrite(err)
	}
	msg := fmt.Sprintf("wrote %s (%dx%d logits, %s mode, backend %s)", c.String("output"), res.Images, res.Classes, mode, res.Backend)
	if c.String("labels") != "" {
		msg += fmt.Sprintf("; loss %.6f, %d/%d top-1 errors; gradients in %s", res.Loss, res.Errors, res.Images, c.String("grads"))
	}
	fmt.Fprintln(c.App.Writer, msg)
	return nil
}
