//go:build cgo && !noturbojpeg

package imagenet

import (
	"os"
	"testing"
)

// TestTurboAgreesWithStd decodes every sample JPEG with libjpeg-turbo and
// with image/jpeg. Both use an accurate integer IDCT but differ in chroma
// upsampling (libjpeg-turbo's "fancy" triangle filter vs Go's replication),
// so single pixels may differ by several levels at colour edges; the mean
// absolute difference per image must stay below 3 levels (measured on the
// 104 sample images with libjpeg-turbo 2.1.5 and Go 1.26: at most 2.01, on
// n01924916 flatworm, a saturated close-up) and the sizes must match exactly.
func TestTurboAgreesWithStd(t *testing.T) {
	root := requireSample(t)
	ds, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := NewDecoder()
	defer d.Close()
	var std Image
	for _, it := range ds.Val.Items {
		data, err := os.ReadFile(it.Path)
		if err != nil {
			t.Fatal(err)
		}
		if err := decodeStd(data, &std); err != nil {
			t.Fatal(err)
		}
		img, err := d.Decode(data, 0)
		if err != nil {
			t.Fatal(err)
		}
		if img.W != std.W || img.H != std.H {
			t.Fatalf("%s: turbo %dx%d, std %dx%d", it.Path, img.W, img.H, std.W, std.H)
		}
		sum := 0
		for i := range img.Pix {
			d := int(img.Pix[i]) - int(std.Pix[i])
			if d < 0 {
				d = -d
			}
			sum += d
		}
		if mad := float64(sum) / float64(len(img.Pix)); mad > 3 {
			t.Errorf("%s: mean |turbo - std| = %.2f levels", it.Path, mad)
		}
	}
}

// TestTurboScaledDecode checks the DCT-domain downscale: asking for a
// shorter side of at least 100 from a 400x300 JPEG gives the smallest n/8
// scale that keeps it, 3/8 (150x113, since 2/8 would give 75), with the
// stored size kept in SrcW/SrcH.
func TestTurboScaledDecode(t *testing.T) {
	d := NewDecoder()
	defer d.Close()
	img, err := d.Decode(encodeJPEG(t, gradientRGB(400, 300)), 100)
	if err != nil {
		t.Fatal(err)
	}
	if img.W != 150 || img.H != 113 || img.SrcW != 400 || img.SrcH != 300 {
		t.Fatalf("got %dx%d from %dx%d, want 150x113 from 400x300", img.W, img.H, img.SrcW, img.SrcH)
	}
}
