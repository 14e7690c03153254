/*===- preprocess.c - Raw input rows to model inputs ----------------------===*
 * One definition of the input preprocessing (the model's scale, then
 * standardisation with the training set's statistics), used by the driver for
 * every data set and by embedding applications through the C API, so a row
 * is treated the same whether it is trained on, evaluated or predicted.
 *===----------------------------------------------------------------------===*/
#include "kiln/runtime.h"

#include <math.h>

double kiln_model_scale(const kiln_model *m) { return m->scale != 0 ? m->scale : 1.0; }

/* The scaled value, rounded to float as a loader of scaled data would. */
static double scaled(float v, double scale) { return (float)((double)v * scale); }

int kiln_fit_preprocess(kiln_state *s, const float *x, int64_t rows) {
  const kiln_model *m = s->model;
  if (!m->standardize)
    return 0;
  if (rows < 1)
    return kiln_fail("cannot fit standardisation statistics on %lld rows", (long long)rows);
  int64_t f = m->input_numel;
  double scale = kiln_model_scale(m);
  for (int64_t j = 0; j < f; ++j) {
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < rows; ++i)
      sum += scaled(x[i * f + j], scale);
    double mean = sum / (double)rows;
    for (int64_t i = 0; i < rows; ++i) {
      double d = scaled(x[i * f + j], scale) - mean;
      sq += d * d;
    }
    double sd = sqrt(sq / (double)rows);
    s->input_mean[j] = mean;
    s->input_std[j] = sd < 1e-12 ? 1 : sd; /* a constant feature stays centred */
  }
  s->standardization_ready = 1;
  return 0;
}

int kiln_preprocess(const kiln_state *s, float *x, int64_t rows) {
  const kiln_model *m = s->model;
  if (m->standardize && !s->standardization_ready)
    return kiln_fail("model '%s' standardises its inputs, but no statistics were fitted or loaded "
                     "from a checkpoint",
                     m->name);
  int64_t f = m->input_numel;
  double scale = kiln_model_scale(m);
  if (!m->standardize && scale == 1.0)
    return 0;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < f; ++j) {
      double v = scaled(x[i * f + j], scale);
      if (m->standardize)
        v = (v - s->input_mean[j]) / s->input_std[j];
      x[i * f + j] = (float)v;
    }
  return 0;
}
