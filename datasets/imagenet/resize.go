package imagenet

import "math"

// Resizing uses a separable triangle ("bilinear") filter whose support
// widens with the downscaling factor, i.e. antialiased bilinear exactly as
// Pillow's Image.resize(BILINEAR) computes it (ImagingResample): for output
// position o of a dst-long axis resampled from src pixels,
//
//	scale = src/dst, fs = max(scale, 1), center = (o + 0.5)·scale,
//	w(x) ∝ max(0, 1 - |x + 0.5 - center| / fs)  for x in [center-fs, center+fs),
//
// weights normalised to sum 1. Upscaling is plain bilinear; downscaling by
// k averages over about 2k source pixels (close to an area filter), so the
// small proxies (e.g. 64-pixel crops) are not aliased. At scale 1 the filter
// is the identity. Resize and crop are fused: only the taps for the output
// window are computed and only the source rows it needs are filtered.

// taps holds the weights of count output positions: output j reads source
// indices start[j] .. start[j]+n-1 with weights w[j*n : j*n+n].
type taps struct {
	start []int
	w     []float32
	n     int
}

// set computes the taps for outputs off .. off+count-1 of an axis resampled
// from srcLen source pixels to dstLen; flip reverses the output order
// (output j takes position off+count-1-j).
func (t *taps) set(srcLen, dstLen, off, count int, flip bool) {
	scale := float64(srcLen) / float64(dstLen)
	fs := math.Max(scale, 1)
	support := fs // triangle radius 1, stretched by fs
	n := min(int(math.Ceil(support))*2+1, srcLen)
	t.n = n
	if cap(t.start) < count {
		t.start = make([]int, count)
	}
	t.start = t.start[:count]
	if cap(t.w) < count*n {
		t.w = make([]float32, count*n)
	}
	t.w = t.w[:count*n]
	var k [64]float64
	kern := k[:0]
	if n > len(k) {
		kern = make([]float64, 0, n)
	}
	for j := 0; j < count; j++ {
		o := off + j
		if flip {
			o = off + count - 1 - j
		}
		center := (float64(o) + 0.5) * scale
		lo := max(int(center-support+0.5), 0)
		hi := min(int(center+support+0.5), srcLen)
		kern = kern[:0]
		sum := 0.0
		for x := lo; x < hi; x++ {
			v := 1 - math.Abs(float64(x)+0.5-center)/fs
			if v < 0 {
				v = 0
			}
			kern = append(kern, v)
			sum += v
		}
		// Keep every window inside the source so n taps can be read.
		if lo+n > srcLen {
			shift := lo + n - srcLen
			if shift > lo {
				shift = lo
			}
			lo -= shift
			kern = append(make([]float64, shift, shift+len(kern)), kern...)
		}
		t.start[j] = lo
		w := t.w[j*n : j*n+n]
		for i := range w {
			w[i] = 0
			if i < len(kern) && sum > 0 {
				w[i] = float32(kern[i] / sum)
			}
		}
	}
}

// resizer holds the scratch of fused resize-and-crop; one per goroutine.
type resizer struct {
	tx, ty taps
	tmp    []float32 // horizontally filtered rows, (rows, cw, 3)
	acc    []float32 // one output row, (cw, 3)
}

// resizeCrop resamples img as if to rw x rh pixels (the virtual resized
// image) and writes the window x0 <= x < x0+cw, y0 <= y < y0+ch into dst as
// CHW planes (3, ch, cw) of values in [0, 255]; flip mirrors the window
// left-right. The resized image's pixel grid is mapped onto img's decoded
// W x H grid.
func (r *resizer) resizeCrop(dst []float32, img *Image, rw, rh, x0, y0, cw, ch int, flip bool) {
	if len(dst) < 3*cw*ch || x0 < 0 || y0 < 0 || x0+cw > rw || y0+ch > rh {
		panic("imagenet: resizeCrop window outside the resized image or dst too small")
	}
	r.tx.set(img.W, rw, x0, cw, flip)
	r.ty.set(img.H, rh, y0, ch, false)
	rlo := r.ty.start[0]
	rhi := r.ty.start[ch-1] + r.ty.n
	rows := rhi - rlo
	row3 := 3 * cw
	if cap(r.tmp) < rows*row3 {
		r.tmp = make([]float32, rows*row3)
	}
	tmp := r.tmp[:rows*row3]
	if cap(r.acc) < row3 {
		r.acc = make([]float32, row3)
	}
	acc := r.acc[:row3]

	// Horizontal pass over the source rows the window needs.
	nx := r.tx.n
	for y := rlo; y < rhi; y++ {
		src := img.Pix[y*img.W*3 : (y+1)*img.W*3]
		out := tmp[(y-rlo)*row3 : (y-rlo+1)*row3]
		for j := 0; j < cw; j++ {
			s := src[r.tx.start[j]*3 : (r.tx.start[j]+nx)*3]
			w := r.tx.w[j*nx : j*nx+nx]
			var a0, a1, a2 float32
			for k, wk := range w {
				a0 += wk * float32(s[3*k])
				a1 += wk * float32(s[3*k+1])
				a2 += wk * float32(s[3*k+2])
			}
			out[3*j], out[3*j+1], out[3*j+2] = a0, a1, a2
		}
	}

	// Vertical pass, then scatter the interleaved row into the planes.
	ny := r.ty.n
	plane := cw * ch
	for i := 0; i < ch; i++ {
		for x := range acc {
			acc[x] = 0
		}
		w := r.ty.w[i*ny : i*ny+ny]
		base := r.ty.start[i] - rlo
		for k, wk := range w {
			if wk == 0 {
				continue
			}
			row := tmp[(base+k)*row3 : (base+k+1)*row3]
			for x, v := range row {
				acc[x] += wk * v
			}
		}
		d0 := dst[i*cw : i*cw+cw]
		d1 := dst[plane+i*cw : plane+i*cw+cw]
		d2 := dst[2*plane+i*cw : 2*plane+i*cw+cw]
		for j := 0; j < cw; j++ {
			d0[j], d1[j], d2[j] = acc[3*j], acc[3*j+1], acc[3*j+2]
		}
	}
}

// ResizedSize returns the size (w, h) of a srcW x srcH image resized so its
// shorter side is `shorter`, keeping the aspect ratio (longer side rounded
// to the nearest pixel, halves up).
func ResizedSize(srcW, srcH, shorter int) (w, h int) {
	if srcW <= srcH {
		return shorter, (2*srcH*shorter + srcW) / (2 * srcW)
	}
	return (2*srcW*shorter + srcH) / (2 * srcH), shorter
}
