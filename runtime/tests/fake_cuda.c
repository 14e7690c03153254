/*===- fake_cuda.c - A CUDA driver without a GPU, for tests ---------------===*
 * Loaded in place of libcuda.so.1 through KILN_CUDA_DRIVER, it lets the
 * GPU path's host side run on any machine: device memory is host memory
 * (all bits set when fresh, under emulated kernels),
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
 *                              per launch (a graph's too, after "graph
 *                              launch N"), "graph recorded N" per capture,
 *                              "copy in|out|dtod BYTES" per copy
 *   KILN_FAKE_CUDA_FAIL=NAME   launches of kernel NAME fail (error 719)
 *   KILN_FAKE_CUDA_FAULT=NAME  kernel NAME faults when it runs: the launch
 *                              succeeds, and every later launch, copy and
 *                              wait fails with 719, as on a device
 *   KILN_FAKE_CUDA_INIT=CODE   cuInit fails with CODE
 *   KILN_FAKE_CUDA_MEMORY=N    device memory: allocations past N bytes in
 *                              all (frees not counted) are out of memory
 *   KILN_FAKE_CUDA_WORK=FILE   with kernels built by --gpu-emulate-races,
 *                              append per kernel, when its module is
 *                              unloaded: launches, threads, global bytes
 *                              and the most loads and stores one thread
 *                              made (a device's serial path; see work_row)
 * Kernels built with kilnc --gpu-emulate-races are checked for data races
 * (see note_word); a launch with one fails, naming it on stderr.
 * Every call but initialisation needs the context pushed on the calling
 * thread (error 201 otherwise), as a real driver does, and every copy and
 * launch a stream cuStreamCreate made and cuStreamDestroy did not end
 * (error 400 otherwise: Kiln's work never goes on the legacy stream, which
 * would serialise with an application's). Work on the stream is deferred
 * as on a device: an emulated launch (with its parameters copied, as the
 * driver does) and a copy in run only when the host waits for them (a copy
 * out, a stream or event synchronisation, freeing memory). A copy from
 * page-locked memory (cuMemHostAlloc) reads its source then, a copy from
 * other memory when it is queued (the driver stages pageable memory), so a
 * host that refills a page-locked buffer before the copy from it is done
 * sends the wrong data here too. A launch that fails when run is reported
 * by the call that waited for it.
 * Stream capture records a stream's launches into a graph instead of
 * queueing them (nothing else may go on a capturing stream, nor may the
 * host wait: error 900, and the capture ends invalid, as in thread-local
 * capture); launching the graph queues its launches in order, logged as
 * any launch. KILN_FAKE_CUDA_NO_CAPTURE=begin makes capture unsupported,
 * =instantiate makes instantiating a graph run out of memory.
 *===----------------------------------------------------------------------===*/
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int CUresult;
typedef unsigned long long CUdeviceptr;

enum { kNotFound = 500, kInvalidValue = 1, kNoDevice = 100, kLaunchFailed = 719,
       kInvalidHandle = 400 };

typedef void (*kernel_fn)(void **params);
typedef struct entry {
  char name[256];
  kernel_fn run;  /* the host-compiled kernel, if the build has one */
  int barriers;   /* it synchronizes its block's threads */
  int faults;     /* KILN_FAKE_CUDA_FAULT names it */
  int nparams;
  size_t *param_bytes; /* each parameter's size, from the PTX */
  /* KILN_FAKE_CUDA_WORK's sums over the kernel's launches: threads, bytes
   * of global memory accessed, and per launch the most accesses one thread
   * made (global and shared) and the most of shared memory. */
  unsigned long long launches, threads, global_bytes, deepest, deepest_shared;
} entry;

/* Runs a stream's deferred work (below; stream -1: every stream's), all of
 * it or (upto) through a position of its queue, an event's record; returns
 * the error of a launch that failed. */
static CUresult drain(int stream, unsigned long upto);
/* A kernel that faulted (KILN_FAKE_CUDA_FAULT): the context's error from
 * then on, for every launch, copy and wait. */
static CUresult fault;

typedef struct module {
  entry *entries;
  int count;
} module;

/* A line of KILN_FAKE_CUDA_LOG, if set. */
static void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void log_line(const char *fmt, ...) {
  const char *path = getenv("KILN_FAKE_CUDA_LOG");
  FILE *f = path ? fopen(path, "a") : NULL;
  if (!f)
    return;
  va_list args;
  va_start(args, fmt);
  vfprintf(f, fmt, args);
  va_end(args);
  fclose(f);
}

static void log_launch(const char *name, const unsigned v[6]) {
  log_line("launch %s grid %u,%u,%u block %u,%u,%u\n", name, v[0], v[1], v[2], v[3], v[4], v[5]);
}

static void log_copy(const char *dir, size_t bytes) { log_line("copy %s %zu\n", dir, bytes); }

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
/* Streams: live ones are marked, so a copy or launch on no stream (the
 * legacy one) or on a destroyed stream fails. */
enum { kStreams = 16 };
static int streams[kStreams];
CUresult cuStreamCreate(void **out, unsigned flags) {
  NEED_CONTEXT();
  if (flags != 1) /* Kiln asks for CU_STREAM_NON_BLOCKING */
    return kInvalidValue;
  for (int i = 0; i < kStreams; ++i)
    if (!streams[i]) {
      streams[i] = 1;
      *out = &streams[i];
      return 0;
    }
  return 2;
}
static int stream_index(void *stream) { return (int)((int *)stream - streams); }
static int live_stream(void *stream) {
  int *p = stream;
  return p >= streams && p < streams + kStreams && *p;
}
#define NEED_STREAM(stream)                                                                        \
  do {                                                                                             \
    if (!live_stream(stream))                                                                      \
      return kInvalidHandle;                                                                       \
  } while (0)
CUresult cuStreamDestroy_v2(void *stream) {
  NEED_CONTEXT();
  NEED_STREAM(stream);
  drain(stream_index(stream), 0); /* its work completes first */
  *(int *)stream = 0;
  return 0;
}
/* The stream being captured (-1: none), and whether something the capture
 * cannot hold happened during it. */
static int capturing = -1, capture_broken;
enum { kCaptureUnsupported = 900, kCaptureInvalidated = 901, kNotSupported = 801 };
#define NOT_CAPTURING(stream)                                                                      \
  do {                                                                                             \
    if (capturing >= 0 && (stream == NULL || stream_index(stream) == capturing)) {                 \
      capture_broken = 1;                                                                          \
      return kCaptureUnsupported;                                                                  \
    }                                                                                              \
  } while (0)
CUresult cuStreamSynchronize(void *stream) {
  NEED_CONTEXT();
  NEED_STREAM(stream);
  NOT_CAPTURING(stream);
  return drain(stream_index(stream), 0);
}

/* Events: the host time they were recorded at (work runs when queued, so
 * that is when the work before them finished). */
typedef struct event {
  double at;            /* when its last record ran */
  int stream;           /* of its last record */
  unsigned long record; /* the queue position of its last record; 0: none */
  int done;             /* that record has run */
} event;
static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return 1e3 * (double)ts.tv_sec + 1e-6 * (double)ts.tv_nsec;
}
CUresult cuEventCreate(void **out, unsigned flags) {
  NEED_CONTEXT();
  event *e = flags ? NULL : calloc(1, sizeof *e);
  *out = e;
  return e ? 0 : kInvalidValue;
}
CUresult cuEventDestroy_v2(void *e) {
  NEED_CONTEXT();
  event *ev = e;
  if (ev->record) /* a pending record of it would write freed memory */
    drain(ev->stream, ev->record);
  free(e);
  return 0;
}
static CUresult defer_record(int stream, event *e);
CUresult cuEventRecord(void *e, void *stream) {
  NEED_CONTEXT();
  NEED_STREAM(stream);
  NOT_CAPTURING(stream);
  return fault ? fault : defer_record(stream_index(stream), e);
}
/* Never recorded: nothing to wait for, as on a device. */
CUresult cuEventSynchronize(void *e) {
  NEED_CONTEXT();
  NOT_CAPTURING(NULL);
  const event *ev = e;
  return ev->record ? drain(ev->stream, ev->record) : fault;
}
CUresult cuEventElapsedTime(float *ms, void *start, void *end) {
  NEED_CONTEXT();
  const event *a = start, *b = end;
  if (!a->record || !b->record)
    return kInvalidHandle;
  if (!a->done || !b->done)
    return 600; /* CUDA_ERROR_NOT_READY */
  *ms = (float)(b->at - a->at);
  return 0;
}

/* The sizes of the parameters an .entry declares, from "(" to ")":
 * ".param .u64 name", ".param .align 8 .b8 name[16]". */
static int parse_params(const char *p, entry *e) {
  const char *end = strchr(p, ')');
  if (!end)
    return -1;
  for (const char *q = p; (q = strstr(q, ".param")) && q < end;) {
    q += 6;
    size_t bytes = 0;
    const char *t = q;
    while (t < end && !bytes) {
      t += strspn(t, " \t\n");
      static const struct {
        const char *type;
        size_t bytes;
      } types[] = {{".b8", 1},  {".u8", 1},  {".s8", 1},  {".b16", 2}, {".u16", 2},
                   {".s16", 2}, {".f16", 2}, {".b32", 4}, {".u32", 4}, {".s32", 4},
                   {".f32", 4}, {".b64", 8}, {".u64", 8}, {".s64", 8}, {".f64", 8}};
      size_t len = strcspn(t, " \t\n,)");
      for (size_t i = 0; i < sizeof types / sizeof *types; ++i)
        if (len == strlen(types[i].type) && !strncmp(t, types[i].type, len))
          bytes = types[i].bytes;
      t += len;
    }
    if (!bytes)
      return -1;
    t += strspn(t, " \t\n");
    t += strcspn(t, " \t\n,)[");
    if (*t == '[')
      bytes *= (size_t)strtoul(t + 1, NULL, 10);
    size_t *grown = realloc(e->param_bytes, (size_t)(e->nparams + 1) * sizeof *grown);
    if (!grown)
      return -1;
    e->param_bytes = grown;
    e->param_bytes[e->nparams++] = bytes;
    q = t;
  }
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
    entry *e = &m->entries[m->count++];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%.*s", (int)n, p);
    if (parse_params(p + n, e)) {
      for (int i = 0; i < m->count; ++i)
        free(m->entries[i].param_bytes);
      free(m->entries);
      free(m);
      return kInvalidValue;
    }
  }
  if (!m->count) {
    free(m);
    return kInvalidValue;
  }
  *out = m;
  return 0;
}

/* One row of KILN_FAKE_CUDA_WORK's table. "depth" is the sum over launches
 * of the most loads and stores one thread made (global + shared): with
 * every thread of a launch running at once, a lower bound on the accesses
 * that follow each other, so a kernel with few threads and a deep path
 * (one thread walking a long loop) stands out however fast its memory. */
static void work_rows(const module *m) {
  const char *path = getenv("KILN_FAKE_CUDA_WORK");
  FILE *f = path ? fopen(path, "a") : NULL;
  if (!f)
    return;
  for (int i = 0; i < m->count; ++i) {
    const entry *e = &m->entries[i];
    if (e->launches)
      fprintf(f, "%s launches %llu threads %llu global_bytes %llu depth %llu shared_depth %llu\n",
              e->name, e->launches, e->threads, e->global_bytes, e->deepest, e->deepest_shared);
  }
  fclose(f);
}

CUresult cuModuleUnload(void *mod) {
  NEED_CONTEXT();
  drain(-1, 0);
  module *m = mod;
  work_rows(m);
  for (int i = 0; i < m->count; ++i)
    free(m->entries[i].param_bytes);
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
      const char *faulting = getenv("KILN_FAKE_CUDA_FAULT");
      e->faults = faulting && !strcmp(faulting, name);
      *out = e;
      return 0;
    }
  return kNotFound;
}

/* Page-locked host memory: copies from it read it when they run. */
enum { kPinned = 16 };
static struct {
  char *p;
  size_t bytes;
} pinned[kPinned];
CUresult cuMemHostAlloc(void **out, size_t bytes, unsigned flags) {
  NEED_CONTEXT();
  for (int i = 0; !flags && i < kPinned; ++i)
    if (!pinned[i].p) {
      if (!(pinned[i].p = malloc(bytes ? bytes : 1)))
        return 2;
      pinned[i].bytes = bytes;
      *out = pinned[i].p;
      return 0;
    }
  return flags ? kInvalidValue : 2;
}
CUresult cuMemFreeHost(void *p) {
  NEED_CONTEXT();
  drain(-1, 0);
  for (int i = 0; i < kPinned; ++i)
    if (pinned[i].p && pinned[i].p == p) {
      free(p);
      pinned[i].p = NULL;
      return 0;
    }
  return kInvalidValue;
}
static int is_pinned(const void *src, size_t bytes) {
  for (int i = 0; i < kPinned; ++i)
    if (pinned[i].p && (const char *)src >= pinned[i].p &&
        (const char *)src + bytes <= pinned[i].p + pinned[i].bytes)
      return 1;
  return 0;
}

/* A device's fresh memory holds whatever was there before. Where the
 * kernels run here (the program has emulated kernels) it is all bits set, a
 * NaN in every float and -1 in every integer, so that a kernel reading
 * device memory nothing wrote first shows in the results instead of reading
 * zeros; where they do not, zeros keep the host side's numbers finite. */
CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t bytes) {
  NEED_CONTEXT();
  NOT_CAPTURING(NULL);
  static size_t allocated;
  const char *limit = getenv("KILN_FAKE_CUDA_MEMORY");
  if (limit && allocated + bytes > (size_t)strtoull(limit, NULL, 10))
    return 2; /* CUDA_ERROR_OUT_OF_MEMORY */
  allocated += bytes;
  void *q = malloc(bytes ? bytes : 1);
  if (q)
    memset(q, dlsym(RTLD_DEFAULT, "kiln_emu_ids") ? 0xff : 0, bytes ? bytes : 1);
  *p = (CUdeviceptr)(size_t)q;
  return q ? 0 : 2; /* CUDA_ERROR_OUT_OF_MEMORY */
}

CUresult cuMemFree_v2(CUdeviceptr p) {
  NEED_CONTEXT();
  NOT_CAPTURING(NULL);
  drain(-1, 0); /* as a device finishes what may still use it */
  free((void *)(size_t)p);
  return 0;
}

static CUresult defer_copy(int stream, void *dst, const void *src, size_t bytes);

CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src, size_t bytes, void *stream) {
  NEED_CONTEXT();
  NEED_STREAM(stream);
  NOT_CAPTURING(stream);
  if (fault)
    return fault;
  log_copy("in", bytes);
  return defer_copy(stream_index(stream), (void *)(size_t)dst, src, bytes);
}

/* Into pageable memory, as Kiln copies out: done when it returns. */
CUresult cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src, size_t bytes, void *stream) {
  NEED_CONTEXT();
  NEED_STREAM(stream);
  NOT_CAPTURING(stream);
  CUresult r = drain(stream_index(stream), 0);
  if (r == 0)
    memcpy(dst, (const void *)(size_t)src, bytes);
  log_copy("out", bytes);
  return r;
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

/* The race checker (kilnc --gpu-emulate-races: every load and store of a
 * kernel calls kiln_emu_access_hook first). Per 4-byte word it keeps the
 * launch's last write and reads as (block, thread, barrier interval): two
 * accesses, one a write, by different threads conflict unless a barrier of
 * their block orders them (different blocks: nothing does). Shared memory
 * is a block's own, so another block's record there is a fresh start, and
 * a read of shared memory its block never wrote is an error too (on a
 * device it reads what some earlier block left). The first conflict of a
 * launch is printed and fails it. */
typedef struct word {
  uintptr_t key;       /* word address + 1; 0: empty */
  unsigned launch;     /* the launch that touched it (older: empty) */
  unsigned wblock, wepoch, rblock, repoch;
  int wthread, rthread; /* -1: none */
  unsigned char rmany, rblocks; /* >1 reading thread in that interval, >1 reading block */
} word;
static word *words;
static size_t words_cap, words_used;
static unsigned launch_id, race_block, race_epoch;
static unsigned current;
static char race[256];

static word *find_word(uintptr_t key) {
  if (words_used * 10 >= words_cap * 7) {
    size_t old = words_cap;
    word *prev = words;
    words_cap = old ? old * 2 : 1u << 16;
    words = calloc(words_cap, sizeof *words);
    if (!words)
      abort();
    words_used = 0;
    for (size_t i = 0; i < old; ++i)
      if (prev[i].key && prev[i].launch == launch_id) {
        word *w = find_word(prev[i].key);
        *w = prev[i];
      }
    free(prev);
  }
  size_t i = (key * 0x9e3779b97f4a7c15ull) >> 20 & (words_cap - 1);
  for (;; i = (i + 1) & (words_cap - 1)) {
    word *w = &words[i];
    if (w->key == key && w->launch == launch_id)
      return w;
    if (!w->key || w->launch != launch_id) {
      memset(w, 0, sizeof *w);
      w->key = key, w->launch = launch_id, w->wthread = w->rthread = -1;
      ++words_used;
      return w;
    }
  }
}

static void note_word(uintptr_t key, int write, int shared) {
  unsigned b = race_block, e = race_epoch;
  int t = (int)current;
  word *w = find_word(key);
  const char *what = NULL, *theirs = "wrote";
  unsigned ob = 0;
  int ot = -1;
  if (shared && (w->wthread >= 0 ? w->wblock : w->rblock) != b)
    w->wthread = w->rthread = -1, w->rmany = w->rblocks = 0; /* another block's */
  if (w->wthread >= 0 && (w->wblock != b || (w->wepoch == e && w->wthread != t))) {
    what = write ? "writes where" : "reads what";
    ob = w->wblock, ot = w->wthread;
  } else if (write && w->rthread >= 0 &&
             (w->rblocks || w->rblock != b || (w->repoch == e && (w->rmany || w->rthread != t)))) {
    what = "writes what", theirs = "read";
    ob = w->rblock, ot = w->rthread;
    if (w->rblock == b && (w->repoch != e || (!w->rmany && w->rthread == t)))
      what = "writes what another block read", ot = -1; /* rblocks: which one is not kept */
  } else if (shared && !write && w->wthread < 0) {
    what = "reads shared memory its block never wrote";
  }
  if (what && !race[0]) {
    if (ot >= 0)
      snprintf(race, sizeof race,
               "thread %d of block %u %s thread %d of block %u %s, no barrier between (%s "
               "memory, word at %p)",
               t, b, what, ot, ob, theirs, shared ? "shared" : "global", (void *)((key - 1) * 4));
    else
      snprintf(race, sizeof race, "thread %d of block %u %s (word at %p)", t, b, what,
               (void *)((key - 1) * 4));
  }
  if (write) {
    w->wthread = t, w->wblock = b, w->wepoch = e;
  } else if (w->rthread < 0 || w->rblock != b || w->repoch != e) {
    w->rblocks |= w->rthread >= 0 && w->rblock != b;
    w->rthread = t, w->rblock = b, w->repoch = e, w->rmany = 0;
  } else if (w->rthread != t) {
    w->rmany = 1;
  }
}

/* KILN_FAKE_CUDA_WORK's counts: this block's threads' accesses. */
enum { kMaxThreads = 1024 };
static unsigned long long thread_global[kMaxThreads], thread_shared[kMaxThreads];
static unsigned long long launch_bytes;

static void on_access(void *address, long bytes, int flags) {
  if (current < kMaxThreads) {
    if (flags & 2)
      ++thread_shared[current];
    else
      ++thread_global[current], launch_bytes += (unsigned long long)bytes;
  }
  uintptr_t first = (uintptr_t)address / 4, last = ((uintptr_t)address + (uintptr_t)bytes - 1) / 4;
  for (uintptr_t k = first; k <= last; ++k)
    note_word(k + 1, flags & 1, flags & 2);
}

static void *scheduler_sp;
static void **thread_sp;
static char *stacks;
static int *state; /* 0 running, 1 at a barrier, 2 done */
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
  race_epoch = 0;
  if (!e->barriers) {
    for (unsigned t = 0; t < n; ++t) {
      current = t;
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
    ++race_epoch; /* every live thread is at the same barrier now */
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

static CUresult emulate(entry *e, const unsigned v[6], void **params) {
  if (!emu_ids) {
    emu_ids = dlsym(RTLD_DEFAULT, "kiln_emu_ids");
    void (**hook)(void) = dlsym(RTLD_DEFAULT, "kiln_emu_barrier_hook");
    if (!emu_ids || !hook)
      return kNotFound;
    *hook = barrier;
    void (**access)(void *, long, int) = dlsym(RTLD_DEFAULT, "kiln_emu_access_hook");
    if (access)
      *access = on_access;
  }
  ++launch_id;
  race[0] = 0;
  for (int i = 0; i < 3; ++i)
    emu_ids->nctaid[i] = v[i], emu_ids->ntid[i] = v[3 + i];
  unsigned long long deepest = 0, deepest_shared = 0;
  unsigned n = v[3] * v[4] * v[5];
  launch_bytes = 0;
  for (unsigned z = 0; z < v[2]; ++z)
    for (unsigned y = 0; y < v[1]; ++y)
      for (unsigned x = 0; x < v[0]; ++x) {
        emu_ids->ctaid[0] = x, emu_ids->ctaid[1] = y, emu_ids->ctaid[2] = z;
        race_block = (z * v[1] + y) * v[0] + x;
        size_t counted = (n < kMaxThreads ? n : kMaxThreads) * sizeof thread_global[0];
        memset(thread_global, 0, counted);
        memset(thread_shared, 0, counted);
        CUresult r = run_block(e, params, n);
        if (r)
          return r;
        for (unsigned t = 0; t < n && t < kMaxThreads; ++t) {
          unsigned long long all = thread_global[t] + thread_shared[t];
          deepest = all > deepest ? all : deepest;
          deepest_shared = thread_shared[t] > deepest_shared ? thread_shared[t] : deepest_shared;
        }
        if (race[0]) {
          fprintf(stderr, "fake_cuda: %s: %s\n", e->name, race);
          return kLaunchFailed;
        }
      }
  ++e->launches;
  e->threads += (unsigned long long)n * v[0] * v[1] * v[2];
  e->global_bytes += launch_bytes;
  e->deepest += deepest, e->deepest_shared += deepest_shared;
  return 0;
}

/* Each stream's deferred work, in order. Positions count from 1 over the
 * stream's life (an event's record names one). */
typedef struct work {
  enum { kCopy, kLaunch, kRecord } kind;
  void *dst;
  const void *src;
  size_t bytes;
  void *owned; /* a copy's staged source, a launch's parameter values */
  entry *e;
  unsigned v[6];
  void **params;
  event *ev;
} work;
static struct queue {
  work *pending;
  size_t head, count, cap;
  unsigned long queued, ran;
  CUresult failed; /* a launch that failed, for the next wait */
} queues[kStreams];

static CUresult defer(int stream, work w) {
  struct queue *q = &queues[stream];
  if (q->count == q->cap) {
    size_t cap = q->cap ? 2 * q->cap : 256;
    work *grown = realloc(q->pending, cap * sizeof *grown);
    if (!grown)
      return 2;
    q->pending = grown, q->cap = cap;
  }
  q->pending[q->count++] = w;
  ++q->queued;
  return 0;
}

static CUresult defer_copy(int stream, void *dst, const void *src, size_t bytes) {
  work w = {.kind = kCopy, .dst = dst, .src = src, .bytes = bytes};
  if (!is_pinned(src, bytes)) { /* staged now, as the driver stages pageable memory */
    if (!(w.owned = malloc(bytes ? bytes : 1)))
      return 2;
    memcpy(w.owned, src, bytes);
    w.src = w.owned;
  }
  CUresult r = defer(stream, w);
  if (r)
    free(w.owned);
  return r;
}

static CUresult defer_record(int stream, event *e) {
  CUresult r = defer(stream, (work){.kind = kRecord, .ev = e});
  if (r == 0)
    e->stream = stream, e->record = queues[stream].queued, e->done = 0;
  return r;
}

/* cuLaunchKernel reads the parameters when called: their values go with
 * the launch. */
/* A copy of a launch's parameter values (sized by the PTX), as pointers
 * into one block that the caller frees; NULL if out of memory. */
static void **copy_params(const entry *e, void **params) {
  size_t total = 0;
  for (int i = 0; i < e->nparams; ++i)
    total += e->param_bytes[i];
  total += 8 * (size_t)e->nparams; /* each value 8-aligned, as the driver aligns them */
  void **copy = malloc(total + (size_t)(e->nparams + 1) * sizeof(void *));
  if (!copy)
    return NULL;
  char *values = (char *)(copy + e->nparams + 1);
  for (int i = 0; i < e->nparams; ++i) {
    memcpy(values, params[i], e->param_bytes[i]);
    copy[i] = values;
    values += (e->param_bytes[i] + 7) / 8 * 8;
  }
  return copy;
}

static CUresult defer_launch(int stream, entry *e, const unsigned v[6], void **params) {
  work w = {.kind = kLaunch, .e = e};
  memcpy(w.v, v, sizeof w.v);
  if (!(w.owned = w.params = copy_params(e, params)))
    return 2;
  CUresult r = defer(stream, w);
  if (r)
    free(w.owned);
  return r;
}

static CUresult drain(int stream, unsigned long upto) {
  if (stream < 0) {
    CUresult first = 0;
    for (int i = 0; i < kStreams; ++i) {
      CUresult r = drain(i, 0);
      first = first ? first : r;
    }
    return first;
  }
  struct queue *q = &queues[stream];
  while (q->head < q->count && (!upto || q->ran < upto)) {
    work *w = &q->pending[q->head++];
    ++q->ran;
    if (w->kind == kCopy) {
      memcpy(w->dst, w->src, w->bytes);
    } else if (w->kind == kLaunch) {
      CUresult r = w->e->faults ? (fault = kLaunchFailed)
                   : w->e->run    ? emulate(w->e, w->v, w->params)
                                  : 0;
      if (r && !q->failed)
        q->failed = r;
    } else if (w->ev->stream == stream && w->ev->record == q->ran) {
      w->ev->at = now_ms();
      w->ev->done = 1;
    }
    free(w->owned);
  }
  if (q->head == q->count)
    q->head = q->count = 0;
  CUresult r = q->failed;
  q->failed = 0;
  return fault ? fault : r;
}

/* A captured graph: its launches, parameters copied when recorded. */
typedef struct graph {
  struct node {
    entry *e;
    unsigned v[6];
    void **params;
  } *nodes;
  int count, cap;
} graph;
static graph *recording; /* the capture's */

static void free_graph(graph *g) {
  for (int i = 0; g && i < g->count; ++i)
    free(g->nodes[i].params);
  if (g)
    free(g->nodes);
  free(g);
}

static CUresult record_into(graph *g, entry *e, const unsigned v[6], void **params) {
  if (g->count == g->cap) {
    int cap = g->cap ? 2 * g->cap : 64;
    struct node *grown = realloc(g->nodes, (size_t)cap * sizeof *grown);
    if (!grown)
      return 2;
    g->nodes = grown, g->cap = cap;
  }
  struct node *n = &g->nodes[g->count];
  n->e = e;
  memcpy(n->v, v, sizeof n->v);
  if (!(n->params = copy_params(e, params)))
    return 2;
  ++g->count;
  return 0;
}

static CUresult record_node(entry *e, const unsigned v[6], void **params) {
  CUresult r = record_into(recording, e, v, params);
  capture_broken |= r != 0;
  return r;
}

CUresult cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                        unsigned bz, unsigned smem, void *stream, void **params, void **extra) {
  NEED_CONTEXT();
  NEED_STREAM(stream);
  (void)extra;
  entry *e = f;
  const unsigned v[6] = {gx, gy, gz, bx, by, bz};
  // A real device's limits (compute capability 3.0 and later): a launch
  // past them fails there, so it fails here too.
  if (!params || !gx || !gy || !gz || !bx || !by || !bz || gx > 0x7fffffffu || gy > 65535 ||
      gz > 65535 || bx > 1024 || by > 1024 || bz > 64 || bx * by * bz > 1024 || smem > 48 * 1024)
    return kInvalidValue;
  if (fault)
    return fault;
  const char *fail = getenv("KILN_FAKE_CUDA_FAIL");
  if (stream_index(stream) == capturing)
    return fail && !strcmp(fail, e->name) ? (capture_broken = 1, kLaunchFailed)
                                          : record_node(e, v, params);
  log_launch(e->name, v);
  if (fail && !strcmp(fail, e->name))
    return kLaunchFailed;
  return e->run || e->faults ? defer_launch(stream_index(stream), e, v, params) : 0;
}

CUresult cuStreamBeginCapture_v2(void *stream, int mode) {
  NEED_CONTEXT();
  NEED_STREAM(stream);
  const char *no = getenv("KILN_FAKE_CUDA_NO_CAPTURE");
  if (no && !strcmp(no, "begin"))
    return kNotSupported;
  if (capturing >= 0 || mode != 1 /* Kiln captures thread-local */)
    return kInvalidValue;
  if (!(recording = calloc(1, sizeof *recording)))
    return 2;
  capturing = stream_index(stream);
  capture_broken = 0;
  return 0;
}

CUresult cuStreamEndCapture(void *stream, void **out) {
  NEED_CONTEXT();
  NEED_STREAM(stream);
  *out = NULL;
  if (stream_index(stream) != capturing)
    return kInvalidValue;
  capturing = -1;
  if (capture_broken) {
    free_graph(recording);
    recording = NULL;
    return kCaptureInvalidated;
  }
  log_line("graph recorded %d\n", recording->count);
  *out = recording;
  recording = NULL;
  return 0;
}

CUresult cuGraphInstantiateWithFlags(void **out, void *g, unsigned long long flags) {
  NEED_CONTEXT();
  const char *no = getenv("KILN_FAKE_CUDA_NO_CAPTURE");
  if (no && !strcmp(no, "instantiate")) {
    *out = NULL;
    return 2; /* out of memory */
  }
  const graph *from = g;
  graph *exec = flags || !g ? NULL : calloc(1, sizeof *exec);
  *out = exec;
  if (!exec)
    return kInvalidValue;
  for (int i = 0; i < from->count; ++i)
    if (record_into(exec, from->nodes[i].e, from->nodes[i].v, from->nodes[i].params)) {
      free_graph(exec);
      *out = NULL;
      return 2;
    }
  return 0;
}

CUresult cuGraphLaunch(void *exec, void *stream) {
  NEED_CONTEXT();
  NEED_STREAM(stream);
  NOT_CAPTURING(stream);
  if (fault)
    return fault;
  const graph *g = exec;
  log_line("graph launch %d\n", g->count);
  for (int i = 0; i < g->count; ++i) {
    const struct node *n = &g->nodes[i];
    log_launch(n->e->name, n->v);
    CUresult r = n->e->run || n->e->faults ? defer_launch(stream_index(stream), n->e, n->v, n->params) : 0;
    if (r)
      return r;
  }
  return 0;
}

CUresult cuGraphExecDestroy(void *exec) {
  NEED_CONTEXT();
  drain(-1, 0); /* a queued launch of it may still read its parameters */
  free_graph(exec);
  return 0;
}

CUresult cuGraphDestroy(void *g) {
  NEED_CONTEXT();
  free_graph(g);
  return 0;
}

/* Device memory is host memory: the source is read when the copy runs. */
CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t bytes, void *stream) {
  NEED_CONTEXT();
  NEED_STREAM(stream);
  NOT_CAPTURING(stream);
  if (fault)
    return fault;
  log_copy("dtod", bytes);
  return defer(stream_index(stream), (work){.kind = kCopy, .dst = (void *)(size_t)dst,
                                            .src = (const void *)(size_t)src, .bytes = bytes});
}

CUresult cuGetErrorString(CUresult r, const char **msg) {
  switch (r) {
  case 201: *msg = "invalid device context"; break;
  case 35: *msg = "CUDA driver version is insufficient for CUDA runtime version"; break;
  case kLaunchFailed: *msg = "unspecified launch failure"; break;
  case kNotFound: *msg = "named symbol not found"; break;
  case kInvalidValue: *msg = "invalid argument"; break;
  case kInvalidHandle: *msg = "invalid resource handle"; break;
  case kNoDevice: *msg = "no CUDA-capable device is detected"; break;
  case kCaptureUnsupported: *msg = "operation not permitted when stream is capturing"; break;
  case kCaptureInvalidated: *msg = "operation failed due to a previous error during capture"; break;
  case kNotSupported: *msg = "operation not supported"; break;
  case 2: *msg = "out of memory"; break;
  default: *msg = "unknown error"; break;
  }
  return 0;
}
