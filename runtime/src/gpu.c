/*===- gpu.c - A GPU build's model state on the device --------------------===*
 * Parameters, state, workspace and the staging buffers of one batch live on
 * the device for the state's lifetime. A step copies the batch (and the
 * learning rate when it changed) in and calls the generated entry point
 * (host code that only computes device addresses and calls
 * kiln_gpu_launch); its loss stays on the device, in a slot of its own,
 * until the caller takes the queued steps' losses. Everything is in order
 * on one stream (cuda.c), so the host prepares the next batch while the
 * device runs the step before. An entry point's launches are the same every
 * time (the same kernels on the same device buffers), so its first call
 * records them as a CUDA graph and every call launches that graph: one
 * call instead of one per kernel (a recurrent model's step is hundreds,
 * its prediction of one row dozens); a step's loss is then copied from the
 * graph's own slot to the step's. The host
 * arenas stay the checkpoint format: they are pulled from the device when
 * read and pushed after the host changed them.
 *===----------------------------------------------------------------------===*/
#include "gpu.h"
#include "kiln/cuda.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct kiln_gpu {
  const kiln_model *m;
  kiln_cuda *cuda;
  void *module;
  void **functions; /* by kernel index */
  int64_t *params_of; /* each kernel's parameter count, from the PTX */
  kiln_device_ptr params, state, workspace, hyper, loss, label, out;
  kiln_device_ptr *inputs;  /* one per input, a batch of rows each */
  const void **input_ptrs;  /* the same as addresses, the entry points' x */
  int device_stale, host_stale;
  float lr_on_device;       /* the learning rate last copied in; NaN: none */
  /* A step's batch, labels and learning rate go to the device from
   * page-locked memory, so the copy does not wait for the steps before it;
   * two such stages, so that the host fills one while the other's copy may
   * be pending (the event after that copy says when it is done). Without
   * page-locked memory (the driver refused it) they go from the caller's
   * memory, which the driver stages itself, perhaps waiting. */
  struct stage {
    unsigned char *host;
    void *copied;
  } stages[2];
  int next_stage;
  int sync_launches;        /* KILN_CUDA_SYNC=1: wait after each launch */
  int graphs;               /* entry points run as graphs (not profiling,
                               not KILN_CUDA_SYNC, not KILN_CUDA_GRAPHS=0) */
  void *graph[3];           /* each entry point's (enum entry), once captured */
  const char *profile;      /* KILN_CUDA_PROFILE=FILE: time every launch */
  struct kernel_time {
    int64_t launches;
    double ms;
    unsigned grid[3], block[3];
  } *times;                 /* by kernel index, when profiling */
  void *start, *end;        /* the events bracketing a profiled launch */
  int failed;               /* a launch failed: the rest of the call is skipped */
  char error[512];
};

/* The entry points a state runs, each as a graph of its own. */
enum entry { TRAIN_STEP, PREDICT, PREDICT_ONE };

/* The state whose entry point is running on this thread. */
static _Thread_local kiln_gpu *current;

/* The parameters `.entry name(...)` declares in the PTX, or -1. */
static int64_t ptx_params(const char *ptx, const char *name) {
  size_t n = strlen(name);
  for (const char *p = ptx; (p = strstr(p, ".entry ")); ) {
    p += 7;
    if (strncmp(p, name, n) || (p[n] != '(' && p[n] != ' ' && p[n] != '\n'))
      continue;
    const char *end = strchr(p, ')');
    int64_t count = 0;
    for (const char *q = p; end && (q = strstr(q, ".param")) && q < end; q += 6)
      ++count;
    return end ? count : -1;
  }
  return -1;
}

static size_t input_bytes(const kiln_model *m, int64_t i, int64_t rows) {
  return (size_t)(rows * m->inputs[i].numel) * KILN_INPUT_VALUE_BYTES;
}

static size_t label_bytes(const kiln_model *m) {
  return (size_t)(m->batch * m->label_numel) * sizeof(float);
}

static size_t aligned(size_t bytes) { return (bytes + 63) / 64 * 64; }

/* A stage: each input's batch, the labels and the learning rate. */
static size_t stage_bytes(const kiln_model *m) {
  size_t bytes = aligned(label_bytes(m)) + sizeof(float);
  for (int64_t i = 0; i < m->num_inputs; ++i)
    bytes += aligned(input_bytes(m, i, m->batch));
  return bytes;
}

kiln_gpu *kiln_gpu_create(const kiln_model *m, int device) {
  kiln_gpu *g = calloc(1, sizeof *g);
  if (!g) {
    kiln_fail("out of memory");
    return NULL;
  }
  g->m = m;
  const char *sync = getenv("KILN_CUDA_SYNC");
  g->sync_launches = sync && !strcmp(sync, "1");
  const char *profile = getenv("KILN_CUDA_PROFILE");
  g->profile = profile && *profile ? profile : NULL;
  g->functions = calloc((size_t)(m->num_kernels ? m->num_kernels : 1), sizeof(void *));
  g->params_of = calloc((size_t)(m->num_kernels ? m->num_kernels : 1), sizeof(int64_t));
  g->inputs = calloc((size_t)m->num_inputs + 1, sizeof *g->inputs);
  g->input_ptrs = calloc((size_t)m->num_inputs + 1, sizeof *g->input_ptrs);
  if (g->profile)
    g->times = calloc((size_t)(m->num_kernels ? m->num_kernels : 1), sizeof *g->times);
  int rc = g->functions && g->params_of && g->inputs && g->input_ptrs && (g->times || !g->profile)
               ? 0
               : kiln_fail("out of memory");
  for (int64_t k = 0; rc == 0 && k < m->num_kernels; ++k)
    if ((g->params_of[k] = ptx_params(m->ptx, m->kernel_names[k])) < 0)
      rc = kiln_fail("kernel '%s' is not in the model's PTX; this is a bug in Kiln", m->kernel_names[k]);
  if (rc == 0)
    rc = kiln_cuda_open(device, &g->cuda);
  int entered = rc == 0 && kiln_cuda_enter(g->cuda) == 0;
  if (rc == 0 && !entered)
    rc = -1;
  if (rc == 0)
    rc = kiln_cuda_load_ptx(g->cuda, m->ptx, &g->module);
  for (int64_t k = 0; rc == 0 && k < m->num_kernels; ++k)
    rc = kiln_cuda_function(g->cuda, g->module, m->kernel_names[k], &g->functions[k]);
  if (rc == 0 && g->profile)
    rc = kiln_cuda_event_create(g->cuda, &g->start) || kiln_cuda_event_create(g->cuda, &g->end);
  struct {
    kiln_device_ptr *p;
    size_t bytes;
  } buffers[] = {
      {&g->params, (size_t)m->param_numel * sizeof(float)},
      {&g->state, (size_t)m->state_numel * sizeof(float)},
      {&g->workspace, (size_t)m->workspace_bytes},
      {&g->hyper, sizeof(float)},
      /* a slot per queued step, and the step graph's own last */
      {&g->loss, (KILN_QUEUE_STEPS + 1) * sizeof(float)},
      {&g->label, label_bytes(m)},
      {&g->out, (size_t)(m->batch * m->output_numel) * sizeof(float)},
  };
  int loaded = rc == 0;
  size_t device_bytes = 0;
  for (size_t i = 0; i < sizeof buffers / sizeof *buffers; ++i)
    device_bytes += buffers[i].bytes;
  for (int64_t i = 0; i < m->num_inputs; ++i)
    device_bytes += input_bytes(m, i, m->batch);
  for (size_t i = 0; rc == 0 && i < sizeof buffers / sizeof *buffers; ++i)
    rc = kiln_cuda_alloc(g->cuda, buffers[i].bytes, buffers[i].p);
  for (int64_t i = 0; rc == 0 && i < m->num_inputs; ++i) {
    rc = kiln_cuda_alloc(g->cuda, input_bytes(m, i, m->batch), &g->inputs[i]);
    g->input_ptrs[i] = (const void *)(uintptr_t)g->inputs[i];
  }
  if (rc && loaded) /* the arenas did not fit */
    rc = kiln_fail("model '%s' needs %.1f %s on %s for its parameters, state, workspace and "
                   "one batch: %s", m->name,
                   (double)device_bytes / (device_bytes < (1u << 20) ? 1024.0 : 1024.0 * 1024.0),
                   device_bytes < (1u << 20) ? "KiB" : "MiB", kiln_cuda_device_name(g->cuda),
                   kiln_error());
  for (int k = 0; rc == 0 && k < 2; ++k) {
    struct stage *st = &g->stages[k];
    if (kiln_cuda_alloc_pinned(g->cuda, stage_bytes(m), (void **)&st->host) == 0)
      rc = kiln_cuda_event_create(g->cuda, &st->copied);
    else
      kiln_clear_error(); /* the caller's memory will do */
  }
  if (entered)
    kiln_cuda_leave(g->cuda);
  if (rc) {
    kiln_gpu_destroy(g);
    return NULL;
  }
  const char *graphs = getenv("KILN_CUDA_GRAPHS");
  g->graphs = kiln_cuda_has_graphs(g->cuda) && !g->sync_launches && !g->profile &&
              !(graphs && !strcmp(graphs, "0"));
  g->device_stale = 1;
  g->lr_on_device = NAN;
  return g;
}

/* The profile: each launched kernel's device time, the most first. */
static void write_profile(const kiln_gpu *g) {
  const kiln_model *m = g->m;
  int64_t *order = calloc((size_t)(m->num_kernels ? m->num_kernels : 1), sizeof *order);
  FILE *f = strcmp(g->profile, "-") ? fopen(g->profile, "a") : stderr;
  if (!order || !f) {
    fprintf(stderr, "kiln: cannot write the profile to %s\n", g->profile);
    free(order);
    return;
  }
  double total = 0;
  int64_t launches = 0, n = 0;
  for (int64_t k = 0; k < m->num_kernels; ++k)
    if (g->times[k].launches) {
      order[n++] = k;
      total += g->times[k].ms;
      launches += g->times[k].launches;
    }
  for (int64_t i = 1; i < n; ++i) /* the most time first; a few hundred kernels at most */
    for (int64_t j = i; j > 0 && g->times[order[j]].ms > g->times[order[j - 1]].ms; --j) {
      int64_t k = order[j];
      order[j] = order[j - 1], order[j - 1] = k;
    }
  fprintf(f, "profile of %s on %s: %lld launches, %.3f ms on the device\n", m->name,
          kiln_cuda_device_name(g->cuda), (long long)launches, total);
  fprintf(f, "%10s %6s %8s %9s %17s %13s  %s\n", "total_ms", "share", "launches", "mean_us",
          "grid", "block", "kernel");
  for (int64_t i = 0; i < n; ++i) {
    const struct kernel_time *t = &g->times[order[i]];
    char grid[32], block[32];
    snprintf(grid, sizeof grid, "%u,%u,%u", t->grid[0], t->grid[1], t->grid[2]);
    snprintf(block, sizeof block, "%u,%u,%u", t->block[0], t->block[1], t->block[2]);
    fprintf(f, "%10.3f %5.1f%% %8lld %9.2f %17s %13s  %s\n", t->ms,
            total > 0 ? 100 * t->ms / total : 0.0, (long long)t->launches,
            1000 * t->ms / (double)t->launches, grid, block, m->kernel_names[order[i]]);
  }
  if (f != stderr)
    fclose(f);
  free(order);
}

void kiln_gpu_destroy(kiln_gpu *g) {
  if (!g)
    return;
  /* Freeing after a fault fails too; the message that matters is the one
   * the caller got before (it may print it after destroying the state). */
  char error[sizeof g->error];
  snprintf(error, sizeof error, "%s", kiln_error());
  if (g->cuda && kiln_cuda_enter(g->cuda) == 0) {
    kiln_cuda_synchronize(g->cuda); /* no queued step may still use what is freed */
    if (g->times && g->start && g->end)
      write_profile(g);
    kiln_cuda_event_destroy(g->cuda, g->start);
    kiln_cuda_event_destroy(g->cuda, g->end);
    for (size_t i = 0; i < sizeof g->graph / sizeof *g->graph; ++i)
      kiln_cuda_graph_destroy(g->cuda, g->graph[i]);
    for (int k = 0; k < 2; ++k) {
      kiln_cuda_event_destroy(g->cuda, g->stages[k].copied);
      kiln_cuda_free_pinned(g->cuda, g->stages[k].host);
    }
    kiln_device_ptr all[] = {g->params, g->state, g->workspace, g->hyper, g->loss, g->label, g->out};
    for (size_t i = 0; i < sizeof all / sizeof *all; ++i)
      if (all[i])
        kiln_cuda_free(g->cuda, all[i]);
    for (int64_t i = 0; g->inputs && i < g->m->num_inputs; ++i)
      if (g->inputs[i])
        kiln_cuda_free(g->cuda, g->inputs[i]);
    if (g->module)
      kiln_cuda_unload(g->cuda, g->module);
    kiln_cuda_leave(g->cuda);
  }
  kiln_cuda_close(g->cuda);
  free(g->functions);
  free(g->params_of);
  free(g->times);
  free(g->inputs);
  free(g->input_ptrs);
  free(g);
  if (*error)
    kiln_fail("%s", error);
  else
    kiln_clear_error();
}

void kiln_gpu_host_changed(kiln_gpu *g) {
  g->device_stale = 1;
  g->host_stale = 0;
}

int kiln_gpu_pull(const kiln_state *s) {
  kiln_gpu *g = s->gpu;
  if (!g || !g->host_stale)
    return 0;
  const kiln_model *m = s->model;
  if (kiln_cuda_enter(g->cuda))
    return -1;
  int rc = kiln_cuda_to_host(g->cuda, s->params, g->params, (size_t)m->param_numel * sizeof(float)) ||
           kiln_cuda_to_host(g->cuda, s->state, g->state, (size_t)m->state_numel * sizeof(float));
  kiln_cuda_leave(g->cuda);
  if (rc)
    return -1;
  g->host_stale = 0;
  return 0;
}

static int push(kiln_state *s) {
  kiln_gpu *g = s->gpu;
  if (!g->device_stale)
    return 0;
  const kiln_model *m = s->model;
  if (kiln_cuda_to_device(g->cuda, g->params, s->params, (size_t)m->param_numel * sizeof(float)) ||
      kiln_cuda_to_device(g->cuda, g->state, s->state, (size_t)m->state_numel * sizeof(float)))
    return -1;
  g->device_stale = 0;
  return 0;
}

/* Called by generated host code for every kernel launch. */
void kiln_gpu_launch(int64_t kernel, int64_t gx, int64_t gy, int64_t gz, int64_t bx, int64_t by,
                     int64_t bz, void **params, int64_t nparams) {
  kiln_gpu *g = current;
  if (!g || g->failed)
    return;
  const char *name = kernel >= 0 && kernel < g->m->num_kernels ? g->m->kernel_names[kernel] : NULL;
  int rc;
  if (!name) {
    rc = kiln_fail("generated code launched kernel %lld of %lld; this is a bug in Kiln",
                   (long long)kernel, (long long)g->m->num_kernels);
  } else if (nparams != g->params_of[kernel]) {
    /* cuLaunchKernel reads as many parameters as the kernel declares. */
    rc = kiln_fail("kernel '%s' takes %lld parameters, the generated code passed %lld; this is a "
                   "bug in Kiln", name, (long long)g->params_of[kernel], (long long)nparams);
  } else if (gx * gy * gz * bx * by * bz == 0) {
    rc = 0; /* an empty loop: nothing to run (the driver refuses a zero-sized grid) */
  } else {
    const unsigned grid[3] = {(unsigned)gx, (unsigned)gy, (unsigned)gz};
    const unsigned block[3] = {(unsigned)bx, (unsigned)by, (unsigned)bz};
    rc = g->times ? kiln_cuda_event_record(g->cuda, g->start) : 0;
    if (rc == 0)
      rc = kiln_cuda_launch(g->cuda, g->functions[kernel], grid, block, params, name);
    if (rc == 0 && g->times) {
      /* Profiling waits for each launch: the device's time is the kernel's
       * alone, not the launch overhead the host would otherwise hide. */
      struct kernel_time *t = &g->times[kernel];
      float ms = 0;
      if (kiln_cuda_event_record(g->cuda, g->end) || kiln_cuda_elapsed_ms(g->cuda, g->start, g->end, &ms))
        rc = kiln_fail("kernel '%s' failed: %s", name, kiln_error());
      t->ms += ms;
      ++t->launches;
      memcpy(t->grid, grid, sizeof grid);
      memcpy(t->block, block, sizeof block);
    }
    if (rc == 0 && g->sync_launches && kiln_cuda_synchronize(g->cuda))
      rc = kiln_fail("kernel '%s' failed: %s", name, kiln_error());
  }
  if (rc) {
    g->failed = 1;
    snprintf(g->error, sizeof g->error, "%s", kiln_error());
  }
}

/* Runs one entry point call with this state's launches. */
static int run_entry(kiln_gpu *g, void (*call)(kiln_gpu *, void *), void *ctx) {
  g->failed = 0;
  current = g;
  call(g, ctx);
  current = NULL;
  return g->failed ? kiln_fail("%s", g->error) : 0;
}

typedef struct step_args {
  int64_t slot;
} step_args;

/* Slot `slot` of the loss buffer (KILN_QUEUE_STEPS: the step graph's). */
static kiln_device_ptr loss_slot(const kiln_gpu *g, int64_t slot) {
  return g->loss + (kiln_device_ptr)slot * sizeof(float);
}

static void call_train_step(kiln_gpu *g, void *ctx) {
  step_args *a = ctx;
  g->m->train_step((float *)(uintptr_t)g->params, (float *)(uintptr_t)g->state, g->input_ptrs,
                   (const void *)(uintptr_t)g->label, (const float *)(uintptr_t)g->hyper,
                   (float *)(uintptr_t)loss_slot(g, a->slot), (uint8_t *)(uintptr_t)g->workspace);
}

/* Records the launches of `call(ctx)` as the graph of `entry` (run later).
 * A launch that fails while recording fails the call, as it would have
 * run. */
static int capture(kiln_gpu *g, enum entry entry, void (*call)(kiln_gpu *, void *), void *ctx) {
  int rc = 0, began = kiln_cuda_capture_begin(g->cuda) == 0;
  char why[512] = "";
  if (began) {
    rc = run_entry(g, call, ctx);
    snprintf(why, sizeof why, "%s", kiln_error());
  }
  if (!began || (kiln_cuda_capture_end(g->cuda, rc == 0, &g->graph[entry]) && rc == 0)) {
    /* The driver could not record, and nothing ran: launch kernel by kernel. */
    kiln_clear_error();
    g->graphs = 0;
    return -1;
  }
  return rc ? kiln_fail("%s", why) : 0;
}

/* The error of a driver call about a graph's launches, with the way to
 * find the kernel that failed. */
static int fail_in_graph(void) {
  return kiln_fail("%s (KILN_CUDA_SYNC=1 launches kernel by kernel and names one that fails)",
                   kiln_error());
}

/* Runs an entry point's launches, always the same (the same kernels on
 * the same device buffers): as its graph, recorded at the first call with
 * the arguments `recorded`, so one driver call instead of one per kernel;
 * or, without graphs, kernel by kernel with the arguments `direct`. */
static int launch_entry(kiln_gpu *g, enum entry entry, void (*call)(kiln_gpu *, void *),
                        void *recorded, void *direct) {
  if (g->graphs && !g->graph[entry] && capture(g, entry, call, recorded) && g->graphs)
    return -1;
  if (!g->graphs)
    return run_entry(g, call, direct);
  return kiln_cuda_graph_launch(g->cuda, g->graph[entry]) ? fail_in_graph() : 0;
}

/* Copies `bytes` of `src` to `dst` through the stage at `*at` (advanced),
 * or straight from `src` without one. */
static int stage_copy(kiln_gpu *g, struct stage *st, size_t *at, kiln_device_ptr dst,
                      const void *src, size_t bytes) {
  if (!st->host)
    return kiln_cuda_to_device(g->cuda, dst, src, bytes);
  memcpy(st->host + *at, src, bytes);
  int rc = kiln_cuda_to_device(g->cuda, dst, st->host + *at, bytes);
  *at += aligned(bytes);
  return rc;
}

/* The stage's copies in: the batch, the labels, the learning rate when it
 * changed. Without a stage (no page-locked memory) they wait until done:
 * the caller's memory may itself be page-locked, which the driver would
 * read only when the copy runs, after the call returned. */
static int copy_step_in(kiln_state *s, struct stage *st, const void *const *x, const void *y) {
  kiln_gpu *g = s->gpu;
  const kiln_model *m = s->model;
  size_t at = 0;
  for (int64_t i = 0; i < m->num_inputs; ++i)
    if (stage_copy(g, st, &at, g->inputs[i], x[i], input_bytes(m, i, m->batch)))
      return -1;
  if (stage_copy(g, st, &at, g->label, y, label_bytes(m)))
    return -1;
  if (s->hyper[0] != g->lr_on_device) {
    if (stage_copy(g, st, &at, g->hyper, s->hyper, sizeof(float)))
      return -1;
    g->lr_on_device = s->hyper[0];
  }
  return st->host ? kiln_cuda_event_record(g->cuda, st->copied) : kiln_cuda_synchronize(g->cuda);
}

/* The device's batch buffers are reused by the next step: its copies wait
 * on the stream for this step's kernels, which read them. */
static int queue_step(kiln_state *s, const void *const *x, const void *y, int64_t slot) {
  kiln_gpu *g = s->gpu;
  if (push(s))
    return -1;
  struct stage *st = &g->stages[g->next_stage];
  /* The copy from this stage two steps ago must be done before it is
   * refilled; waiting for it is where an earlier step's fault shows. */
  if (st->host && kiln_cuda_event_wait(g->cuda, st->copied))
    return kiln_fail("%s (an earlier step failed on the device; KILN_CUDA_SYNC=1 names the "
                     "kernel)", kiln_error());
  if (copy_step_in(s, st, x, y)) {
    /* Some copies may be queued that the stage's event does not cover:
     * wait for them, and copy the learning rate again next time. */
    char why[512];
    snprintf(why, sizeof why, "%s", kiln_error());
    kiln_cuda_synchronize(g->cuda);
    g->lr_on_device = NAN;
    return kiln_fail("%s", why);
  }
  g->next_stage ^= 1;
  g->host_stale = 1; /* even if a launch fails, the ones before it ran */
  /* The graph's loss goes to its own slot, then to the step's. */
  step_args recorded = {KILN_QUEUE_STEPS}, direct = {slot};
  if (launch_entry(g, TRAIN_STEP, call_train_step, &recorded, &direct))
    return -1;
  return g->graphs && kiln_cuda_copy_on_device(g->cuda, loss_slot(g, slot),
                                               loss_slot(g, KILN_QUEUE_STEPS), sizeof(float))
             ? fail_in_graph()
             : 0;
}

typedef struct predict_args {
  int one;
} predict_args;

static void call_predict(kiln_gpu *g, void *ctx) {
  predict_args *a = ctx;
  (a->one ? g->m->predict_one : g->m->predict)(
      (const float *)(uintptr_t)g->params, (const float *)(uintptr_t)g->state, g->input_ptrs,
      (float *)(uintptr_t)g->out, (uint8_t *)(uintptr_t)g->workspace);
}

static int predict(kiln_state *s, const void *const *x, int64_t rows, int one, float *out) {
  kiln_gpu *g = s->gpu;
  const kiln_model *m = s->model;
  if (push(s))
    return -1;
  for (int64_t i = 0; i < m->num_inputs; ++i)
    if (kiln_cuda_to_device(g->cuda, g->inputs[i], x[i], input_bytes(m, i, rows)))
      return -1;
  predict_args a = {one};
  if (launch_entry(g, one ? PREDICT_ONE : PREDICT, call_predict, &a, &a) ||
      kiln_cuda_to_host(g->cuda, out, g->out, (size_t)(rows * m->output_numel) * sizeof(float)))
    return -1;
  return 0;
}

int kiln_gpu_queue_step(kiln_state *s, const void *const *x, const void *y, int64_t slot) {
  if (kiln_cuda_enter(s->gpu->cuda))
    return -1;
  int rc = queue_step(s, x, y, slot);
  kiln_cuda_leave(s->gpu->cuda);
  return rc;
}

int kiln_gpu_take_losses(kiln_state *s, float *losses, int64_t n) {
  kiln_gpu *g = s->gpu;
  if (kiln_cuda_enter(g->cuda))
    return -1;
  /* The copy waits for the queued steps: a fault in one surfaces here. */
  int rc = kiln_cuda_to_host(g->cuda, losses, g->loss, (size_t)n * sizeof(float));
  kiln_cuda_leave(g->cuda);
  return rc ? kiln_fail("%s (KILN_CUDA_SYNC=1 names the kernel that failed)", kiln_error()) : 0;
}

int kiln_gpu_predict(kiln_state *s, const void *const *x, int64_t rows, int one, float *out) {
  if (kiln_cuda_enter(s->gpu->cuda))
    return -1;
  int rc = predict(s, x, rows, one, out);
  kiln_cuda_leave(s->gpu->cuda);
  return rc;
}
