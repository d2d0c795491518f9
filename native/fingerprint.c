/*
 * Value fingerprints of float chunks (src/codec/fingerprint.ts has the
 * definition; this is the same sums, in a loop the compiler vectorises).
 * The JS loop costs about 1 ns a value, a fifth of encoding a chunk; here it
 * is a few hundredths of a nanosecond.
 *
 * JS entry point:
 *   fingerprint(src, width, out)   over the n = src.length / width values of
 *                                  src (u16 or u32, little-endian), writes
 *                                  out[0..2] = sums mod 2^32 of x, x*x and
 *                                  (x ^ x >> 15) * 0x2c1b3c6d
 * Arguments are checked before a byte is read; a bad call throws.
 */
#include "hot.h"

HOT static void sums32(const uint8_t *p, size_t n, uint32_t out[3]) {
  uint32_t a = 0, b = 0, c = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t x;
    memcpy(&x, p + 4 * i, 4);
    a += x;
    b += x * x;
    c += (x ^ (x >> 15)) * 0x2c1b3c6du;
  }
  out[0] = a, out[1] = b, out[2] = c;
}

HOT static void sums16(const uint8_t *p, size_t n, uint32_t out[3]) {
  uint32_t a = 0, b = 0, c = 0;
  for (size_t i = 0; i < n; i++) {
    uint16_t h;
    memcpy(&h, p + 2 * i, 2);
    uint32_t x = h;
    a += x;
    b += x * x;
    c += (x ^ (x >> 15)) * 0x2c1b3c6du;
  }
  out[0] = a, out[1] = b, out[2] = c;
}

static napi_value Fingerprint(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value a[3];
  if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok || argc != 3) return napi_throw_type_error(env, NULL, "fingerprint: 3 arguments expected"), NULL;
  bool is = false;
  napi_typedarray_type t;
  size_t len, outLen;
  void *src, *out;
  if (napi_is_typedarray(env, a[0], &is) != napi_ok || !is || napi_get_typedarray_info(env, a[0], &t, &len, &src, NULL, NULL) != napi_ok || t != napi_uint8_array) {
    return napi_throw_type_error(env, NULL, "fingerprint: `src` must be a Uint8Array"), NULL;
  }
  uint32_t width;
  if (napi_get_value_uint32(env, a[1], &width) != napi_ok || (width != 2 && width != 4)) return napi_throw_range_error(env, NULL, "fingerprint: `width` must be 2 or 4"), NULL;
  if (napi_is_typedarray(env, a[2], &is) != napi_ok || !is || napi_get_typedarray_info(env, a[2], &t, &outLen, &out, NULL, NULL) != napi_ok || t != napi_uint32_array || outLen < 3) {
    return napi_throw_type_error(env, NULL, "fingerprint: `out` must be a Uint32Array of at least 3"), NULL;
  }
  if (width == 4) sums32((const uint8_t *)src, len / 4, (uint32_t *)out);
  else sums16((const uint8_t *)src, len / 2, (uint32_t *)out);
  return NULL;
}

void tessera_register_fingerprint(napi_env env, napi_value exports) {
  napi_value f;
  napi_create_function(env, "fingerprint", NAPI_AUTO_LENGTH, Fingerprint, NULL, &f);
  napi_set_named_property(env, exports, "fingerprint", f);
}
