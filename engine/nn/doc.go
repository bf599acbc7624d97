// Package nn holds the network layers with explicit forward and backward
// passes, generic over the element type (float32 for training, float64 for
// numeric gradient checks; see engine/gradcheck).
//
// Layers (Conv2D, BatchNorm, Linear) work on caller-provided buffers.
// Modules (Stem, Residual, Head) own the activations that backward needs
// and are chained by Network. Memory plan (Sec. 3 of the paper defines the
// blocks; the plan is ours):
//
//   - every module owns its output buffer, so a module's input is the
//     previous module's output and stays intact until Backward;
//   - a residual module keeps its conv outputs (pre-BN), the inner BN+ReLU
//     outputs (the next conv's input, which its weight gradient reads) and
//     its output; the last BN's output is never stored (the block ends in
//     one pass, ReLU(BN(c) + shortcut), BatchNorm.ForwardAddReLU), and the
//     shortcut's output is transient (in training, option A's is not even
//     formed: BatchNorm.ForwardTrainAddShortcutAReLU reads the subsampled
//     input, and the block's input gradient adds the shortcut's gradient
//     as it applies the ReLU mask). The backends' fused BN+ReLU backward
//     recomputes or keeps the ReLU mask itself;
//   - transient buffers (the shortcut output, in-block gradients, the two
//     ping-pong gradient buffers that carry dy between modules) are shared
//     workspace slots, sized once to the largest use and allocated once.
//
// After Build, a training step (Forward, loss, Backward) allocates nothing.
package nn
