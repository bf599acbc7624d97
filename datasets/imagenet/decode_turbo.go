//go:build cgo && !noturbojpeg

package imagenet

/*
#cgo LDFLAGS: -lturbojpeg
#include <turbojpeg.h>
*/
import "C"

import (
	"bytes"
	"unsafe"
)

// DecoderName names the JPEG decoder this build uses.
const DecoderName = "libjpeg-turbo (TurboJPEG API via cgo)"

// Decoder decodes images into a reusable buffer; one per goroutine (a
// TurboJPEG handle is not safe for concurrent use).
type Decoder struct {
	h    C.tjhandle
	img  Image
	cmyk []byte
	file []byte
}

// NewDecoder returns a Decoder; Close releases it.
func NewDecoder() *Decoder {
	h := C.tjInitDecompress()
	if h == nil {
		panic("imagenet: tjInitDecompress failed (out of memory)")
	}
	return &Decoder{h: h}
}

// Close releases the TurboJPEG handle.
func (d *Decoder) Close() {
	if d.h != nil {
		C.tjDestroy(d.h)
		d.h = nil
	}
}

// Decode decodes JPEG or PNG data to RGB. The result is owned by the
// decoder and valid until its next Decode.
//
// JPEGs go through libjpeg-turbo (accurate integer IDCT). When minShort > 0
// the JPEG is decoded at the smallest DCT scaling factor n/8 whose shorter
// side is still >= minShort (a cheap, alias-free downscale that speeds up
// the reduced-resolution proxies); Image.SrcW/SrcH keep the stored size.
// Anything libjpeg-turbo refuses or warns about (truncated data, corrupt
// markers, a 4-component JPEG it cannot convert) is retried with the
// standard library, so this build accepts and rejects the same files as the
// pure-Go one. PNG data always goes to the standard library.
func (d *Decoder) Decode(data []byte, minShort int) (*Image, error) {
	if bytes.HasPrefix(data, jpegMagic) && d.decodeTurbo(data, minShort) {
		return &d.img, nil
	}
	if err := decodeStd(data, &d.img); err != nil {
		return nil, err
	}
	return &d.img, nil
}

// scaled is TJSCALED: ceil(dim * num / denom).
func scaled(dim int, f C.tjscalingfactor) int {
	return (dim*int(f.num) + int(f.denom) - 1) / int(f.denom)
}

// decodeTurbo decodes into d.img and reports success.
func (d *Decoder) decodeTurbo(data []byte, minShort int) bool {
	src := (*C.uchar)(unsafe.Pointer(&data[0]))
	size := C.ulong(len(data))
	var w, h, subsamp, cs C.int
	if C.tjDecompressHeader3(d.h, src, size, &w, &h, &subsamp, &cs) != 0 || w <= 0 || h <= 0 {
		return false
	}
	sw, sh := int(w), int(h)
	dw, dh := sw, sh
	if minShort > 0 {
		var n C.int
		factors := C.tjGetScalingFactors(&n)
		for _, f := range unsafe.Slice(factors, int(n)) {
			if f.num >= f.denom {
				continue // upscaling
			}
			fw, fh := scaled(sw, f), scaled(sh, f)
			if min(fw, fh) >= minShort && fw*fh < dw*dh {
				dw, dh = fw, fh
			}
		}
	}
	d.img.resize(dw, dh)
	d.img.SrcW, d.img.SrcH = sw, sh
	flags := C.int(C.TJFLAG_STOPONWARNING)
	if cs == C.TJCS_CMYK || cs == C.TJCS_YCCK {
		n := 4 * dw * dh
		if cap(d.cmyk) < n {
			d.cmyk = make([]byte, n)
		}
		d.cmyk = d.cmyk[:n]
		if C.tjDecompress2(d.h, src, size, (*C.uchar)(unsafe.Pointer(&d.cmyk[0])), C.int(dw), 0, C.int(dh), C.TJPF_CMYK, flags) != 0 {
			return false
		}
		// libjpeg returns the stored (Adobe-inverted, 255 = no ink) values;
		// ink = 255 - stored, as in decodeStd.
		p := d.img.Pix
		for i := 0; i < dw*dh; i++ {
			c, m, y, k := d.cmyk[4*i], d.cmyk[4*i+1], d.cmyk[4*i+2], d.cmyk[4*i+3]
			p[3*i], p[3*i+1], p[3*i+2] = cmykToRGB(255-c, 255-k), cmykToRGB(255-m, 255-k), cmykToRGB(255-y, 255-k)
		}
		return true
	}
	return C.tjDecompress2(d.h, src, size, (*C.uchar)(unsafe.Pointer(&d.img.Pix[0])), C.int(dw), 0, C.int(dh), C.TJPF_RGB, flags) == 0
}
