/*===- loader_fuzzer.c - libFuzzer targets for the runtime's file readers ---===*
 * Built once per format (KILN_FUZZ_IDX, _CSV, _TEXT, _CHECKPOINT): each
 * input is handed to the runtime's loader as a file (an in-memory memfd,
 * opened by path like any file). A loader may refuse an input, with a
 * message; it must never crash, read out of bounds, leak, or accept a file
 * and then hand back a data set that breaks its own invariants.
 *
 * The models are small hand-built tables (no generated code): 2x2 images,
 * 3-feature CSV rows, 4-character text lines, a model with two parameters
 * and standardisation statistics for checkpoints.
 *
 *   kiln-fuzz-checkpoint --write-seed FILE   writes a valid checkpoint
 *===----------------------------------------------------------------------===*/
#include "kiln/runtime.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void no_step(float *p, float *s, const void *const *x, const void *y, const float *h,
                    float *loss, uint8_t *ws) {
  (void)p, (void)s, (void)x, (void)y, (void)h, (void)ws;
  *loss = 0;
}
static void no_predict(const float *p, const float *s, const void *const *x, float *o,
                       uint8_t *ws) {
  (void)p, (void)s, (void)x, (void)o, (void)ws;
}

static const kiln_tensor_info kParams[] = {
    {"fc.weight", 0, 6, 2, {2, 3, 0, 0}, KILN_INIT_XAVIER, 2, 3},
    {"fc.bias", 16, 3, 1, {3, 0, 0, 0}, KILN_INIT_ZEROS, 2, 3},
};
static const kiln_tensor_info kState[] = {{"step", 0, 1, 0, {0}, KILN_INIT_ZEROS, 0, 0}};
static const kiln_input_info kFloats[] = {{"x", 0, 4, 0, 0}};
#if defined(KILN_FUZZ_TEXT)
static const kiln_input_info kIds[] = {{"chars", 0, 4, 1, 4}};
#endif

static const kiln_model kBase = {
    .abi_version = KILN_ABI_VERSION, .name = "fuzz", .arch_hash = 0xf022,
    .architecture = "input x: f32[batch, 4]; fc = dense(x, 3)", .batch = 2, .epochs = 1,
    .seed = 1, .lr = 0.1, .optimizer = "sgd", .loss = "softmax_cross_entropy",
    .task = "classify", .num_classes = 3, .input_numel = 4, .label_numel = 1, .output_numel = 3,
    .label_is_int = 1, .num_inputs = 1, .inputs = kFloats, .num_params = 2, .params = kParams,
    .param_numel = 32, .num_state = 1, .state = kState, .state_numel = 16, .workspace_bytes = 64,
    .split = 0.25, .scale = 1, .standardize = 1, .train_step = no_step, .predict = no_predict,
    .predict_one = no_predict};

/* `data` as a file: the path of a memfd holding it (closed by the caller). */
static int as_file(const uint8_t *data, size_t size, char *path, size_t cap) {
  int fd = memfd_create("kiln-fuzz", 0);
  if (fd < 0)
    abort();
  for (size_t done = 0; done < size;) {
    ssize_t w = write(fd, data + done, size - done);
    if (w <= 0)
      abort();
    done += (size_t)w;
  }
  snprintf(path, cap, "/proc/self/fd/%d", fd);
  return fd;
}

#if !defined(KILN_FUZZ_CHECKPOINT)
/* What a loader that accepted a file must hand back. */
static void check_dataset(const kiln_model *m, const kiln_dataset *d) {
  if (d->n <= 0 || d->features != m->input_numel || !d->x)
    abort();
  for (int64_t i = 0; i < d->n * d->features; ++i)
    if (!isfinite(d->x[i]))
      abort();
  for (int64_t i = 0; d->yi && i < d->n; ++i)
    if (d->yi[i] < 0 || d->yi[i] >= m->num_classes)
      abort();
}
#endif

#if defined(KILN_FUZZ_CHECKPOINT)
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  if (*argc == 3 && !strcmp((*argv)[1], "--write-seed")) {
    kiln_state *s = kiln_state_create(&kBase);
    const float rows[8] = {1, 2, 3, 4, 5, 6, 7, 9};
    kiln_state_init(s, 7);
    int rc = kiln_fit_preprocess_rows(s, rows, 2) || kiln_checkpoint_save(s, (*argv)[2]);
    if (rc)
      fprintf(stderr, "%s\n", kiln_error());
    kiln_state_destroy(s);
    exit(rc);
  }
  return 0;
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[64];
  kiln_model m = kBase;
#if defined(KILN_FUZZ_CHECKPOINT)
  int fd = as_file(data, size, path, sizeof path);
  kiln_state *s = kiln_state_create(&m);
  if (!s)
    abort();
  if (kiln_checkpoint_load(s, path) == 0) {
    for (int64_t i = 0; i < m.input_numel; ++i)
      if (!isfinite(s->input_mean[i]) || !(s->input_std[i] > 0))
        abort();
  }
  kiln_state_destroy(s);
  close(fd);
#else
  char path2[64];
  kiln_data_source src = {0};
  /* Two files where the format reads two (IDX images and labels, two text
   * classes): the first 2 bytes say how long the first is. */
  size_t first = size >= 2 ? ((size_t)data[0] | (size_t)data[1] << 8) : 0;
  if (first > size - (size >= 2 ? 2 : size))
    first = size - (size >= 2 ? 2 : size);
  const uint8_t *rest = data + (size >= 2 ? 2 : size);
  int fd = as_file(rest, first, path, sizeof path);
  int fd2 = as_file(rest + first, size - (size >= 2 ? 2 : size) - first, path2, sizeof path2);
  char files[160];
#if defined(KILN_FUZZ_IDX)
  src.format = "idx";
  src.features = path;
  src.labels = path2;
#elif defined(KILN_FUZZ_CSV)
  /* The whole input as one CSV: 4 features, the label last. */
  close(fd);
  close(fd2);
  fd = as_file(data, size, path, sizeof path);
  fd2 = -1;
  src.format = "csv";
  src.features = path;
  src.label_column = -1;
  src.skip = data && size && data[0] == '#';
#elif defined(KILN_FUZZ_TEXT)
  m.standardize = 0;
  m.num_classes = 2;
  m.inputs = kIds;
  m.vocabulary = "abc";
  m.lowercase = 1;
  m.truncate = size % 2;
  snprintf(files, sizeof files, "%s\n%s", path, path2);
  src.format = "text";
  src.features = files;
#endif
  (void)files;
  kiln_dataset d;
  if (kiln_dataset_load(&m, &src, &d) == 0) {
    check_dataset(&m, &d);
    kiln_dataset_free(&d);
  }
  close(fd);
  if (fd2 >= 0)
    close(fd2);
#endif
  return 0;
}
