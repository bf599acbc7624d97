package models

// The parts of a network definition (Def), in plain types: the engine's
// network builder (package netbuild) turns them into modules, and reports
// and analytics read them without the engine.

// ShortcutKind is what a block adds to its residual branch's output
// (Sec. 3.3, options A/B/C).
type ShortcutKind int

const (
	// ShortcutNone: a plain block, no shortcut (the "plain" baselines).
	ShortcutNone ShortcutKind = iota
	// ShortcutIdentity: x is added unchanged (shapes match).
	ShortcutIdentity
	// ShortcutZeroPad is option A on a shape change: take every
	// ShortcutStride-th pixel of x and append zero channels after the
	// identity channels.
	ShortcutZeroPad
	// ShortcutProjection: a 1x1 conv (stride ShortcutStride) followed by BN,
	// named "<block>.downsample.0" and "<block>.downsample.1" (options B
	// and C).
	ShortcutProjection
)

func (k ShortcutKind) String() string {
	return [...]string{"none", "identity", "zero-pad", "projection"}[k]
}

// ConvBN is one conv of a block's residual branch and the BN after it.
type ConvBN struct {
	Conv, BN          string // names, e.g. "conv1" and "bn1"
	K, R, Stride, Pad int    // filters, kernel size (R x R), stride, padding
}

// BlockDef is a block y = ReLU(F(x) + shortcut(x)) whose branch F is
// conv-BN-ReLU ... conv-BN (two 3x3 convs for the basic block, 1x1-3x3-1x1
// for the bottleneck; Fig. 5); a plain block has no shortcut: y = ReLU(F(x)).
type BlockDef struct {
	Name           string // parameter prefix, e.g. "layer2.0"
	N, C, H, W     int    // input shape (N: 1 in a Def; the builder sets the batch)
	Branch         []ConvBN
	Shortcut       ShortcutKind
	ShortcutStride int // stride of the zero-pad subsampling or projection
}

// StemDef is the first conv-BN-ReLU (and, on ImageNet, the 3x3/2 max pool;
// Table 1) on (N, C, H, W) images.
type StemDef struct {
	N, C, H, W        int
	K, R, Stride, Pad int
	Pool              bool // 3x3 max pool, stride 2, pad 1
}
