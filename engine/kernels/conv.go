// Package kernels holds the engine's compute kernels as dst-first functions
// on plain []F slices in NCHW layout. Every kernel here is the naive
// reference: written for clarity, used as the oracle in conformance tests and
// as the fallback when no fast backend is available. Fast implementations
// live behind engine/backend and must agree with these.
package kernels

import (
	"fmt"

	"github.com/resnet-repro/resnet-repro/engine/tensor"
)

// ConvParams describes a 2-D convolution without bias (the paper puts BN
// after every conv, so convs carry no bias; Sec. 3.4).
//
//	x is (N, C, H, W), w is (K, C, R, S), y is (N, K, P, Q) with
//	P = (H + 2*Pad - R)/Stride + 1 and Q = (W + 2*Pad - S)/Stride + 1.
//
// Padding is zero padding on every side; stride is the same along H and W.
type ConvParams struct {
	N, C, H, W int // input batch, channels, height, width
	K, R, S    int // output channels (filters), kernel height, kernel width
	Stride     int // >= 1
	Pad        int // >= 0
}

// P is the output height.
func (p ConvParams) P() int { return (p.H+2*p.Pad-p.R)/p.Stride + 1 }

// Q is the output width.
func (p ConvParams) Q() int { return (p.W+2*p.Pad-p.S)/p.Stride + 1 }

// XSize, WSize and YSize are the element counts of input, weights and output.
func (p ConvParams) XSize() int { return p.N * p.C * p.H * p.W }
func (p ConvParams) WSize() int { return p.K * p.C * p.R * p.S }
func (p ConvParams) YSize() int { return p.N * p.K * p.P() * p.Q() }

// MACs is the number of multiply-adds of one forward pass,
// N*K*P*Q*C*R*S (the paper's "FLOPs", Sec. 3.3).
func (p ConvParams) MACs() int64 {
	return int64(p.N) * int64(p.K) * int64(p.P()) * int64(p.Q()) * int64(p.C) * int64(p.R) * int64(p.S)
}

// String names the shape like the benchmarks do: 3x3_64_8x8_s1_b128 (kernel,
// filters, input spatial size, stride, batch) with the input channels.
func (p ConvParams) String() string {
	return fmt.Sprintf("%dx%d_%dto%d_%dx%d_s%d_b%d", p.R, p.S, p.C, p.K, p.H, p.W, p.Stride, p.N)
}

// Validate panics if the parameters cannot describe a convolution; shapes
// inside the engine are programmer-controlled.
func (p ConvParams) Validate() {
	if p.N <= 0 || p.C <= 0 || p.H <= 0 || p.W <= 0 || p.K <= 0 || p.R <= 0 || p.S <= 0 || p.Stride <= 0 || p.Pad < 0 || p.P() <= 0 || p.Q() <= 0 {
		panic(fmt.Sprintf("kernels: invalid conv params %+v", p))
	}
}

func checkLen(name string, got, want int) {
	if got != want {
		panic(fmt.Sprintf("kernels: %s has %d elements, want %d", name, got, want))
	}
}

// ConvForward computes y[n,k,p,q] = sum_{c,r,s} w[k,c,r,s] * x[n,c,p*st+r-pad,q*st+s-pad],
// with out-of-range x read as zero. y is overwritten.
func ConvForward[F tensor.Float](y, x, w []F, p ConvParams) {
	p.Validate()
	checkLen("x", len(x), p.XSize())
	checkLen("w", len(w), p.WSize())
	checkLen("y", len(y), p.YSize())
	P, Q := p.P(), p.Q()
	for i := range y {
		y[i] = 0
	}
	for n := 0; n < p.N; n++ {
		for k := 0; k < p.K; k++ {
			yk := y[(n*p.K+k)*P*Q : (n*p.K+k+1)*P*Q]
			for c := 0; c < p.C; c++ {
				xc := x[(n*p.C+c)*p.H*p.W : (n*p.C+c+1)*p.H*p.W]
				for r := 0; r < p.R; r++ {
					for s := 0; s < p.S; s++ {
						wv := w[((k*p.C+c)*p.R+r)*p.S+s]
						for oh := 0; oh < P; oh++ {
							ih := oh*p.Stride + r - p.Pad
							if ih < 0 || ih >= p.H {
								continue
							}
							xrow := xc[ih*p.W : (ih+1)*p.W]
							yrow := yk[oh*Q : (oh+1)*Q]
							for ow := 0; ow < Q; ow++ {
								iw := ow*p.Stride + s - p.Pad
								if iw < 0 || iw >= p.W {
									continue
								}
								yrow[ow] += wv * xrow[iw]
							}
						}
					}
				}
			}
		}
	}
}

// ConvBackwardData computes dx = dL/dx given dy = dL/dy:
// dx[n,c,h,w] = sum over (k,r,s,p,q) with h = p*st+r-pad, w = q*st+s-pad of w[k,c,r,s]*dy[n,k,p,q].
// dx is overwritten.
func ConvBackwardData[F tensor.Float](dx, dy, w []F, p ConvParams) {
	p.Validate()
	checkLen("dx", len(dx), p.XSize())
	checkLen("w", len(w), p.WSize())
	checkLen("dy", len(dy), p.YSize())
	P, Q := p.P(), p.Q()
	for i := range dx {
		dx[i] = 0
	}
	for n := 0; n < p.N; n++ {
		for k := 0; k < p.K; k++ {
			dyk := dy[(n*p.K+k)*P*Q : (n*p.K+k+1)*P*Q]
			for c := 0; c < p.C; c++ {
				dxc := dx[(n*p.C+c)*p.H*p.W : (n*p.C+c+1)*p.H*p.W]
				for r := 0; r < p.R; r++ {
					for s := 0; s < p.S; s++ {
						wv := w[((k*p.C+c)*p.R+r)*p.S+s]
						for oh := 0; oh < P; oh++ {
							ih := oh*p.Stride + r - p.Pad
							if ih < 0 || ih >= p.H {
								continue
							}
							dxrow := dxc[ih*p.W : (ih+1)*p.W]
							dyrow := dyk[oh*Q : (oh+1)*Q]
							for ow := 0; ow < Q; ow++ {
								iw := ow*p.Stride + s - p.Pad
								if iw < 0 || iw >= p.W {
									continue
								}
								dxrow[iw] += wv * dyrow[ow]
							}
						}
					}
				}
			}
		}
	}
}

// ConvBackwardWeights computes dw = dL/dw given dy and the forward input x:
// dw[k,c,r,s] = sum_{n,p,q} dy[n,k,p,q] * x[n,c,p*st+r-pad,q*st+s-pad].
// dw is overwritten (each weight is used once per step, so there is nothing
// to accumulate across calls).
func ConvBackwardWeights[F tensor.Float](dw, dy, x []F, p ConvParams) {
	p.Validate()
	checkLen("x", len(x), p.XSize())
	checkLen("dw", len(dw), p.WSize())
	checkLen("dy", len(dy), p.YSize())
	P, Q := p.P(), p.Q()
	for i := range dw {
		dw[i] = 0
	}
	for n := 0; n < p.N; n++ {
		for k := 0; k < p.K; k++ {
			dyk := dy[(n*p.K+k)*P*Q : (n*p.K+k+1)*P*Q]
			for c := 0; c < p.C; c++ {
				xc := x[(n*p.C+c)*p.H*p.W : (n*p.C+c+1)*p.H*p.W]
				for r := 0; r < p.R; r++ {
					for s := 0; s < p.S; s++ {
						var acc F
						for oh := 0; oh < P; oh++ {
							ih := oh*p.Stride + r - p.Pad
							if ih < 0 || ih >= p.H {
								continue
							}
							xrow := xc[ih*p.W : (ih+1)*p.W]
							dyrow := dyk[oh*Q : (oh+1)*Q]
							for ow := 0; ow < Q; ow++ {
								iw := ow*p.Stride + s - p.Pad
								if iw < 0 || iw >= p.W {
									continue
								}
								acc += dyrow[ow] * xrow[iw]
							}
						}
						dw[((k*p.C+c)*p.R+r)*p.S+s] += acc
					}
				}
			}
		}
	}
}
