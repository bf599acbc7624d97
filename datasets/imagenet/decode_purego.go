//go:build !cgo || noturbojpeg

package imagenet

// DecoderName names the JPEG decoder this build uses.
const DecoderName = "image/jpeg (pure Go)"

// Decoder decodes images into a reusable buffer; one per goroutine.
type Decoder struct {
	img  Image
	file []byte
}

// NewDecoder returns a Decoder; Close releases it.
func NewDecoder() *Decoder { return &Decoder{} }

// Close releases the decoder's resources.
func (d *Decoder) Close() {}

// Decode decodes JPEG or PNG data to RGB. The result is owned by the
// decoder and valid until its next Decode. minShort is a hint that the
// caller needs a shorter side of at least minShort pixels; this pure-Go
// build always decodes at full size.
func (d *Decoder) Decode(data []byte, minShort int) (*Image, error) {
	if err := decodeStd(data, &d.img); err != nil {
		return nil, err
	}
	return &d.img, nil
}
