/*
 * Byte-plane split and merge (src/codec/byteplanes.ts has the format; this
 * is the same transform, not a new one). The JS loops move ~1.5 GB/s; these
 * are plain C loops that the compiler vectorises (SSE2 everywhere on x86-64,
 * AVX2 where the CPU has it, through target_clones), and they read and write
 * the caller's buffers in place: no copy into or out of other memory, and no
 * alignment asked of them.
 *
 * JS entry points (all sizes in bytes or elements, as in byteplanes.ts):
 *   split(src, n, width, rotl1, planes, stride)   plane k of n elements -> planes[k*stride ..]
 *   merge(planes, stride, n, width, rotl1, dst)   the inverse, n*width bytes -> dst
 * Every size is checked against the buffers before a byte is touched; a bad
 * call throws a RangeError or TypeError naming the argument.
 */
#include "hot.h"

static inline uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline void wr16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void wr64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

HOT static void merge2(const uint8_t *restrict p0, const uint8_t *restrict p1, size_t n, int rot, uint8_t *restrict dst) {
  if (rot) {
    for (size_t i = 0; i < n; i++) {
      uint16_t v = (uint16_t)(p0[i] | (p1[i] << 8));
      wr16(dst + 2 * i, (uint16_t)((v >> 1) | (v << 15)));
    }
  } else {
    for (size_t i = 0; i < n; i++) wr16(dst + 2 * i, (uint16_t)(p0[i] | (p1[i] << 8)));
  }
}

HOT static void merge4(const uint8_t *restrict p0, const uint8_t *restrict p1, const uint8_t *restrict p2, const uint8_t *restrict p3,
                       size_t n, int rot, uint8_t *restrict dst) {
  if (rot) {
    for (size_t i = 0; i < n; i++) {
      uint32_t v = (uint32_t)p0[i] | ((uint32_t)p1[i] << 8) | ((uint32_t)p2[i] << 16) | ((uint32_t)p3[i] << 24);
      wr32(dst + 4 * i, (v >> 1) | (v << 31));
    }
  } else {
    for (size_t i = 0; i < n; i++) {
      wr32(dst + 4 * i, (uint32_t)p0[i] | ((uint32_t)p1[i] << 8) | ((uint32_t)p2[i] << 16) | ((uint32_t)p3[i] << 24));
    }
  }
}

HOT static void merge8(const uint8_t *restrict planes, size_t stride, size_t n, uint8_t *restrict dst) {
  const uint8_t *p0 = planes, *p1 = p0 + stride, *p2 = p1 + stride, *p3 = p2 + stride;
  const uint8_t *p4 = p3 + stride, *p5 = p4 + stride, *p6 = p5 + stride, *p7 = p6 + stride;
  for (size_t i = 0; i < n; i++) {
    uint64_t lo = (uint64_t)p0[i] | ((uint64_t)p1[i] << 8) | ((uint64_t)p2[i] << 16) | ((uint64_t)p3[i] << 24);
    uint64_t hi = (uint64_t)p4[i] | ((uint64_t)p5[i] << 8) | ((uint64_t)p6[i] << 16) | ((uint64_t)p7[i] << 24);
    wr64(dst + 8 * i, lo | (hi << 32));
  }
}

HOT static void split2(const uint8_t *restrict src, size_t n, int rot, uint8_t *restrict p0, uint8_t *restrict p1) {
  for (size_t i = 0; i < n; i++) {
    uint16_t v = rd16(src + 2 * i);
    if (rot) v = (uint16_t)((v << 1) | (v >> 15));
    p0[i] = (uint8_t)v;
    p1[i] = (uint8_t)(v >> 8);
  }
}

HOT static void split4(const uint8_t *restrict src, size_t n, int rot, uint8_t *restrict p0, uint8_t *restrict p1, uint8_t *restrict p2,
                       uint8_t *restrict p3) {
  for (size_t i = 0; i < n; i++) {
    uint32_t v = rd32(src + 4 * i);
    if (rot) v = (v << 1) | (v >> 31);
    p0[i] = (uint8_t)v;
    p1[i] = (uint8_t)(v >> 8);
    p2[i] = (uint8_t)(v >> 16);
    p3[i] = (uint8_t)(v >> 24);
  }
}

HOT static void split8(const uint8_t *restrict src, size_t n, uint8_t *restrict planes, size_t stride) {
  uint8_t *p0 = planes, *p1 = p0 + stride, *p2 = p1 + stride, *p3 = p2 + stride;
  uint8_t *p4 = p3 + stride, *p5 = p4 + stride, *p6 = p5 + stride, *p7 = p6 + stride;
  for (size_t i = 0; i < n; i++) {
    uint64_t v = rd64(src + 8 * i);
    p0[i] = (uint8_t)v;
    p1[i] = (uint8_t)(v >> 8);
    p2[i] = (uint8_t)(v >> 16);
    p3[i] = (uint8_t)(v >> 24);
    p4[i] = (uint8_t)(v >> 32);
    p5[i] = (uint8_t)(v >> 40);
    p6[i] = (uint8_t)(v >> 48);
    p7[i] = (uint8_t)(v >> 56);
  }
}

/* ---- argument checking ---- */

static napi_value fail(napi_env env, const char *kind, const char *msg) {
  if (kind[0] == 'T') napi_throw_type_error(env, NULL, msg);
  else napi_throw_range_error(env, NULL, msg);
  return NULL;
}

static int bytes_arg(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  napi_typedarray_type t;
  void *d;
  if (napi_get_typedarray_info(env, v, &t, len, &d, NULL, NULL) != napi_ok || t != napi_uint8_array) return 0;
  *data = (uint8_t *)d;
  return 1;
}

/* A whole number in [0, 2^48): more than any buffer holds, small enough that the products below cannot overflow. */
static int size_arg(napi_env env, napi_value v, size_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0) || d >= 281474976710656.0 || d != (double)(uint64_t)d) return 0;
  *out = (size_t)d;
  return 1;
}

typedef struct {
  uint8_t *planes, *bytes;
  size_t planes_len, bytes_len, n, stride, width;
  int rot;
} Call;

static int parse(napi_env env, napi_callback_info info, int merge, Call *c) {
  size_t argc = 6;
  napi_value a[6];
  if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok || argc != 6) return fail(env, "T", "planes: 6 arguments expected"), 0;
  /* merge(planes, stride, n, width, rot, dst); split(src, n, width, rot, planes, stride) */
  napi_value vp = merge ? a[0] : a[4], vs = merge ? a[1] : a[5], vn = merge ? a[2] : a[1], vw = merge ? a[3] : a[2];
  napi_value vr = merge ? a[4] : a[3], vb = merge ? a[5] : a[0];
  if (!bytes_arg(env, vp, &c->planes, &c->planes_len)) return fail(env, "T", "planes: `planes` must be a Uint8Array"), 0;
  if (!bytes_arg(env, vb, &c->bytes, &c->bytes_len)) return fail(env, "T", merge ? "planes: `dst` must be a Uint8Array" : "planes: `src` must be a Uint8Array"), 0;
  if (!size_arg(env, vs, &c->stride)) return fail(env, "R", "planes: `stride` must be a whole number"), 0;
  if (!size_arg(env, vn, &c->n)) return fail(env, "R", "planes: `n` must be a whole number"), 0;
  if (!size_arg(env, vw, &c->width) || (c->width != 2 && c->width != 4 && c->width != 8)) return fail(env, "R", "planes: `width` must be 2, 4 or 8"), 0;
  bool rot = false;
  if (napi_get_value_bool(env, vr, &rot) != napi_ok) return fail(env, "T", "planes: `rotl1` must be a boolean"), 0;
  if (rot && c->width == 8) return fail(env, "R", "planes: rotl1 is for widths 2 and 4"), 0;
  c->rot = rot;
  if (c->stride < c->n) return fail(env, "R", "planes: `stride` is less than `n`"), 0;
  /* the last plane needs only n bytes, not a whole stride */
  size_t planes_need = (c->width - 1) * c->stride + c->n, bytes_need = c->n * c->width;
  if (planes_need > c->planes_len) return fail(env, "R", "planes: `planes` is shorter than (width - 1) * stride + n"), 0;
  if (bytes_need > c->bytes_len) return fail(env, "R", merge ? "planes: `dst` is shorter than n * width" : "planes: `src` is shorter than n * width"), 0;
  /* the loops take the two as distinct memory */
  if (c->n && c->planes < c->bytes + bytes_need && c->bytes < c->planes + planes_need) return fail(env, "R", "planes: the planes and the elements overlap"), 0;
  return 1;
}

static napi_value Merge(napi_env env, napi_callback_info info) {
  Call c;
  if (!parse(env, info, 1, &c)) return NULL;
  const uint8_t *p = c.planes;
  size_t s = c.stride;
  if (c.width == 2) merge2(p, p + s, c.n, c.rot, c.bytes);
  else if (c.width == 4) merge4(p, p + s, p + 2 * s, p + 3 * s, c.n, c.rot, c.bytes);
  else merge8(p, s, c.n, c.bytes);
  return NULL;
}

static napi_value Split(napi_env env, napi_callback_info info) {
  Call c;
  if (!parse(env, info, 0, &c)) return NULL;
  uint8_t *p = c.planes;
  size_t s = c.stride;
  if (c.width == 2) split2(c.bytes, c.n, c.rot, p, p + s);
  else if (c.width == 4) split4(c.bytes, c.n, c.rot, p, p + s, p + 2 * s, p + 3 * s);
  else split8(c.bytes, c.n, p, s);
  return NULL;
}

void tessera_register_fingerprint(napi_env env, napi_value exports); /* fingerprint.c */
void tessera_register_stderr(napi_env env, napi_value exports); /* stderr.c */

NAPI_MODULE_INIT() {
  napi_value f;
  napi_create_function(env, "merge", NAPI_AUTO_LENGTH, Merge, NULL, &f);
  napi_set_named_property(env, exports, "merge", f);
  napi_create_function(env, "split", NAPI_AUTO_LENGTH, Split, NULL, &f);
  napi_set_named_property(env, exports, "split", f);
  tessera_register_fingerprint(env, exports);
  tessera_register_stderr(env, exports);
  return exports;
}
