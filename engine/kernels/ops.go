package kernels

import (
	"fmt"
	"math"

	"github.com/resnet-repro/resnet-repro/engine/tensor"
)

// LinearParams describes a fully connected layer with bias:
// x is (N, In), w is (Out, In), b is (Out), y is (N, Out).
type LinearParams struct{ N, In, Out int }

// MACs is N*In*Out.
func (p LinearParams) MACs() int64 { return int64(p.N) * int64(p.In) * int64(p.Out) }

// LinearForward computes y[n,o] = b[o] + sum_i x[n,i]*w[o,i].
func LinearForward[F tensor.Float](y, x, w, b []F, p LinearParams) {
	checkLen("x", len(x), p.N*p.In)
	checkLen("w", len(w), p.Out*p.In)
	checkLen("b", len(b), p.Out)
	checkLen("y", len(y), p.N*p.Out)
	for n := 0; n < p.N; n++ {
		xn := x[n*p.In : (n+1)*p.In]
		for o := 0; o < p.Out; o++ {
			wo := w[o*p.In : (o+1)*p.In]
			acc := b[o]
			for i, v := range xn {
				acc += v * wo[i]
			}
			y[n*p.Out+o] = acc
		}
	}
}

// LinearBackwardData computes dx[n,i] = sum_o dy[n,o]*w[o,i]; dx is overwritten.
func LinearBackwardData[F tensor.Float](dx, dy, w []F, p LinearParams) {
	checkLen("dx", len(dx), p.N*p.In)
	checkLen("dy", len(dy), p.N*p.Out)
	checkLen("w", len(w), p.Out*p.In)
	for i := range dx {
		dx[i] = 0
	}
	for n := 0; n < p.N; n++ {
		dxn := dx[n*p.In : (n+1)*p.In]
		for o := 0; o < p.Out; o++ {
			g := dy[n*p.Out+o]
			wo := w[o*p.In : (o+1)*p.In]
			for i := range dxn {
				dxn[i] += g * wo[i]
			}
		}
	}
}

// LinearBackwardWeights computes dw[o,i] = sum_n dy[n,o]*x[n,i] and
// db[o] = sum_n dy[n,o]; both are overwritten.
func LinearBackwardWeights[F tensor.Float](dw, db, dy, x []F, p LinearParams) {
	checkLen("dw", len(dw), p.Out*p.In)
	checkLen("db", len(db), p.Out)
	checkLen("dy", len(dy), p.N*p.Out)
	checkLen("x", len(x), p.N*p.In)
	for i := range dw {
		dw[i] = 0
	}
	for i := range db {
		db[i] = 0
	}
	for n := 0; n < p.N; n++ {
		xn := x[n*p.In : (n+1)*p.In]
		for o := 0; o < p.Out; o++ {
			g := dy[n*p.Out+o]
			db[o] += g
			dwo := dw[o*p.In : (o+1)*p.In]
			for i, v := range xn {
				dwo[i] += g * v
			}
		}
	}
}

// BNParams describes batch normalization over (N, C, HW): statistics are per
// channel over the N*HW values of that channel (Ioffe & Szegedy 2015; the
// paper applies BN after every conv, Sec. 3.4).
type BNParams struct {
	N, C, HW int
	Eps      float64 // added to the variance; 1e-5 as in PyTorch and Caffe
}

// BNForwardTrain normalizes with the batch's own statistics:
// mean[c] = avg x, var[c] = avg (x-mean)^2 (biased), invstd[c] = 1/sqrt(var+eps),
// y = gamma*(x-mean)*invstd + beta. It writes mean, variance (biased) and
// invstd for the backward pass and the running averages.
func BNForwardTrain[F tensor.Float](y, mean, variance, invstd, x, gamma, beta []F, p BNParams) {
	checkLen("x", len(x), p.N*p.C*p.HW)
	checkLen("y", len(y), len(x))
	m := float64(p.N * p.HW)
	for c := 0; c < p.C; c++ {
		var sum float64
		for n := 0; n < p.N; n++ {
			for _, v := range x[(n*p.C+c)*p.HW : (n*p.C+c+1)*p.HW] {
				sum += float64(v)
			}
		}
		mu := sum / m
		var sq float64
		for n := 0; n < p.N; n++ {
			for _, v := range x[(n*p.C+c)*p.HW : (n*p.C+c+1)*p.HW] {
				d := float64(v) - mu
				sq += d * d
			}
		}
		va := sq / m
		is := 1 / math.Sqrt(va+p.Eps)
		mean[c], variance[c], invstd[c] = F(mu), F(va), F(is)
		scale := gamma[c] * F(is)
		shift := beta[c] - F(mu)*scale
		for n := 0; n < p.N; n++ {
			o := (n*p.C + c) * p.HW
			for i, v := range x[o : o+p.HW] {
				y[o+i] = v*scale + shift
			}
		}
	}
}

// BNForwardInfer normalizes with running statistics:
// y = gamma*(x-runMean)/sqrt(runVar+eps) + beta.
func BNForwardInfer[F tensor.Float](y, x, gamma, beta, runMean, runVar []F, p BNParams) {
	checkLen("x", len(x), p.N*p.C*p.HW)
	checkLen("y", len(y), len(x))
	for c := 0; c < p.C; c++ {
		scale := gamma[c] / F(math.Sqrt(float64(runVar[c])+p.Eps))
		shift := beta[c] - runMean[c]*scale
		for n := 0; n < p.N; n++ {
			o := (n*p.C + c) * p.HW
			for i, v := range x[o : o+p.HW] {
				y[o+i] = v*scale + shift
			}
		}
	}
}

// BNBackward computes, for training-mode BN with xhat = (x-mean)*invstd and M = N*HW:
// dbeta[c] = sum dy, dgamma[c] = sum dy*xhat,
// dx = gamma*invstd/M * (M*dy - dbeta - xhat*dgamma).
// dx, dgamma and dbeta are overwritten.
func BNBackward[F tensor.Float](dx, dgamma, dbeta, dy, x, gamma, mean, invstd []F, p BNParams) {
	checkLen("x", len(x), p.N*p.C*p.HW)
	checkLen("dy", len(dy), len(x))
	checkLen("dx", len(dx), len(x))
	m := F(p.N * p.HW)
	for c := 0; c < p.C; c++ {
		mu, is := mean[c], invstd[c]
		var sdy, sdyx float64
		for n := 0; n < p.N; n++ {
			o := (n*p.C + c) * p.HW
			for i, g := range dy[o : o+p.HW] {
				sdy += float64(g)
				sdyx += float64(g) * float64((x[o+i]-mu)*is)
			}
		}
		dbeta[c], dgamma[c] = F(sdy), F(sdyx)
		k := gamma[c] * is / m
		for n := 0; n < p.N; n++ {
			o := (n*p.C + c) * p.HW
			for i, g := range dy[o : o+p.HW] {
				xhat := (x[o+i] - mu) * is
				dx[o+i] = k * (m*g - dbeta[c] - xhat*dgamma[c])
			}
		}
	}
}

// ReLUForward computes y = max(0, x). y and x may be the same slice.
func ReLUForward[F tensor.Float](y, x []F) {
	checkLen("y", len(y), len(x))
	for i, v := range x {
		if v > 0 {
			y[i] = v
		} else {
			y[i] = 0
		}
	}
}

// ReLUBackward computes dx = dy where the ReLU's output y > 0, else 0.
// dx and dy may be the same slice.
func ReLUBackward[F tensor.Float](dx, dy, y []F) {
	checkLen("dx", len(dx), len(dy))
	checkLen("y", len(y), len(dy))
	for i, v := range y {
		if v > 0 {
			dx[i] = dy[i]
		} else {
			dx[i] = 0
		}
	}
}

// Add computes y = a + b elementwise; y may alias a or b.
func Add[F tensor.Float](y, a, b []F) {
	checkLen("a", len(a), len(y))
	checkLen("b", len(b), len(y))
	for i := range y {
		y[i] = a[i] + b[i]
	}
}

// PoolParams describes a max pooling window over x (N, C, H, W): kernel
// Size x Size, Stride, zero Pad (padded cells never win the max), output
// (N, C, P, Q) with P = (H + 2*Pad - Size)/Stride + 1. Table 1's pool is
// 3x3, stride 2, pad 1 (112 -> 56).
type PoolParams struct {
	N, C, H, W        int
	Size, Stride, Pad int
}

// P is the output height, Q the output width.
func (p PoolParams) P() int { return (p.H+2*p.Pad-p.Size)/p.Stride + 1 }
func (p PoolParams) Q() int { return (p.W+2*p.Pad-p.Size)/p.Stride + 1 }

// argmaxWindow returns the index in the plane of the largest x in the window
// of output (oh, ow); ties go to the first in row-major order.
func argmaxWindow[F tensor.Float](plane []F, p PoolParams, oh, ow int) int {
	best, bestIdx := F(math.Inf(-1)), -1
	for r := 0; r < p.Size; r++ {
		ih := oh*p.Stride + r - p.Pad
		if ih < 0 || ih >= p.H {
			continue
		}
		for s := 0; s < p.Size; s++ {
			iw := ow*p.Stride + s - p.Pad
			if iw < 0 || iw >= p.W {
				continue
			}
			if v := plane[ih*p.W+iw]; bestIdx < 0 || v > best {
				best, bestIdx = v, ih*p.W+iw
			}
		}
	}
	if bestIdx < 0 {
		panic(fmt.Sprintf("kernels: empty pooling window %+v", p))
	}
	return bestIdx
}

// MaxPoolForward computes y[n,c,p,q] = max over the window of x.
func MaxPoolForward[F tensor.Float](y, x []F, p PoolParams) {
	P, Q := p.P(), p.Q()
	checkLen("x", len(x), p.N*p.C*p.H*p.W)
	checkLen("y", len(y), p.N*p.C*P*Q)
	for nc := 0; nc < p.N*p.C; nc++ {
		plane := x[nc*p.H*p.W : (nc+1)*p.H*p.W]
		for oh := 0; oh < P; oh++ {
			for ow := 0; ow < Q; ow++ {
				y[(nc*P+oh)*Q+ow] = plane[argmaxWindow(plane, p, oh, ow)]
			}
		}
	}
}

// MaxPoolBackward routes each dy to the position of its window's maximum in
// x (recomputed from x rather than stored); dx is overwritten.
func MaxPoolBackward[F tensor.Float](dx, dy, x []F, p PoolParams) {
	P, Q := p.P(), p.Q()
	checkLen("x", len(x), p.N*p.C*p.H*p.W)
	checkLen("dx", len(dx), len(x))
	checkLen("dy", len(dy), p.N*p.C*P*Q)
	for i := range dx {
		dx[i] = 0
	}
	for nc := 0; nc < p.N*p.C; nc++ {
		plane := x[nc*p.H*p.W : (nc+1)*p.H*p.W]
		dplane := dx[nc*p.H*p.W : (nc+1)*p.H*p.W]
		for oh := 0; oh < P; oh++ {
			for ow := 0; ow < Q; ow++ {
				dplane[argmaxWindow(plane, p, oh, ow)] += dy[(nc*P+oh)*Q+ow]
			}
		}
	}
}

// GlobalAvgPoolForward computes y[n,c] = (1/HW) sum_hw x[n,c,h,w];
// x is (N*C) planes of hw values, y has N*C values.
func GlobalAvgPoolForward[F tensor.Float](y, x []F, hw int) {
	checkLen("x", len(x), len(y)*hw)
	inv := 1 / F(hw)
	for i := range y {
		var s F
		for _, v := range x[i*hw : (i+1)*hw] {
			s += v
		}
		y[i] = s * inv
	}
}

// GlobalAvgPoolBackward spreads dy[n,c]/HW over the plane; dx is overwritten.
func GlobalAvgPoolBackward[F tensor.Float](dx, dy []F, hw int) {
	checkLen("dx", len(dx), len(dy)*hw)
	inv := 1 / F(hw)
	for i, g := range dy {
		v := g * inv
		for j := range dx[i*hw : (i+1)*hw] {
			dx[i*hw+j] = v
		}
	}
}

// CrossEntropy is one row's -log softmax(row)[label] = logZ - row[label],
// with logZ = m + log sum_j exp(row[j] - m) and m = max_j row[j] (the shift
// keeps every exp in range); argmax is the first largest logit. Training's
// loss (SoftmaxCrossEntropy) and evaluations share it.
func CrossEntropy[F tensor.Float](row []F, label int) (loss, logZ float64, argmax int) {
	mx := row[0]
	for j, v := range row {
		if v > mx {
			mx, argmax = v, j
		}
	}
	var sum float64
	for _, v := range row {
		sum += math.Exp(float64(v - mx))
	}
	logZ = float64(mx) + math.Log(sum)
	return logZ - float64(row[label]), logZ, argmax
}

// SoftmaxCrossEntropy returns the mean over the batch of
// -log softmax(logits[n])[labels[n]] and writes dlogits = (softmax - onehot)/N,
// the gradient of that mean. logits and dlogits are (N, classes). It also
// returns the number of rows whose argmax is not the label (top-1 errors).
func SoftmaxCrossEntropy[F tensor.Float](dlogits, logits []F, labels []int, classes int) (loss float64, errors int) {
	n := len(labels)
	checkLen("logits", len(logits), n*classes)
	checkLen("dlogits", len(dlogits), n*classes)
	for i, lab := range labels {
		if lab < 0 || lab >= classes {
			panic(fmt.Sprintf("kernels: label %d of row %d outside [0,%d)", lab, i, classes))
		}
		row := logits[i*classes : (i+1)*classes]
		l, logZ, arg := CrossEntropy(row, lab)
		if arg != lab {
			errors++
		}
		loss += l
		drow := dlogits[i*classes : (i+1)*classes]
		for j, v := range row {
			pj := math.Exp(float64(v) - logZ)
			if j == lab {
				pj--
			}
			drow[j] = F(pj / float64(n))
		}
	}
	return loss / float64(n), errors
}
