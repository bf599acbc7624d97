package reports

import (
	"bytes"
	"cmp"
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"slices"
	"strconv"
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

// Depth colours: one colour per depth in every curve figure, so a reader
// follows "the 56-layer net" across Fig. 1, Fig. 6 and the proxies. The
// paper's own colours are not in our reference transcription
// (paper-targets.md A.9 lists series and axes only), so these are ours:
// the shallowest depth of each figure family warm, the deepest dark.
var depthColors = map[int]color.RGBA{
	18: {0xe6, 0x9f, 0x00, 0xff}, 20: {0xe6, 0x9f, 0x00, 0xff}, // amber
	32: {0x1f, 0x77, 0xb4, 0xff}, 34: {0x1f, 0x77, 0xb4, 0xff}, // blue
	44: {0x2c, 0xa0, 0x2c, 0xff}, 50: {0x2c, 0xa0, 0x2c, 0xff}, // green
	56: {0xd6, 0x27, 0x28, 0xff}, 101: {0xd6, 0x27, 0x28, 0xff}, // red
	110: {0x20, 0x20, 0x20, 0xff}, 152: {0x20, 0x20, 0x20, 0xff}, // near-black
	1202: {0xe3, 0x77, 0xc2, 0xff}, // pink
}

// panelColors picks a colour for each model of a panel: its depth colour
// when every model of the panel has one and no two share it, else the
// palette in panel order (Fig. 7 shows plain-20 beside ResNet-20).
func panelColors(models []string) []color.Color {
	out := make([]color.Color, len(models))
	seen := map[color.RGBA]bool{}
	byDepth := true
	for i, m := range models {
		c, ok := depthColors[modelDepth(m)]
		if !ok || seen[c] {
			byDepth = false
			break
		}
		seen[c] = true
		out[i] = c
	}
	if !byDepth {
		for i := range out {
			out[i] = palette[i%len(palette)]
		}
	}
	return out
}

// modelDepth is the number after the last dash of a model name
// ("resnet-110" -> 110), or 0.
func modelDepth(model string) int {
	n := 0
	if _, err := fmt.Sscanf(model[strings.LastIndex(model, "-")+1:], "%d", &n); err != nil {
		return 0
	}
	return n
}

// legendGap is the space between the axes and the legend beside them, and
// the legend's own right margin (points).
const legendGap vg.Length = 8

// titleRoom is the space kept above a plot's title, whose ascenders
// otherwise touch the image's top edge (points).
const titleRoom vg.Length = 4

// besideLegend lays out a plot whose legend stands in a strip to the right
// of its axes, never over a curve: the axes keep the width w, the strip is
// as wide as the longest entry. It returns the total width and the
// renderer; the legend's entries start level with the top of the axes.
func besideLegend(p *plot.Plot, leg plot.Legend, w vg.Length) (vg.Length, func(c draw.Canvas)) {
	leg.Left, leg.Top = true, true
	strip := leg.Rectangle(draw.Canvas{}).Size().X + 2*legendGap
	return w + strip, func(c draw.Canvas) {
		p.Draw(draw.Crop(c, 0, -strip, 0, -titleRoom))
		top := titleRoom
		if p.Title.Text != "" {
			top += p.Title.TextStyle.Rectangle(p.Title.Text).Size().Y + p.Title.Padding
		}
		leg.Draw(draw.Crop(c, w+legendGap, 0, 0, -top))
	}
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

// Line styles of the curve figures: the paper's Fig. 4 and 6 draw
// training error thin and dashed, test error bold.
func trainStyle(col color.Color) draw.LineStyle {
	return draw.LineStyle{Color: col, Width: vg.Points(thinWidth), Dashes: []vg.Length{vg.Points(4), vg.Points(2)}}
}

func testStyle(col color.Color) draw.LineStyle {
	return draw.LineStyle{Color: col, Width: vg.Points(boldWide)}
}

// paperMarker is the glyph of the paper's final number on a curve plot.
func paperMarker(col color.Color) draw.GlyphStyle {
	return draw.GlyphStyle{Color: col, Radius: vg.Points(4), Shape: draw.PyramidGlyph{}}
}

// legendKey is the grey key to a plot's styles (dashed training, bold
// test, the paper's marker) drawn under the runs' entries.
var legendKey = color.Gray{Y: 0x70}

// paperFinalTest is the paper's final test error of a run (its single
// number or its mean over seeds), if the paper gives one that a curve of
// this spec can be compared with: never for a CIFAR proxy of an ImageNet
// net, whose paper numbers are ImageNet's.
func paperFinalTest(d *specData, r *runData) (float64, bool) {
	if d.Proxy {
		return 0, false
	}
	for _, k := range []string{"test_error", "test_error_mean"} {
		if v, ok := r.RR.Paper[k]; ok {
			return v, true
		}
	}
	return 0, false
}

// curvePanel draws training and test error against iterations. A panel
// titled "training error..." shows only training error and one titled
// "test error..." only test error (Fig. 1's two panels); others show both.
// Where the paper gives a run's final test error, a marker of the run's
// colour stands at the right end of the x axis at that value.
func (g *generator) curvePanel(b *strings.Builder, d *specData, name, title string, runs []string) ([]string, []string, error) {
	showTrain := !strings.HasPrefix(title, "test error")
	showTest := !strings.HasPrefix(title, "training error")
	type curve struct {
		label      string
		model      string
		train, tst plotter.XYs
		paper      float64
		hasPaper   bool
		iterations int
	}
	var curves []curve
	var missing []string
	ymax := 0.0
	for _, rn := range runs {
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
		c := curve{label: rn, model: r.RR.Config.Model, iterations: r.RR.Config.Training.Iterations}
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
		if showTest {
			c.paper, c.hasPaper = paperFinalTest(d, r)
		}
		var shown plotter.XYs
		if showTrain {
			shown = append(shown, c.train...)
		}
		if showTest {
			shown = append(shown, c.tst...)
		}
		for _, xy := range shown {
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
	models := make([]string, len(curves))
	for i, c := range curves {
		models[i] = c.model
	}
	cols := panelColors(models)
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "iter. (1e4)"
	p.Y.Label.Text = "error (%)"
	p.Y.Min, p.Y.Max = 0, min(100, math.Ceil(ymax/5)*5+5)
	p.X.Min = 0
	p.Y.Tick.Marker = errorTicks{}
	p.Add(plotter.NewGrid())
	leg := plot.NewLegend()
	markers := false
	xEnd := 0.0
	for _, c := range curves {
		xEnd = max(xEnd, float64(c.iterations)/1e4)
	}
	// The paper's markers stand in a column just past the end of the
	// curves, one step apart, so that close values (6.43 to 8.75 in
	// Fig. 6) do not hide each other.
	markerStep := xEnd * 0.02
	nMarkers := 0
	for i, c := range curves {
		var thumb plot.Thumbnailer
		if showTrain && len(c.train) > 0 {
			l, err := plotter.NewLine(finite(c.train))
			if err != nil {
				return nil, nil, err
			}
			l.LineStyle = trainStyle(cols[i])
			p.Add(l)
			thumb = l
		}
		if showTest && len(c.tst) > 0 {
			l, err := plotter.NewLine(finite(c.tst))
			if err != nil {
				return nil, nil, err
			}
			l.LineStyle = testStyle(cols[i])
			p.Add(l)
			thumb = l
		}
		if c.hasPaper {
			nMarkers++
			sc, err := plotter.NewScatter(plotter.XYs{{X: xEnd + float64(nMarkers)*markerStep, Y: c.paper}})
			if err != nil {
				return nil, nil, err
			}
			sc.GlyphStyle = paperMarker(cols[i])
			p.Add(sc)
			markers = true
		}
		if thumb != nil {
			leg.Add(c.label, thumb)
		}
	}
	if showTrain && showTest {
		key := func(label string, st draw.LineStyle) error {
			l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 0}})
			if err != nil {
				return err
			}
			l.LineStyle = st
			leg.Add(label, l)
			return nil
		}
		if err := key("training error", trainStyle(legendKey)); err != nil {
			return nil, nil, err
		}
		if err := key("test error", testStyle(legendKey)); err != nil {
			return nil, nil, err
		}
	}
	if markers {
		sc, err := plotter.NewScatter(plotter.XYs{{X: 0, Y: 0}})
		if err != nil {
			return nil, nil, err
		}
		sc.GlyphStyle = paperMarker(legendKey)
		leg.Add("paper, final test", sc)
		p.X.Max = xEnd + float64(nMarkers+1)*markerStep
	}
	w, render := besideLegend(p, leg, curveW)
	files, err := g.savePlot(name, w, curveH, render)
	if err != nil {
		return nil, nil, err
	}
	b.WriteString(embed(title, name))
	if markers {
		b.WriteString("Triangles just right of the curves: the paper's final test error of each net in its colour, after the paper's full recipe (the curves stop at this scale's iterations).\n\n")
	}
	return files, missing, nil
}

// errorTicks labels an error axis every 10 points when it spans more than
// 50, every 5 above 20, else every 2: the default ticker labels a 0-90
// axis at 0, 40 and 80 only.
type errorTicks struct{}

func (errorTicks) Ticks(lo, hi float64) []plot.Tick {
	step := 2.0
	switch {
	case hi-lo > 50:
		step = 10
	case hi-lo > 20:
		step = 5
	}
	var ts []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	return ts
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

// positive drops points a log axis cannot show (zero, negative, NaN, Inf).
func positive(xys plotter.XYs) plotter.XYs {
	out := plotter.XYs{}
	for _, xy := range finite(xys) {
		if xy.Y > 0 {
			out = append(out, xy)
		}
	}
	return out
}

// logTicks125 marks a log axis at 1, 2 and 5 times each power of ten
// (labelled) and at the other integers times it (unlabelled), so an axis
// that spans one or two decades still has several labels.
type logTicks125 struct{}

func (logTicks125) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		base := math.Pow(10, e)
		for m := 1; m <= 9; m++ {
			v := float64(m) * base
			if v < lo || v > hi {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || m == 2 || m == 5 {
				t.Label = strconv.FormatFloat(v, 'g', -1, 64)
			}
			ts = append(ts, t)
		}
	}
	return ts
}

// responsePanel draws Fig. 7: the std of each layer's response, in layer
// order or sorted by magnitude (descending), on a log y axis: a plain
// net's first layers (std about 30 in plain-56) and the residual nets'
// responses (about 1) then stay apart instead of flattening each other.
func (g *generator) responsePanel(b *strings.Builder, d *specData, name, title, order string, runs []string) ([]string, []string, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "layer index (original)"
	if order == "sorted" {
		p.X.Label.Text = "layer index (sorted by magnitude)"
	}
	p.Y.Label.Text = "std (log scale)"
	p.X.Min = 0
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = logTicks125{}
	p.Add(plotter.NewGrid())
	leg := plot.NewLegend()
	type series struct {
		label, model string
		xys          plotter.XYs
	}
	var all []series
	var missing []string
	for _, rn := range runs {
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
		label := rn
		if len(r.Seeds) > 1 {
			label += fmt.Sprintf(" (seed %d)", s.Seed)
		}
		all = append(all, series{label: label, model: r.RR.Config.Model, xys: positive(xys)})
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, sr := range all {
		for _, xy := range sr.xys {
			lo, hi = min(lo, xy.Y), max(hi, xy.Y)
		}
	}
	if math.IsInf(lo, 1) {
		b.WriteString("No responses yet: no run of this panel has finished.\n\n")
		return nil, missing, nil
	}
	// A margin of a fifth of a decade each side (10^0.2 = 1.58).
	p.Y.Min, p.Y.Max = lo/1.58, hi*1.58
	models := make([]string, len(all))
	for i, sr := range all {
		models[i] = sr.model
	}
	cols := panelColors(models)
	for i, sr := range all {
		l, sc, err := plotter.NewLinePoints(sr.xys)
		if err != nil {
			return nil, nil, err
		}
		l.LineStyle = draw.LineStyle{Color: cols[i], Width: vg.Points(1)}
		sc.GlyphStyle = draw.GlyphStyle{Color: cols[i], Radius: vg.Points(1.5), Shape: draw.CircleGlyph{}}
		p.Add(l, sc)
		leg.Add(sr.label, l, sc)
	}
	w, render := besideLegend(p, leg, responseW)
	files, err := g.savePlot(name, w, respH, render)
	if err != nil {
		return nil, nil, err
	}
	b.WriteString(embed(title, name))
	return files, missing, nil
}
