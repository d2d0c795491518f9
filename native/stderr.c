/*
 * Capturing what native code writes to the process's stderr (fd 2), so that
 * the server can log it as its own lines (src/serve/stderr-capture.ts):
 * onnxruntime's logger writes to std::cerr from whichever thread runs a
 * session, with no hook in onnxruntime-node to take its messages instead.
 *
 * JS entry point:
 *   captureStderr()   makes a pipe, keeps a duplicate of the current fd 2,
 *                     and puts the pipe's write end on fd 2. Returns
 *                     [readFd, originalFd]: the caller reads the pipe and
 *                     writes its own lines (and anything it re-logs) to
 *                     originalFd. Throws on a failed system call, with fd 2
 *                     left as it was.
 */
#define _POSIX_C_SOURCE 200809L
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static napi_value CaptureStderr(napi_env env, napi_callback_info info) {
  (void)info;
  int p[2];
  if (pipe(p) != 0) return napi_throw_error(env, NULL, strerror(errno)), NULL;
  int original = dup(2);
  if (original < 0 || dup2(p[1], 2) < 0) {
    int e = errno;
    close(p[0]);
    close(p[1]);
    if (original >= 0) close(original);
    return napi_throw_error(env, NULL, strerror(e)), NULL;
  }
  close(p[1]);
  /* Child processes get neither end. */
  fcntl(p[0], F_SETFD, FD_CLOEXEC);
  fcntl(original, F_SETFD, FD_CLOEXEC);
  napi_value out, a, b;
  napi_create_array_with_length(env, 2, &out);
  napi_create_int32(env, p[0], &a);
  napi_create_int32(env, original, &b);
  napi_set_element(env, out, 0, a);
  napi_set_element(env, out, 1, b);
  return out;
}

void tessera_register_stderr(napi_env env, napi_value exports) {
  napi_value f;
  napi_create_function(env, "captureStderr", NAPI_AUTO_LENGTH, CaptureStderr, NULL, &f);
  napi_set_named_property(env, exports, "captureStderr", f);
}
