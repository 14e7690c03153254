/*===- fake_cuda.c - A CUDA driver without a GPU, for tests ---------------===*
 * Loaded in place of libcuda.so.1 through KILN_CUDA_DRIVER, it lets the
 * GPU path's host side run on any machine: device memory is host memory,
 * modules are PTX text whose .entry names and parameter counts it reads,
 * and launches are logged. A kernel compiled for the host as well
 * (kilnc --gpu-emulate: kiln_emu_NAME, found with dlsym) is run, every
 * thread of every block, with a barrier's threads switched as coroutines;
 * other launches compute nothing. Blocks run one after another, threads
 * in order, on the launching thread (one launch at a time per process).
 * What the emulation cannot check (PTX itself, libdevice's math, real
 * concurrency: a race shows as wrong values, never as nondeterminism) the
 * cuda-device tests do.
 *
 *   KILN_FAKE_CUDA_DEVICES=N   devices reported (default 1)
 *   KILN_FAKE_CUDA_LOG=FILE    append "launch NAME grid X,Y,Z block X,Y,Z"
 *                              per launch, "copy in|out BYTES" per copy
 *   KILN_FAKE_CUDA_FAIL=NAME   launches of kernel NAME fail (error 719)
 *   KILN_FAKE_CUDA_INIT=CODE   cuInit fails with CODE
 * Every call but initialisation needs the context pushed on the calling
 * thread (error 201 otherwise), as a real driver does.
 *===----------------------------------------------------------------------===*/
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef unsigned long long CUdeviceptr;

enum { kNotFound = 500, kInvalidValue = 1, kNoDevice = 100, kLaunchFailed = 719 };

typedef void (*kernel_fn)(void **params);
typedef struct entry {
  char name[256];
  kernel_fn run;  /* the host-compiled kernel, if the build has one */
  int barriers;   /* it synchronizes its block's threads */
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
      entry *e = &m->entries[i];
      char symbol[300];
      snprintf(symbol, sizeof symbol, "kiln_emu_%s", name);
      e->run = (kernel_fn)dlsym(RTLD_DEFAULT, symbol);
      snprintf(symbol, sizeof symbol, "kiln_emu_barriers_%s", name);
      e->barriers = dlsym(RTLD_DEFAULT, symbol) != NULL;
      *out = e;
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

/* The emulated kernels' view of the launch: tid, ntid, ctaid, nctaid (x,
 * y, z each) and the barrier they call, both defined (weak) by the model. */
typedef struct ids {
  unsigned tid[3], ntid[3], ctaid[3], nctaid[3];
} ids;

/* One block's threads as coroutines: each runs until it reaches a barrier
 * or ends; a round resumes every live thread once, so all threads pass a
 * barrier together. A barrier some threads skip is an error, as on a GPU
 * (where it hangs or is undefined). The switch saves only what the x86-64
 * calling convention has a callee keep (ucontext's swapcontext also makes
 * a system call per switch: a block-wide reduction of 256 threads through
 * 9 barriers switches 4,600 times). */
enum { kStack = 64 * 1024 };
void kiln_fake_switch(void **from_sp, void *to_sp);
#if defined(__x86_64__)
__asm__(".text\n"
        ".globl kiln_fake_switch\n"
        ".type kiln_fake_switch,@function\n"
        "kiln_fake_switch:\n"
        "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
        "  movq %rsp, (%rdi)\n"
        "  movq %rsi, %rsp\n"
        "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n  popq %rbp\n"
        "  ret\n"
        ".size kiln_fake_switch, .-kiln_fake_switch\n");
#define HAVE_SWITCH 1
#endif

static void *scheduler_sp;
static void **thread_sp;
static char *stacks;
static int *state; /* 0 running, 1 at a barrier, 2 done */
static unsigned current;
static ids *emu_ids;
static unsigned live_threads;
static kernel_fn running;
static void **running_params;

static void barrier(void) {
  state[current] = 1;
  kiln_fake_switch(&thread_sp[current], scheduler_sp);
}

static void thread_main(void) {
  running(running_params);
  state[current] = 2;
  kiln_fake_switch(&thread_sp[current], scheduler_sp);
  abort(); /* a finished thread is never resumed */
}

/* A fresh stack whose first switch "returns" into thread_main with the
 * stack aligned as after a call. The tops are staggered by cache lines:
 * 64 KiB apart, every thread's frame would fall in the same cache set and
 * each switch would miss (that was half of an emulated CNN's time). */
static void *fresh_stack(unsigned t) {
  void **top = (void **)(stacks + (size_t)(t + 1) * kStack - (size_t)t * 7 * 64 % (kStack / 4));
  void **sp = top - 8;
  for (int i = 0; i < 6; ++i)
    sp[i] = 0; /* r15 r14 r13 r12 rbx rbp */
  sp[6] = (void *)thread_main;
  sp[7] = 0;
  return sp;
}

static void set_thread(unsigned t) {
  if (emu_ids->ntid[1] == 1 && emu_ids->ntid[2] == 1) { /* Kiln's blocks: no divisions */
    emu_ids->tid[0] = t, emu_ids->tid[1] = emu_ids->tid[2] = 0;
    return;
  }
  emu_ids->tid[0] = t % emu_ids->ntid[0];
  emu_ids->tid[1] = t / emu_ids->ntid[0] % emu_ids->ntid[1];
  emu_ids->tid[2] = t / (emu_ids->ntid[0] * emu_ids->ntid[1]);
}

static CUresult run_block(const entry *e, void **params, unsigned n) {
  if (!e->barriers) {
    for (unsigned t = 0; t < n; ++t) {
      set_thread(t);
      e->run(params);
    }
    return 0;
  }
#ifndef HAVE_SWITCH
  fprintf(stderr, "fake_cuda: %s: kernels with barriers are emulated on x86-64 only\n", e->name);
  return kLaunchFailed;
#endif
  if (n > live_threads) {
    free(thread_sp), free(stacks), free(state);
    thread_sp = calloc(n, sizeof *thread_sp);
    stacks = aligned_alloc(64, (size_t)n * kStack);
    state = calloc(n, sizeof *state);
    if (!thread_sp || !stacks || !state)
      return 2;
    live_threads = n;
  }
  running = e->run;
  running_params = params;
  for (unsigned t = 0; t < n; ++t) {
    thread_sp[t] = fresh_stack(t);
    state[t] = 0;
  }
  for (;;) {
    unsigned done = 0;
    for (unsigned t = 0; t < n; ++t) {
      if (state[t] == 2)
        continue;
      current = t;
      state[t] = 0;
      set_thread(t);
      kiln_fake_switch(&scheduler_sp, thread_sp[t]);
    }
    for (unsigned t = 0; t < n; ++t)
      done += state[t] == 2;
    if (done == n)
      return 0;
    if (done) {
      fprintf(stderr, "fake_cuda: %s: %u of %u threads ended while others wait at a barrier\n",
              e->name, done, n);
      return kLaunchFailed;
    }
  }
}

static CUresult emulate(const entry *e, const unsigned v[6], void **params) {
  if (!emu_ids) {
    emu_ids = dlsym(RTLD_DEFAULT, "kiln_emu_ids");
    void (**hook)(void) = dlsym(RTLD_DEFAULT, "kiln_emu_barrier_hook");
    if (!emu_ids || !hook)
      return kNotFound;
    *hook = barrier;
  }
  for (int i = 0; i < 3; ++i)
    emu_ids->nctaid[i] = v[i], emu_ids->ntid[i] = v[3 + i];
  for (unsigned z = 0; z < v[2]; ++z)
    for (unsigned y = 0; y < v[1]; ++y)
      for (unsigned x = 0; x < v[0]; ++x) {
        emu_ids->ctaid[0] = x, emu_ids->ctaid[1] = y, emu_ids->ctaid[2] = z;
        CUresult r = run_block(e, params, v[3] * v[4] * v[5]);
        if (r)
          return r;
      }
  return 0;
}

CUresult cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                        unsigned bz, unsigned smem, void *stream, void **params, void **extra) {
  NEED_CONTEXT();
  (void)stream, (void)extra;
  const entry *e = f;
  const unsigned v[6] = {gx, gy, gz, bx, by, bz};
  // A real device's limits (compute capability 3.0 and later): a launch
  // past them fails there, so it fails here too.
  if (!params || !gx || !gy || !gz || !bx || !by || !bz || gx > 0x7fffffffu || gy > 65535 ||
      gz > 65535 || bx > 1024 || by > 1024 || bz > 64 || bx * by * bz > 1024 || smem > 48 * 1024)
    return kInvalidValue;
  logf_("launch %s grid %u,%u,%u block %u,%u,%u\n", e->name, v);
  const char *fail = getenv("KILN_FAKE_CUDA_FAIL");
  if (fail && !strcmp(fail, e->name))
    return kLaunchFailed;
  return e->run ? emulate(e, v, params) : 0;
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
