package reports

import (
	"fmt"
	"image/color"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/resnet-repro/resnet-repro/models"
)

// A diagram is boxes, circles, lines and text on a canvas, laid out from a
// network definition (Figs 2, 3 and 5) and rendered with gonum/plot's
// drawing layer (so PNG and SVG come from the same code). Coordinates are
// points from the bottom-left corner.
type diagram struct {
	w, h  vg.Length
	items []func(c draw.Canvas)
}

var (
	black      = color.Gray{Y: 0}
	diagramPt  = vg.Points(1)
	labelSize  = vg.Points(8)
	titleSize  = vg.Points(10)
	smallSize  = vg.Points(7)
	boxStroke  = draw.LineStyle{Color: black, Width: vg.Points(0.6)}
	arrowStyle = draw.LineStyle{Color: black, Width: vg.Points(0.6)}
)

func textStyle(size vg.Length, xa text.XAlignment) draw.TextStyle {
	return draw.TextStyle{Color: black, Font: font.From(plot.DefaultFont, size), XAlign: xa,
		YAlign: draw.YCenter, Handler: plot.DefaultTextHandler}
}

func (d *diagram) text(x, y vg.Length, size vg.Length, xa text.XAlignment, s string) {
	d.items = append(d.items, func(c draw.Canvas) {
		c.FillText(textStyle(size, xa), vg.Point{X: x, Y: y}, s)
	})
}

// box draws a filled rectangle centered at (x, y) with a label.
func (d *diagram) box(x, y, w, h vg.Length, fill color.Color, label string, size vg.Length) {
	d.items = append(d.items, func(c draw.Canvas) {
		pts := []vg.Point{{X: x - w/2, Y: y - h/2}, {X: x + w/2, Y: y - h/2}, {X: x + w/2, Y: y + h/2}, {X: x - w/2, Y: y + h/2}}
		c.FillPolygon(fill, pts)
		c.StrokeLines(boxStroke, append(pts, pts[0]))
		c.FillText(textStyle(size, draw.XCenter), vg.Point{X: x, Y: y}, label)
	})
}

// plus draws the addition node: a circle with a plus sign.
func (d *diagram) plus(x, y, r vg.Length) {
	d.items = append(d.items, func(c draw.Canvas) {
		var p vg.Path
		p.Move(vg.Point{X: x + r, Y: y})
		p.Arc(vg.Point{X: x, Y: y}, r, 0, 2*math.Pi)
		p.Close()
		c.SetColor(color.White)
		c.Fill(p)
		c.SetLineStyle(boxStroke)
		c.Stroke(p)
		c.StrokeLine2(boxStroke, x-r*0.6, y, x+r*0.6, y)
		c.StrokeLine2(boxStroke, x, y-r*0.6, x, y+r*0.6)
	})
}

// arrow draws a polyline ending in an arrowhead; dashed for shortcuts that
// change dimensions.
func (d *diagram) arrow(dashed bool, pts ...vg.Point) {
	d.items = append(d.items, func(c draw.Canvas) {
		st := arrowStyle
		if dashed {
			st.Dashes = []vg.Length{vg.Points(3), vg.Points(2)}
		}
		c.StrokeLines(st, pts)
		a, b := pts[len(pts)-2], pts[len(pts)-1]
		dx, dy := float64(b.X-a.X), float64(b.Y-a.Y)
		n := math.Hypot(dx, dy)
		if n == 0 {
			return
		}
		dx, dy = dx/n, dy/n
		const l, w = 5.0, 2.5
		head := []vg.Point{b,
			{X: b.X - vg.Length(l*dx-w*dy), Y: b.Y - vg.Length(l*dy+w*dx)},
			{X: b.X - vg.Length(l*dx+w*dy), Y: b.Y - vg.Length(l*dy-w*dx)}}
		c.FillPolygon(black, head)
	})
}

func (d *diagram) render(c draw.Canvas) {
	c.SetColor(color.White)
	var bg vg.Path
	bg.Move(vg.Point{})
	bg.Line(vg.Point{X: d.w})
	bg.Line(vg.Point{X: d.w, Y: d.h})
	bg.Line(vg.Point{Y: d.h})
	bg.Close()
	c.Fill(bg)
	for _, it := range d.items {
		it(c)
	}
}

// sizeFill colors a layer by the side of its output feature map, so that
// stages read as bands (as the paper's Fig. 3 groups them).
func sizeFill(side int) color.Color {
	switch {
	case side >= 112:
		return color.RGBA{0xf2, 0xe6, 0xc9, 0xff}
	case side >= 56:
		return color.RGBA{0xd5, 0xe8, 0xf7, 0xff}
	case side >= 28:
		return color.RGBA{0xd9, 0xf0, 0xd3, 0xff}
	case side >= 14:
		return color.RGBA{0xfb, 0xdd, 0xc4, 0xff}
	case side >= 7:
		return color.RGBA{0xe6, 0xd9, 0xf2, 0xff}
	default:
		return color.RGBA{0xe8, 0xe8, 0xe8, 0xff}
	}
}

// blockOf picks the block a "block" view draws: in the named stage, the
// first block whose shortcut is the identity (the block the paper draws:
// "64-d" in, "256-d" in for the bottleneck), else the stage's first block.
func blockOf(def *models.Def, stage string) (int, int, error) {
	for si, st := range def.Stages {
		if st.Name != stage {
			continue
		}
		for bi, b := range st.Blocks {
			if b.Shortcut.String() == "identity" || (!def.Residual && b.Branch[0].Stride == 1 && b.C == b.Branch[len(b.Branch)-1].K) {
				return si, bi, nil
			}
		}
		return si, 0, nil
	}
	var names []string
	for _, st := range def.Stages {
		names = append(names, st.Name)
	}
	return 0, 0, fmt.Errorf("model %s has no stage %q (stages: %s)", def.Config.Model, stage, strings.Join(names, ", "))
}

// Block diagram geometry (points).
const (
	blockColW       = 210
	blockBoxW       = 96
	blockBoxH       = 20
	blockGap        = 26
	blockTop        = 40
	blockPlusR      = 7
	blockDiagramH   = 300
	networkColW     = 160
	networkBoxW     = 118
	networkRow      = 17
	networkBoxH     = 10
	networkTop      = 42
	networkBottom   = 12
	shortcutOffsetX = 68
)

// drawBlock lays out one building block (Fig. 2, Fig. 5) in the column
// centered at cx: the input, the branch's weight layers with ReLUs between,
// the addition with the shortcut, and the final ReLU.
func drawBlock(d *diagram, cx vg.Length, title string, def *models.Def, si, bi int) {
	b := def.Stages[si].Blocks[bi]
	y := d.h - blockTop*diagramPt
	d.text(cx, d.h-14*diagramPt, titleSize, draw.XCenter, title)
	d.text(cx, y+4*diagramPt, labelSize, draw.XCenter, fmt.Sprintf("x (%d-d, %dx%d)", b.C, b.H, b.W))
	top := y - 4*diagramPt
	prev := top
	for i, cv := range b.Branch {
		by := y - vg.Length(blockGap+i*(blockBoxH+blockGap))*diagramPt - blockBoxH/2*diagramPt
		label := fmt.Sprintf("%dx%d, %d", cv.R, cv.R, cv.K)
		if cv.Stride > 1 {
			label += fmt.Sprintf(", /%d", cv.Stride)
		}
		d.arrow(false, vg.Point{X: cx, Y: prev}, vg.Point{X: cx, Y: by + blockBoxH/2*diagramPt})
		if i > 0 {
			d.text(cx-6*diagramPt, (prev+by+blockBoxH/2*diagramPt)/2, smallSize, draw.XRight, "relu")
		}
		d.box(cx, by, blockBoxW*diagramPt, blockBoxH*diagramPt, sizeFill(b.H), label, labelSize)
		prev = by - blockBoxH/2*diagramPt
	}
	py := prev - blockGap*diagramPt
	out := py - blockPlusR*diagramPt
	if def.Residual {
		d.arrow(false, vg.Point{X: cx, Y: prev}, vg.Point{X: cx, Y: py + blockPlusR*diagramPt})
		d.text(cx-6*diagramPt, (prev+py)/2, smallSize, draw.XRight, "F(x)")
		d.plus(cx, py, blockPlusR*diagramPt)
		sc := b.Shortcut.String()
		dashed := sc != "identity"
		rx := cx + shortcutOffsetX*diagramPt
		d.arrow(dashed, vg.Point{X: cx, Y: top}, vg.Point{X: rx, Y: top}, vg.Point{X: rx, Y: py}, vg.Point{X: cx + blockPlusR*diagramPt, Y: py})
		label := map[string]string{"identity": "x, identity", "zero-pad": "zero-padding (A)",
			"projection": "1x1 projection"}[sc]
		d.text(rx+4*diagramPt, (top+py)/2, smallSize, draw.XLeft, label)
		d.text(cx-10*diagramPt, py, smallSize, draw.XRight, "F(x) + x")
	} else {
		out = prev
	}
	end := out - 24*diagramPt
	d.arrow(false, vg.Point{X: cx, Y: out}, vg.Point{X: cx, Y: end})
	d.text(cx-6*diagramPt, (out+end)/2, smallSize, draw.XRight, "relu")
	last := b.Branch[len(b.Branch)-1]
	side := b.H / b.Branch[0].Stride
	d.text(cx, end-8*diagramPt, labelSize, draw.XCenter, fmt.Sprintf("%d-d, %dx%d", last.K, side, side))
}

// layer is one row of a network column (Fig. 3).
type layer struct {
	label string
	side  int // output feature map side
	// block marks the first and last rows of a residual block and its
	// shortcut kind.
	blockStart, blockEnd bool
	shortcut             string
}

// networkLayers lists the rows of a network column: the image, each conv
// (VGG: and pool), the pooling and the fc.
func networkLayers(def *models.Def) []layer {
	cfg := def.Config
	ls := []layer{{label: fmt.Sprintf("image (%dx%d)", cfg.Input, cfg.Input), side: cfg.Input}}
	if cfg.Family == models.VGG {
		side, fc := cfg.Input, 0
		for _, k := range def.VGGLayers {
			if k == 0 {
				side /= 2
				ls = append(ls, layer{label: "pool, /2", side: side})
				continue
			}
			ls = append(ls, layer{label: fmt.Sprintf("3x3 conv, %d", k), side: side})
		}
		l := def.Layout()
		for _, part := range strings.Split(strings.TrimSuffix(l.Stages[len(l.Stages)-1].Block, ", softmax"), ", ") {
			fc++
			ls = append(ls, layer{label: strings.Replace(part, "fc-", "fc ", 1), side: 1})
		}
		return ls
	}
	st := def.Stem
	side := (st.H+2*st.Pad-st.R)/st.Stride + 1
	stem := fmt.Sprintf("%dx%d conv, %d", st.R, st.R, st.K)
	if st.Stride > 1 {
		stem += fmt.Sprintf(", /%d", st.Stride)
	}
	ls = append(ls, layer{label: stem, side: side})
	if st.Pool {
		side = (side+2-3)/2 + 1
		ls = append(ls, layer{label: "pool, /2", side: side})
	}
	for _, s := range def.Stages {
		for _, b := range s.Blocks {
			for i, cv := range b.Branch {
				if cv.Stride > 1 {
					side = (side+2*cv.Pad-cv.R)/cv.Stride + 1
				}
				label := fmt.Sprintf("%dx%d conv, %d", cv.R, cv.R, cv.K)
				if cv.Stride > 1 {
					label += fmt.Sprintf(", /%d", cv.Stride)
				}
				ls = append(ls, layer{label: label, side: side, blockStart: i == 0,
					blockEnd: i == len(b.Branch)-1, shortcut: b.Shortcut.String()})
			}
		}
	}
	ls = append(ls, layer{label: "avg pool", side: 1}, layer{label: fmt.Sprintf("fc %d", def.Classes), side: 1})
	return ls
}

// networkDiagramHeight is the height of a diagram of columns of n rows.
func networkDiagramHeight(rows int) vg.Length {
	h := float64(networkTop + rows*networkRow + networkBottom)
	return vg.Length(math.Ceil(h/3) * 3) // a multiple of 3 points: a whole number of pixels at 96 dpi
}

// drawNetwork lays out one network (Fig. 3) as a column centered at cx,
// with the shortcuts of a residual net on its right (solid: identity,
// dashed: a shortcut that increases dimensions).
func drawNetwork(d *diagram, cx vg.Length, title string, def *models.Def) {
	ls := networkLayers(def)
	d.text(cx, d.h-16*diagramPt, titleSize, draw.XCenter, title)
	rowY := func(i int) vg.Length {
		return d.h - vg.Length(networkTop+i*networkRow)*diagramPt - networkBoxH/2*diagramPt
	}
	half := networkBoxH / 2 * diagramPt
	start := -1
	for i, l := range ls {
		y := rowY(i)
		if i > 0 {
			d.arrow(false, vg.Point{X: cx, Y: rowY(i-1) - half}, vg.Point{X: cx, Y: y + half})
		}
		d.box(cx, y, networkBoxW*diagramPt, networkBoxH*diagramPt, sizeFill(l.side), l.label, smallSize)
		if !def.Residual {
			continue
		}
		if l.blockStart {
			start = i
		}
		if l.blockEnd && start >= 0 {
			// From just above the block's first layer to just below its last.
			x0 := cx + networkBoxW/2*diagramPt
			rx := x0 + 12*diagramPt
			y0 := rowY(start) + half + 2*diagramPt
			y1 := y - half - 2*diagramPt
			d.arrow(l.shortcut != "identity", vg.Point{X: cx + 8*diagramPt, Y: y0}, vg.Point{X: rx, Y: y0 - 2*diagramPt},
				vg.Point{X: rx, Y: y1 + 2*diagramPt}, vg.Point{X: cx + 8*diagramPt, Y: y1})
			start = -1
		}
	}
}

// writeDiagrams draws a diagram spec: every "network" run in one figure of
// columns (Fig. 3) and every "block" run in one figure of blocks (Figs 2
// and 5), then lists what was drawn with its analytic counts.
func (g *generator) writeDiagrams(b *strings.Builder, d *specData) ([]string, error) {
	defs, nets, blocks, err := defineDrawn(d)
	if err != nil {
		return nil, err
	}
	var files []string
	b.WriteString("## Diagrams (drawn from the model definitions)\n\n")
	if len(blocks) > 0 {
		fs, err := g.blockFigure(b, d, blocks, defs)
		if err != nil {
			return nil, err
		}
		files = append(files, fs...)
	}
	if len(nets) > 0 {
		fs, err := g.networkFigure(b, d, nets, defs)
		if err != nil {
			return nil, err
		}
		files = append(files, fs...)
	}
	writeDrawnTable(b, d, defs)
	return files, nil
}

// defineDrawn builds the model definition of every run of a diagram spec
// (by run name) and splits the runs into whole networks and blocks, each
// in spec order.
func defineDrawn(d *specData) (defs map[string]*models.Def, nets, blocks []*runData, err error) {
	defs = map[string]*models.Def{}
	for _, r := range d.Runs {
		def, err := define(r.RR.Config)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("run %s: %w", r.RR.Name, err)
		}
		defs[r.RR.Name] = def
		if r.RR.View == "block" {
			blocks = append(blocks, r)
		} else {
			nets = append(nets, r)
		}
	}
	return defs, nets, blocks, nil
}

// blockFigure draws the block runs side by side, one column of blockColW
// each, saves the figure as <id>-blocks and embeds it in b.
func (g *generator) blockFigure(b *strings.Builder, d *specData, blocks []*runData, defs map[string]*models.Def) ([]string, error) {
	dg := &diagram{w: vg.Length(blockColW*len(blocks)) * diagramPt, h: blockDiagramH * diagramPt}
	for i, r := range blocks {
		def := defs[r.RR.Name]
		si, bi, err := blockOf(def, r.RR.Stage)
		if err != nil {
			return nil, fmt.Errorf("run %s: %w", r.RR.Name, err)
		}
		title := fmt.Sprintf("%s: %s block %d", r.RR.Config.Model, r.RR.Stage, bi+1)
		drawBlock(dg, vg.Length(blockColW*i+blockColW/2)*diagramPt, title, def, si, bi)
	}
	name := d.Spec.ID + "-blocks"
	files, err := g.savePlot(name, dg.w, dg.h, dg.render)
	if err != nil {
		return nil, err
	}
	b.WriteString(embed(d.Spec.Artifact+": building blocks", name))
	return files, nil
}

// networkFigure draws the network runs side by side, one column of
// networkColW each, as tall as the deepest one's layers, saves the figure
// as <id>-networks and embeds it in b with its key.
func (g *generator) networkFigure(b *strings.Builder, d *specData, nets []*runData, defs map[string]*models.Def) ([]string, error) {
	rows := 0
	for _, r := range nets {
		rows = max(rows, len(networkLayers(defs[r.RR.Name])))
	}
	dg := &diagram{w: vg.Length(networkColW*len(nets)) * diagramPt, h: networkDiagramHeight(rows)}
	for i, r := range nets {
		def := defs[r.RR.Name]
		title := r.RR.Config.Model
		if def.Residual {
			title += " (shortcut " + def.Config.Shortcut + ")"
		}
		drawNetwork(dg, vg.Length(networkColW*i+networkColW/2-8)*diagramPt, title, def)
	}
	name := d.Spec.ID + "-networks"
	files, err := g.savePlot(name, dg.w, dg.h, dg.render)
	if err != nil {
		return nil, err
	}
	b.WriteString(embed(d.Spec.Artifact+": networks", name))
	b.WriteString("Solid shortcuts: identity; dashed: shortcuts that increase dimensions (zero-padding in option A, projection in B). Box colors mark the output feature-map size.\n\n")
	return files, nil
}

// writeDrawnTable lists every drawn run with what it shows, the whole
// net's params and multiply-adds (models.Counter), the paper's FLOPs and
// the difference in 10^9.
func writeDrawnTable(b *strings.Builder, d *specData, defs map[string]*models.Def) {
	var rows [][]string
	for _, r := range d.Runs {
		def := defs[r.RR.Name]
		l := def.Layout()
		flops, delta := fmtPaperFlops(r.RR.Paper), "n/a"
		if p, ok := r.RR.Paper["flops"]; ok {
			delta = signed((float64(l.MACs) - p) / 1e9)
		}
		note := r.RR.Note
		if note == "" {
			note = "n/a"
		}
		rows = append(rows, []string{r.RR.Name, r.RR.Config.Model, drawnWhat(r, def), millions(float64(l.Params)), giga(float64(l.MACs)), flops, delta, note})
	}
	b.WriteString(mdTable([]string{"drawn", "model", "what", "params (whole net)", "our multiply-adds (10^9)", "paper FLOPs", "Δ (10^9)", "note"}, rows))
	fmt.Fprintf(b, "\nCounted: %s.\n", models.Counter)
}

// drawnWhat says what a diagram run shows: "whole network", or a block's
// stage, index, convolutions and shortcut ("conv2_x block 1: [3x3, 64;
// 3x3, 64], identity shortcut").
func drawnWhat(r *runData, def *models.Def) string {
	if r.RR.View != "block" {
		return "whole network"
	}
	si, bi, _ := blockOf(def, r.RR.Stage)
	blk := def.Stages[si].Blocks[bi]
	var convs []string
	for _, cv := range blk.Branch {
		convs = append(convs, fmt.Sprintf("%dx%d, %d", cv.R, cv.R, cv.K))
	}
	return fmt.Sprintf("%s block %d: [%s], %s shortcut", r.RR.Stage, bi+1, strings.Join(convs, "; "), blk.Shortcut)
}
