/*===- fake_cuda.c - A CUDA driver without a GPU, for tests ---------------===*
 * Loaded in place of libcuda.so.1 through KILN_CUDA_DRIVER, it lets the
 * GPU path's host side run on any machine: device memory is host memory,
 * modules are PTX text whose .entry names and parameter counts it reads,
 * and launches are logged instead of run (kernels compute nothing, so
 * numbers are not checked here; the cuda-device tests do that on a GPU).
 *
 *   KILN_FAKE_CUDA_DEVICES=N   devices reported (default 1)
 *   KILN_FAKE_CUDA_LOG=FILE    append "launch NAME grid X,Y,Z block X,Y,Z"
 *                              per launch, "copy in|out BYTES" per copy
 *   KILN_FAKE_CUDA_FAIL=NAME   launches of kernel NAME fail (error 719)
 *   KILN_FAKE_CUDA_INIT=CODE   cuInit fails with CODE
 * Every call but initialisation needs the context pushed on the calling
 * thread (error 201 otherwise), as a real driver does.
 *===----------------------------------------------------------------------===*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef unsigned long long CUdeviceptr;

enum { kNotFound = 500, kInvalidValue = 1, kNoDevice = 100, kLaunchFailed = 719 };

typedef struct entry {
  char name[256];
} entry;

typedef struct module {
  entry *entries;
  int count;
} module;

static void logf_(const char *fmt, const char *name, const unsigned v[6]) {
  const char *path = getenv("KILN_FAKE_CUDA_LOG");
  if (!path)
    return;
  FILE *f = fopen(path, "a");
  if (!f)
    return;
  fprintf(f, fmt, name, v[0], v[1], v[2], v[3], v[4], v[5]);
  fclose(f);
}

static void log_copy(const char *dir, size_t bytes) {
  const char *path = getenv("KILN_FAKE_CUDA_LOG");
  FILE *f = path ? fopen(path, "a") : NULL;
  if (!f)
    return;
  fprintf(f, "copy %s %zu\n", dir, bytes);
  fclose(f);
}

CUresult cuInit(unsigned flags) {
  const char *fail = getenv("KILN_FAKE_CUDA_INIT");
  return flags ? kInvalidValue : fail ? atoi(fail) : 0;
}

CUresult cuDeviceGetCount(int *count) {
  const char *n = getenv("KILN_FAKE_CUDA_DEVICES");
  *count = n ? atoi(n) : 1;
  return 0;
}

CUresult cuDeviceGet(int *device, int ordinal) {
  *device = ordinal;
  return 0;
}

CUresult cuDeviceGetName(char *name, int len, int device) {
  snprintf(name, (size_t)len, "Kiln fake CUDA device %d", device);
  return 0;
}

static int context;
CUresult cuDevicePrimaryCtxRetain(void **ctx, int device) {
  (void)device;
  *ctx = &context;
  return 0;
}
CUresult cuDevicePrimaryCtxRelease_v2(int device) { return device < 0 ? kInvalidValue : 0; }
/* The calling thread's context stack: launches and copies need the
 * context current (so the tests catch a call made outside enter/leave). */
static _Thread_local int pushed;
CUresult cuCtxPushCurrent_v2(void *ctx) {
  if (ctx != &context)
    return kInvalidValue;
  ++pushed;
  return 0;
}
CUresult cuCtxPopCurrent_v2(void **ctx) {
  if (!pushed)
    return kInvalidValue;
  --pushed;
  *ctx = &context;
  return 0;
}
#define NEED_CONTEXT()                                                                             \
  do {                                                                                             \
    if (!pushed)                                                                                   \
      return 201; /* CUDA_ERROR_INVALID_CONTEXT */                                                 \
  } while (0)
CUresult cuCtxSynchronize(void) {
  NEED_CONTEXT();
  return 0;
}

/* The .entry names of PTX text. */
CUresult cuModuleLoadData(void **out, const void *image) {
  NEED_CONTEXT();
  module *m = calloc(1, sizeof *m);
  if (!m)
    return kInvalidValue;
  for (const char *p = image; (p = strstr(p, ".entry ")); ) {
    p += 7;
    size_t n = strcspn(p, "( \n");
    entry *grown = realloc(m->entries, (size_t)(m->count + 1) * sizeof(entry));
    if (!grown || n >= sizeof grown->name) {
      free(grown ? grown : m->entries);
      free(m);
      return kInvalidValue;
    }
    m->entries = grown;
    snprintf(m->entries[m->count++].name, sizeof(entry), "%.*s", (int)n, p);
  }
  if (!m->count) {
    free(m);
    return kInvalidValue;
  }
  *out = m;
  return 0;
}

CUresult cuModuleUnload(void *mod) {
  NEED_CONTEXT();
  module *m = mod;
  free(m->entries);
  free(m);
  return 0;
}

CUresult cuModuleGetFunction(void **out, void *mod, const char *name) {
  NEED_CONTEXT();
  module *m = mod;
  for (int i = 0; i < m->count; ++i)
    if (!strcmp(m->entries[i].name, name)) {
      *out = &m->entries[i];
      return 0;
    }
  return kNotFound;
}

CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t bytes) {
  NEED_CONTEXT();
  void *q = calloc(1, bytes ? bytes : 1);
  *p = (CUdeviceptr)(size_t)q;
  return q ? 0 : 2; /* CUDA_ERROR_OUT_OF_MEMORY */
}

CUresult cuMemFree_v2(CUdeviceptr p) {
  NEED_CONTEXT();
  free((void *)(size_t)p);
  return 0;
}

CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src, size_t bytes) {
  NEED_CONTEXT();
  memcpy((void *)(size_t)dst, src, bytes);
  log_copy("in", bytes);
  return 0;
}

CUresult cuMemcpyDtoH_v2(void *dst, CUdeviceptr src, size_t bytes) {
  NEED_CONTEXT();
  memcpy(dst, (const void *)(size_t)src, bytes);
  log_copy("out", bytes);
  return 0;
}

CUresult cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                        unsigned bz, unsigned smem, void *stream, void **params, void **extra) {
  NEED_CONTEXT();
  (void)smem, (void)stream, (void)extra;
  const entry *e = f;
  const unsigned v[6] = {gx, gy, gz, bx, by, bz};
  if (!params || !gx || !gy || !gz || !bx || !by || !bz || bx * by * bz > 1024)
    return kInvalidValue;
  logf_("launch %s grid %u,%u,%u block %u,%u,%u\n", e->name, v);
  const char *fail = getenv("KILN_FAKE_CUDA_FAIL");
  return fail && !strcmp(fail, e->name) ? kLaunchFailed : 0;
}

CUresult cuGetErrorString(CUresult r, const char **msg) {
  switch (r) {
  case 201: *msg = "invalid device context"; break;
  case 35: *msg = "CUDA driver version is insufficient for CUDA runtime version"; break;
  case kLaunchFailed: *msg = "unspecified launch failure"; break;
  case kNotFound: *msg = "named symbol not found"; break;
  case kInvalidValue: *msg = "invalid argument"; break;
  case kNoDevice: *msg = "no CUDA-capable device is detected"; break;
  default: *msg = "unknown error"; break;
  }
  return 0;
}
