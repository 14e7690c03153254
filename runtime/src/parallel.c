/*===- parallel.c - The thread pool generated loops run on ----------------===*
 * kiln-cpu-parallelize turns each large tile loop into
 * kiln_parallel_for(body, ctx, n). A training step makes tens of such calls,
 * each a few to a few hundred microseconds of work, so dispatch must cost
 * far less than that. A loop is split into one chunk per thread, published
 * in one atomic word (generation, chunk count, next chunk); every thread,
 * the caller included, claims chunks from it with a compare-and-swap. The
 * caller waits only for chunks another thread has claimed, never for a
 * thread to wake up: on a loaded machine it does them all itself. Idle
 * workers poll the word for about a millisecond, then sleep on a condition
 * variable. (Four chunks per thread measured worse: a GRU epoch at two
 * threads fell from 16.7k to 8k samples/s.)
 * Every iteration does the same arithmetic on any thread, in the caller's
 * floating-point mode, so results do not depend on the thread count.
 *===----------------------------------------------------------------------===*/
#include "kiln/runtime.h"

#include "fpmode.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

#define MAX_THREADS 256
/* Polls of the loop word before an idle worker sleeps: about 1 ms on a
 * 2.5 GHz EPYC, longer than the serial gaps between loops inside a step
 * (waking a sleeping worker costs more than most loops). */
#define SPINS 40000

#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax() __builtin_ia32_pause()
#else
#define cpu_relax() ((void)0)
#endif

/* The loop word: generation (24 bits) | chunks (20) | next chunk (20). */
#define NEXT_BITS 20
#define CHUNK_MASK ((UINT64_C(1) << NEXT_BITS) - 1)
static uint64_t next_of(uint64_t w) { return w & CHUNK_MASK; }
static uint64_t chunks_of(uint64_t w) { return (w >> NEXT_BITS) & CHUNK_MASK; }

static struct {
  pthread_mutex_t busy; /* held by the caller of the running loop */
  pthread_mutex_t sleep_lock;
  pthread_cond_t wake;
  int sleeping; /* under sleep_lock */
  int workers;  /* started; under busy */
  _Atomic uint64_t word;
  atomic_int done; /* chunks of the current loop finished */
  /* The current loop: written under busy before the word is published, and
   * left alone until every chunk is done, so a thread that claimed a chunk
   * reads them safely. */
  kiln_parallel_body body;
  void *ctx;
  int64_t n;
  kiln_fp_mode mode;
} pool = {.busy = PTHREAD_MUTEX_INITIALIZER,
        .sleep_lock = PTHREAD_MUTEX_INITIALIZER,
        .wake = PTHREAD_COND_INITIALIZER};

static _Thread_local int requested; /* kiln_parallel_use: 0 = all cores */

int kiln_cpu_count(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
    return CPU_COUNT(&set);
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

int kiln_parallel_use(int threads) {
  int old = requested;
  requested = threads > 0 ? threads : 0;
  return old;
}

/* Claims and runs one chunk of the published loop, in the caller's
 * floating-point mode (already the caller's own: no write there); 0 when
 * none is left. */
static int run_one(void) {
  uint64_t w = atomic_load_explicit(&pool.word, memory_order_acquire);
  while (next_of(w) < chunks_of(w)) {
    if (!atomic_compare_exchange_weak_explicit(&pool.word, &w, w + 1, memory_order_acq_rel,
                                               memory_order_acquire))
      continue;
    int64_t c = (int64_t)next_of(w), chunks = (int64_t)chunks_of(w);
    kiln_fp_set(pool.mode);
    int64_t lo = pool.n * c / chunks, hi = pool.n * (c + 1) / chunks;
    pool.body(lo, hi, pool.ctx);
    atomic_fetch_add_explicit(&pool.done, 1, memory_order_release);
    return 1;
  }
  return 0;
}

static void *worker(void *arg) {
  (void)arg;
  for (;;) {
    if (run_one())
      continue;
    uint64_t w = atomic_load_explicit(&pool.word, memory_order_acquire);
    if (next_of(w) < chunks_of(w))
      continue;
    int spins = 0;
    while (atomic_load_explicit(&pool.word, memory_order_acquire) == w && ++spins < SPINS)
      cpu_relax();
    if (spins < SPINS)
      continue;
    pthread_mutex_lock(&pool.sleep_lock);
    ++pool.sleeping;
    while (atomic_load(&pool.word) == w)
      pthread_cond_wait(&pool.wake, &pool.sleep_lock);
    --pool.sleeping;
    pthread_mutex_unlock(&pool.sleep_lock);
  }
  return NULL;
}

/* Starts workers up to `want` (under busy); returns how many run. */
static int grow(int want) {
  while (pool.workers < want) {
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &attr, worker, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0)
      break; /* fewer threads, same results */
    ++pool.workers;
  }
  return pool.workers;
}

void kiln_parallel_for(kiln_parallel_body body, void *ctx, int64_t n) {
  int64_t threads = requested ? requested : kiln_cpu_count();
  if (threads > n)
    threads = n;
  if (threads > MAX_THREADS)
    threads = MAX_THREADS;
  if (threads <= 1 || pthread_mutex_trylock(&pool.busy) != 0) {
    if (n > 0)
      body(0, n, ctx);
    return;
  }
  int workers = grow((int)threads - 1);
  if (threads > workers + 1)
    threads = workers + 1;
  pool.body = body;
  pool.ctx = ctx;
  pool.n = n;
  pool.mode = kiln_fp_get();
  atomic_store_explicit(&pool.done, 0, memory_order_relaxed);
  int64_t chunks = threads;
  uint64_t generation = (atomic_load_explicit(&pool.word, memory_order_relaxed) >> (2 * NEXT_BITS)) + 1;
  atomic_store_explicit(&pool.word, generation << (2 * NEXT_BITS) | (uint64_t)chunks << NEXT_BITS,
                        memory_order_release);
  pthread_mutex_lock(&pool.sleep_lock);
  if (pool.sleeping)
    pthread_cond_broadcast(&pool.wake);
  pthread_mutex_unlock(&pool.sleep_lock);
  while (run_one())
    ;
  for (int spins = 0; atomic_load_explicit(&pool.done, memory_order_acquire) < chunks;)
    if (++spins < SPINS)
      cpu_relax();
    else
      sched_yield();
  pthread_mutex_unlock(&pool.busy);
}
