// conv16.c: our own AVX-512 direct convolution for the one shape oneDNN
// runs worst in the CIFAR nets: 3x3, stride 1, pad 1, 16 input and 16
// output channels (stage 1 of every CIFAR ResNet, Sec. 4.2, and the
// width-1/4 ImageNet proxies), on nChw16c activations. With C = 16 an
// nChw16c image is simply (H, W, 16).
//
// Forward:  y[p,q,k] = sum_{r,s,c} x[p+r-1, q+s-1, c] * w[k,c,r,s]
// Backward data is the same kernel: dx = conv(dy, w') with
//           w'[c,k,r,s] = w[k,c,2-r,2-s] (transposed and flipped), since
//           dx[h,v,c] = sum_{k,r,s} dy[h+1-r, v+1-s, k] w[k,c,r,s].
// Backward weights: dw[k,c,r,s] = sum_{n,p,q} x[n,p+r-1,q+s-1,c] dy[n,p,q,k].
//
// Kernel: each image is first copied into a zero-bordered (H+2, W+2, 16)
// buffer per thread (64 KB at 32x32: it stays in L2), so the inner loops
// have no edge tests. Forward keeps up to 16 output pixels x 16 channels in
// 16 zmm accumulators and, for every (r, s, c), loads one weight vector
// (16 output channels) and issues 16 FMAs with the input value broadcast
// from memory. Backward weights keeps the 16x16 block of one (r, s) in 16
// accumulators and streams the image through it. Images are split over the
// OpenMP team (static schedule); backward weights sums per-thread partials
// in thread order, so results depend on the thread count but not on timing.
#include <immintrin.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "glue.h"

#define AVX512 __attribute__((target("avx512f")))
#define INLINE static inline __attribute__((always_inline))

struct rr_c16 {
  rr_ctx *c;
  int N, H, W, T;
  float *pad;   // T padded images, (H+2)*(W+2)*16 floats each, borders zero
  float *wk;    // weights as wk[r][s][cin][cout] (cout contiguous)
  float *part;  // T partial weight gradients, 2304 floats each
};

rr_c16 *rr_c16_new(rr_ctx *c, int N, int H, int W) {
  rr_c16 *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->c = c;
  p->N = N, p->H = H, p->W = W, p->T = rr_ctx_threads(c);
  p->pad = rr_alloc_touch(sizeof(float) * (size_t)p->T * (H + 2) * (W + 2) * 16);
  p->wk = rr_alloc_touch(sizeof(float) * 2304);
  p->part = rr_alloc_touch(sizeof(float) * (size_t)p->T * 2304);
  if (!p->pad || !p->wk || !p->part) {
    rr_c16_free(p);
    return NULL;
  }
  return p;
}

void rr_c16_free(rr_c16 *p) {
  if (!p) return;
  free(p->pad);
  free(p->wk);
  free(p->part);
  free(p);
}

// pad_image copies image x (H, W, 16) into the interior of xp.
INLINE void pad_image(float *xp, const float *x, int H, int W) {
  for (int h = 0; h < H; h++)
    memcpy(xp + ((size_t)(h + 1) * (W + 2) + 1) * 16, x + (size_t)h * W * 16, (size_t)W * 16 * sizeof(float));
}

// fwd_chunk computes output pixels q0..q0+qb-1 of row p (qb <= 16 is a
// compile-time constant after inlining, so acc lives in registers).
INLINE AVX512 void fwd_chunk(float *y, const float *xp, int WP, const float *wk, int p, int q0, const int qb) {
  __m512 acc[16];
  for (int q = 0; q < qb; q++) acc[q] = _mm512_setzero_ps();
  for (int r = 0; r < 3; r++) {
    const float *xr = xp + ((size_t)(p + r) * WP + q0) * 16;
    for (int s = 0; s < 3; s++) {
      const float *xs = xr + s * 16;
      const float *ws = wk + (r * 3 + s) * 256;
      for (int c = 0; c < 16; c++) {
        __m512 wv = _mm512_load_ps(ws + c * 16);
#pragma GCC unroll 16
        for (int q = 0; q < qb; q++) acc[q] = _mm512_fmadd_ps(_mm512_set1_ps(xs[q * 16 + c]), wv, acc[q]);
      }
    }
  }
  for (int q = 0; q < qb; q++) _mm512_storeu_ps(y + (size_t)q * 16, acc[q]);
}

static AVX512 void fwd_image(float *y, const float *xp, const float *wk, int H, int W) {
  int WP = W + 2;
  for (int p = 0; p < H; p++) {
    float *yr = y + (size_t)p * W * 16;
    int q0 = 0;
    for (; q0 + 16 <= W; q0 += 16) fwd_chunk(yr + q0 * 16, xp, WP, wk, p, q0, 16);
    if (W - q0 >= 8) fwd_chunk(yr + q0 * 16, xp, WP, wk, p, q0, 8), q0 += 8;
    if (W - q0 >= 4) fwd_chunk(yr + q0 * 16, xp, WP, wk, p, q0, 4), q0 += 4;
    if (W - q0 >= 2) fwd_chunk(yr + q0 * 16, xp, WP, wk, p, q0, 2), q0 += 2;
    if (W - q0 >= 1) fwd_chunk(yr + q0 * 16, xp, WP, wk, p, q0, 1);
  }
}

// run_fwd: y = conv(x, wk) over the batch, wk already in [r][s][cin][cout].
static void run_fwd(rr_c16 *p, float *y, const float *x) {
  size_t img = (size_t)p->H * p->W * 16, padn = (size_t)(p->H + 2) * (p->W + 2) * 16;
#pragma omp parallel num_threads(p->T)
  {
    float *xp = p->pad + padn * omp_get_thread_num();
#pragma omp for schedule(static)
    for (int n = 0; n < p->N; n++) {
      pad_image(xp, x + img * n, p->H, p->W);
      fwd_image(y + img * n, xp, p->wk, p->H, p->W);
    }
  }
}

// w is OIHW (16, 16, 3, 3): w[((k*16 + c)*3 + r)*3 + s].
void rr_c16_fwd(rr_c16 *p, float *y, const float *x, const float *w) {
  for (int r = 0; r < 3; r++)
    for (int s = 0; s < 3; s++)
      for (int c = 0; c < 16; c++)
        for (int k = 0; k < 16; k++) p->wk[((r * 3 + s) * 16 + c) * 16 + k] = w[((k * 16 + c) * 3 + r) * 3 + s];
  run_fwd(p, y, x);
}

void rr_c16_bwd_data(rr_c16 *p, float *dx, const float *dy, const float *w) {
  // The forward kernel's input channel is k, its output channel c.
  for (int r = 0; r < 3; r++)
    for (int s = 0; s < 3; s++)
      for (int k = 0; k < 16; k++)
        for (int c = 0; c < 16; c++)
          p->wk[((r * 3 + s) * 16 + k) * 16 + c] = w[((k * 16 + c) * 3 + (2 - r)) * 3 + (2 - s)];
  run_fwd(p, dx, dy);
}

// bwdw_image adds one image's dw[r][s][c][k] into part. Row by row, so the
// three padded input rows and the dy row a row needs stay in L1 across
// its 9 (r, s) passes (image-wide passes streamed 9 times from L2 were ~10%
// slower); the 16 accumulators are reloaded per (row, r, s).
static AVX512 void bwdw_image(float *part, const float *xp, const float *dy, int H, int W) {
  int WP = W + 2;
  for (int p = 0; p < H; p++) {
    const float *dyr = dy + (size_t)p * W * 16;
    for (int rs = 0; rs < 9; rs++) {
      int r = rs / 3, s = rs % 3;
      const float *xr = xp + ((size_t)(p + r) * WP + s) * 16;
      __m512 acc[16];
      for (int c = 0; c < 16; c++) acc[c] = _mm512_load_ps(part + (rs * 16 + c) * 16);
      for (int q = 0; q < W; q++) {
        __m512 d = _mm512_loadu_ps(dyr + q * 16);
#pragma GCC unroll 16
        for (int c = 0; c < 16; c++) acc[c] = _mm512_fmadd_ps(_mm512_set1_ps(xr[q * 16 + c]), d, acc[c]);
      }
      for (int c = 0; c < 16; c++) _mm512_store_ps(part + (rs * 16 + c) * 16, acc[c]);
    }
  }
}

void rr_c16_bwd_weights(rr_c16 *p, float *dw, const float *dy, const float *x) {
  size_t img = (size_t)p->H * p->W * 16, padn = (size_t)(p->H + 2) * (p->W + 2) * 16;
  memset(p->part, 0, (size_t)p->T * 2304 * sizeof(float));
#pragma omp parallel num_threads(p->T)
  {
    int t = omp_get_thread_num();
    float *xp = p->pad + padn * t;
#pragma omp for schedule(static)
    for (int n = 0; n < p->N; n++) {
      pad_image(xp, x + img * n, p->H, p->W);
      bwdw_image(p->part + 2304 * t, xp, dy + img * n, p->H, p->W);
    }
  }
  for (int k = 0; k < 16; k++)
    for (int c = 0; c < 16; c++)
      for (int rs = 0; rs < 9; rs++) {
        float sum = 0;
        for (int t = 0; t < p->T; t++) sum += p->part[2304 * t + (rs * 16 + c) * 16 + k];
        dw[(k * 16 + c) * 9 + rs] = sum;
      }
}
