/* The generated C API refuses arguments that generated code would read out
 * of bounds or silently misuse, with an error and no step taken: NULL
 * buffers, ids outside their input's bound, class labels outside the
 * model's classes. Built against test/Runtime/api-checks.test's model
 * `checked` (x: 3 floats, ids: 2 ids below 5, 3 classes, batch 4). */
#include "checked.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { B = CHECKED_BATCH };

static int failures = 0;

static void expect_nan(const char *what, float loss) {
  if (isnan(loss))
    printf("%s: refused: %s\n", what, checked_error());
  else {
    printf("%s: NOT refused (loss %g)\n", what, loss);
    ++failures;
  }
}

static void expect_fail(const char *what, int rc) {
  if (rc)
    printf("%s: refused: %s\n", what, checked_error());
  else {
    printf("%s: NOT refused\n", what);
    ++failures;
  }
}

int main(void) {
  float x[B][CHECKED_INPUT_X_SIZE], out[B][CHECKED_OUTPUT_SIZE], before[B][CHECKED_OUTPUT_SIZE];
  int32_t ids[B][CHECKED_INPUT_IDS_SIZE], y[B];
  for (int i = 0; i < B; ++i) {
    for (int j = 0; j < CHECKED_INPUT_X_SIZE; ++j)
      x[i][j] = (float)(i - j) / 4;
    for (int j = 0; j < CHECKED_INPUT_IDS_SIZE; ++j)
      ids[i][j] = (i + j) % CHECKED_INPUT_IDS_BOUND;
    y[i] = i % CHECKED_CLASSES;
  }
  checked *m = checked_create();
  if (!m)
    return 1;
  checked_init(m, 1);
  checked_predict(m, &x[0][0], &ids[0][0], B, &before[0][0]);

  expect_nan("NULL x", checked_train_step(m, NULL, &ids[0][0], y));
  expect_nan("NULL ids", checked_train_step(m, &x[0][0], NULL, y));
  expect_nan("NULL labels", checked_train_step(m, &x[0][0], &ids[0][0], NULL));
  y[2] = CHECKED_CLASSES;
  expect_nan("label = classes", checked_train_step(m, &x[0][0], &ids[0][0], y));
  y[2] = -1;
  expect_nan("label -1", checked_train_step(m, &x[0][0], &ids[0][0], y));
  y[2] = 2 % CHECKED_CLASSES;
  ids[3][1] = CHECKED_INPUT_IDS_BOUND;
  expect_nan("id = bound", checked_train_step(m, &x[0][0], &ids[0][0], y));
  expect_fail("predict, id = bound", checked_predict(m, &x[0][0], &ids[0][0], B, &out[0][0]));
  ids[3][1] = -7;
  expect_fail("predict one row, id -7", checked_predict(m, &x[3][0], &ids[3][0], 1, &out[0][0]));
  ids[3][1] = (3 + 1) % CHECKED_INPUT_IDS_BOUND; /* as it was */
  expect_fail("predict, NULL out", checked_predict(m, &x[0][0], &ids[0][0], B, NULL));
  expect_fail("predict, -1 rows", checked_predict(m, &x[0][0], &ids[0][0], -1, &out[0][0]));

  /* None of those took a step: the weights are as initialised. */
  checked_predict(m, &x[0][0], &ids[0][0], B, &out[0][0]);
  if (memcmp(out, before, sizeof out)) {
    printf("a refused call changed the weights\n");
    ++failures;
  }
  float loss = checked_train_step(m, &x[0][0], &ids[0][0], y);
  printf("valid step: loss is %s\n", isfinite(loss) ? "finite" : "NOT finite");
  checked_destroy(m);
  return failures != 0 || !isfinite(loss);
}
