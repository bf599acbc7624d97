package imagenet

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// samplePath is the shared sample of real ImageNet validation JPEGs, relative
// to this package (repo root at ../.., shared/ beside the repo root).
const samplePath = "../../../shared/datasets/imagenet-sample"

// requireSample fails the test loudly when the shared sample is absent.
func requireSample(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(samplePath, "classes.tsv")); err != nil {
		t.Fatalf("shared ImageNet sample missing (%v): tests need ../shared/datasets/imagenet-sample beside the repo root", err)
	}
	return samplePath
}

// writeFile writes data to dir/rel, creating folders.
func writeFile(t testing.TB, dir, rel string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// gradientRGB is a w x h RGB test picture whose colour varies smoothly (so
// JPEG keeps it well): R = x·200/w + 20, G = y·200/h + 20, B = 128.
func gradientRGB(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m.Set(x, y, color.RGBA{uint8(x*200/w + 20), uint8(y*200/h + 20), 128, 255})
		}
	}
	return m
}

func encodeJPEG(t testing.TB, m image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func encodePNG(t testing.TB, m image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// cmykJPEG encodes a baseline 4-component Adobe CMYK JPEG (APP14 transform
// 0, values stored inverted: 255 = no ink) of 8x8 blocks, each a flat
// colour, one row of len(inks) blocks. The Go encoder writes no CMYK, so
// this writes the few markers by hand: quantisation all 1s, a DC Huffman
// table coding categories 0-11 with 4-bit codes and an AC table holding
// only end-of-block. A flat block of stored value v has the DC coefficient
// 8(v-128) (JPEG's FDCT: F00 = (1/8)·Σf) and no AC terms, so it decodes
// back to exactly v.
func cmykJPEG(inks [][4]uint8) []byte {
	var out bytes.Buffer
	marker := func(m byte, payload []byte) {
		out.Write([]byte{0xff, m, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)})
		out.Write(payload)
	}
	out.Write([]byte{0xff, 0xd8})
	marker(0xee, []byte{'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, 0}) // transform 0: CMYK
	dqt := append([]byte{0x00}, bytes.Repeat([]byte{1}, 64)...)
	marker(0xdb, dqt)
	w, h := 8*len(inks), 8
	sof := []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), 4}
	for c := 1; c <= 4; c++ {
		sof = append(sof, byte(c), 0x11, 0)
	}
	marker(0xc0, sof)
	dc := []byte{0x00, 0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	for s := 0; s < 12; s++ {
		dc = append(dc, byte(s))
	}
	marker(0xc4, dc)
	marker(0xc4, []byte{0x10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00})
	sos := []byte{4}
	for c := 1; c <= 4; c++ {
		sos = append(sos, byte(c), 0x00)
	}
	sos = append(sos, 0, 63, 0)
	marker(0xda, sos)

	var bits uint64
	var nbits uint
	var scan []byte
	put := func(v uint64, n uint) {
		bits = bits<<n | (v & (1<<n - 1))
		nbits += n
		for nbits >= 8 {
			b := byte(bits >> (nbits - 8))
			scan = append(scan, b)
			if b == 0xff {
				scan = append(scan, 0) // byte stuffing
			}
			nbits -= 8
		}
	}
	var pred [4]int
	for _, ink := range inks {
		for c := 0; c < 4; c++ {
			stored := 255 - int(ink[c])
			dcv := 8 * (stored - 128)
			diff := dcv - pred[c]
			pred[c] = dcv
			mag, s := diff, uint(0)
			if mag < 0 {
				mag = -mag
			}
			for mag>>s != 0 {
				s++
			}
			put(uint64(s), 4) // category s has the 4-bit code s
			if s > 0 {
				v := diff
				if v < 0 {
					v += 1<<s - 1
				}
				put(uint64(v), s)
			}
			put(0, 1) // EOB
		}
	}
	if nbits > 0 {
		put(1<<(8-nbits)-1, 8-nbits) // pad with 1s
	}
	out.Write(scan)
	out.Write([]byte{0xff, 0xd9})
	return out.Bytes()
}

// cmykInks are the blocks of the CMYK fixture and the RGB each must decode
// to by R = (255-C)(255-K)/255 (likewise G from M, B from Y), rounded.
var cmykInks = []struct {
	ink [4]uint8
	rgb [3]uint8
}{
	{[4]uint8{0, 0, 0, 0}, [3]uint8{255, 255, 255}},    // no ink: white
	{[4]uint8{255, 0, 0, 0}, [3]uint8{0, 255, 255}},    // full cyan
	{[4]uint8{0, 255, 255, 0}, [3]uint8{255, 0, 0}},    // magenta + yellow: red
	{[4]uint8{0, 0, 0, 255}, [3]uint8{0, 0, 0}},        // full black
	{[4]uint8{0, 0, 128, 128}, [3]uint8{127, 127, 63}}, // 127·255/255, 127·127/255 = 63.25
	{[4]uint8{64, 32, 16, 200}, [3]uint8{42, 48, 52}},  // 191·55/255=41.2, 223·55/255=48.1, 239·55/255=51.5
}

func cmykFixture() []byte {
	inks := make([][4]uint8, len(cmykInks))
	for i, c := range cmykInks {
		inks[i] = c.ink
	}
	return cmykJPEG(inks)
}

// fixtureTree writes a small ILSVRC layout under a temp dir: train/ with
// three classes (one image of them a PNG named .JPEG, one grayscale, one
// CMYK) and returns the root. Sizes vary so shorter sides differ.
var fixtureWnids = []string{"n01440764", "n01443537", "n01484850"}

func fixtureTree(t testing.TB) string {
	t.Helper()
	root := t.TempDir()
	for c, w := range fixtureWnids {
		for i := 0; i < 4; i++ {
			m := gradientRGB(60+10*i+c, 50+7*i)
			data := encodeJPEG(t, m)
			switch {
			case c == 1 && i == 0:
				data = encodePNG(t, m)
			case c == 2 && i == 1:
				g := image.NewGray(m.Bounds())
				for j := range g.Pix {
					g.Pix[j] = uint8(j % 251)
				}
				data = encodeJPEG(t, g)
			case c == 0 && i == 3:
				data = cmykFixture()
			}
			writeFile(t, root, fmt.Sprintf("train/%s/%s_%d.JPEG", w, w, i), data)
		}
	}
	return root
}
