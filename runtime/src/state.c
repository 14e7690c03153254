/*===- state.c - Model state and calls into generated code ----------------===*/
#include "kiln/runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fpmode.h"
#include "gpu.h"

static void *aligned_zeroed(size_t bytes) {
  size_t size = (bytes + 63) / 64 * 64;
  void *p = aligned_alloc(64, size ? size : 64);
  if (p)
    memset(p, 0, size ? size : 64);
  return p;
}

/* Whether this CPU has every feature `m` was compiled for; if not, says
 * which it lacks (generated code would die of an illegal instruction). */
static int cpu_supports_model(const kiln_model *m) {
#if defined(__x86_64__) || defined(__i386__)
#define KILN_NAME(name) name,
#define KILN_HAS(name) __builtin_cpu_supports(name) != 0, /* takes literals only */
  static const char *const names[] = {KILN_X86_FEATURES(KILN_NAME)};
  __builtin_cpu_init();
  const int has[] = {KILN_X86_FEATURES(KILN_HAS)};
#undef KILN_NAME
#undef KILN_HAS
  char missing[256] = "";
  const char *p = m->cpu_features ? m->cpu_features : "";
  while (*p) {
    size_t n = strcspn(p, ","), i = 0;
    while (i < sizeof names / sizeof *names && !(strlen(names[i]) == n && !strncmp(names[i], p, n)))
      ++i;
    if (i == sizeof names / sizeof *names || !has[i]) { /* lacking, or unknown to this runtime */
      size_t used = strlen(missing);
      snprintf(missing + used, sizeof missing - used, "%s%.*s", used ? ", " : "", (int)n, p);
    }
    p += n + (p[n] == ',');
  }
  if (*missing) {
    kiln_fail("model '%s' was compiled for a CPU with %s, which this CPU lacks; compile it "
              "with kilnc --cpu=native on this machine, or with a --cpu whose features this "
              "CPU has (x86-64-v3 for AVX2, x86-64-v2, x86-64)",
              m->name, missing);
    return 0;
  }
#else
  (void)m;
#endif
  return 1;
}

kiln_state *kiln_state_create(const kiln_model *m) {
  const char *device = getenv("KILN_CUDA_DEVICE");
  return kiln_state_create_on(m, device && *device ? atoi(device) : 0);
}

kiln_state *kiln_state_create_on(const kiln_model *m, int device) {
  if (!m || m->abi_version != KILN_ABI_VERSION) {
    kiln_fail("model table has ABI version %lld, this runtime expects %d",
              m ? (long long)m->abi_version : -1LL, KILN_ABI_VERSION);
    return NULL;
  }
  if (!cpu_supports_model(m))
    return NULL;
  kiln_state *s = calloc(1, sizeof *s);
  if (!s) {
    kiln_fail("out of memory");
    return NULL;
  }
  s->model = m;
  s->params = aligned_zeroed((size_t)m->param_numel * sizeof(float));
  s->state = aligned_zeroed((size_t)m->state_numel * sizeof(float));
  /* A GPU build's workspace is on the device only. */
  s->workspace = aligned_zeroed(m->ptx ? 0 : (size_t)m->workspace_bytes);
  s->row_inputs = calloc((size_t)m->num_inputs + 1, sizeof *s->row_inputs);
  s->hyper[0] = (float)m->lr;
  s->seed = (uint64_t)m->seed;
  s->split = m->split;
  s->flush_denormals = 1;
  if (m->standardize && m->input_numel > 0) {
    s->input_mean = calloc((size_t)m->input_numel, sizeof(double));
    s->input_std = calloc((size_t)m->input_numel, sizeof(double));
  }
  if (!s->params || !s->state || !s->workspace || !s->row_inputs ||
      (m->standardize && (!s->input_mean || !s->input_std))) {
    kiln_state_destroy(s);
    kiln_fail("out of memory: model '%s' needs %.2f GiB for its parameters, state and workspace",
              m->name,
              ((double)(m->param_numel + m->state_numel) * sizeof(float) + (double)m->workspace_bytes) /
                  (1024.0 * 1024.0 * 1024.0));
    return NULL;
  }
  if (m->ptx && !(s->gpu = kiln_gpu_create(m, device))) {
    kiln_state_destroy(s);
    return NULL;
  }
  return s;
}

void kiln_state_destroy(kiln_state *s) {
  if (!s)
    return;
  kiln_gpu_destroy(s->gpu);
  free(s->params);
  free(s->state);
  free(s->workspace);
  free(s->row_inputs);
  free(s->input_mean);
  free(s->input_std);
  free(s);
}

/* Fills each tensor of `table` in `arena` from its initialiser, drawing
 * from `r` in table order (a random stream's counter starts from `seed`). */
static void init_tensors(kiln_rng *r, uint64_t seed, const kiln_tensor_info *table, int64_t n,
                         float *arena) {
  for (int64_t t = 0; t < n; ++t) {
    const kiln_tensor_info *p = &table[t];
    float *w = arena + p->offset;
    double fin = (double)(p->fan_in > 0 ? p->fan_in : 1), fout = (double)(p->fan_out > 0 ? p->fan_out : 1);
    for (int64_t i = 0; i < p->numel; ++i) {
      double v = 0;
      switch (p->init) {
      case KILN_INIT_ONES: v = 1; break;
      case KILN_INIT_NORMAL: v = 0.01 * kiln_rng_normal(r); break;
      case KILN_INIT_XAVIER: v = (2 * kiln_rng_uniform(r) - 1) * sqrt(6.0 / (fin + fout)); break;
      case KILN_INIT_XAVIER_NORMAL: v = kiln_rng_normal(r) * sqrt(2.0 / (fin + fout)); break;
      case KILN_INIT_HE: v = kiln_rng_normal(r) * sqrt(2.0 / fin); break;
      case KILN_INIT_HE_UNIFORM: v = (2 * kiln_rng_uniform(r) - 1) * sqrt(6.0 / fin); break;
      case KILN_INIT_TORCH: v = (2 * kiln_rng_uniform(r) - 1) / sqrt(fin); break;
      case KILN_INIT_SEED: v = (double)(seed % (1u << 20)); break;
      case KILN_INIT_UNIT_NORMAL: v = kiln_rng_normal(r); break;
      default: v = 0; break;
      }
      w[i] = (float)v;
    }
  }
}

void kiln_state_init(kiln_state *s, uint64_t seed) {
  const kiln_model *m = s->model;
  kiln_rng r;
  kiln_rng_seed(&r, seed);
  init_tensors(&r, seed, m->params, m->num_params, s->params);
  /* Optimizer state starts at zero; persistent buffers (batch norm's
   * running variance: ones) have initialisers of their own. */
  memset(s->state, 0, (size_t)m->state_numel * sizeof(float));
  init_tensors(&r, seed, m->state, m->num_state, s->state);
  s->epochs_done = 0;
  s->steps_done = 0;
  s->epoch_loss = 0;
  s->seed = seed;
  if (s->gpu)
    kiln_gpu_host_changed(s->gpu);
}

void kiln_state_set_lr(kiln_state *s, float lr) { s->hyper[0] = lr; }

double kiln_schedule_lr(const kiln_schedule *sc, double base, int64_t epoch) {
  switch (sc->kind) {
  case KILN_SCHEDULE_STEP:
    return sc->period > 0 ? base * pow(sc->factor, (double)(epoch / sc->period)) : base;
  case KILN_SCHEDULE_COSINE: {
    if (sc->period <= 0)
      return base;
    /* Past the period the cosine goes on, as PyTorch's does. */
    const double pi = 3.14159265358979323846;
    return sc->factor + (base - sc->factor) * (1 + cos(pi * (double)epoch / (double)sc->period)) / 2;
  }
  default:
    return base;
  }
}

void kiln_state_set_flush_denormals(kiln_state *s, int on) { s->flush_denormals = on != 0; }

void kiln_state_set_threads(kiln_state *s, int threads) { s->threads = threads > 0 ? threads : 0; }

/* What a call into generated code sets on entry and restores on exit, so
 * an embedding application's own floating-point mode and thread count are
 * untouched. */
typedef struct call_scope {
  kiln_fp_mode mode;
  int threads;
} call_scope;

static call_scope call_enter(const kiln_state *s) {
  call_scope outer = {kiln_fp_get(), kiln_parallel_use(s->threads)};
  kiln_fp_set(s->flush_denormals ? outer.mode | KILN_FP_FLUSH : outer.mode & ~KILN_FP_FLUSH);
  return outer;
}

static void call_leave(call_scope outer) {
  kiln_parallel_use(outer.threads);
  kiln_fp_set(outer.mode);
}

/* Arguments generated code would otherwise read out of bounds or silently
 * misuse: NULL buffers, ids past their embedding's rows, class labels past
 * the classes (a one-hot row of zeros: a wrong loss and no error). `what`
 * names the call in the message. */
static int check_inputs(const kiln_state *s, const void *const *x, int64_t rows, const char *what) {
  if (!s)
    return kiln_fail("%s: no model state", what);
  const kiln_model *m = s->model;
  if (rows > 0 && !x)
    return kiln_fail("%s: the input array is NULL", what);
  for (int64_t i = 0; rows > 0 && i < m->num_inputs; ++i) {
    const kiln_input_info *in = &m->inputs[i];
    if (!x[i])
      return kiln_fail("%s: input '%s' is NULL", what, in->name);
    if (!in->is_int)
      continue;
    const int32_t *ids = x[i];
    for (int64_t k = 0; k < rows * in->numel; ++k)
      if (ids[k] < 0 || ids[k] >= in->bound)
        return kiln_fail("%s: input '%s', row %lld: id %d is not in [0, %lld)", what, in->name,
                         (long long)(k / in->numel), (int)ids[k], (long long)in->bound);
  }
  return 0;
}

static int check_labels(const kiln_model *m, const void *y, const char *what) {
  if (!y)
    return kiln_fail("%s: the label array is NULL", what);
  if (!m->label_is_int || strcmp(m->task, "classify"))
    return 0;
  const int32_t *c = y;
  for (int64_t k = 0; k < m->batch * m->label_numel; ++k)
    if (c[k] < 0 || c[k] >= m->num_classes)
      return kiln_fail("%s: row %lld: label %d is not a class of this model (0..%lld)",
                       what, (long long)(k / m->label_numel), (int)c[k], (long long)m->num_classes - 1);
  return 0;
}

/* `what` names the API call in messages. */
static int queue(kiln_state *s, const void *const *x, const void *y, const char *what) {
  if (check_inputs(s, x, s ? s->model->batch : 0, what) || check_labels(s->model, y, what))
    return -1;
  if (s->queued == KILN_QUEUE_STEPS)
    return kiln_fail("%s: %d steps are queued already; take their losses first", what,
                     KILN_QUEUE_STEPS);
  if (s->gpu) {
    if (kiln_gpu_queue_step(s, x, y, s->queued))
      return -1;
  } else {
    call_scope outer = call_enter(s);
    s->model->train_step(s->params, s->state, x, y, s->hyper, &s->queued_loss[s->queued],
                         s->workspace);
    call_leave(outer);
  }
  ++s->queued;
  return 0;
}

int kiln_state_queue_step(kiln_state *s, const void *const *x, const void *y) {
  return queue(s, x, y, "queue_step");
}

int kiln_state_take_losses(kiln_state *s, float *losses) {
  if (!s)
    return kiln_fail("take_losses: no model state");
  if (s->queued && !losses)
    return kiln_fail("take_losses: the loss buffer is NULL");
  int n = s->queued;
  s->queued = 0;
  if (!n)
    return 0;
  if (s->gpu)
    return kiln_gpu_take_losses(s, losses, n) ? -1 : n;
  memcpy(losses, s->queued_loss, (size_t)n * sizeof(float));
  return n;
}

float kiln_state_train_step(kiln_state *s, const void *const *x, const void *y) {
  if (s && s->queued) {
    kiln_fail("train_step: %d queued steps' losses are not taken yet (kiln_state_take_losses)",
              s->queued);
    return NAN;
  }
  float loss;
  return queue(s, x, y, "train_step") || kiln_state_take_losses(s, &loss) != 1 ? NAN : loss;
}

const char *kiln_state_nonfinite(const kiln_state *s, int64_t *element) {
  const kiln_model *m = s->model;
  if (kiln_gpu_pull(s)) {
    *element = -1;
    return "(the device's copy could not be read)";
  }
  for (int arena = 0; arena < 2; ++arena) {
    const kiln_tensor_info *t = arena ? m->state : m->params;
    const float *base = arena ? s->state : s->params;
    for (int64_t i = 0; i < (arena ? m->num_state : m->num_params); ++i)
      for (int64_t k = 0; k < t[i].numel; ++k)
        if (!isfinite(base[t[i].offset + k])) {
          *element = k;
          return t[i].name;
        }
  }
  return NULL;
}

int kiln_state_predict(kiln_state *s, const void *const *x, int64_t rows, float *out) {
  if (!s)
    return kiln_fail("predict: no model state");
  const kiln_model *m = s->model;
  if (rows < 0)
    return kiln_fail("predict: the row count is negative (%lld)", (long long)rows);
  if (rows > 0 && !out)
    return kiln_fail("predict: the output buffer is NULL");
  if (check_inputs(s, x, rows, "predict"))
    return -1;
  call_scope outer = call_enter(s);
  /* Whole batches through predict, the rest row by row through predict_one:
   * the cost follows the row count, with no padding. */
  int rc = 0;
  for (int64_t done = 0; rc == 0 && done < rows;) {
    int64_t step = rows - done >= m->batch ? m->batch : 1;
    int one = step == 1 && m->batch != 1;
    for (int64_t i = 0; i < m->num_inputs; ++i)
      s->row_inputs[i] = (const char *)x[i] + done * m->inputs[i].numel * KILN_INPUT_VALUE_BYTES;
    float *rowsOut = out + done * m->output_numel;
    if (s->gpu)
      rc = kiln_gpu_predict(s, s->row_inputs, step, one, rowsOut);
    else
      (one ? m->predict_one : m->predict)(s->params, s->state, s->row_inputs, rowsOut, s->workspace);
    done += step;
  }
  call_leave(outer);
  return rc;
}
