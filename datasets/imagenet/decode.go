package imagenet

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"os"
)

// Image is a decoded picture: 8-bit RGB, row-major, Pix[(y*W+x)*3+c] with
// c = 0 red, 1 green, 2 blue. SrcW x SrcH is the size stored in the file;
// W x H may be smaller when the decoder scaled it down in the DCT domain
// (see Decoder.Decode). All geometry of the augmentations is defined on
// SrcW x SrcH so it does not depend on the decoder.
type Image struct {
	W, H       int
	SrcW, SrcH int
	Pix        []byte
}

// resize prepares img for w x h pixels, reusing its buffer when it can.
func (img *Image) resize(w, h int) {
	img.W, img.H, img.SrcW, img.SrcH = w, h, w, h
	n := 3 * w * h
	if cap(img.Pix) < n {
		img.Pix = make([]byte, n)
	}
	img.Pix = img.Pix[:n]
}

var (
	jpegMagic = []byte{0xff, 0xd8}
	pngMagic  = []byte("\x89PNG\r\n\x1a\n")
)

// errFormat is returned for data that is neither JPEG nor PNG.
var errFormat = errors.New("not a JPEG or PNG file")

// DecodeFile reads and decodes one image file with a fresh Decoder; errors
// name the file. The pool reuses Decoders instead.
func DecodeFile(path string) (*Image, error) {
	d := NewDecoder()
	defer d.Close()
	img, err := d.DecodeFile(path, 0)
	if err != nil {
		return nil, err
	}
	out := *img
	out.Pix = append([]byte(nil), img.Pix...)
	return &out, nil
}

// DecodeFile reads path into the decoder's reusable buffer and decodes it
// (see Decode). Errors name the file.
func (d *Decoder) DecodeFile(path string, minShort int) (*Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("imagenet: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("imagenet: %w", err)
	}
	n := int(st.Size())
	if cap(d.file) < n {
		d.file = make([]byte, n)
	}
	d.file = d.file[:n]
	if _, err := io.ReadFull(f, d.file); err != nil {
		return nil, fmt.Errorf("imagenet: reading %s: %w", path, err)
	}
	img, err := d.Decode(d.file, minShort)
	if err != nil {
		return nil, fmt.Errorf("imagenet: decoding %s: %w", path, err)
	}
	return img, nil
}

// decodeStd decodes JPEG or PNG data (told apart by their magic bytes, not
// by the file name: ILSVRC-2012 has a PNG named .JPEG) with the standard
// library into dst as RGB. Grayscale is replicated to three channels; CMYK
// and YCCK JPEGs (Adobe, stored inverted) become RGB by
// R = (255-C)(255-K)/255 and likewise G from M, B from Y; alpha is dropped.
func decodeStd(data []byte, dst *Image) error {
	var (
		m   image.Image
		err error
	)
	switch {
	case bytes.HasPrefix(data, jpegMagic):
		m, err = jpeg.Decode(bytes.NewReader(data))
	case bytes.HasPrefix(data, pngMagic):
		m, err = png.Decode(bytes.NewReader(data))
	default:
		return errFormat
	}
	if err != nil {
		return err
	}
	toRGB(dst, m)
	return nil
}

// cmykToRGB converts ink amounts (0 = none) to one RGB value, rounding.
func cmykToRGB(c, k byte) byte {
	return byte((uint32(255-c)*uint32(255-k) + 127) / 255)
}

// toRGB converts any decoded image to dst's packed RGB.
func toRGB(dst *Image, m image.Image) {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	dst.resize(w, h)
	p := dst.Pix
	switch m := m.(type) {
	case *image.YCbCr:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				yi := m.YOffset(b.Min.X+x, b.Min.Y+y)
				ci := m.COffset(b.Min.X+x, b.Min.Y+y)
				o := (y*w + x) * 3
				p[o], p[o+1], p[o+2] = color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
			}
		}
	case *image.Gray:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			for x, v := range row {
				o := (y*w + x) * 3
				p[o], p[o+1], p[o+2] = v, v, v
			}
		}
	case *image.CMYK:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			for x := 0; x < w; x++ {
				c, mm, yy, k := row[4*x], row[4*x+1], row[4*x+2], row[4*x+3]
				o := (y*w + x) * 3
				p[o], p[o+1], p[o+2] = cmykToRGB(c, k), cmykToRGB(mm, k), cmykToRGB(yy, k)
			}
		}
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			for x := 0; x < w; x++ {
				o := (y*w + x) * 3
				p[o], p[o+1], p[o+2] = row[4*x], row[4*x+1], row[4*x+2]
			}
		}
	default:
		// Rare types (paletted, 16-bit PNG, RGBA): the generic path. RGBA
		// is premultiplied; converting through NRGBA undoes that.
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				c := color.NRGBAModel.Convert(m.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
				o := (y*w + x) * 3
				p[o], p[o+1], p[o+2] = c.R, c.G, c.B
			}
		}
	}
}
