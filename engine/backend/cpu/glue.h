// glue.h: the C side of package cpu. Every plan owns its oneDNN
// primitives, memory objects and internal buffers; the Go side passes raw
// float pointers per call. Every entry point first sets the OpenMP thread
// count of the calling OS thread (see rr_ctx.nthreads).
#ifndef RR_GLUE_H
#define RR_GLUE_H
#include <stddef.h>

typedef struct rr_ctx rr_ctx;
typedef struct rr_conv rr_conv;
typedef struct rr_bn rr_bn;
typedef struct rr_pool rr_pool;

// Layout tags for activations handed across the boundary.
enum { RR_NCHW = 0, RR_NCHW16C = 1 };
// Convolution algorithms.
enum { RR_DIRECT = 0, RR_WINOGRAD = 1, RR_AUTO = 2, RR_OWN16 = 3, RR_OWN16W = 4 };

rr_ctx *rr_ctx_new(int nthreads, char *err, int errlen);
void rr_ctx_free(rr_ctx *c);
int rr_ctx_threads(rr_ctx *c);
// Shared by glue.c, conv16.c and bnadd.c: 64-byte-aligned, zeroed memory
// touched at plan time (NULL for n == 0), and whether the CPU has AVX-512F
// (our own kernels need it).
void *rr_alloc_touch(size_t n);
// rr_ctx_own_scratch returns the arena of at least n bytes that all of the
// context's own conv kernels share (ops run one at a time per context, and
// they recompute every byte they read from it per call, except zero
// borders). Plans call it when created, so it grows only then (NULL: out of
// memory). tag names the layout of the zero borders (the image size): when
// it differs from the last call's, the first n bytes are zeroed again.
void *rr_ctx_own_scratch(rr_ctx *c, size_t n, long tag);
int rr_avx512_supported(void);
// rr_ctx_bn_scratch is the same for our own batch norms' per-call sums
// (no zero borders: every call writes what it reads).
void *rr_ctx_bn_scratch(rr_ctx *c, size_t n);
// rr_ctx_times writes the seconds spent in primitives, activation reorders
// and weight reorders since the last reset (reset != 0 zeroes them).
void rr_ctx_times(rr_ctx *c, double *out, int reset);

// Convolution. src_layout/dst_layout are RR_NCHW or RR_NCHW16C. native=1
// forces the primitive to use the user layouts (no reorders; for
// measurements), native=0 lets oneDNN pick and reorders around it.
rr_conv *rr_conv_new(rr_ctx *c, int N, int C, int H, int W, int K, int R, int S,
                     int stride, int pad, int src_layout, int dst_layout, int native,
                     const int *algo /* [3]: forward, backward data, backward weights */,
                     char *err, int errlen);
void rr_conv_free(rr_conv *p);
int rr_conv_fwd(rr_conv *p, float *y, const float *x, const float *w);
int rr_conv_bwd_data(rr_conv *p, float *dx, const float *dy, const float *w);
int rr_conv_bwd_weights(rr_conv *p, float *dw, const float *dy, const float *x);
const char *rr_conv_impl(rr_conv *p, int which);

// Our own AVX-512 kernels (conv16.c) for 3x3/1 pad-1 convs with 16 input
// and 16 output channels on nChw16c; w and dw are OIHW (16, 16, 3, 3).
typedef struct rr_c16 rr_c16;
rr_c16 *rr_c16_new(rr_ctx *c, int N, int H, int W);
void rr_c16_free(rr_c16 *p);
void rr_c16_fwd(rr_c16 *p, float *y, const float *x, const float *w);
void rr_c16_bwd_data(rr_c16 *p, float *dx, const float *dy, const float *w);
void rr_c16_bwd_weights(rr_c16 *p, float *dw, const float *dy, const float *x);
// The same three on Winograd F(2x2,3x3) (RR_OWN16W).
void rr_c16w_fwd(rr_c16 *p, float *y, const float *x, const float *w);
void rr_c16w_bwd_data(rr_c16 *p, float *dx, const float *dy, const float *w);
void rr_c16w_bwd_weights(rr_c16 *p, float *dw, const float *dy, const float *x);
// Backward data fused with rr_add_relu_bwd: dx = bwd_data(dy) + a where
// y > 0, else +0, in the output transform.
void rr_c16w_bwd_data_add_relu(rr_c16 *p, float *dx, const float *dy, const float *w, const float *a,
                               const float *y);

// Training batch norm + residual add + ReLU in one pass (bnadd.c):
// y = max(0, BN(x) + res) with the batch statistics, nChw16c.
typedef struct rr_bnadd rr_bnadd;
rr_bnadd *rr_bnadd_new(rr_ctx *c, int N, int C, int HW, float eps);
void rr_bnadd_free(rr_bnadd *p);
void rr_bnadd_fwd_train(rr_bnadd *p, float *y, float *mean, float *var, const float *x,
                        const float *gamma, const float *beta, const float *res);
// The same with res = the option-A shortcut of in (N, C, H, W), computed
// on the fly: res[n,k,p,q] = in[n, k-lo, p*stride, q*stride] where
// 0 <= k-lo < C, else 0 (the op's own channels are K).
void rr_bnadd_fwd_train_sca(rr_bnadd *p, float *y, float *mean, float *var, const float *x,
                            const float *gamma, const float *beta, const float *in, int C, int H,
                            int W, int stride, int lo);
// The same machinery as the default training batch norm: y = BN(x), then
// the ReLU when relu; and its backward (dx, dgamma, dbeta from dy, x,
// gamma and var; mean, scale and the fused ReLU's mask from the forward
// this op ran last).
void rr_bn_own_fwd_train(rr_bnadd *p, float *y, float *mean, float *var, const float *x, const float *gamma,
                         const float *beta, int relu);
void rr_bn_own_bwd(rr_bnadd *p, float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                   const float *gamma, const float *var, int relu);
// rr_share runs f(arg, thread, i, next) for every i in [0, n) on a team of
// T threads. With 2, the items are shared from both ends: thread 0 takes
// 0, 1, 2, ... and thread 1 takes n-1, n-2, ..., each claiming one at a
// time from a shared count, so the two meet wherever the slower one is
// instead of at n/2 (a static split leaves one thread waiting whenever
// the other's core is slowed); otherwise statically. next is the item the
// thread will probably take after i (-1: none), for prefetching. What f
// computes must not depend on which thread runs it.
void rr_share(int T, int n, void (*f)(void *arg, int thread, int i, int next), void *arg);
// Per-lane source offsets of the option-A shortcut for 16-channel block
// blk (glue.c): destination y (to_x = 0) or x (to_x = 1); -1 for a zero
// lane; plane is the source's H*W.
void rr_shortcut_a_offsets(long *off, int blk, int C, int K, int lo, long plane, int to_x);
// rr_shortcut_a_kind classifies such offsets: every lane zero, the 16
// lanes one contiguous source vector (off[j] = off[0] + j), or a gather.
enum { RR_SC_ZERO = 0, RR_SC_CONTIGUOUS = 1, RR_SC_GATHER = 2 };
int rr_shortcut_a_kind(const long *off);

// Batch normalization (training fwd with batch stats, inference fwd with
// given stats, backward), optionally fused with a following ReLU. With
// train = 0 only inference is planned (training runs on bnadd.c's).
rr_bn *rr_bn_new(rr_ctx *c, int N, int C, int HW, int layout, float eps, int relu, int train,
                 char *err, int errlen);
void rr_bn_free(rr_bn *p);
int rr_bn_fwd_train(rr_bn *p, float *y, float *mean, float *var, const float *x,
                    const float *gamma, const float *beta);
int rr_bn_fwd_infer(rr_bn *p, float *y, const float *x, const float *gamma,
                    const float *beta, const float *mean, const float *var);
int rr_bn_bwd(rr_bn *p, float *dx, float *dgamma, float *dbeta, const float *dy,
              const float *x, const float *gamma, const float *beta, const float *mean,
              const float *var);

// Max pooling with a workspace kept between forward and backward.
rr_pool *rr_pool_new(rr_ctx *c, int N, int C, int H, int W, int size, int stride,
                     int pad, int layout, char *err, int errlen);
void rr_pool_free(rr_pool *p);
int rr_pool_fwd(rr_pool *p, float *y, const float *x);
int rr_pool_bwd(rr_pool *p, float *dx, const float *dy);

// Plain loops (OpenMP) on activation buffers of n floats.
void rr_relu_fwd(rr_ctx *c, float *y, const float *x, long n);
void rr_relu_bwd(rr_ctx *c, float *dx, const float *dy, const float *y, long n);
void rr_add(rr_ctx *c, float *y, const float *a, const float *b, long n);
void rr_add_relu(rr_ctx *c, float *y, const float *a, const float *b, long n);
void rr_add_relu_bwd(rr_ctx *c, float *dx, const float *a, const float *b, const float *y, long n);

// Layout conversion NCHW <-> nChw16c (padding channels written as zero).
int rr_to_blocked(rr_ctx *c, float *dst, const float *src, int N, int C, int H, int W);
int rr_from_blocked(rr_ctx *c, float *dst, const float *src, int N, int C, int H, int W);

// Global average pooling on nChw16c: y is plain (N, C).
void rr_gap_fwd(rr_ctx *c, float *y, const float *x, int N, int C, int HW);
void rr_gap_bwd(rr_ctx *c, float *dx, const float *dy, int N, int C, int HW);

// Option-A shortcut on nChw16c: y[n,k,p,q] = x[n,k-lo,p*s,q*s] for
// 0 <= k-lo < C, else 0.
void rr_shortcut_a_fwd(rr_ctx *c, float *y, const float *x, int N, int C, int H, int W,
                       int K, int stride, int lo);
// dx = a + (option-A shortcut backward of g) where y > 0, else 0; x-shaped
// dx, a, y; dx may alias a.
void rr_shortcut_a_add_relu_bwd(rr_ctx *c, float *dx, const float *a, const float *g, const float *y,
                                int N, int C, int H, int W, int K, int stride, int lo);
void rr_shortcut_a_bwd(rr_ctx *c, float *dx, const float *dy, int N, int C, int H, int W,
                       int K, int stride, int lo);

// Fully connected via dnnl_sgemm (row-major): x (N,In), w (Out,In), y (N,Out).
int rr_linear_fwd(rr_ctx *c, float *y, const float *x, const float *w, const float *b,
                  int N, int In, int Out);
int rr_linear_bwd_data(rr_ctx *c, float *dx, const float *dy, const float *w, int N,
                       int In, int Out);
int rr_linear_bwd_weights(rr_ctx *c, float *dw, float *db, const float *dy,
                          const float *x, int N, int In, int Out);


// rr_team_size returns the size of the OpenMP team a parallel region
// started by the calling OS thread gets (for tests of thread control).
int rr_team_size(rr_ctx *c);
#endif
