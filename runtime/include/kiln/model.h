/*===- kiln/model.h - The contract between generated code and the runtime -===*
 *
 * A compiled model exports one constant `kiln_model` table: what the runtime
 * needs to allocate, initialise, feed, checkpoint and call it. Every field is
 * 8 bytes wide so the compiler can emit the table without layout surprises.
 *
 *===----------------------------------------------------------------------===*/
#ifndef KILN_MODEL_H
#define KILN_MODEL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KILN_ABI_VERSION 9

/* Parameter initialisers; fans come from the tensor's table entry. */
enum kiln_init {
  KILN_INIT_ZEROS = 0,
  KILN_INIT_ONES = 1,
  KILN_INIT_NORMAL = 2,        /* N(0, 0.01^2) */
  KILN_INIT_XAVIER = 3,        /* U(+-sqrt(6 / (fan_in + fan_out))) */
  KILN_INIT_XAVIER_NORMAL = 4, /* N(0, 2 / (fan_in + fan_out)) */
  KILN_INIT_HE = 5,            /* N(0, 2 / fan_in) */
  KILN_INIT_HE_UNIFORM = 6,    /* U(+-sqrt(6 / fan_in)) */
  KILN_INIT_TORCH = 7,         /* U(+-1 / sqrt(fan_in)): torch.nn.Linear's default */
  KILN_INIT_SEED = 8,          /* seed mod 2^20: where a counter-based random stream
                                  (dropout's) starts, so masks follow the seed */
  KILN_INIT_UNIT_NORMAL = 9    /* N(0, 1): torch.nn.Embedding's default */
};

/* Their names in the model language, indexed by enum kiln_init: the one list
 * the compiler reads initialisers from ("seed" is set by layers, not users). */
#define KILN_INIT_NAMES                                                                  \
  {"zeros", "ones", "normal", "xavier", "xavier_normal", "he", "he_uniform", "torch",  \
   "seed", "unit_normal"}

/* Learning-rate schedules, per epoch (PyTorch's StepLR and CosineAnnealingLR). */
enum kiln_schedule_kind {
  KILN_SCHEDULE_CONSTANT = 0,
  KILN_SCHEDULE_STEP = 1,  /* lr * factor^(epoch / period) */
  KILN_SCHEDULE_COSINE = 2 /* factor + (lr - factor)(1 + cos(pi epoch / period)) / 2 */
};

typedef struct kiln_schedule {
  int64_t kind; /* enum kiln_schedule_kind */
  int64_t period;
  double factor;
} kiln_schedule;

typedef struct kiln_tensor_info {
  const char *name;
  int64_t offset; /* in floats, within its arena */
  int64_t numel;
  int64_t rank;
  int64_t shape[4];
  int64_t init; /* enum kiln_init */
  int64_t fan_in, fan_out;
} kiln_tensor_info;

/* One input of the model, in declaration order. A sample's inputs are also
 * held as one "feature row" of floats (what the loaders produce and the
 * preprocessing and checkpointed statistics index): each input's values at
 * `offset`, ids as whole numbers. */
typedef struct kiln_input_info {
  const char *name;
  int64_t offset; /* of its first value within the feature row */
  int64_t numel;  /* per sample */
  int64_t is_int; /* int32 ids, each in [0, bound); scale and standardisation skip it */
  int64_t bound;
} kiln_input_info;
/* Bytes of one input value as entry points take it: a float or an int32_t id. */
#define KILN_INPUT_VALUE_BYTES 4

typedef struct kiln_data_source {
  const char *format; /* "idx", "csv", "text", or "" when the model names none */
  const char *features; /* text: the files, one per class in label order, '\n'-separated */
  const char *labels; /* "" for a CSV whose labels are a column */
  int64_t label_column; /* CSV: column index, negative counts from the end */
  int64_t skip;         /* CSV: header lines to skip */
  int64_t sample;       /* text: lines drawn from each file (a shuffle seeded by the
                           model's seed), 0: all */
} kiln_data_source;

/* x86 features generated code may use, by the names both LLVM and the C
 * compilers' __builtin_cpu_supports know: kilnc records those of the CPU it
 * compiles for (kilnc --cpu) in `cpu_features`, and the runtime refuses to
 * create a model's state on a CPU that lacks one, instead of dying of an
 * illegal instruction. (Features LLVM emits only for intrinsics, such as
 * AES or SHA, are not listed.) */
#define KILN_X86_FEATURES(X)                                                             \
  X("sse3") X("ssse3") X("sse4.1") X("sse4.2") X("popcnt") X("avx") X("avx2") X("fma")     \
  X("f16c") X("bmi") X("bmi2") X("lzcnt") X("movbe") X("avx512f") X("avx512dq")           \
  X("avx512bw") X("avx512vl") X("avx512cd") X("avx512vnni") X("avx512bf16")               \
  X("avx512vbmi") X("avx512vbmi2") X("avx512ifma") X("avx512vpopcntdq")                   \
  X("avx512bitalg") X("avx512fp16") X("gfni") X("avxvnni")

/* The entry points' parameters, in order, as text: kilnc checks every entry
 * point it emits against these lists (an internal error if one differs), so
 * the typedefs below and the generated code cannot drift apart silently.
 * Change both together, with KILN_ABI_VERSION. */
#define KILN_TRAIN_STEP_PARAMS "params state inputs label hyper loss workspace"
#define KILN_PREDICT_PARAMS "params state inputs output workspace"

/* x: one batch per input (x[i] for inputs[i]), float or int32_t (ids) as its
 * `is_int` says; y: the labels, int32_t class indices or floats as
 * `label_is_int` says. */
typedef void (*kiln_train_step_fn)(float *params, float *state, const void *const *x,
                                   const void *y, const float *hyper, float *loss,
                                   uint8_t *workspace);
/* predict reads the state arena too: persistent buffers such as batch
 * norm's running statistics live there, next to the optimizer state. */
typedef void (*kiln_predict_fn)(const float *params, const float *state, const void *const *x,
                                float *out, uint8_t *workspace);

typedef struct kiln_model {
  int64_t abi_version;
  const char *name;
  uint64_t arch_hash;         /* of `architecture` */
  const char *architecture;   /* "; "-separated lines of canonical source: what a
                                 checkpoint must agree on to be loaded */
  int64_t batch, epochs, seed;
  double lr;
  kiln_schedule schedule;
  const char *optimizer, *loss, *task; /* task: "classify", "binary" or "regress" */
  int64_t num_classes;
  int64_t input_numel, label_numel, output_numel; /* per sample; input: the feature row */
  int64_t label_is_int;
  int64_t num_inputs;
  const kiln_input_info *inputs;
  /* CSV: the file column of each feature-row value (input_numel entries),
   * or NULL: every column but the label's, in order. */
  const int64_t *columns;
  int64_t num_params;
  const kiln_tensor_info *params;
  int64_t param_numel;
  int64_t num_state;
  const kiln_tensor_info *state;
  int64_t state_numel;
  int64_t workspace_bytes;
  kiln_data_source train, test;
  double split, scale;  /* fraction held out for testing; f32 inputs' scale factor */
  int64_t standardize;   /* f32 inputs are standardised with the training set's statistics */
  /* Text: a line's characters (UTF-8) become ids, vocabulary[k] -> k + 1, right-
   * aligned in the one i32 input, 0 padding before; lowercased first (ASCII and
   * Latin-1) if `lowercase`; a longer line keeps its last characters if
   * `truncate`, else is an error. NULL or "" for other models. */
  const char *vocabulary;
  int64_t lowercase, truncate;
  /* The entry points, in kilnc's order (compiler/Transforms/ABI.h):
   * predict runs `batch` rows, predict_one one row. */
  kiln_train_step_fn train_step;
  kiln_predict_fn predict, predict_one;
  /* GPU builds (kilnc --target=cuda): the entry points take device
   * addresses and launch the kernels of `ptx` through kiln_gpu_launch, by
   * their index in kernel_names. NULL and 0 in CPU builds. */
  const char *ptx;
  int64_t num_kernels;
  const char *const *kernel_names;
  /* The KILN_X86_FEATURES the code was compiled for, comma-separated
   * ("avx,avx2,fma"); "" for none. */
  const char *cpu_features;
} kiln_model;

#ifdef __cplusplus
}
#endif

#endif /* KILN_MODEL_H */
