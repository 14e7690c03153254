/* Prediction for any row count, checked on a compiled model through the
 * runtime API (build with -DMODEL=kiln_model_<name> and the model's library):
 * BATCH + 3 random rows predicted in one call (a whole batch through
 * predict, three rows through predict_one) and again one row per call.
 * The tail rows take the same path both times, so they must match bitwise;
 * the first BATCH rows compare predict with predict_one within a relative
 * tolerance (argv[1], default 0: the kernels sum every output in the same
 * order whatever the row count, so a row predicts the same alone or in a
 * batch). Rows differ from each other, and rows past the count stay
 * untouched. */
#include "kiln/runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

extern const kiln_model MODEL;

static uint64_t next(uint64_t *s) {
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  return *s >> 33;
}

int main(int argc, char **argv) {
  const kiln_model *m = &MODEL;
  double tol = argc > 1 ? atof(argv[1]) : 0;
  int64_t b = m->batch, rows = b + 3, on = m->output_numel;
  kiln_state *s = kiln_state_create(m);
  if (!s) {
    fprintf(stderr, "error: %s\n", kiln_error());
    return 1;
  }
  kiln_state_init(s, 1);
  /* Perturbed, so that models initialised with zeros predict something. */
  uint64_t seed = 7;
  for (int64_t k = 0; k < m->param_numel; ++k)
    s->params[k] += (float)(next(&seed) % 1001) / 10000.0f - 0.05f;
  void **in = kiln_inputs_alloc(m, rows);
  const void **one = malloc((size_t)m->num_inputs * sizeof *one);
  float *all = malloc((size_t)((rows + 1) * on) * sizeof(float));
  float *single = malloc((size_t)((rows + 1) * on) * sizeof(float));
  if (!in || !one || !all || !single)
    return 1;
  for (int64_t i = 0; i < m->num_inputs; ++i)
    for (int64_t k = 0; k < rows * m->inputs[i].numel; ++k) {
      if (m->inputs[i].is_int)
        ((int32_t *)in[i])[k] = (int32_t)(next(&seed) % (uint64_t)m->inputs[i].bound);
      else
        ((float *)in[i])[k] = (float)(next(&seed) % 2001) / 1000.0f - 1.0f;
    }
  all[rows * on] = single[rows * on] = 12345.0f;
  if (kiln_state_predict(s, (const void *const *)in, rows, all) != 0) {
    fprintf(stderr, "error: %s\n", kiln_error());
    return 1;
  }
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < m->num_inputs; ++i)
      one[i] = (const char *)in[i] + r * m->inputs[i].numel * KILN_INPUT_VALUE_BYTES;
    if (kiln_state_predict(s, one, 1, single + r * on) != 0) {
      fprintf(stderr, "error: %s\n", kiln_error());
      return 1;
    }
  }
  double worst = 0;
  int ok = all[rows * on] == 12345.0f && single[rows * on] == 12345.0f, distinct = 0;
  for (int64_t k = 0; k < on; ++k)
    distinct |= all[k] != all[(rows - 1) * on + k];
  ok &= distinct;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < on; ++k) {
      float a = all[r * on + k], o = single[r * on + k];
      if (r >= b) {
        ok &= a == o;
        continue;
      }
      double d = fabs((double)a - o) / (1 + fabs((double)a));
      worst = d > worst ? d : worst;
      ok &= d <= tol && isfinite(a);
    }
  printf("%s: %lld rows, batch %lld: one-row vs batch %.2g (tolerance %.2g), tail identical: %s\n",
         m->name, (long long)rows, (long long)b, worst, tol, ok ? "ok" : "FAILED");
  kiln_inputs_free(m, in);
  kiln_state_destroy(s);
  free(one);
  free(all);
  free(single);
  return ok ? 0 : 1;
}
