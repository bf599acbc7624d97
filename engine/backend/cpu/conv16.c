// conv16.c: our own AVX-512 convolutions, direct (Own16) and Winograd
// F(2x2,3x3) (Own16Winograd, the default; second half of this file), for
// the one shape oneDNN runs worst in the CIFAR nets: 3x3, stride 1, pad 1, 16 input and 16
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
  int TH, TW;    // Winograd F(2x2,3x3) (below): TH x TW tiles of 2x2 outputs
  size_t bytes;  // scratch bytes, carved from the context's shared arena
  size_t off[8]; // byte offsets of the regions below in it
  // Bound per call (c16_bind); every conv of a context shares them:
  float *pad;   // T padded images, (H+2)*(W+2)*16 floats each, borders zero
  float *wk;    // weights as wk[r][s][cin][cout] (cout contiguous)
  float *part;  // T partial weight gradients, 2304 floats each
  float *padw;  // T padded images, (2TH+2)*(2TW+2)*16 floats each, borders zero
  float *dyp;   // T images of dy zero-extended to (2TH, 2TW) (odd H or W only)
  float *scr;   // T scratch blocks of 2 x WT x 256 floats (V, then M; D)
  float *u;     // transformed weights u[pt][cin][cout], 4096 floats
  float *partw; // T partial transformed weight gradients, 4096 floats each
};

// Tiles per Winograd chunk: forward (one zmm accumulator each; its V, M
// and weights fill 32 KB of L1), backward weights (its V and D of 8 tiles
// and the 16 KB partial sum fit L1 together: 2.2 ms per stage-1 batch
// against 2.7 with 16 tiles and 2.6 with 4, in isolation).
enum { WT = 16, BWT = 8 };

// WBLK images share one partial weight gradient in Winograd backward
// weights. The blocks are claimed like run_wfwd's images (from both ends
// with 2 threads, statically otherwise), each block is summed in image
// order by whoever claims it, and the blocks' partials are added in block
// order: the result depends neither on timing nor on the thread count.
enum { WBLK = 4 };

// c16_bind points the regions at the context's shared scratch arena
// (which a later, larger plan may have moved) and zeroes it when the last
// user had another image size (its zero borders lay elsewhere).
static void c16_bind(rr_c16 *p) {
  char *b = rr_ctx_own_scratch(p->c, p->bytes, (long)p->H << 20 | p->W);
  float **r[8] = {&p->pad, &p->wk, &p->part, &p->padw, &p->dyp, &p->scr, &p->u, &p->partw};
  for (int i = 0; i < 8; i++) *r[i] = (float *)(b + p->off[i]);
}

rr_c16 *rr_c16_new(rr_ctx *c, int N, int H, int W) {
  rr_c16 *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->c = c;
  p->N = N, p->H = H, p->W = W, p->T = rr_ctx_threads(c);
  p->TH = (H + 1) / 2, p->TW = (W + 1) / 2;
  size_t t = p->T, floats[8] = {t * (H + 2) * (W + 2) * 16, 2304, t * 2304,
                                t * (2 * p->TH + 2) * (2 * p->TW + 2) * 16, t * (2 * p->TH) * (2 * p->TW) * 16,
                                t * 2 * WT * 256, 4096, (size_t)((N + WBLK - 1) / WBLK + t) * 4096};
  for (int i = 0; i < 8; i++) p->off[i] = p->bytes, p->bytes += (floats[i] * sizeof(float) + 63) / 64 * 64;
  if (!rr_ctx_own_scratch(c, p->bytes, (long)H << 20 | W)) {
    free(p);
    return NULL;
  }
  return p;
}

void rr_c16_free(rr_c16 *p) { free(p); }

// pad_image copies image x (H, W, 16) into xp, whose rows hold WP pixels,
// at row 1 + h and column 1 + w (the border stays as it was: zero).
INLINE void pad_image(float *xp, const float *x, int H, int W, int WP) {
  for (int h = 0; h < H; h++)
    memcpy(xp + ((size_t)(h + 1) * WP + 1) * 16, x + (size_t)h * W * 16, (size_t)W * 16 * sizeof(float));
}

// prefetch_rows asks for rows 2i and 2i+1 (those below H) of the next
// image, (H, W, 16) at next (NULL: none): into L2 to be read (write 0), or
// into L1 in exclusive state to be overwritten (write 1). Spread over an
// image's tile rows, this overlaps the next image's memory traffic with
// this image's arithmetic. Our activations are usually not in cache when a
// conv starts (a step touches far more than L2), and without it the stores
// waited on their read-for-ownership misses: a forward over 24 rotating
// batches took 2.38 ms, 2.15 with input prefetch, 1.74 with output
// prefetch too (interleaved in one process).
INLINE void prefetch_rows(const float *next, int i, int H, int W, int write) {
  if (!next) return;
  size_t row = (size_t)W * 16;
  int h1 = 2 * i + 2 < H ? 2 * i + 2 : H;
  for (const char *a = (const char *)(next + 2 * i * row), *e = (const char *)(next + h1 * row); a < e; a += 64) {
    if (write)
      _mm_prefetch(a, _MM_HINT_ET0);
    else
      _mm_prefetch(a, _MM_HINT_T1);
  }
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

static AVX512 void fwd_image(float *y, const float *xp, const float *wk, int H, int W, const float *xnext,
                             float *ynext) {
  int WP = W + 2;
  for (int p = 0; p < H; p++) {
    if (p % 2 == 0) prefetch_rows(xnext, p / 2, H, W, 0), prefetch_rows(ynext, p / 2, H, W, 1);
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
      pad_image(xp, x + img * n, p->H, p->W, p->W + 2);
      int nx = n + 1 < p->N;
      fwd_image(y + img * n, xp, p->wk, p->H, p->W, nx ? x + img * (n + 1) : NULL, nx ? y + img * (n + 1) : NULL);
    }
  }
}

// w is OIHW (16, 16, 3, 3): w[((k*16 + c)*3 + r)*3 + s].
void rr_c16_fwd(rr_c16 *p, float *y, const float *x, const float *w) {
  c16_bind(p);
  for (int r = 0; r < 3; r++)
    for (int s = 0; s < 3; s++)
      for (int c = 0; c < 16; c++)
        for (int k = 0; k < 16; k++) p->wk[((r * 3 + s) * 16 + c) * 16 + k] = w[((k * 16 + c) * 3 + r) * 3 + s];
  run_fwd(p, y, x);
}

void rr_c16_bwd_data(rr_c16 *p, float *dx, const float *dy, const float *w) {
  c16_bind(p);
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
static AVX512 void bwdw_image(float *part, const float *xp, const float *dy, int H, int W, const float *xnext,
                              const float *dynext) {
  int WP = W + 2;
  for (int p = 0; p < H; p++) {
    if (p % 2 == 0) prefetch_rows(xnext, p / 2, H, W, 0), prefetch_rows(dynext, p / 2, H, W, 0);
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
  c16_bind(p);
  size_t img = (size_t)p->H * p->W * 16, padn = (size_t)(p->H + 2) * (p->W + 2) * 16;
  memset(p->part, 0, (size_t)p->T * 2304 * sizeof(float));
#pragma omp parallel num_threads(p->T)
  {
    int t = omp_get_thread_num();
    float *xp = p->pad + padn * t;
#pragma omp for schedule(static)
    for (int n = 0; n < p->N; n++) {
      pad_image(xp, x + img * n, p->H, p->W, p->W + 2);
      int nx = n + 1 < p->N;
      bwdw_image(p->part + 2304 * t, xp, dy + img * n, p->H, p->W, nx ? x + img * (n + 1) : NULL,
                 nx ? dy + img * (n + 1) : NULL);
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

// ---- Winograd F(2x2, 3x3) ----
//
// The same three convolutions with 2.25x fewer multiply-adds (Lavin and
// Gray, "Fast Algorithms for Convolutional Neural Networks", 2016). The
// output is cut into 2x2 tiles; tile (i, j) reads the 4x4 input patch d at
// padded rows 2i..2i+3 and columns 2j..2j+3, and per channel pair
//   Y = A^T [ (G g G^T) . (B^T d B) ] A     (. is the elementwise product)
// with
//   B^T = | 1  0 -1  0 |   G = | 1    0    0   |   A^T = | 1  1  1  0 |
//         | 0  1  1  0 |       | 1/2  1/2  1/2 |         | 0  1 -1 -1 |
//         | 0 -1  1  0 |       | 1/2 -1/2  1/2 |
//         | 0  1  0 -1 |       | 0    0    1   |
// Summed over input channels, the 16 products per tile become 16 small
// matrix products (one per transform point pt = 4a+b): M[pt][k] =
// sum_c U[pt][c][k] V[pt][c], with U = G g G^T (per call) and V = B^T d B
// (per tile). A chunk of up to WT tiles of one tile row keeps V, M in L1;
// each weight vector U[pt][c][:] is loaded once per chunk and feeds one FMA
// per tile, the input value broadcast from memory (as in the direct kernel).
//
// Backward data is again the forward with transposed, flipped weights.
// Backward weights is F(3x3, 2x2): per tile, with e the 2x2 dy tile,
//   dw(3x3) = A2^T [ S (G2 e G2^T . B^T d B) S ] A2
// where B^T is the forward's, G2 = |1 0; 1 1; 1 -1; 0 1|, S = diag(1, 1/2,
// 1/2, 1) and A2^T = |1 1 1 0; 0 1 -1 0; 0 1 1 -1|; the product is summed
// over tiles and images per (pt, c, k) first and transformed once at the
// end (a thread-ordered sum, as in the direct kernel). Rounding: the input
// transform only adds and subtracts, the weight transforms are exact up to
// the 1/2s; errors against the naive kernel are ~1e-6 relative
// (TestAlgoAccuracy). Odd H or W: the last tile row or column reads zero
// padding and its extra outputs are dropped.

// wino_in stores V = B^T d B of the 4x4 patch at xp (rows rs floats apart)
// as v[pt*16 + c].
INLINE AVX512 void wino_in(float *v, const float *xp, size_t rs) {
  __m512 t[4][4];
  for (int b = 0; b < 4; b++) {
    __m512 d0 = _mm512_loadu_ps(xp + b * 16), d1 = _mm512_loadu_ps(xp + rs + b * 16);
    __m512 d2 = _mm512_loadu_ps(xp + 2 * rs + b * 16), d3 = _mm512_loadu_ps(xp + 3 * rs + b * 16);
    t[0][b] = _mm512_sub_ps(d0, d2);
    t[1][b] = _mm512_add_ps(d1, d2);
    t[2][b] = _mm512_sub_ps(d2, d1);
    t[3][b] = _mm512_sub_ps(d1, d3);
  }
  for (int a = 0; a < 4; a++) {
    _mm512_store_ps(v + (a * 4 + 0) * 16, _mm512_sub_ps(t[a][0], t[a][2]));
    _mm512_store_ps(v + (a * 4 + 1) * 16, _mm512_add_ps(t[a][1], t[a][2]));
    _mm512_store_ps(v + (a * 4 + 2) * 16, _mm512_sub_ps(t[a][2], t[a][1]));
    _mm512_store_ps(v + (a * 4 + 3) * 16, _mm512_sub_ps(t[a][1], t[a][3]));
  }
}

// wino_put stores v at y, or with fused set (backward data followed by a
// residual block's input-gradient add+ReLU, rr_add_relu_bwd), v + a where
// r > 0 and +0 elsewhere, a and r being the floats at y's offset in ra, ry.
INLINE AVX512 void wino_put(float *y, __m512 v, const int fused, const float *ra, const float *ry) {
  if (fused) {
    __mmask16 pos = _mm512_cmp_ps_mask(_mm512_loadu_ps(ry), _mm512_setzero_ps(), _CMP_GT_OQ);
    v = _mm512_maskz_mov_ps(pos, _mm512_add_ps(v, _mm512_loadu_ps(ra)));
  }
  _mm512_storeu_ps(y, v);
}

// wino_out writes Y = A^T M A of the tile m[pt*16 + k] to the 2x2 pixels
// at y (rows W*16 floats apart), dropping a row or column past the edge;
// fused, ra and ry are the tile's pixels in the add+ReLU's inputs (see
// wino_put).
INLINE AVX512 void wino_out(float *y, const float *m, int W, int rows, int cols, const int fused,
                            const float *ra, const float *ry) {
  __m512 s0[4], s1[4];
  for (int b = 0; b < 4; b++) {
    __m512 m0 = _mm512_load_ps(m + b * 16), m1 = _mm512_load_ps(m + (4 + b) * 16);
    __m512 m2 = _mm512_load_ps(m + (8 + b) * 16), m3 = _mm512_load_ps(m + (12 + b) * 16);
    s0[b] = _mm512_add_ps(_mm512_add_ps(m0, m1), m2);
    s1[b] = _mm512_sub_ps(_mm512_sub_ps(m1, m2), m3);
  }
  __m512 *s[2] = {s0, s1};
  for (int a = 0; a < rows; a++) {
    size_t o = (size_t)a * W * 16;
    wino_put(y + o, _mm512_add_ps(_mm512_add_ps(s[a][0], s[a][1]), s[a][2]), fused, ra + o, ry + o);
    if (cols > 1)
      wino_put(y + o + 16, _mm512_sub_ps(_mm512_sub_ps(s[a][1], s[a][2]), s[a][3]), fused, ra + o + 16, ry + o + 16);
  }
}

// wino_weights sets u[pt][ci][co] = (G g G^T)[pt] for the 3x3 filter g
// from input channel ci to output channel co of the conv being run: w's
// own (k = co, c = ci) for forward, or (k = ci, c = co) flipped for
// backward data.
static void wino_weights(float *u, const float *w, int flip) {
  static const double G[4][3] = {{1, 0, 0}, {.5, .5, .5}, {.5, -.5, .5}, {0, 0, 1}};
  for (int ci = 0; ci < 16; ci++)
    for (int co = 0; co < 16; co++) {
      double g[3][3], gg[4][3];
      for (int r = 0; r < 3; r++)
        for (int s = 0; s < 3; s++)
          g[r][s] = flip ? w[((ci * 16 + co) * 3 + 2 - r) * 3 + 2 - s] : w[((co * 16 + ci) * 3 + r) * 3 + s];
      for (int a = 0; a < 4; a++)
        for (int s = 0; s < 3; s++) gg[a][s] = G[a][0] * g[0][s] + G[a][1] * g[1][s] + G[a][2] * g[2][s];
      for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++)
          u[((a * 4 + b) * 16 + ci) * 16 + co] = (float)(gg[a][0] * G[b][0] + gg[a][1] * G[b][1] + gg[a][2] * G[b][2]);
    }
}

// wfwd_chunk computes tiles j0..j0+tb-1 of tile row i (tb <= WT is a
// compile-time constant after inlining, so acc lives in registers); fused:
// see wino_put (ra, ry are the image's, like y).
INLINE AVX512 void wfwd_chunk(float *y, const float *xp, const float *u, float *v, int H, int W, int WP,
                              int i, int j0, const int tb, const int fused, const float *ra, const float *ry) {
  size_t rs = (size_t)WP * 16;
  for (int t = 0; t < tb; t++) wino_in(v + t * 256, xp + 2 * i * rs + (size_t)2 * (j0 + t) * 16, rs);
  for (int pt = 0; pt < 16; pt++) {
    __m512 acc[WT];
    for (int t = 0; t < tb; t++) acc[t] = _mm512_setzero_ps();
    const float *vp = v + pt * 16;
    for (int c = 0; c < 16; c++) {
      __m512 wv = _mm512_load_ps(u + (pt * 16 + c) * 16);
#pragma GCC unroll 16
      for (int t = 0; t < tb; t++) acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(vp[t * 256 + c]), wv, acc[t]);
    }
    // M[t][pt] replaces V[t][pt], which no later point reads.
    for (int t = 0; t < tb; t++) _mm512_store_ps(v + t * 256 + pt * 16, acc[t]);
  }
  int rows = H - 2 * i < 2 ? H - 2 * i : 2;
  for (int t = 0; t < tb; t++) {
    int q = 2 * (j0 + t);
    size_t o = ((size_t)2 * i * W + q) * 16;
    wino_out(y + o, v + t * 256, W, rows, W - q < 2 ? W - q : 2, fused, ra + o, ry + o);
  }
}

// wfwd_row computes tile row i of one image (fused: see wino_put).
INLINE AVX512 void wfwd_row(float *y, const float *xp, const float *u, float *v, int H, int W, int TW, int i,
                            const int fused, const float *ra, const float *ry) {
  int WP = 2 * TW + 2, j0 = 0;
  for (; j0 + 16 <= TW; j0 += 16) wfwd_chunk(y, xp, u, v, H, W, WP, i, j0, 16, fused, ra, ry);
  if (TW - j0 >= 8) wfwd_chunk(y, xp, u, v, H, W, WP, i, j0, 8, fused, ra, ry), j0 += 8;
  if (TW - j0 >= 4) wfwd_chunk(y, xp, u, v, H, W, WP, i, j0, 4, fused, ra, ry), j0 += 4;
  if (TW - j0 >= 2) wfwd_chunk(y, xp, u, v, H, W, WP, i, j0, 2, fused, ra, ry), j0 += 2;
  if (TW - j0 >= 1) wfwd_chunk(y, xp, u, v, H, W, WP, i, j0, 1, fused, ra, ry);
}

// wfwd_image computes image y from its padded input xp; with ra non-NULL
// the output is fused with the add+ReLU backward (wino_put), ra and ry
// being this image's. The next image's input, output and (fused) add+ReLU
// inputs are prefetched (rnext: the next image's offset in ra and ry).
static AVX512 void wfwd_image(float *y, const float *xp, const float *u, float *v, int H, int W, int TH,
                              int TW, const float *xnext, float *ynext, const float *ra, const float *ry,
                              long rnext) {
  for (int i = 0; i < TH; i++) {
    prefetch_rows(xnext, i, H, W, 0);
    prefetch_rows(ynext, i, H, W, 1);
    if (ra) {
      prefetch_rows(xnext ? ra + rnext : NULL, i, H, W, 0);
      prefetch_rows(xnext ? ry + rnext : NULL, i, H, W, 0);
      wfwd_row(y, xp, u, v, H, W, TW, i, 1, ra, ry);
    } else {
      wfwd_row(y, xp, u, v, H, W, TW, i, 0, y, y);
    }
  }
}

typedef struct {
  rr_c16 *p;
  float *y;
  const float *x, *ra, *ry;
} wfwd_job;

// wfwd_item computes image n on thread t (next: prefetched).
static void wfwd_item(void *arg, int t, int n, int next) {
  wfwd_job *j = arg;
  rr_c16 *p = j->p;
  size_t img = (size_t)p->H * p->W * 16, padn = (size_t)(2 * p->TH + 2) * (2 * p->TW + 2) * 16;
  float *xp = p->padw + padn * t, *v = p->scr + (size_t)t * 2 * WT * 256;
  pad_image(xp, j->x + img * n, p->H, p->W, 2 * p->TW + 2);
  wfwd_image(j->y + img * n, xp, p->u, v, p->H, p->W, p->TH, p->TW, next >= 0 ? j->x + img * next : NULL,
             next >= 0 ? j->y + img * next : NULL, j->ra ? j->ra + img * n : NULL, j->ra ? j->ry + img * n : NULL,
             (long)(next - n) * (long)img);
}

// run_wfwd: y = conv(x) over the batch with u already transformed (ra,
// ry: see wino_put). With 2 threads the images are shared from both ends
// (rr_share): they meet wherever the slower thread is instead of at N/2 (a
// static split left one thread idle 8% of these calls' time in a
// resnet-20 step), and each still works through neighbouring images (the
// ones the previous op left in its cache, mostly). Outputs do not depend
// on who computed them.
static void run_wfwd(rr_c16 *p, float *y, const float *x, const float *ra, const float *ry) {
  wfwd_job j = {p, y, x, ra, ry};
  rr_share(p->T, p->N, wfwd_item, &j);
}

void rr_c16w_fwd(rr_c16 *p, float *y, const float *x, const float *w) {
  c16_bind(p);
  wino_weights(p->u, w, 0);
  run_wfwd(p, y, x, NULL, NULL);
}

void rr_c16w_bwd_data(rr_c16 *p, float *dx, const float *dy, const float *w) {
  c16_bind(p);
  wino_weights(p->u, w, 1);
  run_wfwd(p, dx, dy, NULL, NULL);
}

void rr_c16w_bwd_data_add_relu(rr_c16 *p, float *dx, const float *dy, const float *w, const float *a,
                               const float *y) {
  c16_bind(p);
  wino_weights(p->u, w, 1);
  run_wfwd(p, dx, dy, a, y);
}

// wino_dy stores D = G2 e G2^T of the 2x2 dy tile at e (rows rs floats
// apart) as d[pt*16 + k].
INLINE AVX512 void wino_dy(float *d, const float *e, size_t rs) {
  __m512 e00 = _mm512_loadu_ps(e), e01 = _mm512_loadu_ps(e + 16);
  __m512 e10 = _mm512_loadu_ps(e + rs), e11 = _mm512_loadu_ps(e + rs + 16);
  __m512 r[4][2] = {{e00, e01},
                    {_mm512_add_ps(e00, e10), _mm512_add_ps(e01, e11)},
                    {_mm512_sub_ps(e00, e10), _mm512_sub_ps(e01, e11)},
                    {e10, e11}};
  for (int a = 0; a < 4; a++) {
    _mm512_store_ps(d + (a * 4 + 0) * 16, r[a][0]);
    _mm512_store_ps(d + (a * 4 + 1) * 16, _mm512_add_ps(r[a][0], r[a][1]));
    _mm512_store_ps(d + (a * 4 + 2) * 16, _mm512_sub_ps(r[a][0], r[a][1]));
    _mm512_store_ps(d + (a * 4 + 3) * 16, r[a][1]);
  }
}

// wbwdw_chunk adds tiles j0..j0+tb-1 of tile row i into part[pt][c][k]:
// per point, 16 accumulators (c) and one dy vector (k) per tile.
INLINE AVX512 void wbwdw_chunk(float *part, const float *xp, const float *dy, float *v, float *d, int WP,
                               int WD, int i, int j0, const int tb) {
  size_t rs = (size_t)WP * 16, rd = (size_t)WD * 16;
  for (int t = 0; t < tb; t++) {
    wino_in(v + t * 256, xp + 2 * i * rs + (size_t)2 * (j0 + t) * 16, rs);
    wino_dy(d + t * 256, dy + 2 * i * rd + (size_t)2 * (j0 + t) * 16, rd);
  }
  for (int pt = 0; pt < 16; pt++) {
    __m512 acc[16];
    float *pp = part + pt * 256;
    for (int c = 0; c < 16; c++) acc[c] = _mm512_load_ps(pp + c * 16);
    for (int t = 0; t < tb; t++) {
      __m512 dv = _mm512_load_ps(d + t * 256 + pt * 16);
      const float *vp = v + t * 256 + pt * 16;
#pragma GCC unroll 16
      for (int c = 0; c < 16; c++) acc[c] = _mm512_fmadd_ps(_mm512_set1_ps(vp[c]), dv, acc[c]);
    }
    for (int c = 0; c < 16; c++) _mm512_store_ps(pp + c * 16, acc[c]);
  }
}

static AVX512 void wbwdw_image(float *part, const float *xp, const float *dy, float *v, float *d, int H,
                               int W, int TH, int TW, int WD, const float *xnext, const float *dynext) {
  int WP = 2 * TW + 2;
  for (int i = 0; i < TH; i++) {
    prefetch_rows(xnext, i, H, W, 0);
    prefetch_rows(dynext, i, H, W, 0);
    int j0 = 0;
    for (; j0 + BWT <= TW; j0 += BWT) wbwdw_chunk(part, xp, dy, v, d, WP, WD, i, j0, BWT);
    for (; j0 < TW; j0++) wbwdw_chunk(part, xp, dy, v, d, WP, WD, i, j0, 1);
  }
}


// wbwdw_block adds the weight gradient of block k's images into
// p->partw + 4096*k (thread t's scratch); kn is the block the thread will
// likely take next (its first image is prefetched after the last one).
static void wbwdw_block(rr_c16 *p, int t, int k, int kn, const float *dy, const float *x) {
  int H = p->H, W = p->W, TH = p->TH, TW = p->TW;
  int even = H % 2 == 0 && W % 2 == 0;
  size_t img = (size_t)H * W * 16, padn = (size_t)(2 * TH + 2) * (2 * TW + 2) * 16;
  size_t dypn = (size_t)(2 * TH) * (2 * TW) * 16;
  float *xp = p->padw + padn * t, *v = p->scr + (size_t)t * 2 * WT * 256, *d = v + WT * 256;
  float *dyp = p->dyp + dypn * t;
  int n0 = k * WBLK, n1 = n0 + WBLK < p->N ? n0 + WBLK : p->N;
  memset(p->partw + 4096 * (size_t)k, 0, 4096 * sizeof(float));
  for (int n = n0; n < n1; n++) {
    pad_image(xp, x + img * n, H, W, 2 * TW + 2);
    const float *e = dy + img * n;
    if (!even) {  // zero-extend dy to whole tiles (the extension stays zero)
      for (int h = 0; h < H; h++)
        memcpy(dyp + (size_t)h * 2 * TW * 16, e + (size_t)h * W * 16, (size_t)W * 16 * sizeof(float));
      e = dyp;
    }
    int nn = n + 1 < n1 ? n + 1 : kn >= 0 && kn * WBLK < p->N ? kn * WBLK : -1;
    wbwdw_image(p->partw + 4096 * (size_t)k, xp, e, v, d, H, W, TH, TW, even ? W : 2 * TW,
                nn >= 0 ? x + img * nn : NULL, nn >= 0 ? dy + img * nn : NULL);
  }
}

// sum_blocks sets the 16 floats at a to the sum over blocks b = 0..nb-1
// of a[4096*b ...], added in block order.
static AVX512 void sum_blocks(float *a, int nb) {
  __m512 s = _mm512_load_ps(a);
  for (int b = 1; b < nb; b++) s = _mm512_add_ps(s, _mm512_load_ps(a + 4096 * (size_t)b));
  _mm512_store_ps(a, s);
}

typedef struct {
  rr_c16 *p;
  const float *dy, *x;
  int nb;
} wbwdw_job;

// wbwdw_item sums block k on thread t (next: the block it takes next).
static void wbwdw_item(void *arg, int t, int k, int next) {
  wbwdw_job *j = arg;
  wbwdw_block(j->p, t, k, next, j->dy, j->x);
}

// sum_item sums the blocks' partials of points 16i..16i+15 in block order
// into block 0's.
static void sum_item(void *arg, int t, int i, int next) {
  (void)t, (void)next;
  wbwdw_job *j = arg;
  sum_blocks(j->p->partw + 16 * i, j->nb);
}

void rr_c16w_bwd_weights(rr_c16 *p, float *dw, const float *dy, const float *x) {
  c16_bind(p);
  wbwdw_job j = {p, dy, x, (p->N + WBLK - 1) / WBLK};
  rr_share(p->T, j.nb, wbwdw_item, &j);
  // The blocks' partials are summed in block order, 16 floats at a time,
  // the 4096 points shared out too (the serial strided sum this replaced
  // idled the other thread 0.4% of a step).
  rr_share(p->T, 4096 / 16, sum_item, &j);
  int nb = j.nb;
  // dw[k][c] = A2^T S M S A2 with M[pt] = sum over blocks of partw[pt][c][k].
  static const double A2T[3][4] = {{1, 1, 1, 0}, {0, 1, -1, 0}, {0, 1, 1, -1}};
  static const double S[4] = {1, .5, .5, 1};
  for (int c = 0; c < 16; c++)
    for (int k = 0; k < 16; k++) {
      double m[4][4], am[3][4];
      for (int pt = 0; pt < 16; pt++) m[pt / 4][pt % 4] = p->partw[(pt * 16 + c) * 16 + k] * S[pt / 4] * S[pt % 4];
      for (int r = 0; r < 3; r++)
        for (int b = 0; b < 4; b++) am[r][b] = A2T[r][0] * m[0][b] + A2T[r][1] * m[1][b] + A2T[r][2] * m[2][b] + A2T[r][3] * m[3][b];
      for (int r = 0; r < 3; r++)
        for (int s = 0; s < 3; s++)
          dw[((k * 16 + c) * 3 + r) * 3 + s] =
              (float)(am[r][0] * A2T[s][0] + am[r][1] * A2T[s][1] + am[r][2] * A2T[s][2] + am[r][3] * A2T[s][3]);
    }
}
