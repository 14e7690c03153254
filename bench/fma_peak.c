/* The machine's fp32 FMA peak, measured: every thread runs independent
 * chains of vector FMAs (enough in flight to cover the FMA latency on every
 * FMA port) for a fixed time; prints GFLOP/s for 1..N threads.
 *
 *   cc -O2 -march=native -pthread bench/fma_peak.c -o fma_peak && ./fma_peak 2
 *
 * Built with the widest vectors the compiler targets for this host, as
 * Kiln's generated code is (AVX-512, else AVX2 with FMA). */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__AVX512F__)
typedef __m512 vec;
#define LANES 16
#define FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define SET1(x) _mm512_set1_ps(x)
#define SUM(v) _mm512_reduce_add_ps(v)
#elif defined(__FMA__)
typedef __m256 vec;
#define LANES 8
#define FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define SET1(x) _mm256_set1_ps(x)
static float SUM(__m256 v) {
  float f[8];
  _mm256_storeu_ps(f, v);
  return f[0] + f[1] + f[2] + f[3] + f[4] + f[5] + f[6] + f[7];
}
#else
#error "needs AVX-512 or AVX2 with FMA (build with -march=native)"
#endif

/* Chains in flight: enough to cover FMA latency x FMA ports (4-5 x 2 on
 * current x86 cores), few enough that the chains plus the two operands stay
 * in registers: 16 of AVX-512's 32, 12 of AVX2's 16 (16 chains there spill
 * two of them to the stack, and their store-load round trips halved the
 * measured peak). */
#if defined(__AVX512F__)
#define ALL(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
enum { CHAINS = 16 };
#else
#define ALL(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
enum { CHAINS = 12 };
#endif
enum { ITERS = 1 << 20 };

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static volatile float sink;

/* ITERS rounds of CHAINS independent FMA chains, each chain a named
 * variable so that all of them stay in registers (an array loop spilled
 * them to the stack); returns the flops done. */
static double burn(void) {
  vec a = SET1(0.999999f), b = SET1(1e-7f);
#define CHAIN(i) vec c##i = SET1((float)i);
#define STEP(i) c##i = FMA(c##i, a, b);
  ALL(CHAIN)
  for (long i = 0; i < ITERS; ++i) {
    ALL(STEP)
  }
#define ADD(i) +SUM(c##i)
  sink = 0 ALL(ADD);
  return 2.0 * LANES * CHAINS * (double)ITERS;
}

static void *worker(void *arg) {
  double *flops = arg;
  *flops = 0;
  for (double end = now() + 0.5; now() < end;)
    *flops += burn();
  return NULL;
}

int main(int argc, char **argv) {
  int max = argc > 1 ? atoi(argv[1]) : 1;
  if (max < 1 || max > 256) {
    fprintf(stderr, "usage: %s [THREADS]\n", argv[0]);
    return 2;
  }
  burn(); /* warm up: clocks up, pages in */
  for (int n = 1; n <= max; ++n) {
    pthread_t th[256];
    double flops[256];
    double start = now();
    for (int i = 0; i < n; ++i)
      pthread_create(&th[i], NULL, worker, &flops[i]);
    double total = 0;
    for (int i = 0; i < n; ++i) {
      pthread_join(th[i], NULL);
      total += flops[i];
    }
    printf("threads %d gflops %.1f\n", n, total / (now() - start) / 1e9);
  }
  return 0;
}
