package cifar10

// Pad is the zero padding on each side before the random 32x32 crop
// (Sec. 4.2: "4 pixels are padded on each side").
const Pad = 4

// MeanImage returns the per-pixel mean (Sec. 4.2: "the per-pixel mean
// subtracted") of split s on the [0,1] scale: mean[j] = (1/N) sum_i
// s.Image(i)[j] / 255 for each of the ImageSize values j (CHW order). Pass
// the training split a run actually trains on.
func MeanImage(s *Split) []float32 {
	n := s.Len()
	if n == 0 {
		panic("cifar10: mean of an empty split")
	}
	// 50,000 * 255 fits easily in uint32.
	sum := make([]uint32, ImageSize)
	for i := 0; i < n; i++ {
		img := s.Image(i)
		for j, p := range img {
			sum[j] += uint32(p)
		}
	}
	mean := make([]float32, ImageSize)
	for j, v := range sum {
		mean[j] = float32(float64(v) / (255 * float64(n)))
	}
	return mean
}

// normalize writes the test-time input for one image: dst[j] = src[j]/255 -
// mean[j], CHW, len(dst) = len(src) = len(mean) = ImageSize. (x/255 is
// computed as x * float32(1/255), within 1 ulp of the quotient.)
func normalize(dst []float32, src []byte, mean []float32) {
	_ = dst[ImageSize-1]
	_ = src[ImageSize-1]
	_ = mean[ImageSize-1]
	for j := 0; j < ImageSize; j++ {
		dst[j] = float32(src[j])*(1.0/255) - mean[j]
	}
}

// augment writes the training input for one image (Sec. 4.2). Let P be the
// normalized image src/255 - mean zero-padded by Pad on each side (40x40
// per channel, P[c][y][x] for y, x in -4..35). The 32x32 crop whose top-left
// corner in the padded image is (ox, oy), ox, oy in 0..2*Pad, then flipped
// horizontally if flip:
//
//	dst[c][y][x] = P[c][y+oy-Pad][x'+ox-Pad],  x' = 31-x if flip else x.
//
// ox = oy = Pad and no flip reproduce normalize.
func augment(dst []float32, src []byte, mean []float32, ox, oy int, flip bool) {
	_ = dst[ImageSize-1]
	_ = src[ImageSize-1]
	_ = mean[ImageSize-1]
	dx, dy := ox-Pad, oy-Pad // source = destination + (dx, dy), before the flip
	// Destination columns x whose source column lies inside the image:
	// without flip sx = x+dx; with flip sx = 31-x+dx.
	x0, x1 := max(0, -dx), min(Width, Width-dx) // unflipped valid range [x0, x1)
	if flip {
		x0, x1 = max(0, dx), min(Width, Width+dx)
	}
	for c := 0; c < Channels; c++ {
		plane := c * Height * Width
		for y := 0; y < Height; y++ {
			row := dst[plane+y*Width : plane+(y+1)*Width]
			sy := y + dy
			if sy < 0 || sy >= Height {
				clear(row)
				continue
			}
			srow := src[plane+sy*Width : plane+(sy+1)*Width]
			mrow := mean[plane+sy*Width : plane+(sy+1)*Width]
			clear(row[:x0])
			clear(row[x1:])
			if !flip {
				for x := x0; x < x1; x++ {
					sx := x + dx
					row[x] = float32(srow[sx])*(1.0/255) - mrow[sx]
				}
			} else {
				for x := x0; x < x1; x++ {
					sx := Width - 1 - x + dx
					row[x] = float32(srow[sx])*(1.0/255) - mrow[sx]
				}
			}
		}
	}
}
