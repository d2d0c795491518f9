/*
 * What both native files share: N-API at version 8, and HOT, which builds a
 * loop twice on x86-64 with GCC/Clang (AVX2 and baseline) and picks one at
 * load time by the CPU (target_clones); elsewhere a plain function.
 */
#ifndef TESSERA_HOT_H
#define TESSERA_HOT_H
#define NAPI_VERSION 8
#include <node_api.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define HOT __attribute__((target_clones("avx2", "default")))
#endif
#endif
#ifndef HOT
#define HOT
#endif
#endif
