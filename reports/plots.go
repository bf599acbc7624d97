package reports

import (
	"bytes"
	"cmp"
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/resnet-repro/resnet-repro/results"
)

// Plot sizes. PNGs are rendered at pngDPI, so a w x h point plot is
// w*pngDPI/72 x h*pngDPI/72 pixels (576 x 384 for a curve plot).
const (
	pngDPI                        = 96
	curveW, curveH      vg.Length = 432, 288 // points (vg.Length is in points)
	responseW, respH    vg.Length = 432, 288
	thinWidth, boldWide           = 0.8, 2.0 // line widths (points) of training and test curves
)

// PlotSize returns the pixel size of a PNG written for a plot of w x h
// points.
func PlotSize(w, h vg.Length) (int, int) {
	px := func(l vg.Length) int { return int(float64(l/vg.Inch)*pngDPI + 0.5) }
	return px(w), px(h)
}

// palette is a fixed list of line colors (one per run of a panel).
var palette = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xd6, 0x27, 0x28, 0xff}, {0x2c, 0xa0, 0x2c, 0xff}, {0xff, 0x7f, 0x0e, 0xff},
	{0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff}, {0xe3, 0x77, 0xc2, 0xff}, {0x7f, 0x7f, 0x7f, 0xff},
}

// savePlot renders draw into name.png and name.svg under the plot folder
// and returns their base names.
func (g *generator) savePlot(name string, w, h vg.Length, render func(c draw.Canvas)) ([]string, error) {
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(pngDPI))
	render(draw.New(img))
	var pngBuf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&pngBuf); err != nil {
		return nil, err
	}
	svg := vgsvg.New(w, h)
	render(draw.New(svg))
	var svgBuf bytes.Buffer
	if _, err := svg.WriteTo(&svgBuf); err != nil {
		return nil, err
	}
	files := []string{name + ".png", name + ".svg"}
	if err := g.writeFile(filepath.Join(plotDir, files[0]), pngBuf.Bytes()); err != nil {
		return nil, err
	}
	if err := g.writeFile(filepath.Join(plotDir, files[1]), svgBuf.Bytes()); err != nil {
		return nil, err
	}
	return files, nil
}

// embed returns the markdown that shows a plot and links its SVG.
func embed(alt, name string) string {
	return fmt.Sprintf("![%s](%s/%s.png)\n\n[SVG](%s/%s.svg)\n\n", alt, plotDir, name, plotDir, name)
}

// writePlots draws a train spec's figures: training curves for specs with
// plain panels, layer responses for panels with an order (Fig. 7).
func (g *generator) writePlots(b *strings.Builder, d *specData) ([]string, error) {
	if len(d.Res.Panels) == 0 {
		return nil, nil
	}
	b.WriteString("## Figures\n\n")
	if d.Res.Panels[0].Order == "" {
		b.WriteString("Thin dashed lines: training error (mean over each evaluation interval's mini-batches); bold lines: test error")
		if d.Proxy {
			b.WriteString(" (CIFAR-10 proxy: the test set of CIFAR-10)")
		}
		b.WriteString(". x: iterations in units of 10^4, as in the paper.\n\n")
	} else {
		b.WriteString("Standard deviation of each 3x3 layer's response (after BN, before ReLU and addition) over the evaluation images.\n\n")
	}
	var files []string
	for _, p := range d.Res.Panels {
		name := d.Spec.ID + "-" + p.Name
		fmt.Fprintf(b, "### %s: %s\n\n", p.Name, p.Title)
		var fs []string
		var missing []string
		var err error
		if p.Order == "" {
			fs, missing, err = g.curvePanel(b, d, name, p.Title, p.Runs)
		} else {
			fs, missing, err = g.responsePanel(b, d, name, p.Title, p.Order, p.Runs)
		}
		if err != nil {
			return nil, err
		}
		files = append(files, fs...)
		if len(missing) > 0 {
			fmt.Fprintf(b, "Not plotted: %s.\n\n", strings.Join(missing, "; "))
		}
		if p.Note != "" {
			fmt.Fprintf(b, "Paper: %s\n\n", p.Note)
		}
	}
	return files, nil
}

// plottedSeed picks the training whose curve stands for a run: the first
// seed with data.
func plottedSeed(r *runData, has func(id string) bool) (seedData, bool) {
	for _, s := range r.Seeds {
		if s.Present && has(s.ID) {
			return s, true
		}
	}
	return seedData{}, false
}

// curvePanel draws training and test error against iterations. A panel
// titled "training error..." shows only training error and one titled
// "test error..." only test error (Fig. 1's two panels); others show both.
func (g *generator) curvePanel(b *strings.Builder, d *specData, name, title string, runs []string) ([]string, []string, error) {
	showTrain := !strings.HasPrefix(title, "test error")
	showTest := !strings.HasPrefix(title, "training error")
	type curve struct {
		label      string
		col        color.Color
		train, tst plotter.XYs
	}
	var curves []curve
	var missing []string
	ymax := 0.0
	for i, rn := range runs {
		r := d.run(rn)
		if r == nil {
			continue
		}
		ev := evalSplit(r.RR.Config)
		var trainS, testS []results.Metric
		var err error
		s, ok := plottedSeed(r, func(id string) bool {
			if err != nil {
				return false
			}
			trainS, err = g.st.series(id, results.SplitTrain, results.MetricError)
			if err == nil {
				testS, err = g.st.series(id, ev, results.MetricError)
			}
			return len(trainS)+len(testS) > 0
		})
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			missing = append(missing, rn+" ("+runState(r)+")")
			continue
		}
		c := curve{label: rn, col: palette[i%len(palette)]}
		if len(r.Seeds) > 1 {
			c.label += fmt.Sprintf(" (seed %d)", s.Seed)
		}
		if !s.Done() {
			c.label += ", " + state(s)
		}
		for _, m := range trainS {
			c.train = append(c.train, plotter.XY{X: float64(m.Iteration) / 1e4, Y: m.Value})
		}
		for _, m := range testS {
			c.tst = append(c.tst, plotter.XY{X: float64(m.Iteration) / 1e4, Y: m.Value})
		}
		for _, xy := range append(slices.Clone(c.train), c.tst...) {
			if !math.IsNaN(xy.Y) && !math.IsInf(xy.Y, 0) {
				ymax = max(ymax, xy.Y)
			}
		}
		curves = append(curves, c)
	}
	if len(curves) == 0 {
		b.WriteString("No curves yet: no run of this panel has logged an evaluation.\n\n")
		return nil, missing, nil
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "iter. (1e4)"
	p.Y.Label.Text = "error (%)"
	p.Y.Min, p.Y.Max = 0, min(100, math.Ceil(ymax/5)*5+5)
	p.X.Min = 0
	p.Legend.Top = true
	for _, c := range curves {
		var thumb plot.Thumbnailer
		if showTrain && len(c.train) > 0 {
			l, err := plotter.NewLine(finite(c.train))
			if err != nil {
				return nil, nil, err
			}
			l.LineStyle = draw.LineStyle{Color: c.col, Width: vg.Points(thinWidth), Dashes: []vg.Length{vg.Points(4), vg.Points(2)}}
			p.Add(l)
			thumb = l
		}
		if showTest && len(c.tst) > 0 {
			l, err := plotter.NewLine(finite(c.tst))
			if err != nil {
				return nil, nil, err
			}
			l.LineStyle = draw.LineStyle{Color: c.col, Width: vg.Points(boldWide)}
			p.Add(l)
			thumb = l
		}
		if thumb != nil {
			p.Legend.Add(c.label, thumb)
		}
	}
	files, err := g.savePlot(name, curveW, curveH, p.Draw)
	if err != nil {
		return nil, nil, err
	}
	b.WriteString(embed(title, name))
	return files, missing, nil
}

// finite drops points that are NaN or infinite (a diverged loss).
func finite(xys plotter.XYs) plotter.XYs {
	out := plotter.XYs{}
	for _, xy := range xys {
		if !math.IsNaN(xy.Y) && !math.IsInf(xy.Y, 0) {
			out = append(out, xy)
		}
	}
	return out
}

// responsePanel draws Fig. 7: the std of each layer's response, in layer
// order or sorted by magnitude (descending).
func (g *generator) responsePanel(b *strings.Builder, d *specData, name, title, order string, runs []string) ([]string, []string, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "layer index (original)"
	if order == "sorted" {
		p.X.Label.Text = "layer index (sorted by magnitude)"
	}
	p.Y.Label.Text = "std"
	p.Y.Min, p.X.Min = 0, 0
	p.Legend.Top = true
	var missing []string
	n := 0
	for i, rn := range runs {
		r := d.run(rn)
		if r == nil {
			continue
		}
		var rs []results.Response
		var err error
		s, ok := plottedSeed(r, func(id string) bool {
			if err != nil {
				return false
			}
			rs, err = g.st.responsesOf(id)
			return len(rs) > 0
		})
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			missing = append(missing, rn+" ("+runState(r)+")")
			continue
		}
		stds := make([]float64, len(rs))
		for j, x := range rs {
			stds[j] = x.Std
		}
		if order == "sorted" {
			slices.SortFunc(stds, func(a, b float64) int { return cmp.Compare(b, a) })
		}
		xys := plotter.XYs{}
		for j, v := range stds {
			xys = append(xys, plotter.XY{X: float64(j + 1), Y: v})
		}
		l, sc, err := plotter.NewLinePoints(finite(xys))
		if err != nil {
			return nil, nil, err
		}
		col := palette[i%len(palette)]
		l.LineStyle = draw.LineStyle{Color: col, Width: vg.Points(1)}
		sc.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(1.5), Shape: draw.CircleGlyph{}}
		p.Add(l, sc)
		label := rn
		if len(r.Seeds) > 1 {
			label += fmt.Sprintf(" (seed %d)", s.Seed)
		}
		p.Legend.Add(label, l, sc)
		n++
	}
	if n == 0 {
		b.WriteString("No responses yet: no run of this panel has finished.\n\n")
		return nil, missing, nil
	}
	files, err := g.savePlot(name, responseW, respH, p.Draw)
	if err != nil {
		return nil, nil, err
	}
	b.WriteString(embed(title, name))
	return files, missing, nil
}
