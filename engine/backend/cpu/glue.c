// glue.c: oneDNN plans for package cpu. See glue.h.
#include "glue.h"

#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct rr_ctx {
  dnnl_engine_t eng;
  dnnl_stream_t strm;
  int nthreads;
  void *scratch;  // shared user scratchpad: ops run one at a time per ctx
  size_t scratch_size;
  void *own;      // shared scratch of our own conv kernels (rr_ctx_own_scratch)
  size_t own_size;
  long own_tag;
  void *bn;       // shared scratch of our own batch norms (rr_ctx_bn_scratch)
  size_t bn_size;
  double secs[3];  // time in primitives, activation reorders, weight reorders
};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

void rr_ctx_times(rr_ctx *c, double *out, int reset) {
  for (int i = 0; i < 3; i++) {
    out[i] = c->secs[i];
    if (reset) c->secs[i] = 0;
  }
}

// set_threads makes the calling OS thread's OpenMP team size nthreads.
// libgomp keeps nthreads-var per OS thread once it has been written, and
// Go may run consecutive cgo calls on different OS threads, so every entry
// point calls this (it is a thread-local read when nothing changes).
static inline void set_threads(rr_ctx *c) {
  if (omp_get_max_threads() != c->nthreads) omp_set_num_threads(c->nthreads);
}

// rr_alloc_touch returns 64-byte-aligned memory whose pages have been
// written (zeroed) once, so that first-touch page faults happen at plan
// time, not in a step.
void *rr_alloc_touch(size_t n) {
  if (n == 0) return NULL;
  size_t r = (n + 63) / 64 * 64;
  void *p = aligned_alloc(64, r);
  if (p) memset(p, 0, r);
  return p;
}

#define CHK(x)                                                                 \
  do {                                                                         \
    dnnl_status_t s_ = (x);                                                    \
    if (s_ != dnnl_success) {                                                  \
      snprintf(err, errlen, "%s:%d: %s: %s", __FILE__, __LINE__, #x,           \
               dnnl_status2str(s_));                                           \
      goto fail;                                                               \
    }                                                                          \
  } while (0)

rr_ctx *rr_ctx_new(int nthreads, char *err, int errlen) {
  rr_ctx *c = calloc(1, sizeof *c);
  c->nthreads = nthreads;
  set_threads(c);
  CHK(dnnl_engine_create(&c->eng, dnnl_cpu, 0));
  CHK(dnnl_stream_create(&c->strm, c->eng, dnnl_stream_default_flags));
  return c;
fail:
  free(c);
  return NULL;
}

void rr_ctx_free(rr_ctx *c) {
  if (!c) return;
  dnnl_stream_destroy(c->strm);
  dnnl_engine_destroy(c->eng);
  free(c->scratch);
  free(c->own);
  free(c->bn);
  free(c);
}

void *rr_ctx_bn_scratch(rr_ctx *c, size_t n) {
  if (n > c->bn_size) {
    free(c->bn);
    c->bn = rr_alloc_touch(n);
    c->bn_size = c->bn ? n : 0;
  }
  return c->bn;
}

void *rr_ctx_own_scratch(rr_ctx *c, size_t n, long tag) {
  if (n > c->own_size) {
    free(c->own);
    c->own = rr_alloc_touch(n);
    c->own_size = c->own ? n : 0;
    c->own_tag = tag;
    return c->own;
  }
  if (tag != c->own_tag) {
    memset(c->own, 0, n);
    c->own_tag = tag;
  }
  return c->own;
}

int rr_ctx_threads(rr_ctx *c) { return c->nthreads; }

void rr_share(int T, int n, void (*f)(void *arg, int thread, int i, int next), void *arg) {
  int claimed = 0;
#pragma omp parallel num_threads(T)
  {
    int t = omp_get_thread_num();
    if (T == 2) {
      int step = t == 0 ? 1 : -1;
      for (int i = t == 0 ? 0 : n - 1;; i += step) {
        if (__atomic_fetch_add(&claimed, 1, __ATOMIC_RELAXED) >= n) break;
        f(arg, t, i, i + step >= 0 && i + step < n ? i + step : -1);
      }
    } else {
#pragma omp for schedule(static)
      for (int i = 0; i < n; i++) f(arg, t, i, i + 1 < n ? i + 1 : -1);
    }
  }
}

int rr_avx512_supported(void) { return __builtin_cpu_supports("avx512f"); }

// ---- primitives with a user-managed scratchpad ----

typedef struct {
  dnnl_primitive_t p;
  dnnl_memory_t scratch;  // NULL when the primitive needs none
  const char *impl;
} prim;

static dnnl_status_t prim_init(rr_ctx *c, prim *pr, const_dnnl_primitive_desc_t pd) {
  dnnl_status_t s;
  const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
  size_t sz = smd ? dnnl_memory_desc_get_size(smd) : 0;
  if (sz > c->scratch_size) {
    free(c->scratch);
    c->scratch = rr_alloc_touch(sz);
    c->scratch_size = sz;
  }
  if (sz > 0) {
    s = dnnl_memory_create(&pr->scratch, smd, c->eng, DNNL_MEMORY_NONE);
    if (s != dnnl_success) return s;
  }
  const char *impl = NULL;
  dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
  pr->impl = impl ? strdup(impl) : strdup("?");
  return dnnl_primitive_create(&pr->p, pd);
}

static void prim_free(prim *pr) {
  if (pr->p) dnnl_primitive_destroy(pr->p);
  if (pr->scratch) dnnl_memory_destroy(pr->scratch);
  free((void *)pr->impl);
}

// prim_exec runs pr with args (which must have room for one more entry).
static int prim_exec(rr_ctx *c, prim *pr, int nargs, dnnl_exec_arg_t *args) {
  if (pr->scratch) {
    dnnl_memory_set_data_handle(pr->scratch, c->scratch);
    args[nargs].arg = DNNL_ARG_SCRATCHPAD;
    args[nargs].memory = pr->scratch;
    nargs++;
  }
  double t0 = now();
  dnnl_status_t s = dnnl_primitive_execute(pr->p, c->strm, nargs, args);
  if (s == dnnl_success) s = dnnl_stream_wait(c->strm);
  c->secs[0] += now() - t0;
  return (int)s;
}

static dnnl_status_t create_pd(dnnl_primitive_desc_t *pd, const void *desc, rr_ctx *c,
                               const_dnnl_primitive_desc_t hint) {
  dnnl_primitive_attr_t attr;
  dnnl_status_t s = dnnl_primitive_attr_create(&attr);
  if (s != dnnl_success) return s;
  s = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
  if (s == dnnl_success) s = dnnl_primitive_desc_create(pd, desc, attr, c->eng, hint);
  dnnl_primitive_attr_destroy(attr);
  return s;
}

// ---- slots: a tensor as the caller holds it, and as a primitive wants it ----

typedef struct {
  dnnl_memory_t user;        // caller's layout; handle set per call
  dnnl_memory_t inner;       // primitive's layout with an owned buffer, or NULL
  dnnl_primitive_t reorder;  // user->inner for inputs, inner->user for outputs
  void *buf;
  int weights;  // which time counter its reorders go to
} slot;

static dnnl_status_t slot_init(rr_ctx *c, slot *s, const dnnl_memory_desc_t *user_md,
                               const dnnl_memory_desc_t *prim_md, int is_output) {
  dnnl_status_t st = dnnl_memory_create(&s->user, user_md, c->eng, DNNL_MEMORY_NONE);
  if (st != dnnl_success || dnnl_memory_desc_equal(user_md, prim_md)) return st;
  s->buf = rr_alloc_touch(dnnl_memory_desc_get_size(prim_md));
  st = dnnl_memory_create(&s->inner, prim_md, c->eng, s->buf);
  if (st != dnnl_success) return st;
  dnnl_primitive_desc_t rpd;
  if (is_output)
    st = dnnl_reorder_primitive_desc_create(&rpd, prim_md, c->eng, user_md, c->eng, NULL);
  else
    st = dnnl_reorder_primitive_desc_create(&rpd, user_md, c->eng, prim_md, c->eng, NULL);
  if (st != dnnl_success) return st;
  st = dnnl_primitive_create(&s->reorder, rpd);
  dnnl_primitive_desc_destroy(rpd);
  return st;
}

static void slot_free(slot *s) {
  if (s->user) dnnl_memory_destroy(s->user);
  if (s->inner) dnnl_memory_destroy(s->inner);
  if (s->reorder) dnnl_primitive_destroy(s->reorder);
  free(s->buf);
}

static int reorder_exec(rr_ctx *c, slot *sl, dnnl_memory_t from, dnnl_memory_t to) {
  dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
  double t0 = now();
  dnnl_status_t s = dnnl_primitive_execute(sl->reorder, c->strm, 2, a);
  if (s == dnnl_success) s = dnnl_stream_wait(c->strm);
  c->secs[sl->weights ? 2 : 1] += now() - t0;
  return (int)s;
}

// slot_in binds an input and returns the memory the primitive reads.
static dnnl_memory_t slot_in(rr_ctx *c, slot *s, const void *p, int *st) {
  dnnl_memory_set_data_handle(s->user, (void *)p);
  if (!s->reorder) return s->user;
  int r = reorder_exec(c, s, s->user, s->inner);
  if (r) *st = r;
  return s->inner;
}

// slot_out binds an output and returns the memory the primitive writes;
// slot_out_done copies it to the caller's layout.
static dnnl_memory_t slot_out(slot *s, void *p) {
  dnnl_memory_set_data_handle(s->user, p);
  return s->inner ? s->inner : s->user;
}

static void slot_out_done(rr_ctx *c, slot *s, int *st) {
  if (!s->reorder) return;
  int r = reorder_exec(c, s, s->inner, s->user);
  if (r) *st = r;
}

static dnnl_format_tag_t act_tag(int layout) {
  return layout == RR_NCHW16C ? dnnl_nChw16c : dnnl_nchw;
}

// ---- convolution ----

struct rr_conv {
  rr_ctx *c;
  prim fwd, bwdd, bwdw;
  slot f_src, f_w, f_dst;
  slot d_ddst, d_w, d_dsrc;
  slot w_src, w_ddst, w_dw;
};

rr_conv *rr_conv_new(rr_ctx *c, int N, int C, int H, int W, int K, int R, int S,
                     int stride, int pad, int src_layout, int dst_layout, int native,
                     const int *algo, char *err, int errlen) {
  set_threads(c);
  dnnl_alg_kind_t algs[3];
  for (int i = 0; i < 3; i++)
    algs[i] = algo[i] == RR_WINOGRAD ? dnnl_convolution_winograd
              : algo[i] == RR_AUTO   ? dnnl_convolution_auto
                                     : dnnl_convolution_direct;
  rr_conv *p = calloc(1, sizeof *p);
  p->c = c;
  int P = (H + 2 * pad - R) / stride + 1, Q = (W + 2 * pad - S) / stride + 1;
  dnnl_dims_t sd = {N, C, H, W}, wd = {K, C, R, S}, dd = {N, K, P, Q};
  dnnl_dims_t strides = {stride, stride}, pads = {pad, pad};
  dnnl_memory_desc_t src_u, w_u, dst_u, src_a, w_a, dst_a;
  dnnl_primitive_desc_t fpd = NULL, dpd = NULL, wpd = NULL;
  CHK(dnnl_memory_desc_init_by_tag(&src_u, 4, sd, dnnl_f32, act_tag(src_layout)));
  CHK(dnnl_memory_desc_init_by_tag(&dst_u, 4, dd, dnnl_f32, act_tag(dst_layout)));
  CHK(dnnl_memory_desc_init_by_tag(&w_u, 4, wd, dnnl_f32, dnnl_oihw));
  CHK(dnnl_memory_desc_init_by_tag(&w_a, 4, wd, dnnl_f32, dnnl_format_tag_any));
  if (native) {
    src_a = src_u;
    dst_a = dst_u;
  } else {
    CHK(dnnl_memory_desc_init_by_tag(&src_a, 4, sd, dnnl_f32, dnnl_format_tag_any));
    CHK(dnnl_memory_desc_init_by_tag(&dst_a, 4, dd, dnnl_f32, dnnl_format_tag_any));
  }
  dnnl_convolution_desc_t cd;
  CHK(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training, algs[0],
                                         &src_a, &w_a, NULL, &dst_a, strides, pads, pads));
  CHK(create_pd(&fpd, &cd, c, NULL));
  CHK(prim_init(c, &p->fwd, fpd));
  CHK(slot_init(c, &p->f_src, &src_u, dnnl_primitive_desc_query_md(fpd, dnnl_query_src_md, 0), 0));
  p->f_w.weights = 1;
  CHK(slot_init(c, &p->f_w, &w_u, dnnl_primitive_desc_query_md(fpd, dnnl_query_weights_md, 0), 0));
  CHK(slot_init(c, &p->f_dst, &dst_u, dnnl_primitive_desc_query_md(fpd, dnnl_query_dst_md, 0), 1));

  CHK(dnnl_convolution_backward_data_desc_init(&cd, algs[1], &src_a, &w_a,
                                               &dst_a, strides, pads, pads));
  CHK(create_pd(&dpd, &cd, c, fpd));
  CHK(prim_init(c, &p->bwdd, dpd));
  CHK(slot_init(c, &p->d_ddst, &dst_u, dnnl_primitive_desc_query_md(dpd, dnnl_query_diff_dst_md, 0), 0));
  p->d_w.weights = 1;
  CHK(slot_init(c, &p->d_w, &w_u, dnnl_primitive_desc_query_md(dpd, dnnl_query_weights_md, 0), 0));
  CHK(slot_init(c, &p->d_dsrc, &src_u, dnnl_primitive_desc_query_md(dpd, dnnl_query_diff_src_md, 0), 1));

  CHK(dnnl_convolution_backward_weights_desc_init(&cd, algs[2], &src_a, &w_a,
                                                  NULL, &dst_a, strides, pads, pads));
  CHK(create_pd(&wpd, &cd, c, fpd));
  CHK(prim_init(c, &p->bwdw, wpd));
  CHK(slot_init(c, &p->w_src, &src_u, dnnl_primitive_desc_query_md(wpd, dnnl_query_src_md, 0), 0));
  CHK(slot_init(c, &p->w_ddst, &dst_u, dnnl_primitive_desc_query_md(wpd, dnnl_query_diff_dst_md, 0), 0));
  p->w_dw.weights = 1;
  CHK(slot_init(c, &p->w_dw, &w_u, dnnl_primitive_desc_query_md(wpd, dnnl_query_diff_weights_md, 0), 1));
  dnnl_primitive_desc_destroy(fpd);
  dnnl_primitive_desc_destroy(dpd);
  dnnl_primitive_desc_destroy(wpd);
  return p;
fail:
  if (fpd) dnnl_primitive_desc_destroy(fpd);
  if (dpd) dnnl_primitive_desc_destroy(dpd);
  if (wpd) dnnl_primitive_desc_destroy(wpd);
  rr_conv_free(p);
  return NULL;
}

void rr_conv_free(rr_conv *p) {
  if (!p) return;
  prim_free(&p->fwd);
  prim_free(&p->bwdd);
  prim_free(&p->bwdw);
  slot *ss[] = {&p->f_src, &p->f_w, &p->f_dst, &p->d_ddst, &p->d_w,
                &p->d_dsrc, &p->w_src, &p->w_ddst, &p->w_dw};
  for (size_t i = 0; i < sizeof ss / sizeof ss[0]; i++) slot_free(ss[i]);
  free(p);
}

const char *rr_conv_impl(rr_conv *p, int which) {
  return which == 0 ? p->fwd.impl : which == 1 ? p->bwdd.impl : p->bwdw.impl;
}

// conv_exec runs one of a convolution's three primitives: two inputs
// (reordered into the primitive's layout through their slots when needed)
// and one output (reordered back after the primitive).
static int conv_exec(rr_conv *p, prim *pr, int arg1, slot *s1, const float *in1, int arg2, slot *s2,
                     const float *in2, int argOut, slot *so, float *out) {
  rr_ctx *c = p->c;
  set_threads(c);
  int st = 0;
  dnnl_exec_arg_t a[4] = {{arg1, slot_in(c, s1, in1, &st)},
                          {arg2, slot_in(c, s2, in2, &st)},
                          {argOut, slot_out(so, out)}};
  int r = prim_exec(c, pr, 3, a);
  if (r) return r;
  slot_out_done(c, so, &st);
  return st;
}

int rr_conv_fwd(rr_conv *p, float *y, const float *x, const float *w) {
  return conv_exec(p, &p->fwd, DNNL_ARG_SRC, &p->f_src, x, DNNL_ARG_WEIGHTS, &p->f_w, w, DNNL_ARG_DST, &p->f_dst, y);
}

int rr_conv_bwd_data(rr_conv *p, float *dx, const float *dy, const float *w) {
  return conv_exec(p, &p->bwdd, DNNL_ARG_DIFF_DST, &p->d_ddst, dy, DNNL_ARG_WEIGHTS, &p->d_w, w,
                   DNNL_ARG_DIFF_SRC, &p->d_dsrc, dx);
}

int rr_conv_bwd_weights(rr_conv *p, float *dw, const float *dy, const float *x) {
  return conv_exec(p, &p->bwdw, DNNL_ARG_SRC, &p->w_src, x, DNNL_ARG_DIFF_DST, &p->w_ddst, dy,
                   DNNL_ARG_DIFF_WEIGHTS, &p->w_dw, dw);
}

// ---- batch normalization ----

struct rr_bn {
  rr_ctx *c;
  int relu;
  prim fwd_t, fwd_i, bwd;
  dnnl_memory_t src, dst, dsrc, ddst, mean, var, scale, shift, dscale, dshift, ws;
  void *wsbuf;
};

rr_bn *rr_bn_new(rr_ctx *c, int N, int C, int HW, int layout, float eps, int relu, int train,
                 char *err, int errlen) {
  set_threads(c);
  rr_bn *p = calloc(1, sizeof *p);
  p->c = c;
  p->relu = relu;
  dnnl_dims_t dd = {N, C, 1, HW}, cd = {C};
  dnnl_memory_desc_t data, stat;
  dnnl_batch_normalization_desc_t bd;
  dnnl_primitive_desc_t tpd = NULL, ipd = NULL, bpd = NULL;
  unsigned flags = dnnl_use_scale | dnnl_use_shift | (relu ? dnnl_fuse_norm_relu : 0);
  CHK(dnnl_memory_desc_init_by_tag(&data, 4, dd, dnnl_f32, act_tag(layout)));
  CHK(dnnl_memory_desc_init_by_tag(&stat, 1, cd, dnnl_f32, dnnl_a));
  CHK(dnnl_batch_normalization_forward_desc_init(&bd, dnnl_forward_inference, &data, eps,
                                                 flags | dnnl_use_global_stats));
  CHK(create_pd(&ipd, &bd, c, NULL));
  CHK(prim_init(c, &p->fwd_i, ipd));
  if (train) {
    CHK(dnnl_batch_normalization_forward_desc_init(&bd, dnnl_forward_training, &data, eps, flags));
    CHK(create_pd(&tpd, &bd, c, NULL));
    CHK(prim_init(c, &p->fwd_t, tpd));
    CHK(dnnl_batch_normalization_backward_desc_init(&bd, dnnl_backward, &data, &data, eps, flags));
    CHK(create_pd(&bpd, &bd, c, tpd));
    CHK(prim_init(c, &p->bwd, bpd));
  }
  dnnl_memory_t *dm[] = {&p->src, &p->dst, &p->dsrc, &p->ddst};
  for (int i = 0; i < 4; i++) CHK(dnnl_memory_create(dm[i], &data, c->eng, DNNL_MEMORY_NONE));
  dnnl_memory_t *sm[] = {&p->mean, &p->var, &p->scale, &p->shift, &p->dscale, &p->dshift};
  for (int i = 0; i < 6; i++) CHK(dnnl_memory_create(sm[i], &stat, c->eng, DNNL_MEMORY_NONE));
  if (relu && train) {
    const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(tpd, dnnl_query_workspace_md, 0);
    p->wsbuf = rr_alloc_touch(dnnl_memory_desc_get_size(wmd));
    CHK(dnnl_memory_create(&p->ws, wmd, c->eng, p->wsbuf));
  }
  if (tpd) dnnl_primitive_desc_destroy(tpd);
  dnnl_primitive_desc_destroy(ipd);
  if (bpd) dnnl_primitive_desc_destroy(bpd);
  return p;
fail:
  if (tpd) dnnl_primitive_desc_destroy(tpd);
  if (ipd) dnnl_primitive_desc_destroy(ipd);
  if (bpd) dnnl_primitive_desc_destroy(bpd);
  rr_bn_free(p);
  return NULL;
}

void rr_bn_free(rr_bn *p) {
  if (!p) return;
  prim_free(&p->fwd_t);
  prim_free(&p->fwd_i);
  prim_free(&p->bwd);
  dnnl_memory_t ms[] = {p->src, p->dst, p->dsrc, p->ddst, p->mean, p->var,
                        p->scale, p->shift, p->dscale, p->dshift, p->ws};
  for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
    if (ms[i]) dnnl_memory_destroy(ms[i]);
  free(p->wsbuf);
  free(p);
}

static dnnl_memory_t bind(dnnl_memory_t m, const void *ptr) {
  dnnl_memory_set_data_handle(m, (void *)ptr);
  return m;
}

int rr_bn_fwd_train(rr_bn *p, float *y, float *mean, float *var, const float *x,
                    const float *gamma, const float *beta) {
  set_threads(p->c);
  dnnl_exec_arg_t a[8] = {{DNNL_ARG_SRC, bind(p->src, x)},     {DNNL_ARG_DST, bind(p->dst, y)},
                          {DNNL_ARG_MEAN, bind(p->mean, mean)}, {DNNL_ARG_VARIANCE, bind(p->var, var)},
                          {DNNL_ARG_SCALE, bind(p->scale, gamma)},
                          {DNNL_ARG_SHIFT, bind(p->shift, beta)}, {DNNL_ARG_WORKSPACE, p->ws}};
  return prim_exec(p->c, &p->fwd_t, p->relu ? 7 : 6, a);
}

int rr_bn_fwd_infer(rr_bn *p, float *y, const float *x, const float *gamma,
                    const float *beta, const float *mean, const float *var) {
  set_threads(p->c);
  dnnl_exec_arg_t a[7] = {{DNNL_ARG_SRC, bind(p->src, x)},     {DNNL_ARG_DST, bind(p->dst, y)},
                          {DNNL_ARG_MEAN, bind(p->mean, mean)}, {DNNL_ARG_VARIANCE, bind(p->var, var)},
                          {DNNL_ARG_SCALE, bind(p->scale, gamma)},
                          {DNNL_ARG_SHIFT, bind(p->shift, beta)}};
  return prim_exec(p->c, &p->fwd_i, 6, a);
}

int rr_bn_bwd(rr_bn *p, float *dx, float *dgamma, float *dbeta, const float *dy,
              const float *x, const float *gamma, const float *beta, const float *mean,
              const float *var) {
  set_threads(p->c);
  dnnl_exec_arg_t a[11] = {{DNNL_ARG_SRC, bind(p->src, x)},
                           {DNNL_ARG_MEAN, bind(p->mean, mean)},
                           {DNNL_ARG_VARIANCE, bind(p->var, var)},
                           {DNNL_ARG_DIFF_DST, bind(p->ddst, dy)},
                           {DNNL_ARG_SCALE, bind(p->scale, gamma)},
                           {DNNL_ARG_SHIFT, bind(p->shift, beta)},
                           {DNNL_ARG_DIFF_SRC, bind(p->dsrc, dx)},
                           {DNNL_ARG_DIFF_SCALE, bind(p->dscale, dgamma)},
                           {DNNL_ARG_DIFF_SHIFT, bind(p->dshift, dbeta)},
                           {DNNL_ARG_WORKSPACE, p->ws}};
  return prim_exec(p->c, &p->bwd, p->relu ? 10 : 9, a);
}

// ---- max pooling ----

struct rr_pool {
  rr_ctx *c;
  prim fwd, bwd;
  dnnl_memory_t src, dst, dsrc, ddst, ws;
  void *wsbuf;
};

rr_pool *rr_pool_new(rr_ctx *c, int N, int C, int H, int W, int size, int stride,
                     int pad, int layout, char *err, int errlen) {
  set_threads(c);
  rr_pool *p = calloc(1, sizeof *p);
  p->c = c;
  int P = (H + 2 * pad - size) / stride + 1, Q = (W + 2 * pad - size) / stride + 1;
  dnnl_dims_t sd = {N, C, H, W}, dd = {N, C, P, Q};
  dnnl_dims_t strides = {stride, stride}, kernel = {size, size}, pads = {pad, pad};
  dnnl_memory_desc_t smd, dmd;
  dnnl_pooling_desc_t pdsc;
  dnnl_primitive_desc_t fpd = NULL, bpd = NULL;
  CHK(dnnl_memory_desc_init_by_tag(&smd, 4, sd, dnnl_f32, act_tag(layout)));
  CHK(dnnl_memory_desc_init_by_tag(&dmd, 4, dd, dnnl_f32, act_tag(layout)));
  CHK(dnnl_pooling_forward_desc_init(&pdsc, dnnl_forward_training, dnnl_pooling_max, &smd, &dmd,
                                     strides, kernel, pads, pads));
  CHK(create_pd(&fpd, &pdsc, c, NULL));
  CHK(prim_init(c, &p->fwd, fpd));
  CHK(dnnl_pooling_backward_desc_init(&pdsc, dnnl_pooling_max, &smd, &dmd, strides, kernel,
                                      pads, pads));
  CHK(create_pd(&bpd, &pdsc, c, fpd));
  CHK(prim_init(c, &p->bwd, bpd));
  CHK(dnnl_memory_create(&p->src, &smd, c->eng, DNNL_MEMORY_NONE));
  CHK(dnnl_memory_create(&p->dsrc, &smd, c->eng, DNNL_MEMORY_NONE));
  CHK(dnnl_memory_create(&p->dst, &dmd, c->eng, DNNL_MEMORY_NONE));
  CHK(dnnl_memory_create(&p->ddst, &dmd, c->eng, DNNL_MEMORY_NONE));
  const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(fpd, dnnl_query_workspace_md, 0);
  p->wsbuf = rr_alloc_touch(dnnl_memory_desc_get_size(wmd));
  CHK(dnnl_memory_create(&p->ws, wmd, c->eng, p->wsbuf));
  dnnl_primitive_desc_destroy(fpd);
  dnnl_primitive_desc_destroy(bpd);
  return p;
fail:
  if (fpd) dnnl_primitive_desc_destroy(fpd);
  if (bpd) dnnl_primitive_desc_destroy(bpd);
  rr_pool_free(p);
  return NULL;
}

void rr_pool_free(rr_pool *p) {
  if (!p) return;
  prim_free(&p->fwd);
  prim_free(&p->bwd);
  dnnl_memory_t ms[] = {p->src, p->dst, p->dsrc, p->ddst, p->ws};
  for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
    if (ms[i]) dnnl_memory_destroy(ms[i]);
  free(p->wsbuf);
  free(p);
}

int rr_pool_fwd(rr_pool *p, float *y, const float *x) {
  set_threads(p->c);
  dnnl_exec_arg_t a[4] = {{DNNL_ARG_SRC, bind(p->src, x)}, {DNNL_ARG_DST, bind(p->dst, y)},
                          {DNNL_ARG_WORKSPACE, p->ws}};
  return prim_exec(p->c, &p->fwd, 3, a);
}

int rr_pool_bwd(rr_pool *p, float *dx, const float *dy) {
  set_threads(p->c);
  dnnl_exec_arg_t a[4] = {{DNNL_ARG_DIFF_DST, bind(p->ddst, dy)},
                          {DNNL_ARG_DIFF_SRC, bind(p->dsrc, dx)}, {DNNL_ARG_WORKSPACE, p->ws}};
  return prim_exec(p->c, &p->bwd, 3, a);
}

// ---- elementwise loops ----

void rr_relu_fwd(rr_ctx *c, float *y, const float *x, long n) {
  set_threads(c);
#pragma omp parallel for simd schedule(static)
  for (long i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
}

// keep_if_positive returns g where y > 0 and +0 elsewhere, as a bitwise AND
// with a compare mask so that the loops below compile to vector compare-and
// instructions. Written as y > 0 ? g : 0, GCC emits a branch per element
// (it sinks the load or the add into the taken side), and on a ReLU mask
// (about half the units active, at random) the mispredictions made the
// backward loops 8-10x slower than add+ReLU forward (BenchmarkElementwise).
static inline float keep_if_positive(float g, float y) {
  uint32_t bits, mask = y > 0 ? 0xffffffffu : 0u;
  memcpy(&bits, &g, sizeof bits);
  bits &= mask;
  memcpy(&g, &bits, sizeof g);
  return g;
}

void rr_relu_bwd(rr_ctx *c, float *dx, const float *dy, const float *y, long n) {
  set_threads(c);
#pragma omp parallel for simd schedule(static)
  for (long i = 0; i < n; i++) {
    dx[i] = keep_if_positive(dy[i], y[i]);
  }
}

void rr_add(rr_ctx *c, float *y, const float *a, const float *b, long n) {
  set_threads(c);
#pragma omp parallel for simd schedule(static)
  for (long i = 0; i < n; i++) y[i] = a[i] + b[i];
}

void rr_add_relu_bwd(rr_ctx *c, float *dx, const float *a, const float *b, const float *y, long n) {
  set_threads(c);
#pragma omp parallel for simd schedule(static)
  for (long i = 0; i < n; i++) {
    dx[i] = keep_if_positive(a[i] + b[i], y[i]);
  }
}

void rr_add_relu(rr_ctx *c, float *y, const float *a, const float *b, long n) {
  set_threads(c);
#pragma omp parallel for simd schedule(static)
  for (long i = 0; i < n; i++) {
    float v = a[i] + b[i];
    y[i] = v > 0 ? v : 0;
  }
}

// ---- layout conversion, global average pooling, option-A shortcut ----

int rr_to_blocked(rr_ctx *c, float *dst, const float *src, int N, int C, int H, int W) {
  set_threads(c);
  int Cb = (C + 15) / 16;
  long HW = (long)H * W;
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < N; n++)
    for (int cb = 0; cb < Cb; cb++) {
      float *d = dst + ((long)n * Cb + cb) * HW * 16;
      for (int j = 0; j < 16; j++) {
        int ch = cb * 16 + j;
        if (ch < C) {
          const float *s = src + ((long)n * C + ch) * HW;
          for (long i = 0; i < HW; i++) d[i * 16 + j] = s[i];
        } else {
          for (long i = 0; i < HW; i++) d[i * 16 + j] = 0;
        }
      }
    }
  return 0;
}

int rr_from_blocked(rr_ctx *c, float *dst, const float *src, int N, int C, int H, int W) {
  set_threads(c);
  int Cb = (C + 15) / 16;
  long HW = (long)H * W;
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < N; n++)
    for (int cb = 0; cb < Cb; cb++) {
      const float *s = src + ((long)n * Cb + cb) * HW * 16;
      for (int j = 0; j < 16 && cb * 16 + j < C; j++) {
        float *d = dst + ((long)n * C + cb * 16 + j) * HW;
        for (long i = 0; i < HW; i++) d[i] = s[i * 16 + j];
      }
    }
  return 0;
}

void rr_gap_fwd(rr_ctx *c, float *y, const float *x, int N, int C, int HW) {
  set_threads(c);
  int Cb = (C + 15) / 16;
  float inv = 1.0f / (float)HW;
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < N; n++)
    for (int cb = 0; cb < Cb; cb++) {
      const float *s = x + ((long)n * Cb + cb) * HW * 16;
      float acc[16] = {0};
      for (int i = 0; i < HW; i++)
        for (int j = 0; j < 16; j++) acc[j] += s[i * 16 + j];
      for (int j = 0; j < 16 && cb * 16 + j < C; j++) y[(long)n * C + cb * 16 + j] = acc[j] * inv;
    }
}

void rr_gap_bwd(rr_ctx *c, float *dx, const float *dy, int N, int C, int HW) {
  set_threads(c);
  int Cb = (C + 15) / 16;
  float inv = 1.0f / (float)HW;
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < N; n++)
    for (int cb = 0; cb < Cb; cb++) {
      float g[16];
      for (int j = 0; j < 16; j++) g[j] = cb * 16 + j < C ? dy[(long)n * C + cb * 16 + j] * inv : 0;
      float *d = dx + ((long)n * Cb + cb) * HW * 16;
      for (int i = 0; i < HW; i++)
        for (int j = 0; j < 16; j++) d[i * 16 + j] = g[j];
    }
}

// Option A shortcut (Sec 3.3): y takes x subsampled by stride, with the K-C
// new channels zero; channel k of y is channel k-lo of x. The loops hoist
// the per-channel source offsets (rr_shortcut_a_offsets, -1 for a zero channel) and the
// stride tests out of the inner loop, which then copies or zeroes one
// 16-channel vector per position.
void rr_shortcut_a_offsets(long *off, int blk, int C, int K, int lo, long plane, int to_x) {
  for (int j = 0; j < 16; j++) {
    int k = blk * 16 + j;                    // channel on the destination side
    int src = to_x ? k + lo : k - lo;        // its channel on the source side
    int valid = to_x ? (k < C && src < K) : (k < K && src >= 0 && src < C);
    off[j] = valid ? (long)(src / 16) * plane * 16 + src % 16 : -1;
  }
}

int rr_shortcut_a_kind(const long *off) {
  int contiguous = off[0] >= 0, none = 1;
  for (int j = 0; j < 16; j++) contiguous = contiguous && off[j] == off[0] + j, none = none && off[j] < 0;
  return none ? RR_SC_ZERO : contiguous ? RR_SC_CONTIGUOUS : RR_SC_GATHER;
}

void rr_shortcut_a_fwd(rr_ctx *c, float *y, const float *x, int N, int C, int H, int W,
                       int K, int stride, int lo) {
  set_threads(c);
  int Cb = (C + 15) / 16, Kb = (K + 15) / 16;
  int P = (H - 1) / stride + 1, Q = (W - 1) / stride + 1;
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < N; n++)
    for (int kb = 0; kb < Kb; kb++) {
      long off[16];
      rr_shortcut_a_offsets(off, kb, C, K, lo, (long)H * W, 0);
      const float *xn = x + (long)n * Cb * H * W * 16;
      float *d = y + ((long)n * Kb + kb) * P * Q * 16;
      for (int p = 0; p < P; p++)
        for (int q = 0; q < Q; q++) {
          const float *s = xn + ((long)p * stride * W + (long)q * stride) * 16;
          float *o = d + ((long)p * Q + q) * 16;
          for (int j = 0; j < 16; j++) o[j] = off[j] >= 0 ? s[off[j]] : 0.0f;
        }
    }
}

void rr_shortcut_a_bwd(rr_ctx *c, float *dx, const float *dy, int N, int C, int H, int W,
                       int K, int stride, int lo) {
  set_threads(c);
  int Cb = (C + 15) / 16, Kb = (K + 15) / 16;
  int P = (H - 1) / stride + 1, Q = (W - 1) / stride + 1;
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < N; n++)
    for (int cb = 0; cb < Cb; cb++) {
      long off[16];
      rr_shortcut_a_offsets(off, cb, C, K, lo, (long)P * Q, 1);
      const float *gn = dy + (long)n * Kb * P * Q * 16;
      float *d = dx + ((long)n * Cb + cb) * H * W * 16;
      for (int h = 0; h < H; h++) {
        float *row = d + (long)h * W * 16;
        if (h % stride != 0) {
          memset(row, 0, sizeof(float) * 16 * W);
          continue;
        }
        for (int w = 0; w < W; w++) {
          float *o = row + (long)w * 16;
          if (w % stride != 0) {
            for (int j = 0; j < 16; j++) o[j] = 0.0f;
            continue;
          }
          const float *s = gn + ((long)(h / stride) * Q + w / stride) * 16;
          for (int j = 0; j < 16; j++) o[j] = off[j] >= 0 ? s[off[j]] : 0.0f;
        }
      }
    }
}

// rr_shortcut_a_add_relu_bwd is rr_shortcut_a_bwd into a temporary
// followed by rr_add_relu_bwd, in one pass: positions the shortcut did not
// sample add nothing (a + 0 = a), so each is keep_if_positive(a + g', y).
void rr_shortcut_a_add_relu_bwd(rr_ctx *c, float *dx, const float *a, const float *g, const float *y,
                                int N, int C, int H, int W, int K, int stride, int lo) {
  set_threads(c);
  int Cb = (C + 15) / 16, Kb = (K + 15) / 16;
  int P = (H - 1) / stride + 1, Q = (W - 1) / stride + 1;
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < N; n++)
    for (int cb = 0; cb < Cb; cb++) {
      long off[16];
      rr_shortcut_a_offsets(off, cb, C, K, lo, (long)P * Q, 1);
      int kind = rr_shortcut_a_kind(off);
      const float *gn = g + (long)n * Kb * P * Q * 16;
      long base = ((long)n * Cb + cb) * H * W * 16;
      for (int h = 0; h < H; h++) {
        long row = base + (long)h * W * 16;
        if (h % stride != 0 || kind == RR_SC_ZERO) {
#pragma omp simd
          for (long i = row; i < row + (long)W * 16; i++) dx[i] = keep_if_positive(a[i], y[i]);
          continue;
        }
        const float *grow = gn + (long)(h / stride) * Q * 16;
        for (int w = 0; w < W; w++) {
          long o = row + (long)w * 16;
          if (w % stride != 0) {
#pragma omp simd
            for (int j = 0; j < 16; j++) dx[o + j] = keep_if_positive(a[o + j], y[o + j]);
          } else if (kind == RR_SC_CONTIGUOUS) {
            const float *s = grow + (long)(w / stride) * 16 + off[0];
#pragma omp simd
            for (int j = 0; j < 16; j++) dx[o + j] = keep_if_positive(a[o + j] + s[j], y[o + j]);
          } else {
            const float *s = grow + (long)(w / stride) * 16;
            for (int j = 0; j < 16; j++) dx[o + j] = keep_if_positive(a[o + j] + (off[j] >= 0 ? s[off[j]] : 0.0f), y[o + j]);
          }
        }
      }
    }
}

// ---- fully connected ----

int rr_linear_fwd(rr_ctx *c, float *y, const float *x, const float *w, const float *b,
                  int N, int In, int Out) {
  set_threads(c);
  for (int n = 0; n < N; n++) memcpy(y + (long)n * Out, b, sizeof(float) * Out);
  return (int)dnnl_sgemm('N', 'T', N, Out, In, 1.0f, x, In, w, In, 1.0f, y, Out);
}

int rr_linear_bwd_data(rr_ctx *c, float *dx, const float *dy, const float *w, int N,
                       int In, int Out) {
  set_threads(c);
  return (int)dnnl_sgemm('N', 'N', N, In, Out, 1.0f, dy, Out, w, In, 0.0f, dx, In);
}

int rr_linear_bwd_weights(rr_ctx *c, float *dw, float *db, const float *dy,
                          const float *x, int N, int In, int Out) {
  set_threads(c);
  for (int o = 0; o < Out; o++) {
    float s = 0;
    for (int n = 0; n < N; n++) s += dy[(long)n * Out + o];
    db[o] = s;
  }
  return (int)dnnl_sgemm('T', 'N', Out, In, N, 1.0f, dy, Out, x, In, 0.0f, dw, In);
}

int rr_team_size(rr_ctx *c) {
  set_threads(c);
  int n = 0;
#pragma omp parallel
  {
#pragma omp single
    n = omp_get_num_threads();
  }
  return n;
}
