package imagenet

import (
	"math"
	"sort"
	"testing"
)

// coordImage is a w x h image whose pixels encode their coordinates:
// R = x mod 256, G = y mod 256, B = 100·(x div 256) + (y div 256), so any
// crop's origin and orientation can be read back exactly.
func coordImage(w, h int) *Image {
	img := &Image{W: w, H: h, SrcW: w, SrcH: h, Pix: make([]byte, 3*w*h)}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			o := (y*w + x) * 3
			img.Pix[o], img.Pix[o+1], img.Pix[o+2] = byte(x%256), byte(y%256), byte(100*(x/256)+y/256)
		}
	}
	return img
}

func coordValue(x, y int) [3]float32 {
	return [3]float32{float32(x % 256), float32(y % 256), float32(100*(x/256) + y/256)}
}

func TestResizedSize(t *testing.T) {
	cases := []struct{ w, h, s, ww, wh int }{
		{500, 375, 256, 341, 256}, // 500·256/375 = 341.33
		{375, 500, 256, 256, 341},
		{300, 200, 480, 720, 480}, // exact 1.5x
		{333, 500, 224, 224, 336}, // 500·224/333 = 336.34
		{100, 100, 640, 640, 640}, // square
		{301, 200, 100, 151, 100}, // 150.5 rounds half up
	}
	for _, c := range cases {
		if w, h := ResizedSize(c.w, c.h, c.s); w != c.ww || h != c.wh {
			t.Errorf("ResizedSize(%d, %d, %d) = %dx%d, want %dx%d", c.w, c.h, c.s, w, h, c.ww, c.wh)
		}
	}
}

// TestResizeFilter checks the triangle filter on hand-computed cases.
func TestResizeFilter(t *testing.T) {
	var rs resizer
	t.Run("identity at scale 1", func(t *testing.T) {
		img := coordImage(37, 23)
		dst := make([]float32, 3*37*23)
		rs.resizeCrop(dst, img, 37, 23, 0, 0, 37, 23, false)
		for y := 0; y < 23; y++ {
			for x := 0; x < 37; x++ {
				for c, v := range coordValue(x, y) {
					if dst[c*37*23+y*37+x] != v {
						t.Fatalf("(%d,%d,%d) = %g, want %g", x, y, c, dst[c*37*23+y*37+x], v)
					}
				}
			}
		}
	})
	t.Run("halving a ramp", func(t *testing.T) {
		// Row 0, 70, 140, 210 halved: scale 2 stretches the triangle to
		// radius 2; output 0 (center 1) weighs pixels 0,1,2 by 0.75, 0.75,
		// 0.25 -> (3·0 + 3·70 + 140)/7 = 50; output 1 (center 3) weighs
		// pixels 1,2,3 by 0.25, 0.75, 0.75 -> (70 + 3·140 + 3·210)/7 = 160.
		img := &Image{W: 4, H: 2, SrcW: 4, SrcH: 2, Pix: make([]byte, 24)}
		for y := 0; y < 2; y++ {
			for x := 0; x < 4; x++ {
				for c := 0; c < 3; c++ {
					img.Pix[(y*4+x)*3+c] = byte(70 * x)
				}
			}
		}
		dst := make([]float32, 3*2*1)
		rs.resizeCrop(dst, img, 2, 1, 0, 0, 2, 1, false)
		for c := 0; c < 3; c++ {
			if math.Abs(float64(dst[2*c]-50)) > 1e-4 || math.Abs(float64(dst[2*c+1]-160)) > 1e-4 {
				t.Fatalf("channel %d = %v, want [50 160]", c, dst[2*c:2*c+2])
			}
		}
	})
	t.Run("constant stays constant", func(t *testing.T) {
		// Normalised weights: any resize of a flat image is flat
		// (tolerance: float32 rounding of a weighted sum of ~20 terms).
		for _, sz := range [][4]int{{37, 23, 100, 62}, {500, 300, 64, 38}, {5, 7, 640, 896}, {1, 1, 3, 3}} {
			img := &Image{W: sz[0], H: sz[1], SrcW: sz[0], SrcH: sz[1], Pix: make([]byte, 3*sz[0]*sz[1])}
			for i := range img.Pix {
				img.Pix[i] = []byte{200, 100, 7}[i%3]
			}
			dst := make([]float32, 3*sz[2]*sz[3])
			rs.resizeCrop(dst, img, sz[2], sz[3], 0, 0, sz[2], sz[3], false)
			for i, v := range dst {
				want := []float32{200, 100, 7}[i/(sz[2]*sz[3])]
				if math.Abs(float64(v-want)) > 1e-3 {
					t.Fatalf("%v: value %d = %g, want %g", sz, i, v, want)
				}
			}
		}
	})
}

// TestTenCropGeometry: a 300x256 image already has shorter side 256, so
// the resize is the identity and each view must be the exact window:
// origins (x, y) (0,0), (76,0), (0,32), (76,32), (38,16) for 224 crops
// (margins 300-224 = 76 and 256-224 = 32), then the same mirrored. With
// mean (10, 20, 30) and std (2, 4, 8) each value is (v - mean)/std.
func TestTenCropGeometry(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Mean = [3]float32{10, 20, 30}
	cfg.Std = [3]float32{2, 4, 8}
	tr, err := NewTransformer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const c = 224
	origins := [5][2]int{{0, 0}, {76, 0}, {0, 32}, {76, 32}, {38, 16}}
	if got := TenCropOrigins(300, 256, c); got != origins {
		t.Fatalf("TenCropOrigins = %v, want %v", got, origins)
	}
	dst := make([]float32, 10*3*c*c)
	tr.TenCrop(dst, coordImage(300, 256))
	for v := 0; v < 10; v++ {
		o := origins[v%5]
		for y := 0; y < c; y++ {
			for x := 0; x < c; x++ {
				sx := o[0] + x
				if v >= 5 {
					sx = o[0] + c - 1 - x
				}
				want := coordValue(sx, o[1]+y)
				for ch := 0; ch < 3; ch++ {
					w := (want[ch] - cfg.Mean[ch]) / cfg.Std[ch]
					if got := dst[((v*3+ch)*c+y)*c+x]; math.Abs(float64(got-w)) > 1e-5 {
						t.Fatalf("view %d (%d,%d) ch %d = %g, want %g", v, x, y, ch, got, w)
					}
				}
			}
		}
	}
}

// TestTrainAndCenterViews: same identity-resize trick; the training view
// at Scale 256 must be the window at (X0, Y0), mirrored, plus the lighting
// offset, minus the per-pixel mean image.
func TestTrainAndCenterViews(t *testing.T) {
	cfg := DefaultConfig()
	const c = 224
	cfg.MeanImage = make([]float32, 3*c*c)
	for i := range cfg.MeanImage {
		cfg.MeanImage[i] = float32(i % 7) // arbitrary, position-dependent
	}
	tr, err := NewTransformer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	img := coordImage(256, 300)
	p := TrainParams{Scale: 256, X0: 17, Y0: 50, Flip: true, Alpha: [3]float32{1, 0, 0}}
	// Lighting for alpha (1,0,0): 255 · eigvec[c][0] · 0.2175.
	light := [3]float32{255 * -0.5675 * 0.2175, 255 * -0.5808 * 0.2175, 255 * -0.5836 * 0.2175}
	if got := LightingOffset(p.Alpha); math.Abs(float64(got[0]-light[0]))+math.Abs(float64(got[1]-light[1]))+math.Abs(float64(got[2]-light[2])) > 1e-4 {
		t.Fatalf("LightingOffset = %v, want %v", got, light)
	}
	dst := make([]float32, 3*c*c)
	tr.Train(dst, img, p)
	center := make([]float32, 3*c*c)
	tr.Center(center, img)
	for ch := 0; ch < 3; ch++ {
		for y := 0; y < c; y++ {
			for x := 0; x < c; x++ {
				i := (ch*c+y)*c + x
				want := coordValue(17+c-1-x, 50+y)[ch] + light[ch] - cfg.MeanImage[i]
				if math.Abs(float64(dst[i]-want)) > 1e-3 {
					t.Fatalf("train (%d,%d) ch %d = %g, want %g", x, y, ch, dst[i], want)
				}
				// Center: margins 256-224 = 32 and 300-224 = 76 -> origin (16, 38), no lighting.
				want = coordValue(16+x, 38+y)[ch] - cfg.MeanImage[i]
				if math.Abs(float64(center[i]-want)) > 1e-3 {
					t.Fatalf("center (%d,%d) ch %d = %g, want %g", x, y, ch, center[i], want)
				}
			}
		}
	}
}

// TestFullView: whole image at shorter side s with the per-channel mean.
func TestFullView(t *testing.T) {
	cfg := DefaultConfig()
	tr, _ := NewTransformer(cfg)
	img := coordImage(300, 256)
	out, w, h := tr.Full(nil, img, 256)
	if w != 300 || h != 256 || len(out) != 3*300*256 {
		t.Fatalf("Full = %dx%d (%d values)", w, h, len(out))
	}
	for _, xy := range [][2]int{{0, 0}, {299, 255}, {123, 45}} {
		for ch := 0; ch < 3; ch++ {
			want := coordValue(xy[0], xy[1])[ch] - ImageNetMean[ch]
			if got := out[(ch*h+xy[1])*w+xy[0]]; math.Abs(float64(got-want)) > 1e-3 {
				t.Fatalf("(%v) ch %d = %g, want %g", xy, ch, got, want)
			}
		}
	}
	if _, w, h := tr.Full(out, img, 640); w != 750 || h != 640 { // 300·640/256 = 750
		t.Fatalf("Full at 640 = %dx%d, want 750x640", w, h)
	}
}

func TestDrawTrainParams(t *testing.T) {
	cfg := DefaultConfig()
	const n = 3000
	flips := 0
	var alphas []float64
	scales := map[int]bool{}
	for i := 0; i < n; i++ {
		srcW, srcH := 200+i%700, 150+(i*7)%500 // assorted sizes and aspect ratios
		p := DrawTrainParams(cfg, srcW, srcH, 42, 3, i)
		if q := DrawTrainParams(cfg, srcW, srcH, 42, 3, i); q != p {
			t.Fatalf("index %d: draws differ: %+v vs %+v", i, p, q)
		}
		if p.Scale != TrainScale(cfg, 42, 3, i) {
			t.Fatalf("TrainScale disagrees with DrawTrainParams")
		}
		rw, rh := ResizedSize(srcW, srcH, p.Scale)
		if p.Scale < 256 || p.Scale > 480 || p.X0 < 0 || p.Y0 < 0 || p.X0+224 > rw || p.Y0+224 > rh {
			t.Fatalf("index %d: %+v outside [256,480] or crop outside %dx%d", i, p, rw, rh)
		}
		scales[p.Scale] = true
		if p.Flip {
			flips++
		}
		for _, a := range p.Alpha {
			alphas = append(alphas, float64(a))
		}
	}
	// Flip ~ Bernoulli(1/2): 3000 draws have std 27; allow ±100 (3.7 sigma).
	if flips < n/2-100 || flips > n/2+100 {
		t.Errorf("%d flips of %d", flips, n)
	}
	// 225 scales, 3000 uniform draws: every one appears (P(miss) ~ 225·e^-13).
	if !scales[256] || !scales[480] || len(scales) != 225 {
		t.Errorf("%d distinct scales (want all 225 of [256,480])", len(scales))
	}
	// Sample std of 9000 N(0, 0.1²) values: relative s.e. 1/sqrt(2·9000) ~ 0.75%; allow 5%.
	var s2 float64
	for _, a := range alphas {
		s2 += a * a
	}
	if sd := math.Sqrt(s2 / float64(len(alphas))); math.Abs(sd-0.1) > 0.005 {
		t.Errorf("lighting alpha std %.4f, want 0.1", sd)
	}
}

func TestEpochPermutation(t *testing.T) {
	p := EpochPermutation(1000, 7, 2)
	q := EpochPermutation(1000, 7, 2)
	r := EpochPermutation(1000, 7, 3)
	s := append([]int(nil), p...)
	sort.Ints(s)
	same, moved := 0, 0
	for i := range p {
		if s[i] != i {
			t.Fatalf("not a permutation: sorted[%d] = %d", i, s[i])
		}
		if p[i] != q[i] {
			t.Fatalf("same (seed, epoch) gave different permutations at %d", i)
		}
		if p[i] == r[i] {
			same++
		}
		if p[i] != i {
			moved++
		}
	}
	// Two independent random permutations agree in ~1 place; a shuffle fixes ~1.
	if same > 10 || moved < 990 {
		t.Errorf("epochs 2 and 3 agree in %d places; %d of 1000 moved", same, moved)
	}
}

func TestConfigScaledAndValidate(t *testing.T) {
	cases := []struct {
		crop           int
		min, max, test int
		multi          []int
	}{
		{224, 256, 480, 256, []int{224, 256, 384, 480, 640}}, // the paper's
		{112, 128, 240, 128, []int{112, 128, 192, 240, 320}}, // exact halves
		{64, 73, 137, 73, []int{64, 73, 110, 137, 183}},      // ·64/224, rounded: 73.1 137.1 109.7 182.9
	}
	for _, c := range cases {
		s := DefaultConfig().Scaled(c.crop)
		if s.Crop != c.crop || s.ScaleMin != c.min || s.ScaleMax != c.max || s.TestScale != c.test || len(s.MultiScales) != len(c.multi) {
			t.Fatalf("Scaled(%d) = %+v", c.crop, s)
		}
		for i := range c.multi {
			if s.MultiScales[i] != c.multi[i] {
				t.Fatalf("Scaled(%d).MultiScales = %v, want %v", c.crop, s.MultiScales, c.multi)
			}
		}
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	bad := []func(*Config){
		func(c *Config) { c.Crop = 0 },
		func(c *Config) { c.ScaleMin = 200 },
		func(c *Config) { c.ScaleMax = 255 },
		func(c *Config) { c.TestScale = 100 },
		func(c *Config) { c.Lighting = -1 },
		func(c *Config) { c.MeanImage = make([]float32, 10) },
		func(c *Config) { c.MultiScales = []int{0} },
		func(c *Config) { c.Std[1] = -1 },
	}
	for i, f := range bad {
		c := DefaultConfig()
		f(&c)
		if c.Validate() == nil {
			t.Errorf("bad config %d validated", i)
		}
	}
}

// BenchmarkTransform times the augmentation alone (no decoding) on a
// 500x375 image, the typical ILSVRC size.
func BenchmarkTransform(b *testing.B) {
	img := coordImage(500, 375)
	tr, _ := NewTransformer(DefaultConfig())
	dst := make([]float32, 10*3*224*224)
	b.Run("train", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			tr.Train(dst, img, DrawTrainParams(tr.Config(), 500, 375, 1, 0, i))
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
	})
	b.Run("tencrop", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			tr.TenCrop(dst, img)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
	})
}
