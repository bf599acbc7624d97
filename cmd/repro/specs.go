package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
	"gopkg.in/yaml.v3"

	"github.com/resnet-repro/resnet-repro/experiments"
	"github.com/resnet-repro/resnet-repro/reproduce"
	"github.com/resnet-repro/resnet-repro/results"
)

// specsDeps are the hooks the specs command takes from the rest of the
// program: the model registry's name check and its multiply-add counter.
// Either may be nil (syntax-only model checks; image counts only).
type specsDeps struct {
	validate experiments.ModelValidator
	macs     experiments.MACsFunc
}

// specsCommand lists the experiment specs and prints resolved runs.
func specsCommand() *cli.Command {
	return newSpecsCommand(specsDeps{validate: reproduce.ValidateModel, macs: reproduce.MACs})
}

func newSpecsCommand(deps specsDeps) *cli.Command {
	scaleFlag := &cli.StringFlag{Name: "scale", Value: experiments.ScaleQuick, Usage: experiments.ScaleList}
	imagenetFlag := &cli.BoolFlag{Name: "imagenet", Usage: "an ImageNet training set is available (quick scale trains on it instead of a CIFAR-10 proxy)"}
	return &cli.Command{
		Name:      "specs",
		Usage:     "list the experiment specs (one per table or figure) with their cost",
		ArgsUsage: " ",
		Flags:     []cli.Flag{scaleFlag, imagenetFlag},
		Action: func(c *cli.Context) error {
			opts, rest, err := specsOptions(c, nil)
			if err != nil {
				return err
			}
			if len(rest) > 0 {
				return badInput("specs: unexpected argument %q (did you mean `repro specs show %s`?)", rest[0], rest[0])
			}
			// The measured cost comes from the scale's database, when there
			// is one (results/SCALE.db).
			var db *results.DB
			if d, err := results.OpenReadOnly(results.ScalePath(opts.Scale)); err == nil {
				defer d.Close()
				db = d
			}
			return listSpecs(c.App.Writer, deps, opts, db)
		},
		Subcommands: []*cli.Command{{
			Name:      "show",
			Usage:     "print the fully resolved runs of a built-in spec (by id) or a spec file",
			ArgsUsage: "ID|FILE",
			Flags: []cli.Flag{scaleFlag, imagenetFlag,
				&cli.StringFlag{Name: "format", Value: "yaml", Usage: "yaml or json"}},
			Action: func(c *cli.Context) error {
				format := c.String("format")
				opts, rest, err := specsOptions(c, &format)
				if err != nil {
					return err
				}
				if len(rest) != 1 {
					return badInput("specs show: want one spec id or file, got %d arguments", len(rest))
				}
				return showSpec(c.App.Writer, deps, rest[0], opts, format)
			},
		}},
	}
}

// specsOptions reads the flags, including those written after the
// positional argument ("show table6 --scale smoke"), which urfave/cli v2
// leaves among the arguments.
func specsOptions(c *cli.Context, format *string) (experiments.Options, []string, error) {
	opts := experiments.Options{Scale: c.String("scale"), ImageNet: c.Bool("imagenet")}
	fs := flag.NewFlagSet(c.Command.Name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&opts.Scale, "scale", opts.Scale, "")
	fs.BoolVar(&opts.ImageNet, "imagenet", opts.ImageNet, "")
	if format != nil {
		fs.StringVar(format, "format", *format, "")
	}
	var rest []string
	args := c.Args().Slice()
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return opts, nil, badInput("%s: %v", c.Command.Name, err)
		}
		args = fs.Args()
		if len(args) > 0 {
			rest = append(rest, args[0])
			args = args[1:]
		}
	}
	if !experiments.ValidScale(opts.Scale) {
		return opts, nil, badInput("unknown scale %q (want %s)", opts.Scale, experiments.ScaleList)
	}
	if format != nil && *format != "yaml" && *format != "json" {
		return opts, nil, badInput("unknown format %q (want yaml or json)", *format)
	}
	return opts, rest, nil
}

// listSpecs prints one line per built-in spec: id, artifact, kind, runs,
// trainings (runs x seeds), images processed and, with the hook, total
// multiply-adds at the chosen scale; then the title or, out of scope, the
// reason.
func listSpecs(w io.Writer, deps specsDeps, opts experiments.Options, db *results.DB) error {
	specs, err := experiments.Builtin(deps.validate)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := "ID\tARTIFACT\tSTATUS\tRUNS\tTRAININGS\tTRAIN IMAGES\tEVAL IMAGES"
	if deps.macs != nil {
		head += "\tMULTIPLY-ADDS"
	}
	fmt.Fprintln(tw, head+"\tMEASURED\tTITLE")
	var total experiments.Cost
	for _, s := range specs {
		r, err := s.Resolve(opts)
		if err != nil {
			return err
		}
		cost, err := experiments.EstimateCost(r.Runs, deps.macs)
		if err != nil {
			return fmt.Errorf("%s: %w", s.ID, err)
		}
		status, title := "in scope ("+s.Kind+")", s.Title
		if !s.InScope() {
			status, title = "out of scope", s.Title+" -- "+s.Reason
		}
		line := fmt.Sprintf("%s\t%s\t%s\t%d\t%d\t%s\t%s", s.ID, s.Artifact, status, len(s.Runs), cost.Trainings,
			count(float64(cost.TrainImages)), count(float64(cost.EvalImages)))
		if deps.macs != nil {
			line += "\t" + count(cost.MultiplyAdds)
		}
		fmt.Fprintln(tw, line+"\t"+measuredCost(db, r)+"\t"+title)
		total.Trainings += cost.Trainings
		total.TrainImages += cost.TrainImages
		total.EvalImages += cost.EvalImages
		total.MultiplyAdds += cost.MultiplyAdds
	}
	line := fmt.Sprintf("total\t\t\t\t%d\t%s\t%s", total.Trainings, count(float64(total.TrainImages)), count(float64(total.EvalImages)))
	if deps.macs != nil {
		line += "\t" + count(total.MultiplyAdds)
	}
	fmt.Fprintln(tw, line+"\t\t(scale "+opts.Scale+"; a run shared by several specs is counted in each; MEASURED: trainings done in results/"+opts.Scale+".db and their training time, h:mm)")
	return tw.Flush()
}

// count prints a count with three significant digits and an SI suffix:
// 20480 -> 20.5k, 1.5e18 -> 1.5E.
func count(x float64) string {
	for _, u := range []struct {
		suffix string
		v      float64
	}{{"E", 1e18}, {"P", 1e15}, {"T", 1e12}, {"G", 1e9}, {"M", 1e6}, {"k", 1e3}} {
		if x >= u.v {
			return strconv.FormatFloat(x/u.v, 'g', 3, 64) + u.suffix
		}
	}
	return strconv.FormatFloat(x, 'f', -1, 64)
}

// showSpec prints the resolved spec idOrFile in format (yaml or json).
func showSpec(w io.Writer, deps specsDeps, idOrFile string, opts experiments.Options, format string) error {
	s, err := experiments.Lookup(idOrFile, deps.validate)
	if err != nil {
		var le *experiments.LoadError
		if errors.Is(err, experiments.ErrNotFound) || errors.As(err, &le) || errors.Is(err, os.ErrNotExist) {
			return asInput(err)
		}
		return err
	}
	r, err := s.Resolve(opts)
	if err != nil {
		return asInput(err)
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if format == "json" {
		_, err = fmt.Fprintf(w, "%s\n", js)
		return err
	}
	// JSON is YAML: re-read it as a node tree, keeping the field order, and
	// print it in block style.
	var doc yaml.Node
	if err := yaml.Unmarshal(js, &doc); err != nil {
		return err
	}
	blockStyle(&doc)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return err
	}
	fmt.Fprintf(w, "# %s at %s scale, resolved from %s\n", r.ID, r.Scale, r.File)
	_, err = w.Write(buf.Bytes())
	return err
}

// blockStyle clears the flow style JSON input gave every node, except for
// short lists of scalars, which stay on one line.
func blockStyle(n *yaml.Node) {
	n.Style = 0
	flow := n.Kind == yaml.SequenceNode && len(n.Content) > 0
	for _, c := range n.Content {
		blockStyle(c)
		if c.Kind != yaml.ScalarNode {
			flow = false
		}
		if c.Kind == yaml.ScalarNode && c.Tag == "!!str" && !strings.ContainsAny(c.Value, ":#{}[],\"'\n") {
			c.Style = 0
		}
	}
	if flow {
		n.Style = yaml.FlowStyle
	}
}

// measuredCost is what a resolved spec's trainings cost where they ran:
// "3/7 done, 1:02" (done trainings of the database and the sum of their
// logged training wall time, hours:minutes); "-" without a database or
// trainings.
func measuredCost(db *results.DB, r *experiments.Resolved) string {
	total, done := 0, 0
	var sec float64
	for _, rr := range r.Runs {
		for _, id := range rr.IDs {
			total++
			if db == nil {
				continue
			}
			run, err := db.GetRun(id)
			if err != nil || run.Status != results.StatusDone {
				continue
			}
			done++
			if m, ok, err := db.LatestMetric(id, results.SplitTrain, results.MetricLoss); err == nil && ok {
				sec += m.WallSeconds
			}
		}
	}
	if db == nil || total == 0 {
		return "-"
	}
	m := int(sec/60 + 0.5)
	return fmt.Sprintf("%d/%d done, %d:%02d", done, total, m/60, m%60)
}
