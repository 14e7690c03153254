/*===- kiln/runtime.h - Kiln's thin C runtime -----------------------------===*
 *
 * Generic over models: everything model-specific comes from a kiln_model
 * table. Functions that can fail return 0 on success and -1 on failure, with
 * a message available from kiln_error(); nothing aborts and nothing throws.
 *
 *===----------------------------------------------------------------------===*/
#ifndef KILN_RUNTIME_H
#define KILN_RUNTIME_H

#include "kiln/model.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The message of the last failure on this thread. */
const char *kiln_error(void);
/* Forgets the last message (so a caller can tell whether a call set one). */
void kiln_clear_error(void);
/* Records a failure message (printf-style) and returns -1. */
int kiln_fail(const char *fmt, ...);

/* --- Model state: parameters, optimizer state, workspace ----------------- */
/* Steps kiln_state_queue_step holds at most (below). */
#define KILN_QUEUE_STEPS 64

typedef struct kiln_state {
  const kiln_model *model;
  float *params, *state;
  uint8_t *workspace;
  float hyper[1];      /* [0] = learning rate */
  int64_t epochs_done; /* saved in checkpoints, so a resumed run continues */
  /* A checkpoint saved within an epoch: the steps of epoch epochs_done + 1
   * already taken and the sum of their losses, so that a resumed run goes
   * on from the next batch of the same shuffle and reports the same mean. */
  int64_t steps_done;
  double epoch_loss;
  uint64_t seed;       /* of kiln_state_init: initial weights, test split, shuffles */
  double split;        /* the test fraction this state was trained with */
  /* Standardisation statistics (input_numel each) when the model standardises
   * its inputs: fitted on the training set or loaded from a checkpoint. */
  double *input_mean, *input_std;
  int standardization_ready;
  int flush_denormals; /* run steps with subnormals flushed to zero (default 1) */
  int threads;         /* threads a step may use; 0: every core this process may run on */
  const void **row_inputs; /* predict's per-input pointers into the caller's rows */
  /* GPU builds: the device arenas (gpu.c); params and state above are then
   * the host copies that initialisation and checkpoints use. */
  struct kiln_gpu *gpu;
  /* Steps queued by kiln_state_queue_step whose losses are not taken yet
   * (a CPU build's losses are here; a GPU build's on the device). */
  int queued;
  float queued_loss[KILN_QUEUE_STEPS];
} kiln_state;

/* A GPU build (model->ptx) opens CUDA device 0, or the one KILN_CUDA_DEVICE
 * names; NULL with kiln_error() set where there is no driver or device. */
kiln_state *kiln_state_create(const kiln_model *model);
/* The same on CUDA device `device` (ignored by CPU builds). */
kiln_state *kiln_state_create_on(const kiln_model *model, int device);
void kiln_state_destroy(kiln_state *s);
/* Initialises parameters from the model's initialisers; zeroes the state. */
void kiln_state_init(kiln_state *s, uint64_t seed);
/* Sets the learning rate used by later steps. */
void kiln_state_set_lr(kiln_state *s, float lr);
/* Generated code runs with subnormal floats flushed to zero (FTZ and DAZ on
 * x86, FZ on Arm): Adam's moments decay into subnormals, which are slow on
 * many CPUs and below any meaningful precision here. The caller's
 * floating-point mode is restored after every call. 0 keeps subnormals (the
 * flush bits are cleared for the call even if the caller had set them). */
void kiln_state_set_flush_denormals(kiln_state *s, int on);
/* Threads the generated code of later steps may use (0 or less: every core
 * the process may run on, the default). Results are bitwise the same for
 * every count. */
void kiln_state_set_threads(kiln_state *s, int threads);
/* The learning rate of epoch `epoch` (0-based, counted from the start of
 * training across resumes) under a schedule, from the base rate. */
double kiln_schedule_lr(const kiln_schedule *schedule, double base, int64_t epoch);

/* Epoch counts are bounded so that resuming can never overflow them. */
#define KILN_MAX_EPOCHS 1000000000

/* One optimizer step on a full batch (inputs[i]: batch x numel of input i,
 * float or int32_t ids); returns the batch loss, or NaN with kiln_error()
 * set when an argument is NULL, an id is outside its input's bound or a
 * class label outside the model's classes (the step is then not taken), or
 * when steps are queued whose losses are not taken. */
float kiln_state_train_step(kiln_state *s, const void *const *inputs, const void *y);
/* Steps that do not wait for their loss. A GPU build returns from
 * kiln_state_queue_step once the step is launched, so the device runs it
 * while the caller prepares the next batch (the inputs are copied before
 * the call returns; predict, save and the rest see the queued steps done);
 * its loss stays on the device until kiln_state_take_losses. A CPU build
 * runs the step in the call. Fails as kiln_state_train_step does, or when
 * KILN_QUEUE_STEPS steps are queued already (no step is then taken). */
int kiln_state_queue_step(kiln_state *s, const void *const *inputs, const void *y);
/* Waits for the queued steps and writes their losses, oldest first, to
 * `losses` (room for KILN_QUEUE_STEPS); returns how many, or -1 with
 * kiln_error() set when one failed on the device (a fault in a kernel
 * leaves the device unusable to this process: destroy the state; a new
 * process can resume from the last checkpoint). The queue is empty after. */
int kiln_state_take_losses(kiln_state *s, float *losses);
/* The first parameter or state tensor holding a NaN or an infinity (its
 * name, and the element in *element), or NULL when every value is finite. */
const char *kiln_state_nonfinite(const kiln_state *s, int64_t *element);
/* Model outputs (rows x output_numel floats) for any number of rows
 * (inputs[i]: rows x numel of input i): whole batches run at the compiled
 * batch, the rest one row at a time. 0, or -1 with kiln_error() set (NULL
 * buffers, a negative row count, an id outside its input's bound). */
int kiln_state_predict(kiln_state *s, const void *const *inputs, int64_t rows, float *out);

/* --- Threads: the pool generated code shares loops with ------------------- */
/* The body of a parallel loop: iterations [lo, hi) with the loop's captured
 * values in ctx. */
typedef void (*kiln_parallel_body)(int64_t lo, int64_t hi, void *ctx);
/* Runs iterations [0, n) of body, one contiguous chunk per thread (the
 * calling thread takes the first), and returns when all are done. Called by
 * generated code. A call made while another is running (from another
 * application thread, or nested) runs on the calling thread alone. */
void kiln_parallel_for(kiln_parallel_body body, void *ctx, int64_t n);
/* Sets the calling thread's count for later kiln_parallel_for calls (0: all
 * cores); returns the previous setting. */
int kiln_parallel_use(int threads);
/* Cores this process may run on. */
int kiln_cpu_count(void);

/* --- Input preprocessing: what every f32 input goes through --------------- */
/* The factor every f32 input value is multiplied by (the model's scale; 1 if none). */
double kiln_model_scale(const kiln_model *m);
/* Fits the standardisation statistics on `rows` raw samples of each f32
 * input (inputs[i] for input i; entries of id inputs are ignored), after the
 * model's scale; a no-op for models that do not standardise. */
int kiln_fit_preprocess(kiln_state *s, const float *const *inputs, int64_t rows);
/* Raw f32 inputs to model inputs, in place: x * scale, then (x - mean) / std
 * with the fitted or loaded statistics. Fails if the model standardises and
 * none are there. */
int kiln_preprocess(const kiln_state *s, float *const *inputs, int64_t rows);
/* The same on whole feature rows (input_numel floats each, as loaded). */
int kiln_fit_preprocess_rows(kiln_state *s, const float *x, int64_t rows);
int kiln_preprocess_rows(const kiln_state *s, float *x, int64_t rows);

/* --- Checkpoints (safetensors, written atomically) ------------------------ */
/* A checkpoint holds the parameters, the optimizer state, the standardisation
 * statistics and, as metadata, the model's name and architecture, the epochs
 * done, the seed and test split, and the input scale. Loading refuses a
 * checkpoint of another architecture or preprocessing, naming the difference,
 * and changes nothing in `s` unless the whole file is valid. */
int kiln_checkpoint_save(const kiln_state *s, const char *path);
int kiln_checkpoint_load(kiln_state *s, const char *path);

/* --- Data ------------------------------------------------------------------ */
typedef struct kiln_dataset {
  int64_t n, features, label_numel;
  float *x;   /* n x features */
  int32_t *yi; /* n labels, for class-index labels */
  float *yf;   /* n x label_numel, for value labels */
} kiln_dataset;

void kiln_dataset_free(kiln_dataset *d);
/* Per-input batch buffers of `rows` samples (float, or int32_t for ids), as
 * train_step and predict take them; NULL when out of memory. */
void **kiln_inputs_alloc(const kiln_model *m, int64_t rows);
void kiln_inputs_free(const kiln_model *m, void **inputs);
/* Splits `rows` feature rows into the per-input buffers, ids (whole-number
 * floats, checked when loaded) converted to int32_t. */
void kiln_inputs_from_rows(const kiln_model *m, const float *x, int64_t rows, void *const *inputs);
/* Loads a source checked against the model's inputs and label shapes into
 * feature rows (each CSV row's columns picked as the model's `columns` say).
 * Features are raw: kiln_preprocess_rows turns them into model inputs. */
int kiln_dataset_load(const kiln_model *m, const kiln_data_source *src, kiln_dataset *out);
/* Loads a CSV of feature rows only (no labels), for prediction: rows of the
 * training file's layout where the model names its columns (a label column,
 * if there, is not read), else rows of exactly input_numel values. */
int kiln_dataset_load_features(const kiln_model *m, const char *path, kiln_dataset *out);
/* A text source (model.h: vocabulary): each line of each file a sample,
 * labelled with its file's index. */
int kiln_text_load(const kiln_model *m, const kiln_data_source *src, kiln_dataset *out);
/* One line of text (UTF-8, a trailing line break ignored) to the input's
 * ids, as the loader would read it. */
int kiln_text_encode(const kiln_model *m, const char *line, int32_t *ids);
/* The lines of one file, unlabelled, for prediction. */
int kiln_text_load_lines(const kiln_model *m, const char *path, kiln_dataset *out);
/* Moves the last `fraction` of a seeded shuffle of `all` into `test`. */
int kiln_dataset_split(kiln_dataset *all, double fraction, uint64_t seed, kiln_dataset *test);
/* Copies rows idx[0..count) into contiguous batch buffers (labels by kind). */
void kiln_dataset_gather(const kiln_dataset *d, const int64_t *idx, int64_t count,
                         int64_t batch, float *x, void *y);

/* --- Random numbers (deterministic across platforms) ---------------------- */
typedef struct kiln_rng { uint64_t s[4]; } kiln_rng;
void kiln_rng_seed(kiln_rng *r, uint64_t seed);
uint64_t kiln_rng_next(kiln_rng *r);
double kiln_rng_uniform(kiln_rng *r); /* [0, 1) */
double kiln_rng_normal(kiln_rng *r);
void kiln_shuffle(int64_t *idx, int64_t n, uint64_t seed);

/* --- Progress -------------------------------------------------------------- */
typedef struct kiln_progress {
  const char *label;
  int64_t total, done;
  double start;
  int tty;
  double last_draw;
} kiln_progress;
double kiln_now(void);
void kiln_progress_start(kiln_progress *p, const char *label, int64_t total);
void kiln_progress_update(kiln_progress *p, int64_t done, float loss);
void kiln_progress_finish(kiln_progress *p, float loss);

#ifdef __cplusplus
}
#endif

#endif /* KILN_RUNTIME_H */
