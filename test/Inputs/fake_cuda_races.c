/* The stand-in driver's race checker (kilnc --gpu-emulate-races) on
 * kernels written by hand, one pattern each: what it must flag and what it
 * must let through. Each kernel reports its accesses through
 * kiln_emu_access_hook, as instrumented kernels do, and the program prints
 * "NAME: ok" or "NAME: failed" per launch (the driver prints why). */
#include <stdio.h>
#include <string.h>

typedef int CUresult;
CUresult cuInit(unsigned);
CUresult cuDevicePrimaryCtxRetain(void **, int);
CUresult cuCtxPushCurrent_v2(void *);
CUresult cuModuleLoadData(void **, const void *);
CUresult cuModuleGetFunction(void **, void *, const char *);
CUresult cuModuleUnload(void *);
CUresult cuStreamCreate(void **, unsigned);
CUresult cuStreamSynchronize(void *);
CUresult cuLaunchKernel(void *, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                        unsigned, void *, void **, void **);

/* What an instrumented model defines (the driver fills the hooks in). */
struct {
  unsigned tid[3], ntid[3], ctaid[3], nctaid[3];
} kiln_emu_ids;
void (*kiln_emu_barrier_hook)(void);
void (*kiln_emu_access_hook)(void *, long, int);

static float shared[256], global[256];
enum { kWrite = 1, kShared = 2 };
static float load(float *p, int flags) {
  kiln_emu_access_hook(p, 4, flags);
  return *p;
}
static void store(float *p, float v, int flags) {
  kiln_emu_access_hook(p, 4, flags | kWrite);
  *p = v;
}
#define T kiln_emu_ids.tid[0]
#define N kiln_emu_ids.ntid[0]
#define B kiln_emu_ids.ctaid[0]
#define KERNEL(name) const int kiln_emu_barriers_##name = 1; void kiln_emu_##name(void **params)

/* Each thread writes its slot, a barrier, then reads its neighbour's: fine,
 * in every block (each has its own shared memory). */
KERNEL(neighbour_after_barrier) {
  (void)params;
  store(&shared[T], (float)T, kShared);
  kiln_emu_barrier_hook();
  store(&global[B * N + T], load(&shared[(T + 1) % N], kShared), 0);
}
/* Without the barrier, reading the previous thread's slot: a race (here
 * the value would even be right: thread T - 1 ran first). */
KERNEL(neighbour_no_barrier) {
  (void)params;
  store(&shared[T], (float)T, kShared);
  if (T > 0)
    store(&global[B * N + T], load(&shared[T - 1], kShared), 0);
}
/* A tree sum whose levels are barrier-separated: fine. */
KERNEL(tree) {
  (void)params;
  store(&shared[T], 1.0f, kShared);
  kiln_emu_barrier_hook();
  for (unsigned half = N / 2; half >= 1; half /= 2) {
    if (T < half)
      store(&shared[T], load(&shared[T], kShared) + load(&shared[T + half], kShared), kShared);
    kiln_emu_barrier_hook();
  }
  if (T == 0)
    store(&global[B], load(&shared[0], kShared), 0);
}
/* Every block's thread 0 writes the same global word: a race between
 * blocks, whatever barriers there are. */
KERNEL(blocks_write_one_word) {
  (void)params;
  if (T == 0)
    store(&global[0], (float)B, 0);
  kiln_emu_barrier_hook();
}
/* Every block reads the same global word: fine. */
KERNEL(blocks_read_one_word) {
  (void)params;
  store(&global[1 + B * N + T], load(&global[0], 0), 0);
  kiln_emu_barrier_hook();
}
/* Both blocks read a global word, then block 1 overwrites it: block 0's
 * read is not ordered with that write (block 1's own read is). */
KERNEL(read_then_another_block_writes) {
  (void)params;
  if (T == 0)
    store(&global[4 + B], load(&global[3], 0), 0);
  if (T == 0 && B == 1)
    store(&global[3], 2.0f, 0);
  kiln_emu_barrier_hook();
}
/* Block 1 reads shared memory only block 0 wrote (on a device: garbage). */
KERNEL(shared_unwritten) {
  (void)params;
  if (B == 0)
    store(&shared[T], 1.0f, kShared);
  kiln_emu_barrier_hook();
  store(&global[B * N + T], load(&shared[T], kShared), 0);
}
/* Thread 0 reads a word thread 1 writes, in the same interval: a race
 * even though thread 1 runs after thread 0 here. */
KERNEL(write_after_read) {
  (void)params;
  if (T == 0)
    store(&global[0], load(&global[2], 0), 0);
  if (T == 1)
    store(&global[2], 5.0f, 0);
  kiln_emu_barrier_hook();
}

/* Thread 0 makes 3 global accesses, thread 1 3 shared ones: no thread
 * makes 6 (KILN_FAKE_CUDA_WORK's depth is one thread's). */
KERNEL(split_depth) {
  (void)params;
  if (T == 0)
    for (int i = 0; i < 3; ++i)
      store(&global[B * 3 + (unsigned)i], 1.0f, 0);
  if (T == 1) {
    store(&shared[1], 1.0f, kShared);
    store(&shared[1], load(&shared[1], kShared), kShared);
  }
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0); /* in order with the driver's stderr */
  static const char *names[] = {"neighbour_after_barrier", "neighbour_no_barrier", "tree",
                                "blocks_write_one_word",   "blocks_read_one_word",
                                "read_then_another_block_writes", "shared_unwritten",
                                "write_after_read", "split_depth"};
  char ptx[2048] = "";
  for (size_t i = 0; i < sizeof names / sizeof *names; ++i)
    snprintf(ptx + strlen(ptx), sizeof ptx - strlen(ptx), ".entry %s()\n", names[i]);
  void *ctx, *module;
  void *stream;
  if (cuInit(0) || cuDevicePrimaryCtxRetain(&ctx, 0) || cuCtxPushCurrent_v2(ctx) ||
      cuStreamCreate(&stream, 1) || cuModuleLoadData(&module, ptx))
    return 2;
  for (size_t i = 0; i < sizeof names / sizeof *names; ++i) {
    void *f, *params[1] = {0};
    if (cuModuleGetFunction(&f, module, names[i]))
      return 2;
    /* A launch runs when waited for; its failure is the wait's. */
    CUresult r = cuLaunchKernel(f, 2, 1, 1, 8, 1, 1, 0, stream, params, 0);
    if (r == 0)
      r = cuStreamSynchronize(stream);
    printf("%s: %s\n", names[i], r ? "failed" : "ok");
  }
  return cuModuleUnload(module) ? 2 : 0;
}
