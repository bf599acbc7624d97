package imagenet

import (
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDecodeCMYK(t *testing.T) {
	for _, name := range []string{"std", "build"} {
		var img *Image
		data := cmykFixture()
		if name == "std" {
			img = &Image{}
			if err := decodeStd(data, img); err != nil {
				t.Fatalf("std: %v", err)
			}
		} else {
			d := NewDecoder()
			defer d.Close()
			var err error
			if img, err = d.Decode(data, 0); err != nil {
				t.Fatalf("%s: %v", DecoderName, err)
			}
		}
		if img.W != 8*len(cmykInks) || img.H != 8 {
			t.Fatalf("%s: size %dx%d, want %dx8", name, img.W, img.H, 8*len(cmykInks))
		}
		for i, c := range cmykInks {
			for _, xy := range [][2]int{{8 * i, 0}, {8*i + 7, 7}, {8*i + 3, 4}} {
				o := (xy[1]*img.W + xy[0]) * 3
				for ch := 0; ch < 3; ch++ {
					// Tolerance 1: the inverse DCT of a DC-only block may round either way.
					if d := int(img.Pix[o+ch]) - int(c.rgb[ch]); d < -1 || d > 1 {
						t.Errorf("%s: block %d (ink %v) pixel %v channel %d = %d, want %d±1", name, i, c.ink, xy, ch, img.Pix[o+ch], c.rgb[ch])
					}
				}
			}
		}
	}
}

func TestDecodeOddities(t *testing.T) {
	rgb := gradientRGB(40, 30)
	gray := image.NewGray(image.Rect(0, 0, 20, 10))
	for i := range gray.Pix {
		gray.Pix[i] = uint8(10 * (i % 20)) // horizontal ramp 0..190
	}
	cases := []struct {
		name string
		data []byte
		w, h int
		// check compares the decoded pixel (x, y) with what the source holds.
		want func(x, y int) [3]uint8
		tol  int
	}{
		// PNG is lossless: exact.
		{"png named .JPEG", encodePNG(t, rgb), 40, 30, func(x, y int) [3]uint8 {
			c := rgb.RGBAAt(x, y)
			return [3]uint8{c.R, c.G, c.B}
		}, 0},
		// Quality-95 JPEG of a smooth gradient: within a few levels (measured max 3).
		{"rgb jpeg", encodeJPEG(t, rgb), 40, 30, func(x, y int) [3]uint8 {
			c := rgb.RGBAAt(x, y)
			return [3]uint8{c.R, c.G, c.B}
		}, 6},
		{"grayscale jpeg", encodeJPEG(t, gray), 20, 10, func(x, y int) [3]uint8 {
			v := gray.GrayAt(x, y).Y
			return [3]uint8{v, v, v}
		}, 6},
	}
	d := NewDecoder()
	defer d.Close()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img, err := d.Decode(c.data, 0)
			if err != nil {
				t.Fatal(err)
			}
			if img.W != c.w || img.H != c.h || img.SrcW != c.w || img.SrcH != c.h || len(img.Pix) != 3*c.w*c.h {
				t.Fatalf("got %dx%d (src %dx%d, %d bytes), want %dx%d", img.W, img.H, img.SrcW, img.SrcH, len(img.Pix), c.w, c.h)
			}
			for y := 0; y < c.h; y++ {
				for x := 0; x < c.w; x++ {
					want := c.want(x, y)
					for ch := 0; ch < 3; ch++ {
						got := int(img.Pix[(y*c.w+x)*3+ch])
						if got-int(want[ch]) > c.tol || int(want[ch])-got > c.tol {
							t.Fatalf("pixel (%d,%d) channel %d = %d, want %d±%d", x, y, ch, got, want[ch], c.tol)
						}
					}
				}
			}
		})
	}
}

func TestDecodeErrorsNameFile(t *testing.T) {
	dir := t.TempDir()
	good := encodeJPEG(t, gradientRGB(64, 48))
	cases := []struct {
		name, file string
		data       []byte
		want       string
	}{
		{"truncated", "trunc.JPEG", good[:len(good)/2], "trunc.JPEG"},
		{"cut after header", "hdr.JPEG", good[:200], "hdr.JPEG"},
		{"not an image", "text.JPEG", []byte("hello, not a picture"), "not a JPEG or PNG"},
		{"empty", "empty.JPEG", nil, "empty.JPEG"},
		{"png truncated", "p.JPEG", encodePNG(t, gradientRGB(30, 30))[:60], "p.JPEG"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeFile(t, dir, c.file, c.data)
			_, err := DecodeFile(p)
			if err == nil {
				t.Fatalf("decoding %s succeeded", c.name)
			}
			if !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not name %s / say %q", err, p, c.want)
			}
		})
	}
	if _, err := DecodeFile(filepath.Join(dir, "absent.JPEG")); err == nil || !strings.Contains(err.Error(), "absent.JPEG") {
		t.Fatalf("missing file: error %v does not name it", err)
	}
}

// jpegComponents reads the component count from a JPEG's first SOF marker
// (an independent check of what the decoder should produce).
func jpegComponents(t *testing.T, data []byte) int {
	t.Helper()
	for i := 2; i+9 < len(data); {
		if data[i] != 0xff {
			t.Fatalf("marker expected at byte %d", i)
		}
		m := data[i+1]
		n := int(data[i+2])<<8 | int(data[i+3])
		if m >= 0xc0 && m <= 0xc2 {
			return int(data[i+9])
		}
		i += 2 + n
	}
	t.Fatal("no SOF marker")
	return 0
}

// TestDecodeSample decodes every real JPEG of the shared sample. The
// grayscale ones (one component in the SOF header) must come out as three
// equal channels, the colour ones not. The README names four grayscale
// classes (402, 438, 562, 634); they must be among them. (The sample holds a
// fifth, class 710 pencil sharpener, which the README does not list.)
func TestDecodeSample(t *testing.T) {
	root := requireSample(t)
	ds, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	readmeGray := map[int]bool{402: true, 438: true, 562: true, 634: true} // README.md
	d := NewDecoder()
	defer d.Close()
	nGray := 0
	for _, it := range ds.Val.Items {
		data, err := os.ReadFile(it.Path)
		if err != nil {
			t.Fatal(err)
		}
		wantGray := jpegComponents(t, data) == 1
		if readmeGray[it.Label] && !wantGray {
			t.Errorf("%s: README says grayscale, header has more than one component", it.Path)
		}
		img, err := d.DecodeFile(it.Path, 0)
		if err != nil {
			t.Fatal(err)
		}
		if img.W < 50 || img.H < 50 || img.W > 2000 || img.H > 2000 { // README: about 100x100 to 1836x1377
			t.Errorf("%s: implausible size %dx%d", it.Path, img.W, img.H)
		}
		gray := true
		for i := 0; i < len(img.Pix); i += 3 {
			if img.Pix[i] != img.Pix[i+1] || img.Pix[i] != img.Pix[i+2] {
				gray = false
				break
			}
		}
		if gray != wantGray {
			t.Errorf("%s (class %d): all channels equal = %v, want %v", it.Path, it.Label, gray, wantGray)
		}
		if wantGray {
			nGray++
		}
	}
	if nGray < len(readmeGray) {
		t.Errorf("%d grayscale images, README lists %d", nGray, len(readmeGray))
	}
}

func BenchmarkDecodeSample(b *testing.B) {
	root := requireSample(b)
	ds, err := Open(root, Options{})
	if err != nil {
		b.Fatal(err)
	}
	var files [][]byte
	for _, it := range ds.Val.Items {
		data, err := os.ReadFile(it.Path)
		if err != nil {
			b.Fatal(err)
		}
		files = append(files, data)
	}
	b.Run("std", func(b *testing.B) {
		var img Image
		for i := 0; i < b.N; i++ {
			if err := decodeStd(files[i%len(files)], &img); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
	})
	b.Run("build="+strings.Fields(DecoderName)[0], func(b *testing.B) {
		d := NewDecoder()
		defer d.Close()
		for i := 0; i < b.N; i++ {
			if _, err := d.Decode(files[i%len(files)], 0); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
	})
}
