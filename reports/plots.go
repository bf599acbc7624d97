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

// errorCurve is one run's error curves on a curve panel: its seriesName,
// training and test error (%) against iterations in units of 10^4, the
// run's full training length, and the paper's final test error where the
// panel shows test error and the paper gives one.
type errorCurve struct {
	seriesName
	train, tst plotter.XYs
	paper      float64
	hasPaper   bool
	iterations int
}

// seriesName is a plotted series' legend label and the model whose depth
// picks its colour (panelColors).
type seriesName struct{ label, model string }

// seriesModel is the model of a plotted series.
func (s seriesName) seriesModel() string { return s.model }

// seriesColors picks the colour of each series of a panel (panelColors of
// their models, in panel order).
func seriesColors[S interface{ seriesModel() string }](all []S) []color.Color {
	models := make([]string, len(all))
	for i, s := range all {
		models[i] = s.seriesModel()
	}
	return panelColors(models)
}

// seedLabel is a run's legend label: its name, and the plotted seed when
// the run has several.
func seedLabel(rn string, r *runData, s seedData) string {
	if len(r.Seeds) > 1 {
		return rn + fmt.Sprintf(" (seed %d)", s.Seed)
	}
	return rn
}

// collectRuns loads one series per run of a panel, in panel order, with
// load; runs the spec does not have are skipped, and a run without data
// (load's ok false) is listed in missing as "name (state)".
func collectRuns[T any](d *specData, runs []string, load func(rn string, r *runData) (T, bool, error)) ([]T, []string, error) {
	var all []T
	var missing []string
	for _, rn := range runs {
		r := d.run(rn)
		if r == nil {
			continue
		}
		x, ok, err := load(rn, r)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			missing = append(missing, rn+" ("+runState(r)+")")
			continue
		}
		all = append(all, x)
	}
	return all, missing, nil
}

// savePanel lays out a panel with its legend beside the axes (besideLegend,
// axes w x h points), saves it as name.png and name.svg and embeds it in b
// under the alt text title; it returns the files written.
func (g *generator) savePanel(b *strings.Builder, p *plot.Plot, leg plot.Legend, name, title string, w, h vg.Length) ([]string, error) {
	total, render := besideLegend(p, leg, w)
	files, err := g.savePlot(name, total, h, render)
	if err != nil {
		return nil, err
	}
	b.WriteString(embed(title, name))
	return files, nil
}

// curveShow says which error curves a curve panel draws: a panel titled
// "training error..." shows only training error and one titled "test
// error..." only test error (Fig. 1's two panels); others show both.
type curveShow struct{ train, test bool }

// curveShowOf is the curveShow of a panel's title.
func curveShowOf(title string) curveShow {
	return curveShow{train: !strings.HasPrefix(title, "test error"), test: !strings.HasPrefix(title, "training error")}
}

// curvePanel draws training and test error against iterations (curveShow
// says which). Where the paper gives a run's final test error, a marker of
// the run's colour stands at the right end of the x axis at that value.
func (g *generator) curvePanel(b *strings.Builder, d *specData, name, title string, runs []string) ([]string, []string, error) {
	show := curveShowOf(title)
	curves, missing, err := collectRuns(d, runs, func(rn string, r *runData) (errorCurve, bool, error) {
		return g.runCurve(d, rn, r, show)
	})
	if err != nil {
		return nil, nil, err
	}
	if len(curves) == 0 {
		b.WriteString("No curves yet: no run of this panel has logged an evaluation.\n\n")
		return nil, missing, nil
	}
	p := errorAxes(title, show.ymax(curves))
	leg := plot.NewLegend()
	markers, err := show.draw(p, &leg, curves)
	if err != nil {
		return nil, nil, err
	}
	if err := show.addKey(&leg, markers); err != nil {
		return nil, nil, err
	}
	files, err := g.savePanel(b, p, leg, name, title, curveW, curveH)
	if err != nil {
		return nil, nil, err
	}
	if markers {
		b.WriteString("Triangles just right of the curves: the paper's final test error of each net in its colour, after the paper's full recipe (the curves stop at this scale's iterations).\n\n")
	}
	return files, missing, nil
}

// runCurve reads the error curves of a run's plotted seed: training error
// and error on the run's evaluation split, per logged iteration. ok is
// false when no seed has logged either.
func (g *generator) runCurve(d *specData, rn string, r *runData, show curveShow) (errorCurve, bool, error) {
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
	if err != nil || !ok {
		return errorCurve{}, false, err
	}
	c := errorCurve{seriesName: seriesName{label: seedLabel(rn, r, s), model: r.RR.Config.Model},
		train: iterationXYs(trainS), tst: iterationXYs(testS), iterations: r.RR.Config.Training.Iterations}
	if !s.Done() {
		c.label += ", " + state(s)
	}
	if show.test {
		c.paper, c.hasPaper = paperFinalTest(d, r)
	}
	return c, true, nil
}

// iterationXYs are a metric's values against their iterations in units of
// 10^4 (the paper's x axis).
func iterationXYs(ms []results.Metric) plotter.XYs {
	var xys plotter.XYs
	for _, m := range ms {
		xys = append(xys, plotter.XY{X: float64(m.Iteration) / 1e4, Y: m.Value})
	}
	return xys
}

// ymax is the largest finite error the shown curves reach (0 if none).
func (show curveShow) ymax(curves []errorCurve) float64 {
	ymax := 0.0
	for _, c := range curves {
		var shown plotter.XYs
		if show.train {
			shown = append(shown, c.train...)
		}
		if show.test {
			shown = append(shown, c.tst...)
		}
		for _, xy := range shown {
			if !math.IsNaN(xy.Y) && !math.IsInf(xy.Y, 0) {
				ymax = max(ymax, xy.Y)
			}
		}
	}
	return ymax
}

// errorAxes is an empty curve plot with a grid: x iterations (10^4) from
// 0, y error (%) from 0 to the next multiple of 5 above ymax plus 5,
// capped at 100.
func errorAxes(title string, ymax float64) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "iter. (1e4)"
	p.Y.Label.Text = "error (%)"
	p.Y.Min, p.Y.Max = 0, min(100, math.Ceil(ymax/5)*5+5)
	p.X.Min = 0
	p.Y.Tick.Marker = errorTicks{}
	p.Add(plotter.NewGrid())
	return p
}

// draw adds each curve's shown lines and paper marker to p, and an entry
// per curve to leg; it reports whether any paper marker was drawn. The
// paper's markers stand in a column just past the end of the curves (the
// longest run's iterations), one step of 2% of that length apart, so that
// close values (6.43 to 8.75 in Fig. 6) do not hide each other; the x axis
// then ends one step past the last marker.
func (show curveShow) draw(p *plot.Plot, leg *plot.Legend, curves []errorCurve) (bool, error) {
	cols := seriesColors(curves)
	xEnd := 0.0
	for _, c := range curves {
		xEnd = max(xEnd, float64(c.iterations)/1e4)
	}
	markerStep := xEnd * 0.02
	nMarkers := 0
	for i, c := range curves {
		thumb, err := show.addLines(p, c, cols[i])
		if err != nil {
			return false, err
		}
		if c.hasPaper {
			nMarkers++
			sc, err := paperPoint(xEnd+float64(nMarkers)*markerStep, c.paper, cols[i])
			if err != nil {
				return false, err
			}
			p.Add(sc)
		}
		if thumb != nil {
			leg.Add(c.label, thumb)
		}
	}
	if nMarkers > 0 {
		p.X.Max = xEnd + float64(nMarkers+1)*markerStep
	}
	return nMarkers > 0, nil
}

// addLines adds a curve's shown training (thin, dashed) and test (bold)
// lines to p in colour col, and returns the last one added for its legend
// entry (nil if the curve shows neither).
func (show curveShow) addLines(p *plot.Plot, c errorCurve, col color.Color) (plot.Thumbnailer, error) {
	var thumb plot.Thumbnailer
	if show.train && len(c.train) > 0 {
		l, err := styledLine(c.train, trainStyle(col))
		if err != nil {
			return nil, err
		}
		p.Add(l)
		thumb = l
	}
	if show.test && len(c.tst) > 0 {
		l, err := styledLine(c.tst, testStyle(col))
		if err != nil {
			return nil, err
		}
		p.Add(l)
		thumb = l
	}
	return thumb, nil
}

// styledLine is a line through the finite points of xys in style st.
func styledLine(xys plotter.XYs, st draw.LineStyle) (*plotter.Line, error) {
	l, err := plotter.NewLine(finite(xys))
	if err != nil {
		return nil, err
	}
	l.LineStyle = st
	return l, nil
}

// paperPoint is the paper's marker (paperMarker) of colour col at (x, y).
func paperPoint(x, y float64, col color.Color) (*plotter.Scatter, error) {
	sc, err := plotter.NewScatter(plotter.XYs{{X: x, Y: y}})
	if err != nil {
		return nil, err
	}
	sc.GlyphStyle = paperMarker(col)
	return sc, nil
}

// addKey adds the grey key to the styles under the runs' entries of leg:
// dashed training and bold test error when the panel shows both, the
// paper's marker when one was drawn.
func (show curveShow) addKey(leg *plot.Legend, markers bool) error {
	if show.train && show.test {
		for _, k := range []struct {
			label string
			st    draw.LineStyle
		}{{"training error", trainStyle(legendKey)}, {"test error", testStyle(legendKey)}} {
			l, err := styledLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 0}}, k.st)
			if err != nil {
				return err
			}
			leg.Add(k.label, l)
		}
	}
	if markers {
		sc, err := paperPoint(0, 0, legendKey)
		if err != nil {
			return err
		}
		leg.Add("paper, final test", sc)
	}
	return nil
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

// responseSeries is one run's layer responses on a Fig. 7 panel: the std
// of each 3x3 layer's response against its layer index (1-based), positive
// values only (a log axis).
type responseSeries struct {
	seriesName
	xys plotter.XYs
}

// responsePanel draws Fig. 7: the std of each layer's response, in layer
// order or sorted by magnitude (descending), on a log y axis: a plain
// net's first layers (std about 30 in plain-56) and the residual nets'
// responses (about 1) then stay apart instead of flattening each other.
func (g *generator) responsePanel(b *strings.Builder, d *specData, name, title, order string, runs []string) ([]string, []string, error) {
	all, missing, err := collectRuns(d, runs, func(rn string, r *runData) (responseSeries, bool, error) {
		return g.runResponses(rn, r, order == "sorted")
	})
	if err != nil {
		return nil, nil, err
	}
	lo, hi := responseRange(all)
	if math.IsInf(lo, 1) {
		b.WriteString("No responses yet: no run of this panel has finished.\n\n")
		return nil, missing, nil
	}
	p := responseAxes(title, order)
	// A margin of a fifth of a decade each side (10^0.2 = 1.58).
	p.Y.Min, p.Y.Max = lo/1.58, hi*1.58
	leg := plot.NewLegend()
	cols := seriesColors(all)
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
	files, err := g.savePanel(b, p, leg, name, title, responseW, respH)
	if err != nil {
		return nil, nil, err
	}
	return files, missing, nil
}

// runResponses reads the layer responses of a run's plotted seed, in layer
// order or, when sorted, by std descending. ok is false when no seed has
// any.
func (g *generator) runResponses(rn string, r *runData, sorted bool) (responseSeries, bool, error) {
	var rs []results.Response
	var err error
	s, ok := plottedSeed(r, func(id string) bool {
		if err != nil {
			return false
		}
		rs, err = g.st.responsesOf(id)
		return len(rs) > 0
	})
	if err != nil || !ok {
		return responseSeries{}, false, err
	}
	stds := make([]float64, len(rs))
	for j, x := range rs {
		stds[j] = x.Std
	}
	if sorted {
		slices.SortFunc(stds, func(a, b float64) int { return cmp.Compare(b, a) })
	}
	xys := plotter.XYs{}
	for j, v := range stds {
		xys = append(xys, plotter.XY{X: float64(j + 1), Y: v})
	}
	return responseSeries{seriesName: seriesName{label: seedLabel(rn, r, s), model: r.RR.Config.Model}, xys: positive(xys)}, true, nil
}

// responseRange is the smallest and largest std of all series (+Inf and
// -Inf when they have none).
func responseRange(all []responseSeries) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, sr := range all {
		for _, xy := range sr.xys {
			lo, hi = min(lo, xy.Y), max(hi, xy.Y)
		}
	}
	return lo, hi
}

// responseAxes is an empty Fig. 7 plot with a grid: x the layer index
// (original or sorted order) from 0, y the response std on a log scale.
func responseAxes(title, order string) *plot.Plot {
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
	return p
}
