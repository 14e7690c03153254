/*===- runtime_test.c - Unit tests of the C runtime ------------------------===*
 * Deterministic RNG and shuffles, splits and standardisation, gathers with
 * padding, the thread pool, and checkpoint round trips and rejections, on a hand-built model
 * table (no generated code needed). Prints "N passed, M failed".
 *===----------------------------------------------------------------------===*/
#include "kiln/runtime.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

static int passed, failed;
#define CHECK(cond)                                                                   \
  do {                                                                                \
    if (cond) {                                                                       \
      ++passed;                                                                       \
    } else {                                                                          \
      ++failed;                                                                       \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);       \
    }                                                                                 \
  } while (0)

static void test_rng(void) {
  kiln_rng a, b;
  kiln_rng_seed(&a, 42);
  kiln_rng_seed(&b, 42);
  for (int i = 0; i < 100; ++i)
    CHECK(kiln_rng_next(&a) == kiln_rng_next(&b));
  kiln_rng_seed(&a, 1);
  /* xoshiro256** seeded by splitmix64(1): a fixed value guards the stream. */
  CHECK(kiln_rng_next(&a) == 0xb3f2af6d0fc710c5ull);
  double sum = 0, sq = 0;
  for (int i = 0; i < 20000; ++i) {
    double x = kiln_rng_normal(&a);
    sum += x;
    sq += x * x;
  }
  CHECK(fabs(sum / 20000) < 0.03 && fabs(sq / 20000 - 1) < 0.05);
}

static void test_shuffle(void) {
  int64_t idx[50], seen[50] = {0};
  for (int i = 0; i < 50; ++i)
    idx[i] = i;
  kiln_shuffle(idx, 50, 7);
  int moved = 0;
  for (int i = 0; i < 50; ++i) {
    seen[idx[i]]++;
    moved += idx[i] != i;
  }
  for (int i = 0; i < 50; ++i)
    CHECK(seen[i] == 1);
  CHECK(moved > 40);
}

static kiln_dataset make_data(int64_t n, int64_t f) {
  kiln_dataset d = {n, f, 1, malloc((size_t)(n * f) * sizeof(float)), NULL,
                    malloc((size_t)n * sizeof(float))};
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < f; ++j)
      d.x[i * f + j] = (float)(i * 10 + j);
    d.yf[i] = (float)i;
  }
  return d;
}

static void test_split_gather(void) {
  kiln_dataset all = make_data(10, 2), test;
  CHECK(kiln_dataset_split(&all, 0.3, 5, &test) == 0);
  CHECK(all.n == 7 && test.n == 3);
  /* Rows stay whole: the label tracks its features. */
  for (int64_t i = 0; i < test.n; ++i)
    CHECK(test.x[i * 2] == test.yf[i] * 10 && test.x[i * 2 + 1] == test.yf[i] * 10 + 1);
  float x[8], y[4];
  int64_t idx[2] = {2, 0};
  kiln_dataset_gather(&all, idx, 2, 4, x, y);
  CHECK(y[0] == all.yf[2] && y[1] == all.yf[0] && y[2] == all.yf[2] && y[3] == all.yf[2]);
  kiln_dataset empty;
  CHECK(kiln_dataset_split(&all, 0.01, 5, &empty) == -1);
  CHECK(strstr(kiln_error(), "leaves an empty train or test set") != NULL);
  kiln_dataset_free(&all);
  kiln_dataset_free(&test);
}

/* The loss a step reports: half of a value that is normal, but whose half is
 * subnormal, so a flushing step reports 0. */
static volatile float kTiny = 2e-38f;
static void dummy_step(float *p, float *s, const void *const *x, const void *y, const float *h, float *l,
                       uint8_t *ws) {
  *l = kTiny * 0.5f;
}
/* predict and predict_one write, per row: half its first feature (subnormal
 * for kTiny when flushing is off), 0 (whole batch) or 1 (one row), and the
 * row's index within the call. */
static void dummy_rows(const void *const *x, float *o, int64_t rows, float tag) {
  for (int64_t r = 0; r < rows; ++r) {
    o[r * 3] = ((const float *)x[0])[r * 2] * 0.5f;
    o[r * 3 + 1] = tag;
    o[r * 3 + 2] = (float)r;
  }
}
static void dummy_predict(const float *p, const float *st, const void *const *x, float *o,
                          uint8_t *ws) {
  dummy_rows(x, o, 2, 0);
}
static void dummy_predict_one(const float *p, const float *st, const void *const *x, float *o,
                              uint8_t *ws) {
  dummy_rows(x, o, 1, 1);
}

static const kiln_tensor_info kParams[] = {
    {"fc.weight", 0, 6, 2, {2, 3, 0, 0}, KILN_INIT_XAVIER, 2, 3},
    {"fc.bias", 16, 3, 1, {3, 0, 0, 0}, KILN_INIT_ZEROS, 2, 3},
};
static const kiln_tensor_info kState[] = {{"step", 0, 1, 0, {0}, KILN_INIT_ZEROS, 0, 0}};
static const kiln_input_info kInputs[] = {{"x", 0, 2, 0, 0}};
static const kiln_model kModel = {
    .abi_version = KILN_ABI_VERSION, .name = "unit", .arch_hash = 0x1234,
    .architecture = "input x: f32[batch, 2]; fc = dense(x, 3); loss = mse(fc, y)", .batch = 2,
    .epochs = 1, .seed = 5, .lr = 0.1, .optimizer = "adam", .loss = "mse", .task = "regress",
    .input_numel = 2, .label_numel = 3, .output_numel = 3, .num_inputs = 1, .inputs = kInputs,
    .num_params = 2, .params = kParams,
    .param_numel = 32, .num_state = 1, .state = kState, .state_numel = 16,
    .workspace_bytes = 64, .split = 0.25, .scale = 0.5, .train_step = dummy_step,
    .predict = dummy_predict, .predict_one = dummy_predict_one};

/* A model compiled for CPU features this CPU lacks, or that this runtime
 * cannot check, gets no state: the message names each such feature. */
static void test_cpu_features(void) {
  kiln_model m = kModel;
  m.cpu_features = "";
  kiln_state *s = kiln_state_create(&m);
  CHECK(s != NULL);
  kiln_state_destroy(s);
  m.cpu_features = "nosuchfeature,sse3,avx512nothing";
  CHECK(kiln_state_create(&m) == NULL &&
        strstr(kiln_error(), "was compiled for a CPU with nosuchfeature, avx512nothing, which this "
                             "CPU lacks") != NULL);
#if defined(__x86_64__)
  /* Each feature this CPU has passes, each it lacks is named. */
  static const char *const names[] = {"avx2", "avx512f", "avx512fp16", "avxvnni"};
  const int has[] = {__builtin_cpu_supports("avx2"), __builtin_cpu_supports("avx512f"),
                     __builtin_cpu_supports("avx512fp16"), __builtin_cpu_supports("avxvnni")};
  for (int i = 0; i < 4; ++i) {
    m.cpu_features = names[i];
    s = kiln_state_create(&m);
    CHECK((s != NULL) == (has[i] != 0));
    CHECK(s || strstr(kiln_error(), names[i]) != NULL);
    kiln_state_destroy(s);
  }
#endif
}

static void test_schedules(void) {
  kiln_schedule constant = {KILN_SCHEDULE_CONSTANT, 0, 0};
  kiln_schedule step = {KILN_SCHEDULE_STEP, 2, 0.5};
  kiln_schedule cosine = {KILN_SCHEDULE_COSINE, 4, 0.1};
  CHECK(kiln_schedule_lr(&constant, 0.3, 7) == 0.3);
  CHECK(kiln_schedule_lr(&step, 1.0, 0) == 1.0 && kiln_schedule_lr(&step, 1.0, 1) == 1.0);
  CHECK(kiln_schedule_lr(&step, 1.0, 2) == 0.5 && kiln_schedule_lr(&step, 1.0, 5) == 0.25);
  CHECK(fabs(kiln_schedule_lr(&cosine, 1.0, 0) - 1.0) < 1e-12);
  CHECK(fabs(kiln_schedule_lr(&cosine, 1.0, 2) - 0.55) < 1e-12);
  CHECK(fabs(kiln_schedule_lr(&cosine, 1.0, 4) - 0.1) < 1e-12);
}

static void test_preprocess(void) {
  kiln_model std = kModel;
  std.standardize = 1;
  kiln_state *s = kiln_state_create(&std);
  float rows[6] = {2, 10, 4, 10, 6, 10}; /* scaled: 1,2,3 and a constant 5 */
  float x[2] = {8, 12};
  float *xs[1] = {x};
  CHECK(kiln_preprocess(s, xs, 1) == -1 && strstr(kiln_error(), "no statistics") != NULL);
  CHECK(kiln_fit_preprocess_rows(s, rows, 3) == 0);
  CHECK(kiln_preprocess_rows(s, rows, 3) == 0);
  /* Feature 0: mean 2, population std sqrt(2/3); a constant feature only centres. */
  CHECK(fabs(rows[0] + 1.224744871) < 1e-6 && fabs(rows[2]) < 1e-7 && fabs(rows[4] - 1.224744871) < 1e-6);
  CHECK(rows[1] == 0 && rows[3] == 0 && rows[5] == 0);
  CHECK(kiln_preprocess(s, xs, 1) == 0);
  CHECK(fabs(x[0] - 2 / sqrt(2.0 / 3)) < 1e-6 && x[1] == 1);
  kiln_state_destroy(s);
  /* Without standardisation, only the scale applies. */
  kiln_state *plain = kiln_state_create(&kModel);
  float y[2] = {3, -4};
  float *ys[1] = {y};
  CHECK(kiln_fit_preprocess(plain, (const float *const *)ys, 1) == 0 && kiln_preprocess(plain, ys, 1) == 0);
  CHECK(y[0] == 1.5f && y[1] == -2);
  kiln_state_destroy(plain);
}

/* Text to ids: strict UTF-8, the vocabulary's ids right-aligned after 0
 * padding, Latin-1 lowercasing, length checked or truncated from the front. */
static void test_text_encode(void) {
  static const kiln_input_info word[] = {{"w", 0, 3, 1, 4}};
  kiln_model m = kModel;
  m.num_inputs = 1;
  m.inputs = word;
  m.input_numel = 3;
  m.vocabulary = "a\xc3\xa9" "b"; /* a, e-acute, b: ids 1, 2, 3 */
  int32_t ids[3];
  CHECK(kiln_text_encode(&m, "\xc3\xa9\n", ids) == 0 && ids[0] == 0 && ids[1] == 0 && ids[2] == 2);
  CHECK(kiln_text_encode(&m, "ab\xc3\xa9", ids) == 0 && ids[0] == 1 && ids[1] == 3 && ids[2] == 2);
  CHECK(kiln_text_encode(&m, "A", ids) == -1 && strstr(kiln_error(), "'A' (U+0041)") != NULL);
  m.lowercase = 1;
  CHECK(kiln_text_encode(&m, "A\xc3\x89", ids) == 0 && ids[1] == 1 && ids[2] == 2); /* E-acute */
  const char *bad[] = {"a\xc0\xaf", "\xed\xa0\x80", "a\xc3", "\xf4\x90\x80\x80", "\xff"};
  for (int i = 0; i < 5; ++i)
    CHECK(kiln_text_encode(&m, bad[i], ids) == -1 && strstr(kiln_error(), "not valid UTF-8") != NULL);
  CHECK(kiln_text_encode(&m, "abab", ids) == -1 && strstr(kiln_error(), "has 4 characters") != NULL);
  m.truncate = 1;
  CHECK(kiln_text_encode(&m, "abab", ids) == 0 && ids[0] == 3 && ids[1] == 1 && ids[2] == 3);
}

/* Several inputs: f32 values and ids in one feature row. Preprocessing
 * touches only the f32 input, the same on feature rows as on per-input
 * arrays; splitting rows gives each input its values, ids as int32. */
static void test_inputs(void) {
  static const kiln_input_info inputs[] = {{"ids", 0, 1, 1, 7}, {"v", 1, 2, 0, 0}};
  kiln_model m = kModel;
  m.num_inputs = 2;
  m.inputs = inputs;
  m.input_numel = 3;
  m.standardize = 1;
  m.scale = 1;
  kiln_state *s = kiln_state_create(&m);
  float rows[6] = {3, 1, 4, 6, 3, 8}; /* ids 3, 6; v = (1, 4), (3, 8) */
  CHECK(kiln_fit_preprocess_rows(s, rows, 2) == 0);
  CHECK(s->input_mean[0] == 0 && s->input_std[0] == 1);
  CHECK(s->input_mean[1] == 2 && s->input_mean[2] == 6 && s->input_std[2] == 2);
  float v[4] = {1, 4, 3, 8};
  float *per[2] = {NULL, v};
  CHECK(kiln_preprocess_rows(s, rows, 2) == 0 && kiln_preprocess(s, per, 2) == 0);
  CHECK(rows[0] == 3 && rows[3] == 6); /* ids untouched */
  CHECK(rows[1] == v[0] && rows[2] == v[1] && rows[4] == v[2] && rows[5] == v[3]);
  CHECK(v[0] == -1 && v[1] == -1 && v[2] == 1 && v[3] == 1);
  float *none[2] = {NULL, NULL};
  CHECK(kiln_preprocess(s, none, 2) == -1 && strstr(kiln_error(), "input 'v'") != NULL);
  void **in = kiln_inputs_alloc(&m, 2);
  CHECK(in != NULL);
  kiln_inputs_from_rows(&m, rows, 2, in);
  CHECK(((int32_t *)in[0])[0] == 3 && ((int32_t *)in[0])[1] == 6);
  CHECK(((float *)in[1])[0] == -1 && ((float *)in[1])[3] == 1);
  kiln_inputs_free(&m, in);
  kiln_state_destroy(s);
}

/* Generated code runs with subnormals flushed unless asked not to, and the
 * caller's floating-point mode is the same after the call. */
static void test_denormals(void) {
  kiln_state *s = kiln_state_create(&kModel);
  float out[6];
  const float row[2] = {kTiny, 0}, labels[6] = {0};
  const void *in[1] = {row};
  const void *batch[1] = {out}; /* the dummy step reads no input */
  /* NULL buffers are refused before generated code runs. */
  CHECK(isnan(kiln_state_train_step(s, NULL, labels)) && strstr(kiln_error(), "input array") != NULL);
  CHECK(isnan(kiln_state_train_step(s, batch, NULL)) && strstr(kiln_error(), "label array") != NULL);
  CHECK(kiln_state_train_step(s, batch, labels) == 0);
  CHECK(kiln_state_predict(s, in, 1, out) == 0);
  CHECK(out[0] == 0);
  CHECK(kTiny * 0.5f != 0); /* restored: the caller still has subnormals */
  kiln_state_set_flush_denormals(s, 0);
  CHECK(kiln_state_train_step(s, batch, labels) == 1e-38f);
  CHECK(kiln_state_predict(s, in, 1, out) == 0);
  CHECK(out[0] == 1e-38f);
#if defined(__x86_64__)
  /* "keep" keeps subnormals even where the caller flushes them (-ffast-math
   * start-up code does), and leaves the caller flushing. */
  unsigned caller = _mm_getcsr();
  _mm_setcsr(caller | 0x8040);
  float kept = kiln_state_train_step(s, batch, labels);
  unsigned after = _mm_getcsr();
  _mm_setcsr(caller);
  CHECK(kept == 1e-38f && (after & 0x8040) == 0x8040);
#endif
  kiln_state_destroy(s);
}

/* kiln_parallel_for: what a body saw, per iteration. */
typedef struct {
  int visits[1000];
  pthread_t thread[1000];
  int flushed[1000];
  int nested[4];
} par_log;

static void nested_body(int64_t lo, int64_t hi, void *ctx) {
  for (int64_t i = lo; i < hi; ++i)
    ((par_log *)ctx)->nested[i]++;
}

static void par_body(int64_t lo, int64_t hi, void *ctx) {
  par_log *log = ctx;
  for (int64_t i = lo; i < hi; ++i) {
    volatile float tiny = kTiny;
    log->visits[i]++;
    log->thread[i] = pthread_self();
    log->flushed[i] = tiny * 0.5f == 0;
  }
  if (lo == 0) /* a loop inside a loop: runs on this thread, no deadlock */
    kiln_parallel_for(nested_body, log, 4);
}

static void slow_body(int64_t lo, int64_t hi, void *ctx) {
  usleep(2000);
  par_body(lo, hi, ctx);
}

/* Any row count: whole batches (2 rows) through predict, the rest through
 * predict_one, each at its own rows of input and output; bad arguments are
 * errors, never undefined behaviour. */
static void test_predict_rows(void) {
  kiln_state *s = kiln_state_create(&kModel);
  float x[5][2], out[6][3];
  for (int r = 0; r < 5; ++r)
    x[r][0] = (float)(2 * r), x[r][1] = -1;
  const void *in[1] = {x};
  out[5][0] = -7;
  CHECK(kiln_state_predict(s, in, 5, &out[0][0]) == 0);
  for (int r = 0; r < 5; ++r) {
    CHECK(out[r][0] == (float)r);             /* its own row's input */
    CHECK(out[r][1] == (r == 4 ? 1.0f : 0.0f)); /* the fifth row alone */
    CHECK(out[r][2] == (float)(r < 4 ? r % 2 : 0));
  }
  CHECK(out[5][0] == -7); /* nothing past the rows written */
  CHECK(kiln_state_predict(s, in, 1, &out[0][0]) == 0 && out[0][1] == 1);
  CHECK(kiln_state_predict(s, in, 0, NULL) == 0);
  CHECK(kiln_state_predict(s, in, -1, &out[0][0]) == -1 &&
        strstr(kiln_error(), "negative") != NULL);
  CHECK(kiln_state_predict(s, NULL, 2, &out[0][0]) == -1);
  CHECK(kiln_state_predict(s, in, 2, NULL) == -1);
  const void *missing[1] = {NULL};
  CHECK(kiln_state_predict(s, missing, 2, &out[0][0]) == -1 &&
        strstr(kiln_error(), "'x'") != NULL);
  kiln_state_destroy(s);
}

static void test_parallel(void) {
  static par_log log;
  const int64_t sizes[] = {0, 1, 2, 3, 7, 1000};
  const int threads[] = {0, 1, 2, 3, 8};
  for (size_t t = 0; t < sizeof threads / sizeof *threads; ++t)
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; ++k) {
      int64_t n = sizes[k];
      memset(&log, 0, sizeof log);
      int old = kiln_parallel_use(threads[t]);
      kiln_parallel_for(par_body, &log, n);
      kiln_parallel_use(old);
      int once = 1;
      for (int64_t i = 0; i < n; ++i)
        once &= log.visits[i] == 1;
      CHECK(once);
      CHECK(n == 0 || (log.nested[0] == 1 && log.nested[3] == 1));
      /* Contiguous chunks, at most one per thread. */
      int runs = n > 0;
      for (int64_t i = 1; i < n; ++i)
        runs += !pthread_equal(log.thread[i], log.thread[i - 1]);
      int most = threads[t] == 0 ? kiln_cpu_count() : threads[t];
      CHECK(runs <= (n < most ? (int)n : most));
    }
  /* A worker takes a chunk when the caller is busy with its own (it may take
   * none on a loaded machine: then the caller runs both), and computes in
   * the caller's floating-point mode. */
  int worker_ran = 0, all_flushed = 1;
  int old = kiln_parallel_use(2);
  for (int attempt = 0; attempt < 50 && !worker_ran; ++attempt) {
    memset(&log, 0, sizeof log);
#if defined(__x86_64__)
    unsigned caller = _mm_getcsr();
    _mm_setcsr(caller | 0x8040);
#endif
    kiln_parallel_for(slow_body, &log, 2);
#if defined(__x86_64__)
    _mm_setcsr(caller);
    all_flushed &= log.flushed[0] && log.flushed[1];
#endif
    worker_ran = !pthread_equal(log.thread[0], log.thread[1]);
  }
  kiln_parallel_use(old);
  CHECK(worker_ran && all_flushed);
}

/* Writes `n` bytes of `data` to `dst`. */
static void write_file(const char *dst, const char *data, size_t n) {
  FILE *out = fopen(dst, "wb");
  fwrite(data, 1, n, out);
  fclose(out);
}

static size_t read_file(const char *path, char *buf, size_t cap) {
  FILE *in = fopen(path, "rb");
  size_t n = fread(buf, 1, cap, in);
  fclose(in);
  return n;
}

static void test_checkpoints(const char *dir) {
  char path[512], bad[512];
  snprintf(path, sizeof path, "%s/unit.safetensors", dir);
  snprintf(bad, sizeof bad, "%s/bad.safetensors", dir);
  kiln_state *a = kiln_state_create(&kModel), *b = kiln_state_create(&kModel);
  kiln_state_init(a, 3);
  a->state[0] = 17;
  a->epochs_done = 4;
  int nonzero = 0;
  for (int i = 0; i < 6; ++i)
    nonzero += a->params[i] != 0;
  CHECK(nonzero == 6);
  CHECK(a->params[16] == 0 && a->params[17] == 0);
  CHECK(kiln_checkpoint_save(a, path) == 0);
  CHECK(kiln_checkpoint_load(b, path) == 0);
  CHECK(memcmp(a->params, b->params, 6 * sizeof(float)) == 0 && b->state[0] == 17);
  /* The seed (hence the test split), the split and the epochs come back. */
  CHECK(b->seed == 3 && b->split == 0.25 && b->epochs_done == 4);

  /* Truncation and a wrong model are rejected, and leave the state alone. */
  char buf[4096];
  size_t n = read_file(path, buf, sizeof buf);
  write_file(bad, buf, n - 4);
  b->params[0] = 99;
  b->seed = 77;
  b->split = 0.5;
  b->epochs_done = 8;
  CHECK(kiln_checkpoint_load(b, bad) == -1 && b->params[0] == 99);
  CHECK(b->seed == 77 && b->split == 0.5 && b->epochs_done == 8);
  /* Metadata out of range: a test split of -3 (same length, so the header
   * stays well-formed). */
  char *split = strstr(buf + 8, "\"kiln_split\":\"0.25\""); /* after the length bytes */
  CHECK(split != NULL);
  if (split) {
    memcpy(split + 14, "-3.0", 4);
    write_file(bad, buf, n);
    CHECK(kiln_checkpoint_load(b, bad) == -1 && strstr(kiln_error(), "bad kiln_split '-3.0'"));
    memcpy(split + 14, "0.25", 4);
  }
  CHECK(b->seed == 77 && b->split == 0.5 && b->epochs_done == 8 && b->params[0] == 99);
  CHECK(strstr(kiln_error(), "corrupt") != NULL || strstr(kiln_error(), "outside the file") != NULL);
  kiln_model other = kModel;
  other.name = "other";
  kiln_state *c = kiln_state_create(&other);
  CHECK(kiln_checkpoint_load(c, path) == -1 && strstr(kiln_error(), "not 'other'") != NULL);
  CHECK(kiln_checkpoint_load(c, "/nonexistent/x.safetensors") == -1);
  kiln_state_destroy(c);

  /* Same names and shapes, another architecture: refused, naming the line. */
  kiln_model arch = kModel;
  arch.arch_hash = 0x5678;
  arch.architecture = "input x: f32[batch, 2]; fc = tanh(dense(x, 3)); loss = mse(fc, y)";
  c = kiln_state_create(&arch);
  CHECK(kiln_checkpoint_load(c, path) == -1);
  CHECK(strstr(kiln_error(), "different architecture: it has 'fc = dense(x, 3)' where this model "
                             "has 'fc = tanh(dense(x, 3))'") != NULL);
  kiln_state_destroy(c);
  arch.architecture = "input x: f32[batch, 2]; fc = dense(x, 3)";
  c = kiln_state_create(&arch);
  CHECK(kiln_checkpoint_load(c, path) == -1);
  CHECK(strstr(kiln_error(), "it has 'loss = mse(fc, y)', which this model lacks") != NULL);
  kiln_state_destroy(c);

  /* An architecture ending in a separator reads no further than its end. */
  kiln_model trail = kModel;
  trail.arch_hash = 0x9abc;
  trail.architecture = "input x: f32[batch, 2];";
  c = kiln_state_create(&trail);
  CHECK(kiln_checkpoint_save(c, bad) == 0);
  CHECK(kiln_checkpoint_load(b, bad) == -1 &&
        strstr(kiln_error(), "it lacks 'fc = dense(x, 3)'") != NULL);
  kiln_state_destroy(c);
  /* The same text under another hash is corrupt metadata, not a difference. */
  arch.architecture = kModel.architecture;
  c = kiln_state_create(&arch);
  CHECK(kiln_checkpoint_load(c, path) == -1 && strstr(kiln_error(), "corrupt metadata") != NULL);
  kiln_state_destroy(c);

  /* Preprocessing must agree too: the scale, and standardisation. */
  kiln_model scaled = kModel;
  scaled.scale = 0.25;
  c = kiln_state_create(&scaled);
  CHECK(kiln_checkpoint_load(c, path) == -1 && strstr(kiln_error(), "scaled by 0.5") != NULL);
  kiln_state_destroy(c);
  kiln_model std = kModel;
  std.standardize = 1;
  c = kiln_state_create(&std);
  CHECK(kiln_checkpoint_load(c, path) == -1 && strstr(kiln_error(), "no standardisation statistics"));
  /* Nor is a checkpoint written that could not be loaded back. */
  CHECK(kiln_checkpoint_save(c, bad) == -1 && strstr(kiln_error(), "not saved") != NULL);
  float rows[4] = {1, 2, 5, 3};
  CHECK(kiln_fit_preprocess_rows(c, rows, 2) == 0);
  CHECK(kiln_checkpoint_save(c, bad) == 0);
  kiln_state *d = kiln_state_create(&std);
  CHECK(kiln_checkpoint_load(d, bad) == 0 && d->standardization_ready);
  CHECK(memcmp(c->input_mean, d->input_mean, 2 * sizeof(double)) == 0 &&
        memcmp(c->input_std, d->input_std, 2 * sizeof(double)) == 0);
  CHECK(kiln_checkpoint_load(b, bad) == -1 && strstr(kiln_error(), "does not standardise"));
  kiln_state_destroy(c);
  kiln_state_destroy(d);

  /* A safetensors file without Kiln's metadata is not taken for one. */
  const char plain[] = "{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}";
  char raw[8 + sizeof plain + 24] = {0};
  raw[0] = (char)(sizeof plain - 1);
  memcpy(raw + 8, plain, sizeof plain - 1);
  write_file(bad, raw, 8 + sizeof plain - 1 + 24);
  CHECK(kiln_checkpoint_load(b, bad) == -1 && strstr(kiln_error(), "not a Kiln checkpoint"));
  kiln_state_destroy(a);
  kiln_state_destroy(b);
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : ".";
  test_rng();
  test_shuffle();
  test_split_gather();
  test_schedules();
  test_cpu_features();
  test_preprocess();
  test_inputs();
  test_text_encode();
  test_denormals();
  test_predict_rows();
  test_parallel();
  test_checkpoints(dir);
  printf("runtime: %d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
