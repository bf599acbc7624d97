package imagenet

import (
	"fmt"
	"math"
)

// Config describes the input geometry and normalisation of Sec. 3.4. All
// lengths are in pixels; the defaults are the paper's. Reduced-cost proxies
// use Scaled.
type Config struct {
	// Crop is the side of every fixed-size view: training crops, the center
	// crop and the 10 test crops (paper: 224).
	Crop int
	// ScaleMin, ScaleMax bound (inclusive) the random shorter side of a
	// training image before cropping, "scale augmentation" (paper: [256, 480]).
	ScaleMin, ScaleMax int
	// TestScale is the shorter side for the center crop and 10-crop testing
	// (paper: 256).
	TestScale int
	// MultiScales are the shorter sides of the fully-convolutional test
	// views, whose scores are averaged (paper: {224, 256, 384, 480, 640}).
	MultiScales []int
	// Lighting is the standard deviation of the AlexNet PCA lighting
	// coefficients alpha_i (AlexNet, fb.resnet.torch: 0.1); 0 turns it off.
	Lighting float64
	// Mean is the per-channel mean (R, G, B, in the 0..255 pixel scale)
	// subtracted from full-image views, and from fixed-size views when
	// MeanImage is nil.
	Mean [3]float32
	// MeanImage, when set, is a per-pixel mean of shape (3, Crop, Crop),
	// subtracted from every fixed-size view at the same output position
	// (the paper's "per-pixel mean subtracted", after AlexNet). ComputeMean
	// makes one from the training split.
	MeanImage []float32
	// Std divides each channel after the mean is subtracted; a zero entry
	// means 1. The paper does not divide (all ones).
	Std [3]float32
}

// ImageNetMean is the per-channel mean of the ILSVRC-2012 training images
// in the 0..255 scale, as used by fb.resnet.torch (0.485, 0.456, 0.406)·255.
var ImageNetMean = [3]float32{123.675, 116.28, 103.53}

// PCA lighting noise (Krizhevsky et al. 2012, Sec. 4.1): the eigenvalues and
// eigenvectors of the 3x3 covariance of ImageNet RGB pixels in the 0..1
// scale, as published in fb.resnet.torch (datasets/imagenet.lua). Column j
// of lightingEigvec is the eigenvector of lightingEigval[j]; rows are R, G, B.
var (
	lightingEigval = [3]float64{0.2175, 0.0188, 0.0045}
	lightingEigvec = [3][3]float64{
		{-0.5675, 0.7192, 0.4009},
		{-0.5808, -0.0045, -0.8140},
		{-0.5836, -0.6948, 0.4203},
	}
)

// LightingOffset is the RGB offset (0..255 scale) that PCA lighting adds to
// every pixel of an image for coefficients alpha:
// offset_c = 255 · Σ_j eigvec[c][j] · alpha_j · eigval_j.
func LightingOffset(alpha [3]float32) [3]float32 {
	var o [3]float32
	for c := 0; c < 3; c++ {
		s := 0.0
		for j := 0; j < 3; j++ {
			s += lightingEigvec[c][j] * float64(alpha[j]) * lightingEigval[j]
		}
		o[c] = float32(255 * s)
	}
	return o
}

// DefaultConfig is the paper's ImageNet setting (Sec. 3.4) with the
// per-channel ImageNetMean; set MeanImage (ComputeMean) for the per-pixel mean.
func DefaultConfig() Config {
	return Config{
		Crop:        224,
		ScaleMin:    256,
		ScaleMax:    480,
		TestScale:   256,
		MultiScales: []int{224, 256, 384, 480, 640},
		Lighting:    0.1,
		Mean:        ImageNetMean,
		Std:         [3]float32{1, 1, 1},
	}
}

// Scaled returns the config with every length multiplied by crop/c.Crop and
// rounded (so Scaled(112) of the default trains on 112-pixel crops of
// images whose shorter side is in [128, 240] and tests at 128). MeanImage is
// dropped (its size no longer fits).
func (c Config) Scaled(crop int) Config {
	f := float64(crop) / float64(c.Crop)
	r := func(v int) int { return int(math.Floor(float64(v)*f + 0.5)) }
	out := c
	out.Crop = crop
	out.ScaleMin, out.ScaleMax, out.TestScale = r(c.ScaleMin), r(c.ScaleMax), r(c.TestScale)
	out.MultiScales = make([]int, len(c.MultiScales))
	for i, s := range c.MultiScales {
		out.MultiScales[i] = r(s)
	}
	out.MeanImage = nil
	return out
}

// Validate checks that the lengths are consistent.
func (c Config) Validate() error {
	switch {
	case c.Crop < 1:
		return fmt.Errorf("imagenet: crop %d < 1", c.Crop)
	case c.ScaleMin < c.Crop || c.ScaleMax < c.ScaleMin:
		return fmt.Errorf("imagenet: training scales [%d, %d] must satisfy crop %d <= min <= max", c.ScaleMin, c.ScaleMax, c.Crop)
	case c.TestScale < c.Crop:
		return fmt.Errorf("imagenet: test scale %d < crop %d", c.TestScale, c.Crop)
	case c.Lighting < 0:
		return fmt.Errorf("imagenet: lighting std %g < 0", c.Lighting)
	case c.MeanImage != nil && len(c.MeanImage) != 3*c.Crop*c.Crop:
		return fmt.Errorf("imagenet: mean image has %d values, want 3x%dx%d", len(c.MeanImage), c.Crop, c.Crop)
	}
	for _, s := range c.MultiScales {
		if s < 1 {
			return fmt.Errorf("imagenet: multi-scale test size %d < 1", s)
		}
	}
	for _, s := range c.Std {
		if s < 0 {
			return fmt.Errorf("imagenet: std %g < 0", s)
		}
	}
	return nil
}

// TrainParams are the random choices for one training view (Sec. 3.4).
type TrainParams struct {
	Scale  int        // shorter side of the resized image
	X0, Y0 int        // top-left corner of the crop in the resized image
	Flip   bool       // mirror left-right
	Alpha  [3]float32 // PCA lighting coefficients, N(0, Lighting²)
}

// TrainScale is the first draw of DrawTrainParams: the shorter side, which
// the decoder may use before the image size is known.
func TrainScale(c Config, seed uint64, epoch, index int) int {
	r := newRNG(seed, epoch, index, streamAugment)
	return c.ScaleMin + r.intn(c.ScaleMax-c.ScaleMin+1)
}

// DrawTrainParams draws the augmentation of image `index` in epoch `epoch`
// for an image stored as srcW x srcH: scale uniform in [ScaleMin, ScaleMax],
// crop corner uniform over the positions that fit, flip with probability
// 1/2, lighting alphas normal. It is a pure function of its arguments.
func DrawTrainParams(c Config, srcW, srcH int, seed uint64, epoch, index int) TrainParams {
	r := newRNG(seed, epoch, index, streamAugment)
	var p TrainParams
	p.Scale = c.ScaleMin + r.intn(c.ScaleMax-c.ScaleMin+1)
	rw, rh := ResizedSize(srcW, srcH, p.Scale)
	p.X0 = r.intn(rw - c.Crop + 1)
	p.Y0 = r.intn(rh - c.Crop + 1)
	p.Flip = r.uint64()&1 == 1
	for i := range p.Alpha {
		p.Alpha[i] = float32(r.normal() * c.Lighting)
	}
	return p
}

// Transformer turns decoded images into normalised CHW float32 views. It
// owns scratch buffers, so each goroutine needs its own.
type Transformer struct {
	cfg  Config
	rs   resizer
	full []float32 // the resized test image for TenCrop
}

// NewTransformer validates cfg and returns a Transformer for it.
func NewTransformer(cfg Config) (*Transformer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Transformer{cfg: cfg}, nil
}

// Config returns the transformer's config.
func (t *Transformer) Config() Config { return t.cfg }

// ViewLen is the number of floats of one fixed-size view, 3·Crop·Crop.
func (t *Transformer) ViewLen() int { return 3 * t.cfg.Crop * t.cfg.Crop }

// normalize applies, in place on CHW planes of h x w,
// v <- (v + light_c - mean) / std_c, with mean the per-pixel MeanImage when
// perPixel, else Mean_c.
func (t *Transformer) normalize(v []float32, h, w int, light [3]float32, perPixel bool) {
	plane := h * w
	for c := 0; c < 3; c++ {
		inv := float32(1)
		if s := t.cfg.Std[c]; s != 0 {
			inv = 1 / s
		}
		p := v[c*plane : (c+1)*plane]
		if perPixel && t.cfg.MeanImage != nil {
			m := t.cfg.MeanImage[c*plane : (c+1)*plane]
			for i := range p {
				p[i] = (p[i] + light[c] - m[i]) * inv
			}
			continue
		}
		off := light[c] - t.cfg.Mean[c]
		for i := range p {
			p[i] = (p[i] + off) * inv
		}
	}
}

// Train writes the training view of img for params p into dst (3, Crop,
// Crop): shorter side resized to p.Scale, the Crop x Crop window at (X0,
// Y0), mirrored if p.Flip, PCA lighting added, mean subtracted (Sec. 3.4).
func (t *Transformer) Train(dst []float32, img *Image, p TrainParams) {
	c := t.cfg.Crop
	rw, rh := ResizedSize(img.SrcW, img.SrcH, p.Scale)
	t.rs.resizeCrop(dst, img, rw, rh, p.X0, p.Y0, c, c, p.Flip)
	var light [3]float32
	if t.cfg.Lighting > 0 {
		light = LightingOffset(p.Alpha)
	}
	t.normalize(dst[:3*c*c], c, c, light, true)
}

// Center writes the center Crop x Crop view of img resized to shorter side
// TestScale into dst (3, Crop, Crop). Of an odd margin the extra pixel is
// left at the bottom/right.
func (t *Transformer) Center(dst []float32, img *Image) {
	c := t.cfg.Crop
	rw, rh := ResizedSize(img.SrcW, img.SrcH, t.cfg.TestScale)
	t.rs.resizeCrop(dst, img, rw, rh, (rw-c)/2, (rh-c)/2, c, c, false)
	t.normalize(dst[:3*c*c], c, c, [3]float32{}, true)
}

// TenCropOrigins returns the top-left corners (x, y) of the five crops of
// 10-crop testing in a rw x rh image: top-left, top-right, bottom-left,
// bottom-right, center (floor of half the margin).
func TenCropOrigins(rw, rh, crop int) [5][2]int {
	return [5][2]int{{0, 0}, {rw - crop, 0}, {0, rh - crop}, {rw - crop, rh - crop}, {(rw - crop) / 2, (rh - crop) / 2}}
}

// TenCrop writes the 10 test views of img into dst (10, 3, Crop, Crop): the
// image resized once to shorter side TestScale, views 0-4 the crops at
// TenCropOrigins, views 5-9 the same crops mirrored left-right (Sec. 3.4,
// after AlexNet).
func (t *Transformer) TenCrop(dst []float32, img *Image) {
	c := t.cfg.Crop
	rw, rh := ResizedSize(img.SrcW, img.SrcH, t.cfg.TestScale)
	n := 3 * rw * rh
	if cap(t.full) < n {
		t.full = make([]float32, n)
	}
	full := t.full[:n]
	t.rs.resizeCrop(full, img, rw, rh, 0, 0, rw, rh, false)
	view := 3 * c * c
	for v, o := range TenCropOrigins(rw, rh, c) {
		a := dst[v*view : (v+1)*view]
		b := dst[(v+5)*view : (v+6)*view]
		for ch := 0; ch < 3; ch++ {
			for y := 0; y < c; y++ {
				src := full[ch*rw*rh+(o[1]+y)*rw+o[0] : ch*rw*rh+(o[1]+y)*rw+o[0]+c]
				ra := a[ch*c*c+y*c : ch*c*c+y*c+c]
				rb := b[ch*c*c+y*c : ch*c*c+y*c+c]
				copy(ra, src)
				for x, v := range src {
					rb[c-1-x] = v
				}
			}
		}
		t.normalize(a, c, c, [3]float32{}, true)
		t.normalize(b, c, c, [3]float32{}, true)
	}
}

// Full writes the whole image resized to shorter side `shorter` into dst
// (3, h, w), per-channel mean subtracted, for fully-convolutional testing
// (Sec. 3.4, after VGG). dst is grown if too small; the used slice and the
// size are returned.
func (t *Transformer) Full(dst []float32, img *Image, shorter int) (out []float32, w, h int) {
	w, h = ResizedSize(img.SrcW, img.SrcH, shorter)
	n := 3 * w * h
	if cap(dst) < n {
		dst = make([]float32, n)
	}
	out = dst[:n]
	t.rs.resizeCrop(out, img, w, h, 0, 0, w, h, false)
	t.normalize(out, h, w, [3]float32{}, false)
	return out, w, h
}
