package models

import (
	"fmt"
	"strings"
)

// Counter says what Analyze counts, so reports can state it beside the
// numbers (third-party counters differ; see paper-targets.md A.1).
const Counter = "multiply-adds of conv and fc layers per image (BN, ReLU, pooling and additions not counted); params include BN scale and shift and fc bias, not BN running statistics"

// Layout is the stage-by-stage description of a network with its
// parameter and multiply-add counts (Table 1's rows).
type Layout struct {
	Model    string        `json:"model"`
	Family   Family        `json:"family"`
	Shortcut string        `json:"shortcut,omitempty"`
	Width    float64       `json:"width"`
	Input    int           `json:"input"`
	Classes  int           `json:"classes"`
	Stages   []StageLayout `json:"stages"`
	Params   int64         `json:"params"`
	MACs     int64         `json:"macs"`
	// Activations is the number of conv (and fc) output values per image:
	// what a training step keeps per image for the backward pass, in
	// units of one output map element (see reproduce's memory estimate).
	Activations int64  `json:"activations"`
	Counter     string `json:"counter"`
}

// StageLayout is one row: a stage (or the stem or head) with its output
// size, block structure and counts.
type StageLayout struct {
	Name   string `json:"name"`
	Output string `json:"output"` // "56x56"
	Blocks int    `json:"blocks"`
	Block  string `json:"block"` // "[3x3, 64; 3x3, 64]"
	Params int64  `json:"params"`
	MACs   int64  `json:"macs"`
	// Activations counts conv and fc output values per image.
	Activations int64 `json:"activations"`
}

// Analyze counts the network cfg describes.
func Analyze(cfg Config) (*Layout, error) {
	d, err := Define(cfg)
	if err != nil {
		return nil, err
	}
	return d.Layout(), nil
}

// convCost returns the params and multiply-adds of a bias-free conv of k
// filters of size r x r over c channels producing a p x p map, plus its BN.
func convBNCost(c, k, r, p int) (params, macs int64) {
	w := int64(k) * int64(c) * int64(r) * int64(r)
	return w + 2*int64(k), w * int64(p) * int64(p)
}

// Layout walks the definition.
func (d *Def) Layout() *Layout {
	cfg := d.Config
	l := &Layout{Model: cfg.Model, Family: cfg.Family, Shortcut: cfg.Shortcut, Width: cfg.Width,
		Input: cfg.Input, Classes: d.Classes, Counter: Counter}
	if cfg.Family == VGG {
		d.vggLayout(l)
	} else {
		d.resnetLayout(l)
	}
	for _, s := range l.Stages {
		l.Params += s.Params
		l.MACs += s.MACs
		l.Activations += s.Activations
	}
	return l
}

func (d *Def) resnetLayout(l *Layout) {
	st := d.Stem
	p := convOut(st.H, st.R, st.Stride, st.Pad)
	params, macs := convBNCost(st.C, st.K, st.R, p)
	stem := StageLayout{Name: "conv1", Output: fmt.Sprintf("%dx%d", p, p), Blocks: 1, Params: params, MACs: macs,
		Activations: int64(st.K) * int64(p) * int64(p),
		Block:       fmt.Sprintf("%dx%d, %d, stride %d", st.R, st.R, st.K, st.Stride)}
	if st.Pool {
		stem.Block += "; 3x3 max pool, stride 2"
	}
	l.Stages = append(l.Stages, stem)
	lastC, lastSize := st.K, p
	if st.Pool {
		lastSize = convOut(p, 3, 2, 1)
	}
	for _, s := range d.Stages {
		row := StageLayout{Name: s.Name, Blocks: len(s.Blocks)}
		var parts []string
		for i, b := range s.Blocks {
			c, size := b.C, b.H
			for _, cv := range b.Branch {
				out := convOut(size, cv.R, cv.Stride, cv.Pad)
				pp, mm := convBNCost(c, cv.K, cv.R, out)
				row.Params += pp
				row.MACs += mm
				row.Activations += int64(cv.K) * int64(out) * int64(out)
				c, size = cv.K, out
				if i == 0 {
					parts = append(parts, fmt.Sprintf("%dx%d, %d", cv.R, cv.R, cv.K))
				}
			}
			if b.Shortcut == ShortcutProjection {
				pp, mm := convBNCost(b.C, c, 1, size)
				row.Params += pp
				row.MACs += mm
				row.Activations += int64(c) * int64(size) * int64(size)
			}
			lastC, lastSize = c, size
		}
		row.Output = fmt.Sprintf("%dx%d", lastSize, lastSize)
		row.Block = "[" + strings.Join(parts, "; ") + "]"
		l.Stages = append(l.Stages, row)
	}
	fc := int64(lastC)*int64(d.Classes) + int64(d.Classes)
	l.Stages = append(l.Stages, StageLayout{Name: "fc", Output: "1x1", Blocks: 1, Params: fc, MACs: int64(lastC) * int64(d.Classes),
		Activations: int64(d.Classes),
		Block:       fmt.Sprintf("average pool, %d-d fc, softmax", d.Classes)})
}

// vggLayout counts VGG: 3x3 convs with bias (no BN), 2x2/2 max pools, and
// fc-4096, fc-4096, fc-classes on the last 512-channel map.
func (d *Def) vggLayout(l *Layout) {
	size, c := d.Config.Input, 3
	row := StageLayout{}
	block := 0
	var parts []string
	flush := func() {
		row.Name = fmt.Sprintf("block%d", block)
		row.Block = "[" + strings.Join(parts, "; ") + "]"
		l.Stages = append(l.Stages, row)
		row, parts = StageLayout{}, nil
	}
	for _, k := range d.VGGLayers {
		if k == 0 {
			size /= 2
			block++
			row.Output = fmt.Sprintf("%dx%d", size, size)
			parts = append(parts, "2x2 max pool")
			flush()
			continue
		}
		w := int64(k) * int64(c) * 9
		row.Params += w + int64(k)
		row.MACs += w * int64(size) * int64(size)
		row.Activations += int64(k) * int64(size) * int64(size)
		row.Blocks++
		parts = append(parts, fmt.Sprintf("3x3, %d", k))
		c = k
	}
	in := int64(c) * int64(size) * int64(size)
	hidden := int64(widthOf(4096, d.Config.Width))
	fc := StageLayout{Name: "fc", Output: "1x1", Blocks: 3,
		Block: fmt.Sprintf("fc-%d, fc-%d, fc-%d, softmax", hidden, hidden, d.Classes)}
	for _, pair := range [][2]int64{{in, hidden}, {hidden, hidden}, {hidden, int64(d.Classes)}} {
		fc.Params += pair[0]*pair[1] + pair[1]
		fc.MACs += pair[0] * pair[1]
		fc.Activations += pair[1]
	}
	l.Stages = append(l.Stages, fc)
}
