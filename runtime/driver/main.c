/*===- main.c - The generic driver linked into every Kiln executable ------===*
 * `<model> train|eval|predict [flags]`: everything model-specific comes from
 * the kiln_entry_model table in the compiled object.
 *===----------------------------------------------------------------------===*/
#include "kiln/runtime.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const kiln_model *const kiln_entry_model;

typedef struct options {
  const char *command;
  int64_t epochs, seed, batch;
  int seed_given;        /* --seed was passed: it must agree with a checkpoint's */
  int flush_denormals;   /* --denormals flush (default) or keep */
  int64_t threads;       /* --threads: 0 = every core */
  int64_t device;        /* --device: the CUDA device of a GPU build */
  int device_given;
  int64_t log_every;     /* --log-every: steps between per-step metrics lines */
  int64_t max_steps;     /* --steps-per-epoch: at most this many batches an epoch (0: all) */
  int64_t save_every;    /* --save-every: steps between checkpoints (0: at epoch ends only) */
  int check_numerics;    /* --check-numerics: stop at the first non-finite parameter or state */
  double lr;
  const char *checkpoint, *resume, *metrics;
  kiln_data_source train, test;
  int64_t limit; /* predict: how many rows to print */
  const char *input; /* predict: CSV of feature rows */
  int64_t rows;      /* bench: rows per predict call */
  double seconds;    /* bench: how long to time calls */
} options;

static void usage(FILE *out, const kiln_model *m) {
  fprintf(out,
          "usage: %s <train|eval|predict|bench> [options]\n"
          "  train    train the model, save --checkpoint (default %s.safetensors)\n"
          "  eval     report the test metric of --checkpoint\n"
          "  predict  print predictions of --checkpoint for the test data\n"
          "  bench    time predict calls of --rows test rows each (inference speed)\n"
          "options:\n"
          "  --epochs N           epochs to train (default %lld)\n"
          "  --lr X               learning rate (default %g)\n"
          "  --seed N             seed of the initial weights, the test split and the shuffles\n"
          "                       (default %lld; eval, predict and --resume use the checkpoint's)\n"
          "  --batch N            must equal the compiled batch (%lld); recompile with kilnc --batch\n"
          "  --checkpoint FILE    where to save (train: after every epoch, atomically) or\n"
          "                       what to load (eval, predict)\n"
          "  --save-every N       also save the checkpoint every N steps\n"
          "  --resume FILE        continue training from a checkpoint, from the step after\n"
          "                       it (--epochs more epochs, a part-done one included)\n"
          "  --check-numerics     stop at the first step that leaves a NaN or infinity in a\n"
          "                       parameter or optimizer state, naming it; the checkpoint\n"
          "                       keeps the last state saved before it\n"
          "  --metrics FILE       append one JSON line per epoch\n"
          "  --log-every N        also append a line with the loss every N steps\n"
          "  --steps-per-epoch N  train on only the first N batches of each epoch's shuffle\n"
          "  --denormals MODE     flush (default: subnormal floats become zero, fast) or keep\n"
          "  --device N           GPU builds: the CUDA device to run on (default 0, or\n"
          "                       $KILN_CUDA_DEVICE)\n"
          "  --threads N          threads for the model's loops (default: every core;\n"
          "                       results are bitwise the same for every N)\n"
          "  --data-train FILE    training features (IDX images or CSV; for a text model,\n"
          "                       FILE,FILE,...: one file of lines per class)\n"
          "  --data-train-labels FILE\n"
          "  --data-test FILE     test features\n"
          "  --data-test-labels FILE\n"
          "  --input FILE         predict: CSV of feature rows (default: the test data)\n"
          "  --limit N            predict: rows to print (default 10)\n"
          "  --rows N             bench: rows per call (default 1; test rows, repeated\n"
          "                       if there are fewer)\n"
          "  --seconds X          bench: time calls for X seconds (default 1)\n",
          m->name, m->name, (long long)m->epochs, m->lr, (long long)m->seed, (long long)m->batch);
}

static int parse_int(const char *flag, const char *v, int64_t min, int64_t *out) {
  char *end;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  if (!*v || *end || errno || x < min)
    return kiln_fail("%s expects an integer >= %lld, got '%s'", flag, (long long)min, v);
  *out = x;
  return 0;
}

static int parse_options(int argc, char **argv, const kiln_model *m, options *o) {
  memset(o, 0, sizeof *o);
  o->epochs = m->epochs;
  o->seed = m->seed;
  o->batch = m->batch;
  o->lr = m->lr;
  o->train = m->train;
  o->test = m->test;
  o->limit = 10;
  o->rows = 1;
  o->seconds = 1;
  o->flush_denormals = 1;
  if (argc < 2)
    return kiln_fail("missing command (train, eval, predict or bench)");
  o->command = argv[1];
  /* Data files given on the command line replace the model's, whatever the
   * order of the flags: [train features, train labels, test features, test labels]. */
  const char *files[4] = {NULL, NULL, NULL, NULL};
  if (strcmp(o->command, "train") && strcmp(o->command, "eval") && strcmp(o->command, "predict") &&
      strcmp(o->command, "bench"))
    return kiln_fail("unknown command '%s' (expected train, eval, predict or bench)", o->command);
  for (int i = 2; i < argc; ++i) {
    const char *flag = argv[i];
    if (!strcmp(flag, "--check-numerics")) { /* the one flag without a value */
      o->check_numerics = 1;
      continue;
    }
    static const char *const kValueFlags[] = {
        "--epochs", "--seed", "--steps-per-epoch", "--device", "--save-every", "--log-every", "--threads",
        "--denormals", "--batch", "--limit", "--rows", "--seconds", "--lr", "--input",
        "--checkpoint", "--resume", "--metrics", "--data-train", "--data-train-labels",
        "--data-test", "--data-test-labels"};
    int known = 0;
    for (size_t k = 0; k < sizeof kValueFlags / sizeof *kValueFlags; ++k)
      known |= !strcmp(flag, kValueFlags[k]);
    if (!known)
      return kiln_fail("unknown flag '%s' (see --help)", flag);
    if (i + 1 >= argc)
      return kiln_fail("%s needs a value (see --help)", flag);
    const char *v = argv[++i];
    if (!strcmp(flag, "--epochs")) {
      if (parse_int(flag, v, 0, &o->epochs)) return -1;
      if (o->epochs > KILN_MAX_EPOCHS)
        return kiln_fail("--epochs expects at most %d, got '%s'", KILN_MAX_EPOCHS, v);
    } else if (!strcmp(flag, "--seed")) {
      if (parse_int(flag, v, 0, &o->seed)) return -1;
      o->seed_given = 1;
    } else if (!strcmp(flag, "--steps-per-epoch")) {
      if (parse_int(flag, v, 1, &o->max_steps)) return -1;
    } else if (!strcmp(flag, "--save-every")) {
      if (parse_int(flag, v, 1, &o->save_every)) return -1;
    } else if (!strcmp(flag, "--log-every")) {
      if (parse_int(flag, v, 1, &o->log_every)) return -1;
    } else if (!strcmp(flag, "--threads")) {
      if (parse_int(flag, v, 1, &o->threads)) return -1;
      if (o->threads > 1024)
        return kiln_fail("--threads expects at most 1024, got '%s'", v);
    } else if (!strcmp(flag, "--device")) {
      if (parse_int(flag, v, 0, &o->device)) return -1;
      o->device_given = 1;
      if (!m->ptx)
        return kiln_fail("--device selects a CUDA device; this executable was built for the CPU "
                         "(kilnc --target=cuda builds for the GPU)");
    } else if (!strcmp(flag, "--denormals")) {
      if (strcmp(v, "flush") && strcmp(v, "keep"))
        return kiln_fail("--denormals expects flush or keep, got '%s'", v);
      o->flush_denormals = !strcmp(v, "flush");
    } else if (!strcmp(flag, "--batch")) {
      if (parse_int(flag, v, 1, &o->batch)) return -1;
      if (o->batch != m->batch)
        return kiln_fail("this executable was compiled for batch %lld; recompile with "
                         "'kilnc --batch %lld' to train with batch %lld",
                         (long long)m->batch, (long long)o->batch, (long long)o->batch);
    } else if (!strcmp(flag, "--limit")) {
      if (parse_int(flag, v, 0, &o->limit)) return -1;
    } else if (!strcmp(flag, "--rows")) {
      if (parse_int(flag, v, 1, &o->rows)) return -1;
      if (o->rows > (1 << 20))
        return kiln_fail("--rows expects at most %d, got '%s'", 1 << 20, v);
    } else if (!strcmp(flag, "--seconds")) {
      char *end;
      o->seconds = strtod(v, &end);
      if (!*v || *end || !(o->seconds > 0) || !(o->seconds <= 3600))
        return kiln_fail("--seconds expects a number in (0, 3600], got '%s'", v);
    } else if (!strcmp(flag, "--lr")) {
      char *end;
      o->lr = strtod(v, &end);
      if (!*v || *end || !(o->lr > 0) || !isfinite(o->lr))
        return kiln_fail("--lr expects a positive number, got '%s'", v);
    } else if (!strcmp(flag, "--input")) {
      o->input = v;
    } else if (!strcmp(flag, "--checkpoint")) {
      o->checkpoint = v;
    } else if (!strcmp(flag, "--resume")) {
      o->resume = v;
    } else if (!strcmp(flag, "--metrics")) {
      o->metrics = v;
    } else if (!strcmp(flag, "--data-train")) {
      files[0] = v;
    } else if (!strcmp(flag, "--data-train-labels")) {
      files[1] = v;
    } else if (!strcmp(flag, "--data-test")) {
      files[2] = v;
    } else if (!strcmp(flag, "--data-test-labels")) {
      files[3] = v;
    } else {
      return kiln_fail("internal error: flag '%s' has no handler; this is a bug in Kiln", flag);
    }
  }
  if (o->log_every && !o->metrics)
    return kiln_fail("--log-every needs --metrics FILE to write to");
  kiln_data_source *sources[2] = {&o->train, &o->test};
  for (int k = 0; k < 2; ++k) {
    const char *features = files[2 * k], *labels = files[2 * k + 1];
    kiln_data_source *s = sources[k];
    if (!features && labels && !(s->format && s->format[0]))
      return kiln_fail("%s needs %s too", k ? "--data-test-labels" : "--data-train-labels",
                       k ? "--data-test" : "--data-train");
    int text = m->vocabulary && m->vocabulary[0];
    if (text && labels)
      return kiln_fail("%s: a text model's labels are its files' order; give the files as "
                       "--data-%s A,B,...",
                       k ? "--data-test-labels" : "--data-train-labels", k ? "test" : "train");
    if (features && text) {
      /* One file per class, comma-separated here, a line each in the source. */
      char *list = strdup(features);
      if (!list)
        return kiln_fail("out of memory");
      for (char *c = list; *c; ++c)
        if (*c == ',')
          *c = '\n';
      s->format = "text";
      s->features = list; /* lives as long as the process */
      s->sample = k ? m->test.sample : m->train.sample;
      continue;
    }
    if (features) {
      /* Keep the model's format (and CSV layout). A test file where the model
       * splits its training file is laid out like that file; otherwise guess. */
      if ((!s->format || !s->format[0]) && k == 1 && m->train.format && m->train.format[0]) {
        s->format = m->train.format;
        s->label_column = m->train.label_column;
        s->skip = m->train.skip;
      }
      if (!s->format || !s->format[0])
        s->format = strstr(features, ".csv") || strstr(features, ".txt") ? "csv" : "idx";
      s->features = features;
      s->labels = "";
    }
    if (labels)
      s->labels = labels;
  }
  return 0;
}

typedef struct data {
  kiln_dataset train, test;
} data;

/* Loads the data a command needs and preprocesses it. The test split comes
 * from the state's seed and fraction (a checkpoint's, when one was loaded);
 * standardisation statistics are fitted on the training rows unless the state
 * already has them (loaded with its checkpoint). */
static int load_data(const kiln_model *m, const options *o, kiln_state *s, data *d, int need_train) {
  memset(d, 0, sizeof *d);
  int split = !(o->test.format && o->test.format[0]);
  if ((need_train || split) && kiln_dataset_load(m, &o->train, &d->train))
    return -1;
  if (split) {
    if (m->split <= 0)
      return kiln_fail("no test data: the model names no test source and no split");
    if (fabs(s->split - m->split) > 1e-12)
      return kiln_fail("the checkpoint was trained holding out %g of the data for testing, this "
                       "model holds out %g: its test rows would overlap the training rows",
                       s->split, m->split);
    if (kiln_dataset_split(&d->train, m->split, s->seed, &d->test))
      return -1;
  } else if (kiln_dataset_load(m, &o->test, &d->test)) {
    return -1;
  }
  if (m->standardize && !s->standardization_ready &&
      kiln_fit_preprocess_rows(s, d->train.x, d->train.n))
    return -1;
  /* Training rows loaded only to split off the test rows stay raw. */
  if ((need_train && kiln_preprocess_rows(s, d->train.x, d->train.n)) ||
      kiln_preprocess_rows(s, d->test.x, d->test.n))
    return -1;
  if (need_train && d->train.n < m->batch)
    return kiln_fail("the training set has %lld rows, fewer than one batch of %lld",
                     (long long)d->train.n, (long long)m->batch);
  return 0;
}

/* Buffers for `rows` rows of a data set on their way into the model: the
 * gathered feature rows and labels, their split per input, and `indices`
 * row indices. The one set-up behind training, evaluation and bench. */
typedef struct rows_buffer {
  float *x;
  void *y;
  int64_t *idx;
  void **in;
} rows_buffer;

static void rows_free(const kiln_model *m, rows_buffer *r) {
  free(r->x);
  free(r->y);
  free(r->idx);
  kiln_inputs_free(m, r->in);
}

static int rows_alloc(const kiln_model *m, const kiln_dataset *d, int64_t rows, int64_t indices,
                      rows_buffer *r) {
  r->x = malloc((size_t)(rows * d->features) * sizeof(float));
  r->y = malloc((size_t)(rows * d->label_numel) * sizeof(float));
  r->idx = malloc((size_t)indices * sizeof(int64_t));
  r->in = kiln_inputs_alloc(m, rows);
  if (r->x && r->y && r->idx && r->in)
    return 0;
  rows_free(m, r);
  return kiln_fail("out of memory");
}

/* Gathers rows idx[0..count) of `d` (padded to `rows`) and splits them into
 * the per-input buffers; a model whose one input is the whole float row
 * gets the rows gathered straight into it (a 784-pixel batch of 64 is
 * 200 KB: copying it twice was a fifth of a softmax classifier's step). */
static void rows_gather(const kiln_model *m, const kiln_dataset *d, const int64_t *idx,
                        int64_t count, int64_t rows, rows_buffer *r) {
  int whole = m->num_inputs == 1 && !m->inputs[0].is_int && m->inputs[0].numel == d->features;
  kiln_dataset_gather(d, idx, count, rows, whole ? (float *)r->in[0] : r->x, r->y);
  if (!whole)
    kiln_inputs_from_rows(m, r->x, count, r->in);
}

/* Runs the model over rows [0, n) of `d`, a batch of rows at a time (the
 * last one short: predict takes any row count), and hands each row's
 * outputs to `visit`. The one loop behind eval, the per-epoch test metric
 * and predict. */
static int for_each_output(kiln_state *s, const kiln_dataset *d, int64_t n,
                           void (*visit)(void *ctx, int64_t row, const float *out), void *ctx) {
  const kiln_model *m = s->model;
  int64_t b = m->batch, on = m->output_numel;
  rows_buffer r;
  if (rows_alloc(m, d, b, b, &r))
    return -1;
  float *out = malloc((size_t)(b * on) * sizeof(float));
  int rc = out ? 0 : kiln_fail("out of memory");
  for (int64_t start = 0; rc == 0 && start < n; start += b) {
    int64_t count = n - start < b ? n - start : b;
    for (int64_t i = 0; i < count; ++i)
      r.idx[i] = start + i;
    rows_gather(m, d, r.idx, count, b, &r);
    if ((rc = kiln_state_predict(s, (const void *const *)r.in, count, out)) != 0)
      break;
    for (int64_t i = 0; i < count; ++i)
      visit(ctx, start + i, out + i * on);
  }
  free(out);
  rows_free(m, &r);
  return rc;
}

typedef struct score {
  const kiln_model *m;
  const kiln_dataset *d;
  double correct, sq;
} score;

static void score_row(void *ctx, int64_t row, const float *o) {
  score *sc = ctx;
  int64_t on = sc->m->output_numel;
  if (!strcmp(sc->m->task, "classify")) {
    int64_t best = 0;
    for (int64_t c = 1; c < on; ++c)
      if (o[c] > o[best])
        best = c;
    sc->correct += best == sc->d->yi[row];
  } else { /* f32 labels: each output a decision (binary) or a value */
    const float *y = sc->d->yf + row * sc->d->label_numel;
    int binary = !strcmp(sc->m->task, "binary");
    int64_t right = 0;
    for (int64_t k = 0; k < on; ++k) {
      double e = o[k] - y[k];
      right += (o[k] > 0) == (y[k] > 0.5f);
      sc->sq += e * e;
    }
    if (binary)
      sc->correct += right / (double)on;
  }
}

/* Test metric: accuracy for classifiers (for binary models with several
 * outputs, the fraction of outputs right), mean squared error for regression. */
static int evaluate(kiln_state *s, const kiln_dataset *d, double *metric) {
  score sc = {s->model, d, 0, 0};
  if (for_each_output(s, d, d->n, score_row, &sc))
    return -1;
  *metric = strcmp(s->model->task, "regress") ? sc.correct / (double)d->n
                                              : sc.sq / (double)(d->n * s->model->output_numel);
  return 0;
}

static const char *metric_name(const kiln_model *m) {
  return strcmp(m->task, "regress") ? "test_accuracy" : "test_mse";
}

/* The step just taken left a non-finite value behind (--check-numerics):
 * says which tensor, and where the last good state is. */
static int nonfinite(const char *name, int64_t element, int64_t epoch, int64_t step,
                     const char *checkpoint, int saved) {
  fprintf(stderr, "\n");
  return kiln_fail("epoch %lld step %lld left a non-finite value in '%s' (element %lld): a "
                   "gradient or the update overflowed; try a smaller --lr. %s%s",
                   (long long)epoch, (long long)step, name, (long long)element,
                   saved ? checkpoint : "This run saved nothing",
                   saved ? " keeps the last state saved before that step" : "");
}

static int train(kiln_state *s, const options *o, data *d, const char *checkpoint) {
  const kiln_model *m = s->model;
  if (s->epochs_done + o->epochs > KILN_MAX_EPOCHS)
    return kiln_fail("a run of more than %d epochs in all is not supported", KILN_MAX_EPOCHS);
  int64_t b = m->batch, steps = d->train.n / b;
  if (o->max_steps && o->max_steps < steps)
    steps = o->max_steps;
  rows_buffer r;
  if (rows_alloc(m, &d->train, b, d->train.n, &r))
    return -1;
  int64_t *idx = r.idx;
  FILE *metrics = o->metrics ? fopen(o->metrics, "a") : NULL;
  if (o->metrics && !metrics)
    return kiln_fail("%s: cannot open for appending: %s", o->metrics, strerror(errno));
  /* Epochs are numbered from the start of training, across resumes, so a
   * resumed run shuffles exactly as an uninterrupted one would; a checkpoint
   * saved within an epoch resumes at its next step. */
  int64_t first = s->epochs_done + 1, last = s->epochs_done + o->epochs;
  int saved = 0, rc = 0;
  for (int64_t epoch = first; rc == 0 && epoch <= last; ++epoch) {
    for (int64_t i = 0; i < d->train.n; ++i)
      idx[i] = i;
    kiln_shuffle(idx, d->train.n, s->seed * 1000003u + (uint64_t)epoch);
    char label[64];
    snprintf(label, sizeof label, "epoch %lld/%lld", (long long)epoch, (long long)last);
    double lr = kiln_schedule_lr(&m->schedule, o->lr, epoch - 1);
    s->hyper[0] = (float)lr;
    int64_t start = s->steps_done < steps ? s->steps_done : steps;
    double lossSum = s->epoch_loss;
    kiln_progress p;
    kiln_progress_start(&p, label, steps * b);
    float loss = 0, losses[KILN_QUEUE_STEPS];
    /* A GPU build queues its steps: the device runs one while the host
     * gathers the next batch, and the losses come back when a checkpoint or
     * --check-numerics needs the state, the queue is full, the epoch ends,
     * or the progress bar on a terminal is a fifth of a second old. */
    int depth = s->gpu && !o->check_numerics ? KILN_QUEUE_STEPS : 1;
    double taken_at = kiln_now();
    int64_t next = start; /* the first step whose loss is not taken */
    for (int64_t step = start; rc == 0 && step < steps; ++step) {
      rows_gather(m, &d->train, idx + step * b, b, b, &r);
      if (kiln_state_queue_step(s, (const void *const *)r.in, r.y)) {
        fprintf(stderr, "\n");
        rc = -1;
        break;
      }
      int save = o->save_every && (step + 1) % o->save_every == 0 && step + 1 < steps;
      if (s->queued < depth && !save && step + 1 < steps && !(p.tty && kiln_now() - taken_at >= 0.2))
        continue;
      int n = kiln_state_take_losses(s, losses);
      taken_at = kiln_now();
      if (n < 0) {
        fprintf(stderr, "\n");
        rc = -1;
        break;
      }
      for (int k = 0; k < n; ++k, ++next) {
        loss = losses[k];
        if (!isfinite(loss)) {
          fprintf(stderr, "\n");
          rc = kiln_fail("the loss became %f at epoch %lld step %lld; try a smaller --lr", loss,
                         (long long)epoch, (long long)next + 1);
          break;
        }
        int64_t element;
        const char *bad = o->check_numerics ? kiln_state_nonfinite(s, &element) : NULL;
        if (bad) {
          rc = nonfinite(bad, element, epoch, next + 1, checkpoint, saved);
          break;
        }
        lossSum += loss;
        kiln_progress_update(&p, (next + 1) * b, loss);
        if (metrics && o->log_every && (next + 1) % o->log_every == 0)
          fprintf(metrics, "{\"epoch\": %lld, \"step\": %lld, \"loss\": %.9g}\n", (long long)epoch,
                  (long long)next + 1, loss);
        s->steps_done = next + 1;
        s->epoch_loss = lossSum;
      }
      if (rc == 0 && save && (rc = kiln_checkpoint_save(s, checkpoint)) == 0)
        saved = 1;
    }
    if (rc)
      break;
    double seconds = kiln_now() - p.start;
    double meanLoss = steps ? lossSum / (double)steps : 0;
    kiln_progress_finish(&p, (float)meanLoss);
    double metric;
    if ((rc = evaluate(s, &d->test, &metric)) != 0)
      break;
    double rate = seconds > 0 ? (double)((steps - start) * b) / seconds : 0;
    printf("epoch %lld: train_loss %.6f  %s %.6f  %.0f samples/s\n", (long long)epoch, meanLoss,
           metric_name(m), metric, rate);
    fflush(stdout);
    if (metrics) {
      fprintf(metrics,
              "{\"epoch\": %lld, \"train_loss\": %.8g, \"%s\": %.8g, \"samples_per_sec\": %.6g, "
              "\"lr\": %.8g}\n",
              (long long)epoch, meanLoss, metric_name(m), metric, rate, lr);
      fflush(metrics);
    }
    s->epochs_done = epoch;
    s->steps_done = 0;
    s->epoch_loss = 0;
    /* Every finished epoch is on disk: a run killed later loses at most one. */
    if ((rc = kiln_checkpoint_save(s, checkpoint)) != 0)
      break;
    saved = 1;
  }
  if (metrics)
    fclose(metrics);
  rows_free(m, &r);
  return rc;
}

/* One line per row: the class and its probability for classifiers, each
 * output's class and probability of class 1 for binary models, the values
 * for regression; with the true label when the rows have one. */
static void print_prediction(const kiln_model *m, int64_t row, const float *o, const kiln_dataset *d,
                             int labelled) {
  printf("%lld:", (long long)row);
  if (!strcmp(m->task, "classify")) {
    int64_t best = 0;
    double sum = 0;
    for (int64_t c = 1; c < m->output_numel; ++c)
      if (o[c] > o[best])
        best = c;
    for (int64_t c = 0; c < m->output_numel; ++c)
      sum += exp((double)o[c] - o[best]);
    printf(" class %lld (p=%.4f)", (long long)best, 1.0 / sum);
    if (labelled)
      printf(" label %d", d->yi[row]);
  } else { /* f32 labels: a class and its probability per output (binary), or the values */
    int binary = !strcmp(m->task, "binary");
    for (int64_t k = 0; k < m->output_numel; ++k) {
      double p = 1.0 / (1.0 + exp(-(double)o[k]));
      if (binary)
        printf(" class %d (p=%.4f)", p > 0.5, p);
      else
        printf(" %.6g", o[k]);
    }
    for (int64_t k = 0; labelled && k < d->label_numel; ++k)
      printf(k ? " %g" : " label %g", d->yf[row * d->label_numel + k]);
  }
  printf("\n");
}

typedef struct printer {
  const kiln_model *m;
  const kiln_dataset *d;
  int labelled;
} printer;

static void print_row(void *ctx, int64_t row, const float *out) {
  printer *p = ctx;
  print_prediction(p->m, row, out, p->d, p->labelled);
}

static int predict(kiln_state *s, const options *o, data *d) {
  const kiln_model *m = s->model;
  kiln_dataset input = {0}, *rows = &d->test;
  int labelled = 1;
  if (o->input) {
    if (kiln_dataset_load_features(m, o->input, &input) || kiln_preprocess_rows(s, input.x, input.n)) {
      kiln_dataset_free(&input);
      return -1;
    }
    rows = &input;
    labelled = 0;
  }
  int64_t n = rows->n < o->limit ? rows->n : o->limit;
  printer p = {m, rows, labelled};
  int rc = for_each_output(s, rows, n, print_row, &p);
  kiln_dataset_free(&input);
  return rc;
}

static int compare_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Inference speed: predict calls of --rows test rows each (repeated when
 * the test set has fewer), a warm-up of a tenth of --seconds, then calls
 * timed one by one for --seconds; prints the median call. */
static int bench(kiln_state *s, const options *o, const kiln_dataset *d) {
  const kiln_model *m = s->model;
  int64_t rows = o->rows;
  if (d->n == 0)
    return kiln_fail("bench: the test set is empty");
  rows_buffer r;
  if (rows_alloc(m, d, rows, rows, &r))
    return -1;
  float *out = malloc((size_t)(rows * m->output_numel) * sizeof(float));
  int64_t cap = 1024, calls = 0;
  double *times = malloc((size_t)cap * sizeof(double));
  int rc = out && times ? 0 : kiln_fail("out of memory");
  for (int64_t i = 0; i < rows; ++i)
    r.idx[i] = i % d->n;
  rows_gather(m, d, r.idx, rows, rows, &r);
  const void *const *inputs = (const void *const *)r.in;
  for (double end = kiln_now() + o->seconds / 10; rc == 0 && kiln_now() < end;)
    rc = kiln_state_predict(s, inputs, rows, out);
  for (double end = kiln_now() + o->seconds; rc == 0 && (kiln_now() < end || calls < 5);) {
    if (calls == cap) {
      double *more = realloc(times, (size_t)(cap *= 2) * sizeof(double));
      if (!more) {
        rc = kiln_fail("out of memory");
        break;
      }
      times = more;
    }
    double t0 = kiln_now();
    rc = kiln_state_predict(s, inputs, rows, out);
    times[calls++] = kiln_now() - t0;
  }
  if (rc == 0) {
    qsort(times, (size_t)calls, sizeof(double), compare_double);
    double median = times[calls / 2];
    printf("bench rows %lld calls %lld median_us %.3f rows_per_sec %.0f\n", (long long)rows,
           (long long)calls, median * 1e6, (double)rows / median);
  }
  free(out);
  free(times);
  rows_free(m, &r);
  return rc;
}

static int run(int argc, char **argv) {
  const kiln_model *m = kiln_entry_model;
  for (int i = 1; i < argc; ++i)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout, m);
      return 0;
    }
  options o;
  if (parse_options(argc, argv, m, &o))
    return -1;
  char defaultCheckpoint[512];
  snprintf(defaultCheckpoint, sizeof defaultCheckpoint, "%s.safetensors", m->name);
  const char *checkpoint = o.checkpoint ? o.checkpoint : defaultCheckpoint;

  /* Without --device, KILN_CUDA_DEVICE or device 0. */
  kiln_state *s = o.device_given ? kiln_state_create_on(m, (int)o.device) : kiln_state_create(m);
  if (!s)
    return -1;
  kiln_state_set_flush_denormals(s, o.flush_denormals);
  kiln_state_set_threads(s, (int)o.threads);
  data d = {0};
  int rc = 0;
  int training = !strcmp(o.command, "train");
  const char *from = training ? o.resume : checkpoint;
  int predictInput = o.input && !strcmp(o.command, "predict");
  int splits = !(o.test.format && o.test.format[0]) && !predictInput;
  if (from) {
    /* The checkpoint's seed defines its test split (and a resumed run's
     * shuffles): another one would silently mix test rows into training. */
    rc = kiln_checkpoint_load(s, from);
    if (rc == 0 && o.seed_given && (uint64_t)o.seed != s->seed && (training || splits))
      rc = kiln_fail("%s was trained with --seed %llu, which fixes its train/test split; "
                     "--seed %lld would change the test set (leave --seed out to use the "
                     "checkpoint's)",
                     from, (unsigned long long)s->seed, (long long)o.seed);
  } else {
    kiln_state_init(s, (uint64_t)o.seed);
  }
  if (rc == 0 && !predictInput)
    rc = load_data(m, &o, s, &d, training);
  if (rc == 0 && training) {
    /* train saves after every epoch; a run of no epochs saves what it loaded. */
    rc = train(s, &o, &d, checkpoint);
    if (rc == 0 && o.epochs == 0)
      rc = kiln_checkpoint_save(s, checkpoint);
    if (rc == 0)
      printf("saved %s\n", checkpoint);
  } else if (rc == 0 && !strcmp(o.command, "eval")) {
    double metric;
    if ((rc = evaluate(s, &d.test, &metric)) == 0)
      printf("%s %.6f (%lld samples)\n", metric_name(m), metric, (long long)d.test.n);
  } else if (rc == 0 && !strcmp(o.command, "bench")) {
    rc = bench(s, &o, &d.test);
  } else if (rc == 0) {
    rc = predict(s, &o, &d);
  }
  kiln_dataset_free(&d.train);
  kiln_dataset_free(&d.test);
  kiln_state_destroy(s);
  return rc;
}

int main(int argc, char **argv) {
  if (run(argc, argv) != 0) {
    fprintf(stderr, "%s: error: %s\n", argv[0], kiln_error());
    return 1;
  }
  return 0;
}
