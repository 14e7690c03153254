/*===- preprocess.c - Raw input rows to model inputs ----------------------===*
 * One definition of the input preprocessing (the model's scale, then
 * standardisation with the training set's statistics), used by the driver for
 * every data set and by embedding applications through the C API, so a row
 * is treated the same whether it is trained on, evaluated or predicted.
 * Only f32 inputs are preprocessed; ids pass through. The statistics are
 * indexed by position in the feature row, whichever form the values come in:
 * whole feature rows (the driver's data sets) or one array per input (the
 * C API).
 *===----------------------------------------------------------------------===*/
#include "kiln/runtime.h"

#include <math.h>

double kiln_model_scale(const kiln_model *m) { return m->scale != 0 ? m->scale : 1.0; }

/* The scaled value, rounded to float as a loader of scaled data would. */
static double scaled(float v, double scale) { return (float)((double)v * scale); }

/* Input i's sample r, value j is at base[r * stride + j], base being the
 * input's place in a feature row (whole rows) or its own array. */
static int64_t stride(const kiln_model *m, int64_t i, int rows) {
  return rows ? m->input_numel : m->inputs[i].numel;
}

static int fit(kiln_state *s, const float *x, const float *const *inputs, int64_t rows) {
  const kiln_model *m = s->model;
  if (!m->standardize)
    return 0;
  if (rows < 1)
    return kiln_fail("cannot fit standardisation statistics on %lld rows", (long long)rows);
  double scale = kiln_model_scale(m);
  for (int64_t i = 0; i < m->num_inputs; ++i) {
    const kiln_input_info *in = &m->inputs[i];
    if (in->is_int) { /* ids are never standardised: identity statistics */
      for (int64_t j = 0; j < in->numel; ++j) {
        s->input_mean[in->offset + j] = 0;
        s->input_std[in->offset + j] = 1;
      }
      continue;
    }
    if (!x && !inputs[i])
      return kiln_fail("fit_preprocess: no values for input '%s'", in->name);
    const float *base = x ? x + in->offset : inputs[i];
    int64_t st = stride(m, i, x != NULL);
    for (int64_t j = 0; j < in->numel; ++j) {
      double sum = 0, sq = 0;
      for (int64_t r = 0; r < rows; ++r)
        sum += scaled(base[r * st + j], scale);
      double mean = sum / (double)rows;
      for (int64_t r = 0; r < rows; ++r) {
        double d = scaled(base[r * st + j], scale) - mean;
        sq += d * d;
      }
      double sd = sqrt(sq / (double)rows);
      s->input_mean[in->offset + j] = mean;
      s->input_std[in->offset + j] = sd < 1e-12 ? 1 : sd; /* a constant feature stays centred */
    }
  }
  s->standardization_ready = 1;
  return 0;
}

static int apply(const kiln_state *s, float *x, float *const *inputs, int64_t rows) {
  const kiln_model *m = s->model;
  if (m->standardize && !s->standardization_ready)
    return kiln_fail("model '%s' standardises its inputs, but no statistics were fitted or loaded "
                     "from a checkpoint",
                     m->name);
  double scale = kiln_model_scale(m);
  if (!m->standardize && scale == 1.0)
    return 0;
  for (int64_t i = 0; i < m->num_inputs; ++i) {
    const kiln_input_info *in = &m->inputs[i];
    if (in->is_int)
      continue;
    if (!x && !inputs[i])
      return kiln_fail("preprocess: no values for input '%s'", in->name);
    float *base = x ? x + in->offset : inputs[i];
    int64_t st = stride(m, i, x != NULL);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < in->numel; ++j) {
        double val = scaled(base[r * st + j], scale);
        if (m->standardize)
          val = (val - s->input_mean[in->offset + j]) / s->input_std[in->offset + j];
        base[r * st + j] = (float)val;
      }
  }
  return 0;
}

int kiln_fit_preprocess(kiln_state *s, const float *const *inputs, int64_t rows) {
  return fit(s, NULL, inputs, rows);
}
int kiln_preprocess(const kiln_state *s, float *const *inputs, int64_t rows) {
  return apply(s, NULL, inputs, rows);
}
int kiln_fit_preprocess_rows(kiln_state *s, const float *x, int64_t rows) {
  return fit(s, x, NULL, rows);
}
int kiln_preprocess_rows(const kiln_state *s, float *x, int64_t rows) {
  return apply(s, x, NULL, rows);
}
