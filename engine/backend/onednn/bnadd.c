// bnadd.c: the end of a residual block in one pass over memory, for
// training: y = max(0, BN(x) + res) (Eq. 1, then ReLU), with BN using the
// batch's own statistics, on nChw16c activations. oneDNN 2.6's batch norm
// cannot add a second tensor (fuse_norm_add_relu came later), so without
// this the block writes BN(x) and reads it back in a separate add+ReLU.
//
// Statistics take one pass: per channel, with M = N*HW values and a shift
// K (the channel's first value in the batch, so that x-K is of the order
// of the spread and the sums do not cancel),
//   S1 = sum (x-K), S2 = sum (x-K)^2, mean = K + S1/M,
//   var = S2/M - (S1/M)^2 (biased, as oneDNN and the reference return it).
// Float vectors accumulate at most 256 pixels of one image and channel
// block, then add into per-thread double sums; the threads' sums are added
// in thread order, so results depend on the thread count, not on timing.
// The second pass is y = max(0, (x-mean)*scale + beta + res) with
// scale = gamma/sqrt(var+eps) (subtracting the mean first keeps a large
// mean from costing precision; the pass is memory-bound either way);
// padding lanes of the last channel block get scale = beta = 0 and stay
// zero (res is zero there too).
//
// rr_bnadd_fwd_train_sca is the same on a stage change with option A's
// shortcut (Sec. 4.2): res is read from the block's input as the apply pass
// needs it (every stride-th pixel, channel k from channel k-lo, zero
// blocks skipped), so the shortcut is never stored.
#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "glue.h"

#define AVX512 __attribute__((target("avx512f")))

struct rr_bnadd {
  int N, C, CB, HW, T;
  double eps;
  double *part;         // T x CB*16 x 2 partial sums (S1, S2)
  float *k, *mean, *scale, *beta;  // CB*16 each
};

rr_bnadd *rr_bnadd_new(rr_ctx *c, int N, int C, int HW, float eps) {
  rr_bnadd *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->N = N, p->C = C, p->CB = (C + 15) / 16, p->HW = HW, p->T = rr_ctx_threads(c), p->eps = eps;
  size_t lanes = (size_t)p->CB * 16;
  p->part = rr_alloc_touch((size_t)p->T * lanes * 2 * sizeof(double));
  p->k = rr_alloc_touch(lanes * sizeof(float));
  p->mean = rr_alloc_touch(lanes * sizeof(float));
  p->scale = rr_alloc_touch(lanes * sizeof(float));
  p->beta = rr_alloc_touch(lanes * sizeof(float));
  if (!p->part || !p->k || !p->mean || !p->scale || !p->beta) {
    rr_bnadd_free(p);
    return NULL;
  }
  return p;
}

void rr_bnadd_free(rr_bnadd *p) {
  if (!p) return;
  free(p->part);
  free(p->k);
  free(p->mean);
  free(p->scale);
  free(p->beta);
  free(p);
}

// stats_block adds sum(x-k) and sum((x-k)^2) of one (image, channel block)
// plane of hw pixels into s1, s2 (16 lanes each).
static AVX512 void stats_block(double *s1, double *s2, const float *x, const float *k, int hw) {
  __m512 kv = _mm512_loadu_ps(k);
  for (int i0 = 0; i0 < hw; i0 += 256) {
    int i1 = i0 + 256 < hw ? i0 + 256 : hw;
    __m512 a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps();
    __m512 b1 = _mm512_setzero_ps(), b2 = _mm512_setzero_ps();
    int i = i0;
    for (; i + 2 <= i1; i += 2) {
      __m512 v = _mm512_sub_ps(_mm512_loadu_ps(x + (size_t)i * 16), kv);
      __m512 w = _mm512_sub_ps(_mm512_loadu_ps(x + (size_t)(i + 1) * 16), kv);
      a1 = _mm512_add_ps(a1, v);
      a2 = _mm512_fmadd_ps(v, v, a2);
      b1 = _mm512_add_ps(b1, w);
      b2 = _mm512_fmadd_ps(w, w, b2);
    }
    if (i < i1) {
      __m512 v = _mm512_sub_ps(_mm512_loadu_ps(x + (size_t)i * 16), kv);
      a1 = _mm512_add_ps(a1, v);
      a2 = _mm512_fmadd_ps(v, v, a2);
    }
    float t1[16], t2[16];
    _mm512_storeu_ps(t1, _mm512_add_ps(a1, b1));
    _mm512_storeu_ps(t2, _mm512_add_ps(a2, b2));
    for (int l = 0; l < 16; l++) s1[l] += t1[l], s2[l] += t2[l];
  }
}

static AVX512 void apply_block(float *y, const float *x, const float *res, const float *mean,
                               const float *scale, const float *beta, int hw) {
  __m512 mu = _mm512_loadu_ps(mean), sc = _mm512_loadu_ps(scale), be = _mm512_loadu_ps(beta);
  __m512 zero = _mm512_setzero_ps();
  for (int i = 0; i < hw; i++) {
    __m512 v = _mm512_fmadd_ps(_mm512_sub_ps(_mm512_loadu_ps(x + (size_t)i * 16), mu), sc, be);
    if (res) v = _mm512_add_ps(v, _mm512_loadu_ps(res + (size_t)i * 16));
    _mm512_storeu_ps(y + (size_t)i * 16, _mm512_max_ps(v, zero));
  }
}

// apply_block_sca is apply_block with res the option-A shortcut: pixel
// (pp, qq) of the P x Q plane adds the 16 channels at
// in + (pp*stride*W + qq*stride)*16 + off[j] (0 for off[j] < 0).
static AVX512 void apply_block_sca(float *y, const float *x, const float *in, const long *off, int stride,
                                   int W, int P, int Q, const float *mean, const float *scale,
                                   const float *beta) {
  __m512 mu = _mm512_loadu_ps(mean), sc = _mm512_loadu_ps(scale), be = _mm512_loadu_ps(beta);
  __m512 zero = _mm512_setzero_ps();
  int contiguous = rr_shortcut_a_kind(off) == RR_SC_CONTIGUOUS;
  for (int pp = 0; pp < P; pp++)
    for (int qq = 0; qq < Q; qq++) {
      size_t i = (size_t)pp * Q + qq;
      const float *s = in + ((size_t)pp * stride * W + (size_t)qq * stride) * 16;
      __m512 r;
      if (contiguous) {
        r = _mm512_loadu_ps(s + off[0]);
      } else {
        float t[16];
        for (int j = 0; j < 16; j++) t[j] = off[j] >= 0 ? s[off[j]] : 0.0f;
        r = _mm512_loadu_ps(t);
      }
      __m512 v = _mm512_fmadd_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i * 16), mu), sc, be);
      _mm512_storeu_ps(y + i * 16, _mm512_max_ps(_mm512_add_ps(v, r), zero));
    }
}

// bn_stats sets mean and var (the batch's, biased) and the op's per-lane
// mean, scale and beta for the apply pass.
static void bn_stats(rr_bnadd *p, float *mean, float *var, const float *x, const float *gamma,
                     const float *beta) {
  int CB = p->CB, HW = p->HW;
  size_t lanes = (size_t)CB * 16, plane = (size_t)HW * 16;
  for (int cb = 0; cb < CB; cb++) memcpy(p->k + cb * 16, x + cb * plane, 16 * sizeof(float));
  memset(p->part, 0, (size_t)p->T * lanes * 2 * sizeof(double));
#pragma omp parallel num_threads(p->T)
  {
    double *mine = p->part + (size_t)omp_get_thread_num() * lanes * 2;
#pragma omp for schedule(static)
    for (int n = 0; n < p->N; n++)
      for (int cb = 0; cb < CB; cb++)
        stats_block(mine + cb * 16, mine + lanes + cb * 16, x + ((size_t)n * CB + cb) * plane,
                    p->k + cb * 16, HW);
  }
  double m = (double)p->N * HW;
  for (size_t c = 0; c < lanes; c++) {
    if (c >= (size_t)p->C) {
      p->mean[c] = p->scale[c] = p->beta[c] = 0;
      continue;
    }
    double s1 = 0, s2 = 0;
    for (int t = 0; t < p->T; t++) s1 += p->part[(size_t)t * lanes * 2 + c], s2 += p->part[(size_t)t * lanes * 2 + lanes + c];
    double d = s1 / m, v = s2 / m - d * d;
    if (v < 0) v = 0;
    double mu = p->k[c] + d;
    mean[c] = (float)mu;
    var[c] = (float)v;
    float is = (float)(1 / sqrt((double)(float)v + p->eps));
    p->mean[c] = (float)mu;
    p->scale[c] = gamma[c] * is;
    p->beta[c] = beta[c];
  }
}

void rr_bnadd_fwd_train(rr_bnadd *p, float *y, float *mean, float *var, const float *x,
                        const float *gamma, const float *beta, const float *res) {
  int CB = p->CB;
  size_t plane = (size_t)p->HW * 16;
  bn_stats(p, mean, var, x, gamma, beta);
#pragma omp parallel for schedule(static) num_threads(p->T)
  for (int b = 0; b < p->N * CB; b++) {
    int cb = b % CB;
    apply_block(y + (size_t)b * plane, x + (size_t)b * plane, res + (size_t)b * plane,
                p->mean + cb * 16, p->scale + cb * 16, p->beta + cb * 16, p->HW);
  }
}

void rr_bnadd_fwd_train_sca(rr_bnadd *p, float *y, float *mean, float *var, const float *x,
                            const float *gamma, const float *beta, const float *in, int C, int H,
                            int W, int stride, int lo) {
  int CB = p->CB, Cb = (C + 15) / 16;
  int P = (H - 1) / stride + 1, Q = (W - 1) / stride + 1;
  size_t plane = (size_t)p->HW * 16;
  bn_stats(p, mean, var, x, gamma, beta);
#pragma omp parallel for schedule(static) num_threads(p->T)
  for (int b = 0; b < p->N * CB; b++) {
    int n = b / CB, cb = b % CB;
    long off[16];
    rr_shortcut_a_offsets(off, cb, C, p->C, lo, (long)H * W, 0);
    if (rr_shortcut_a_kind(off) == RR_SC_ZERO) {  // a zero-padding block: nothing to add
      apply_block(y + (size_t)b * plane, x + (size_t)b * plane, NULL, p->mean + cb * 16, p->scale + cb * 16,
                  p->beta + cb * 16, p->HW);
      continue;
    }
    apply_block_sca(y + (size_t)b * plane, x + (size_t)b * plane, in + (size_t)n * Cb * H * W * 16, off, stride, W, P,
                    Q, p->mean + cb * 16, p->scale + cb * 16, p->beta + cb * 16);
  }
}
