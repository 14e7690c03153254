/* Kiln's generated matmul, timed: a model that is one bias-free dense layer,
 * x[M, K] -> [M, N] (bench/compare.py writes it and builds this against its
 * library with -DMODEL=kiln_model_gemm), predicted on random rows for a
 * second after a warm-up; prints the median call in GFLOP/s (2*M*K*N flops).
 * Exits 1 when an output is off a double-precision dot product (all of them
 * are checked up to 2^27 multiply-adds, 64 spread-out ones past that), so
 * test/Examples/packed_matmul.test runs it as a correctness check too.
 *
 *   gemm_probe THREADS [SECONDS] */
#include "kiln/runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

extern const kiln_model MODEL;

static int compare_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  const kiln_model *m = &MODEL;
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  double seconds = argc > 2 ? atof(argv[2]) : 1.0;
  int64_t rows = m->batch, k = m->input_numel, n = m->output_numel;
  kiln_state *s = kiln_state_create(m);
  float *x = malloc((size_t)(rows * k) * sizeof(float));
  float *out = malloc((size_t)(rows * n) * sizeof(float));
  enum { MAX_CALLS = 1 << 20 };
  double *times = malloc(MAX_CALLS * sizeof(double));
  if (!s || !x || !out || !times) {
    fprintf(stderr, "error: %s\n", s ? "out of memory" : kiln_error());
    return 1;
  }
  kiln_state_init(s, 1);
  kiln_state_set_threads(s, threads);
  for (int64_t i = 0; i < rows * k; ++i)
    x[i] = (float)((i * 7919) % 2001) / 1000.0f - 1.0f;
  const void *in[1] = {x};
  for (double end = kiln_now() + 0.2; kiln_now() < end;)
    kiln_state_predict(s, in, rows, out);
  int calls = 0;
  for (double end = kiln_now() + seconds; calls < MAX_CALLS && (kiln_now() < end || calls < 5);) {
    double t0 = kiln_now();
    kiln_state_predict(s, in, rows, out);
    times[calls++] = kiln_now() - t0;
  }
  /* The probe times a real matmul: check outputs against a double dot
   * product with the weight ([K, N], the model's only parameter). */
  const float *w = s->params + m->params[0].offset;
  int all = (double)rows * (double)n * (double)k <= (double)(1 << 27);
  int64_t checks = all ? rows * n : 64;
  for (int64_t probe = 0; probe < checks; ++probe) {
    int64_t i = all ? probe / n : (probe * 7919) % rows, j = all ? probe % n : (probe * 104729) % n;
    double ref = 0, mag = 0;
    for (int64_t p = 0; p < k; ++p) {
      ref += (double)x[i * k + p] * w[p * n + j];
      mag += fabs((double)x[i * k + p] * w[p * n + j]);
    }
    if (fabs(out[i * n + j] - ref) > 1e-4 * mag + 1e-6) {
      fprintf(stderr, "gemm probe: out[%lld][%lld] = %g, expected %g\n", (long long)i, (long long)j,
              out[i * n + j], ref);
      return 1;
    }
  }
  qsort(times, (size_t)calls, sizeof(double), compare_double);
  double median = times[calls / 2];
  printf("gemm %lldx%lldx%lld threads %d calls %d median_us %.1f gflops %.1f\n", (long long)rows,
         (long long)k, (long long)n, threads, calls, median * 1e6,
         2.0 * (double)rows * (double)k * (double)n / median / 1e9);
  kiln_state_destroy(s);
  free(x);
  free(out);
  free(times);
  return 0;
}
