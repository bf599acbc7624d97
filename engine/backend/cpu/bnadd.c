// bnadd.c: our own training-mode batch norm on nChw16c activations (the
// default on AVX-512F CPUs; oneDNN's remains for inference and as the
// fallback). Forward: y = BN(x), max(0, BN(x)) (conv-BN-ReLU) or the end
// of a residual block max(0, BN(x) + res) (Eq. 1, then ReLU) in one pass
// over memory, with BN using the batch's own statistics. oneDNN 2.6's
// batch norm cannot add a second tensor (fuse_norm_add_relu came later),
// and its static split of every pass over the two threads left one of them
// waiting at its end: here images are shared from both ends of the batch
// (rr_share), in the statistics, apply and backward passes alike.
//
// Statistics take one pass: per channel, with M = N*HW values and a shift
// K (the channel's first value in the batch, so that x-K is of the order
// of the spread and the sums do not cancel),
//   S1 = sum (x-K), S2 = sum (x-K)^2, mean = K + S1/M,
//   var = S2/M - (S1/M)^2 (biased, as oneDNN and the reference return it).
// Float vectors accumulate at most 256 pixels of one image and channel
// block, then add into that image's double sums; the images' sums are
// added in image order, so results depend neither on timing nor on the
// thread count.
// The second pass is y = max(0, (x-mean)*scale + beta + res) with
// scale = gamma/sqrt(var+eps) (subtracting the mean first keeps a large
// mean from costing precision; the pass is memory-bound either way);
// padding lanes of the last channel block get scale = beta = 0 and stay
// zero (res is zero there too).
//
// Backward (kernels.BNBackward), per channel, with M = N*HW, istd =
// 1/sqrt(var+eps), xc = x - mean and a = dy (masked by the fused ReLU,
// recomputed from x exactly as the forward computed it):
//   dbeta = sum a, dgamma = istd * sum a*xc,
//   dx = gamma*istd * (a - dbeta/M - xc * istd * dgamma/M)
//      = k1*a + k2*xc + k3,
// the two sums taken per image as the statistics are, then one apply pass.
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
#define INLINE static inline __attribute__((always_inline))

struct rr_bnadd {
  rr_ctx *c;
  int N, C, CB, HW, T;
  double eps;
  double *img;                     // N x (S1, S2) x CB*16 per-image partial sums (bound per call)
  float *k, *mean, *scale, *beta;  // CB*16 each: shift; the apply pass's mean, gamma*istd, beta
  float *k1, *k2, *k3;             // CB*16 each: backward's dx = k1*a + k2*xc + k3
};

// img_bytes is the size of the per-image sums, which every plan of a
// context shares (ops run one at a time per context); img_bind points the
// plan at them.
static size_t img_bytes(const rr_bnadd *p) { return (size_t)p->N * p->CB * 16 * 2 * sizeof(double); }
static void img_bind(rr_bnadd *p) { p->img = rr_ctx_bn_scratch(p->c, img_bytes(p)); }

rr_bnadd *rr_bnadd_new(rr_ctx *c, int N, int C, int HW, float eps) {
  rr_bnadd *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->c = c, p->N = N, p->C = C, p->CB = (C + 15) / 16, p->HW = HW, p->T = rr_ctx_threads(c), p->eps = eps;
  size_t lanes = (size_t)p->CB * 16;
  float **v[7] = {&p->k, &p->mean, &p->scale, &p->beta, &p->k1, &p->k2, &p->k3};
  int ok = rr_ctx_bn_scratch(c, img_bytes(p)) != NULL;
  for (int i = 0; i < 7; i++) ok &= (*v[i] = rr_alloc_touch(lanes * sizeof(float))) != NULL;
  if (!ok) {
    rr_bnadd_free(p);
    return NULL;
  }
  return p;
}

void rr_bnadd_free(rr_bnadd *p) {
  if (!p) return;
  float *v[7] = {p->k, p->mean, p->scale, p->beta, p->k1, p->k2, p->k3};
  for (int i = 0; i < 7; i++) free(v[i]);
  free(p);
}

// relu_mask is the fused ReLU's mask of BN(x) = (x-mu)*sc + be, computed
// with the forward's very operations (so backward's mask is forward's).
INLINE AVX512 __mmask16 relu_mask(__m512 xc, __m512 sc, __m512 be) {
  return _mm512_cmp_ps_mask(_mm512_fmadd_ps(xc, sc, be), _mm512_setzero_ps(), _CMP_GT_OQ);
}

// add_pd adds the 16 floats of v to the doubles s[0..15].
INLINE AVX512 void add_pd(double *s, __m512 v) {
  __m256 lo = _mm512_castps512_ps256(v), hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
  _mm512_storeu_pd(s, _mm512_add_pd(_mm512_loadu_pd(s), _mm512_cvtps_pd(lo)));
  _mm512_storeu_pd(s + 8, _mm512_add_pd(_mm512_loadu_pd(s + 8), _mm512_cvtps_pd(hi)));
}

// sums_block adds, over one (image, channel block) plane of hw pixels,
// sum(u) and sum(u*w) into s1, s2 (16 lanes each), where for the
// statistics (grad = 0) u = w = x-k (k: the shift), and for backward
// (grad = 1) u = a (dy masked by the fused ReLU when relu) and w = x-k
// (k: the mean; sc, be: the forward's scale and beta for the mask).
INLINE AVX512 void sums_block(double *s1, double *s2, const float *x, const float *dy, const float *k,
                              const float *scale, const float *beta, int hw, const int grad, const int relu) {
  __m512 kv = _mm512_loadu_ps(k), sc = _mm512_loadu_ps(scale), be = _mm512_loadu_ps(beta);
  for (int i0 = 0; i0 < hw; i0 += 256) {
    int i1 = i0 + 256 < hw ? i0 + 256 : hw;
    __m512 a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps();
    __m512 b1 = _mm512_setzero_ps(), b2 = _mm512_setzero_ps();
    int i = i0;
#define RR_SUMS_TERM(j, c1, c2)                                                     \
  do {                                                                               \
    __m512 w = _mm512_sub_ps(_mm512_loadu_ps(x + (size_t)(j) * 16), kv), u = w;     \
    if (grad) {                                                                      \
      u = _mm512_loadu_ps(dy + (size_t)(j) * 16);                                    \
      if (relu) u = _mm512_maskz_mov_ps(relu_mask(w, sc, be), u);                   \
    }                                                                                \
    c1 = _mm512_add_ps(c1, u);                                                       \
    c2 = _mm512_fmadd_ps(u, w, c2);                                                  \
  } while (0)
    for (; i + 2 <= i1; i += 2) {
      RR_SUMS_TERM(i, a1, a2);
      RR_SUMS_TERM(i + 1, b1, b2);
    }
    if (i < i1) RR_SUMS_TERM(i, a1, a2);
#undef RR_SUMS_TERM
    add_pd(s1, _mm512_add_ps(a1, b1));
    add_pd(s2, _mm512_add_ps(a2, b2));
  }
}

// apply_block writes y = BN(x) (+ res when res != NULL), then the ReLU
// when relu, over one plane of hw pixels.
INLINE AVX512 void apply_block(float *y, const float *x, const float *res, const float *mean,
                               const float *scale, const float *beta, int hw, const int relu) {
  __m512 mu = _mm512_loadu_ps(mean), sc = _mm512_loadu_ps(scale), be = _mm512_loadu_ps(beta);
  __m512 zero = _mm512_setzero_ps();
  for (int i = 0; i < hw; i++) {
    __m512 v = _mm512_fmadd_ps(_mm512_sub_ps(_mm512_loadu_ps(x + (size_t)i * 16), mu), sc, be);
    if (res) v = _mm512_add_ps(v, _mm512_loadu_ps(res + (size_t)i * 16));
    _mm512_storeu_ps(y + (size_t)i * 16, relu ? _mm512_max_ps(v, zero) : v);
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

// bwd_block writes dx = k1*a + k2*(x-mean) + k3 over one plane (a: see
// sums_block).
INLINE AVX512 void bwd_block(float *dx, const float *dy, const float *x, const rr_bnadd *p, int cb,
                             const int relu) {
  __m512 mu = _mm512_loadu_ps(p->mean + cb * 16), sc = _mm512_loadu_ps(p->scale + cb * 16);
  __m512 be = _mm512_loadu_ps(p->beta + cb * 16), k1 = _mm512_loadu_ps(p->k1 + cb * 16);
  __m512 k2 = _mm512_loadu_ps(p->k2 + cb * 16), k3 = _mm512_loadu_ps(p->k3 + cb * 16);
  for (int i = 0; i < p->HW; i++) {
    __m512 xc = _mm512_sub_ps(_mm512_loadu_ps(x + (size_t)i * 16), mu), a = _mm512_loadu_ps(dy + (size_t)i * 16);
    if (relu) a = _mm512_maskz_mov_ps(relu_mask(xc, sc, be), a);
    _mm512_storeu_ps(dx + (size_t)i * 16, _mm512_fmadd_ps(k1, a, _mm512_fmadd_ps(k2, xc, k3)));
  }
}

// job carries one call's arguments to the per-image functions below.
typedef struct {
  rr_bnadd *p;
  float *y;
  const float *x, *dy, *res, *in;
  int relu, C, H, W, stride, lo;
} job;

// img_sums zeroes image n's partial sums and adds its planes' (see
// sums_block; dy == NULL: the statistics).
static AVX512 void img_sums(void *arg, int t, int n, int next) {
  (void)t, (void)next;
  job *j = arg;
  rr_bnadd *p = j->p;
  size_t lanes = (size_t)p->CB * 16, plane = (size_t)p->HW * 16;
  double *s = p->img + (size_t)n * 2 * lanes;
  memset(s, 0, 2 * lanes * sizeof(double));
  for (int cb = 0; cb < p->CB; cb++) {
    size_t o = ((size_t)n * p->CB + cb) * plane;
    const float *x = j->x + o, *dy = j->dy ? j->dy + o : NULL;
    double *s1 = s + cb * 16, *s2 = s + lanes + cb * 16;
    if (!j->dy)
      sums_block(s1, s2, x, NULL, p->k + cb * 16, p->scale, p->beta, p->HW, 0, 0);
    else if (j->relu)
      sums_block(s1, s2, x, dy, p->mean + cb * 16, p->scale + cb * 16, p->beta + cb * 16, p->HW, 1, 1);
    else
      sums_block(s1, s2, x, dy, p->mean + cb * 16, p->scale + cb * 16, p->beta + cb * 16, p->HW, 1, 0);
  }
}

// total sums the images' partial sums into image 0's, in image order,
// 8 doubles at a time (S1 of lane c is then img[c], S2 img[lanes + c]).
static AVX512 void total(rr_bnadd *p) {
  size_t m = (size_t)p->CB * 16 * 2;
  for (size_t i = 0; i < m; i += 8) {
    __m512d s = _mm512_load_pd(p->img + i);
    for (int n = 1; n < p->N; n++) s = _mm512_add_pd(s, _mm512_load_pd(p->img + (size_t)n * m + i));
    _mm512_store_pd(p->img + i, s);
  }
}

// bn_stats sets mean and var (the batch's, biased) and the op's per-lane
// mean, scale and beta for the apply pass (kept for backward's mask).
static void bn_stats(rr_bnadd *p, float *mean, float *var, const float *x, const float *gamma,
                     const float *beta) {
  img_bind(p);
  int CB = p->CB, HW = p->HW;
  size_t lanes = (size_t)CB * 16, plane = (size_t)HW * 16;
  for (int cb = 0; cb < CB; cb++) memcpy(p->k + cb * 16, x + cb * plane, 16 * sizeof(float));
  job j = {.p = p, .x = x};
  rr_share(p->T, p->N, img_sums, &j);
  total(p);
  double m = (double)p->N * HW;
  for (size_t c = 0; c < lanes; c++) {
    if (c >= (size_t)p->C) {
      p->mean[c] = p->scale[c] = p->beta[c] = 0;
      continue;
    }
    double s1 = p->img[c], s2 = p->img[lanes + c];
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

// img_apply runs apply_block on image n's planes (res: the same offsets).
static AVX512 void img_apply(void *arg, int t, int n, int next) {
  (void)t, (void)next;
  job *j = arg;
  rr_bnadd *p = j->p;
  for (int cb = 0; cb < p->CB; cb++) {
    size_t o = ((size_t)n * p->CB + cb) * p->HW * 16;
    const float *res = j->res ? j->res + o : NULL;
    if (j->relu)
      apply_block(j->y + o, j->x + o, res, p->mean + cb * 16, p->scale + cb * 16, p->beta + cb * 16, p->HW, 1);
    else
      apply_block(j->y + o, j->x + o, res, p->mean + cb * 16, p->scale + cb * 16, p->beta + cb * 16, p->HW, 0);
  }
}

// fwd_train is y = BN(x) (+ res when res != NULL), then the ReLU when relu.
static void fwd_train(rr_bnadd *p, float *y, float *mean, float *var, const float *x, const float *gamma,
                      const float *beta, const float *res, int relu) {
  bn_stats(p, mean, var, x, gamma, beta);
  job j = {.p = p, .y = y, .x = x, .res = res, .relu = relu};
  rr_share(p->T, p->N, img_apply, &j);
}

void rr_bnadd_fwd_train(rr_bnadd *p, float *y, float *mean, float *var, const float *x,
                        const float *gamma, const float *beta, const float *res) {
  fwd_train(p, y, mean, var, x, gamma, beta, res, 1);
}

void rr_bn_own_fwd_train(rr_bnadd *p, float *y, float *mean, float *var, const float *x, const float *gamma,
                         const float *beta, int relu) {
  fwd_train(p, y, mean, var, x, gamma, beta, NULL, relu);
}

// img_apply_sca is img_apply with res option A's shortcut of j->in.
static AVX512 void img_apply_sca(void *arg, int t, int n, int next) {
  (void)t, (void)next;
  job *j = arg;
  rr_bnadd *p = j->p;
  int Cb = (j->C + 15) / 16, P = (j->H - 1) / j->stride + 1, Q = (j->W - 1) / j->stride + 1;
  for (int cb = 0; cb < p->CB; cb++) {
    size_t o = ((size_t)n * p->CB + cb) * p->HW * 16;
    long off[16];
    rr_shortcut_a_offsets(off, cb, j->C, p->C, j->lo, (long)j->H * j->W, 0);
    if (rr_shortcut_a_kind(off) == RR_SC_ZERO) {  // a zero-padding block: nothing to add
      apply_block(j->y + o, j->x + o, NULL, p->mean + cb * 16, p->scale + cb * 16, p->beta + cb * 16, p->HW, 1);
      continue;
    }
    apply_block_sca(j->y + o, j->x + o, j->in + (size_t)n * Cb * j->H * j->W * 16, off, j->stride, j->W, P, Q,
                    p->mean + cb * 16, p->scale + cb * 16, p->beta + cb * 16);
  }
}

void rr_bnadd_fwd_train_sca(rr_bnadd *p, float *y, float *mean, float *var, const float *x,
                            const float *gamma, const float *beta, const float *in, int C, int H,
                            int W, int stride, int lo) {
  bn_stats(p, mean, var, x, gamma, beta);
  job j = {.p = p, .y = y, .x = x, .in = in, .C = C, .H = H, .W = W, .stride = stride, .lo = lo};
  rr_share(p->T, p->N, img_apply_sca, &j);
}

// img_bwd runs bwd_block on image n's planes.
static AVX512 void img_bwd(void *arg, int t, int n, int next) {
  (void)t, (void)next;
  job *j = arg;
  rr_bnadd *p = j->p;
  for (int cb = 0; cb < p->CB; cb++) {
    size_t o = ((size_t)n * p->CB + cb) * p->HW * 16;
    if (j->relu)
      bwd_block(j->y + o, j->dy + o, j->x + o, p, cb, 1);
    else
      bwd_block(j->y + o, j->dy + o, j->x + o, p, cb, 0);
  }
}

void rr_bn_own_bwd(rr_bnadd *p, float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                   const float *gamma, const float *var, int relu) {
  img_bind(p);
  job j = {.p = p, .y = dx, .x = x, .dy = dy, .relu = relu};
  rr_share(p->T, p->N, img_sums, &j);
  total(p);
  size_t lanes = (size_t)p->CB * 16;
  double m = (double)p->N * p->HW;
  for (size_t c = 0; c < lanes; c++) {
    if (c >= (size_t)p->C) {
      p->k1[c] = p->k2[c] = p->k3[c] = 0;
      continue;
    }
    double s1 = p->img[c], s2 = p->img[lanes + c];
    double is = 1 / sqrt((double)var[c] + p->eps), g = gamma[c];
    dbeta[c] = (float)s1;
    dgamma[c] = (float)(s2 * is);
    p->k1[c] = (float)(g * is);
    p->k2[c] = (float)(-g * is * is * is * s2 / m);
    p->k3[c] = (float)(-g * is * s1 / m);
  }
  rr_share(p->T, p->N, img_bwd, &j);
}
