package reports

import (
	"image/color"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

func TestPanelColors(t *testing.T) {
	amber, blue, red := depthColors[20], depthColors[32], depthColors[56]
	for _, tc := range []struct {
		name   string
		models []string
		want   []color.Color
	}{
		// Fig. 1 and Fig. 6: one colour per depth, the same in each figure.
		{"depths", []string{"plain-20", "plain-56"}, []color.Color{amber, red}},
		{"resnets", []string{"resnet-20", "resnet-32", "resnet-56"}, []color.Color{amber, blue, red}},
		// Fig. 7 has plain-20 and resnet-20: the palette in panel order.
		{"shared depth", []string{"plain-20", "resnet-20"}, []color.Color{palette[0], palette[1]}},
		// A depth without a colour: the palette.
		{"unknown depth", []string{"resnet-8"}, []color.Color{palette[0]}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := panelColors(tc.models)
			for i := range tc.want {
				if got[i] != tc.want[i] {
					t.Errorf("colour %d (%s) = %v, want %v", i, tc.models[i], got[i], tc.want[i])
				}
			}
		})
	}
}

func TestTicks(t *testing.T) {
	labels := func(ts []plot.Tick) []string {
		var out []string
		for _, t := range ts {
			if t.Label != "" {
				out = append(out, t.Label)
			}
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		ticker plot.Ticker
		lo, hi float64
		want   []string
	}{
		{"error 0-90", errorTicks{}, 0, 90, []string{"0", "10", "20", "30", "40", "50", "60", "70", "80", "90"}},
		{"error 0-25", errorTicks{}, 0, 25, []string{"0", "5", "10", "15", "20", "25"}},
		{"error 5-15", errorTicks{}, 5, 15, []string{"6", "8", "10", "12", "14"}},
		// Fig. 7's range at quick scale: std 0.8 to 30 (plain-56's first layer).
		{"log 0.5-47", logTicks125{}, 0.5, 47, []string{"0.5", "1", "2", "5", "10", "20"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := labels(tc.ticker.Ticks(tc.lo, tc.hi))
			if len(got) != len(tc.want) {
				t.Fatalf("labels %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("labels %v, want %v", got, tc.want)
				}
			}
		})
	}
}

// TestBesideLegend checks that the legend stands right of the axes, never
// over the data, however long its entries: the legend's thumbnail is drawn
// red (and the data blue), and every red pixel must lie right of the axes'
// width.
func TestBesideLegend(t *testing.T) {
	red := color.RGBA{R: 0xff, A: 0xff}
	for _, label := range []string{"a", "resnet-110 (seed 1), running, 2000/8000 iterations"} {
		p := plot.New()
		p.Title.Text = "title"
		data, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
		if err != nil {
			t.Fatal(err)
		}
		data.LineStyle.Color = color.RGBA{B: 0xff, A: 0xff}
		p.Add(data)
		thumb, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 0}})
		if err != nil {
			t.Fatal(err)
		}
		thumb.LineStyle = draw.LineStyle{Color: red, Width: vg.Points(3)}
		leg := plot.NewLegend()
		leg.Add(label, thumb)
		w, render := besideLegend(p, leg, curveW)
		entry := leg.Rectangle(draw.Canvas{}).Size().X
		if want := curveW + entry + 2*legendGap; w != want {
			t.Errorf("%q: width %v, want axes %v + entry %v + 2 gaps = %v", label, w, curveW, entry, want)
		}
		img := vgimg.NewWith(vgimg.UseWH(w, curveH), vgimg.UseDPI(pngDPI))
		render(draw.New(img))
		axesPx, _ := PlotSize(curveW, curveH)
		pix := img.Image()
		reds := 0
		for y := pix.Bounds().Min.Y; y < pix.Bounds().Max.Y; y++ {
			for x := pix.Bounds().Min.X; x < pix.Bounds().Max.X; x++ {
				r, g, b, _ := pix.At(x, y).RGBA()
				if r > 0xf000 && g < 0x1000 && b < 0x1000 {
					reds++
					if x < axesPx {
						t.Fatalf("%q: legend pixel at x=%d, inside the axes (0..%d)", label, x, axesPx)
					}
				}
			}
		}
		if reds == 0 {
			t.Errorf("%q: the legend's thumbnail was not drawn", label)
		}
	}
}
