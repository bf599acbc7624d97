// Package backend is the seam between the engine's layers (engine/nn) and
// the code that does the arithmetic. A Backend plans one operation per shape
// (NewConv, NewBatchNorm, ...) once, at model build; the returned operation
// is then called every step and must not allocate per call.
//
// # Layout contract
//
// Activations (everything between the model's input and its global average
// pooling: conv inputs/outputs, BN, ReLU, residual adds, max pooling and
// their gradients) live in the backend's own layout. A layer must treat an
// activation buffer as opaque: allocate ActLen(s) float32s for it, pass it to
// backend operations, and convert with ToAct/FromAct only at the boundary
// (the input image batch, and debugging/tests). The reference backend's
// layout is plain NCHW (ActLen = N*C*H*W); the oneDNN backend uses nChw16c
// (channels in blocks of 16, ActLen = N*ceil(C/16)*16*H*W, padding channels
// zero). Every backend operation keeps padding channels zero, so ReLU, Add
// and the optimizer-free elementwise ops may run over the whole buffer.
//
// Parameters and their gradients (conv weights KCRS, BN gamma/beta/mean/
// variance (C), FC weights (Out, In) and bias) and the FC input/output and
// GlobalAvgPool output (N, C) are always plain row-major, in every backend.
//
// Reference() is the pure-Go backend: the naive kernels of engine/kernels,
// split over the batch across goroutines. It is the oracle for the
// conformance suite and the fallback when no fast backend is built in.
//
// # What a layer calls (engine/nn)
//
// At model build, for one (model, batch): choose the backend once
// (engine/backend/choose.New(name, threads)), plan one op per layer
// (NewConv, NewBatchNorm with ReLU set when a ReLU directly follows the BN,
// NewMaxPool, NewLinear), and allocate every activation and gradient buffer
// with ActLen of its logical shape. Allocate once and reuse: first writes to
// fresh memory are slow on these VMs and a step must not allocate. Close the
// backend when the model is dropped.
//
// Per training step, for a CIFAR basic block y = ReLU(F(x) + shortcut(x))
// with F = conv1, BN1+ReLU (fused), conv2, BN2 (Sec. 3.2, Fig. 2):
//
//	forward
//	  conv1.Forward(c1, x, w1)
//	  bn1.ForwardTrain(h, m1, v1, c1, g1, b1)        // h = ReLU(BN(c1)), fused
//	  conv2.Forward(c2, h, w2)
//	  bn2.ForwardTrain(t, m2, v2, c2, g2, b2)
//	  identity: be.AddReLU(y, t, x)
//	  option A: be.ShortcutAForward(s, x, pa); be.AddReLU(y, t, s)
//	backward (dy is the gradient of y)
//	  be.ReLUBackward(dt, dy, y)                       // dt is also d(shortcut)
//	  bn2.Backward(dc2, dg2, db2, dt, c2, g2, b2, m2, v2)
//	  conv2.BackwardData(dh, dc2, w2); conv2.BackwardWeights(dw2, dc2, h)
//	  bn1.Backward(dc1, dg1, db1, dh, c1, g1, b1, m1, v1) // ReLU mask inside
//	  conv1.BackwardData(dx, dc1, w1); conv1.BackwardWeights(dw1, dc1, x)
//	  identity: be.Add(dx, dx, dt)
//	  option A: be.ShortcutABackward(ds, dt, pa); be.Add(dx, dx, ds)
//
// Kept for backward per block: x, c1, h, c2 and y (y is the next block's x);
// t and the BN+ReLU masks need not be kept (the oneDNN backend holds the
// fused ReLU's mask as a bit workspace inside bn1; the reference recomputes
// it). The model's input is converted once with ToAct; the head is
// be.GlobalAvgPoolForward (activation -> plain (N, C)), Linear and
// kernels.SoftmaxCrossEntropy on plain slices; its backward is
// Linear.BackwardData then be.GlobalAvgPoolBackward. ImageNet models add
// the stem (conv 7x7/2 on the ToAct'ed image, BN+ReLU, MaxPool 3x3/2) and
// projection shortcuts (a 1x1 Conv plus a BatchNorm without ReLU).
// Inference uses BatchNorm.ForwardInfer with the running statistics.
//
// Determinism: for a fixed thread count every op here gives bit-identical
// results run to run (oneDNN's reductions have a fixed order per thread
// count; the reference splits work over a fixed partition).
package backend
