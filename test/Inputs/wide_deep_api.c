/* Drives examples/wide_deep.kiln through its generated C API: one typed
 * array per input (11 standardised floats, two int32 ids). Reads raw rows of
 * the Boston CSV (label in column 13), loads a checkpoint, prints each row's
 * prediction as the driver's `predict` does, then checks that train_step on
 * the first batch reports the MSE of those predictions (so both entry points
 * receive every input in its place). */
#include "wide_deep.h"

#include <stdio.h>
#include <stdlib.h>

enum { B = WIDE_DEEP_BATCH, N = WIDE_DEEP_INPUT_NUMERIC_SIZE };

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s CHECKPOINT ROWS.csv\n", argv[0]);
    return 2;
  }
  static const int numericCols[N] = {0, 1, 2, 4, 5, 6, 7, 9, 10, 11, 12};
  float numeric[B][N], price[B], out[B];
  int32_t river[B], highway[B];
  FILE *f = fopen(argv[2], "r");
  int rows = 0;
  double v[14];
  while (f && rows < B &&
         fscanf(f, "%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf", &v[0], &v[1], &v[2],
                &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11], &v[12], &v[13]) == 14) {
    for (int j = 0; j < N; ++j)
      numeric[rows][j] = (float)v[numericCols[j]];
    river[rows] = (int32_t)v[3];
    highway[rows] = (int32_t)v[8];
    price[rows] = (float)v[13];
    ++rows;
  }
  if (rows != B) {
    fprintf(stderr, "%s: need %d rows, read %d\n", argv[2], B, rows);
    return 1;
  }
  wide_deep *m = wide_deep_create();
  if (!m || wide_deep_load(m, argv[1]) || wide_deep_preprocess(m, &numeric[0][0], B)) {
    fprintf(stderr, "error: %s\n", wide_deep_error());
    return 1;
  }
  if (wide_deep_predict(m, &numeric[0][0], river, highway, B, out)) {
    fprintf(stderr, "error: %s\n", wide_deep_error());
    return 1;
  }
  double mse = 0;
  for (int i = 0; i < B; ++i) {
    printf("%d: %.6g\n", i, out[i]);
    mse += ((double)out[i] - price[i]) * ((double)out[i] - price[i]) / B;
  }
  float loss = wide_deep_train_step(m, &numeric[0][0], river, highway, price);
  int match = (loss - mse) * (loss - mse) <= 1e-8 * mse * mse;
  fprintf(stderr, "train_step loss %.6g, predict mse %.6g: %s\n", loss, mse,
          match ? "match" : "DIFFER");
  wide_deep_destroy(m);
  return match ? 0 : 1;
}
