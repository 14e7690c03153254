/* Accuracy of the CPU build's activations (the polynomial approximations of
 * kiln-expand-math and upstream's for erf, expm1 and log1p), in units in
 * the last place of the float32 result, against double precision: every
 * magnitude from 1e-8 to 30, both signs; log_softmax over rows of mixed
 * logits. Where the formula PyTorch uses subtracts (log_softmax: x - max -
 * log(sum); gelu: x / 2 * (1 + erf(x / sqrt 2)), which cancels for x below
 * -3) the unit is the ulp of the larger term, the size of what it rounds.
 * Prints the worst of each; exits 1 if one is above its bound (arguments:
 * a bound per measure, in the table's order). Build: cc
 * math_accuracy.c libact.a -lz -lm -lpthread. */
#include "act.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { C = 8, ROWS = 4096, F = 8, M = F + 1 };

static double ulp(double v) { return ldexp(1.0, ilogb(fabs(v) > 1e-30 ? v : 1e-30) - 23); }
static double sigmoid(double v) { return 1 / (1 + exp(-v)); }
static double gelu(double v) { return v / 2 * (1 + erf(v / sqrt(2.0))); }

/* The last measure: how far tanh's derivative as autodiff makes it, 1 - y^2,
 * is from PyTorch's, relative, for |x| in [0.55, 9.1], where y is near 1
 * and a wrong last bit of y is much of 1 - y^2. PyTorch's CPU tanh
 * (Sleef's) is the correctly rounded one there but for returning 1 from
 * |x| = 8.664339742 on (where rounding gives 0.99999994 up to 9.011). */
static const char *const kNames[M] = {"tanh",     "sigmoid", "log_softmax", "gelu",         "silu",
                                      "softplus", "elu",     "leaky_relu",  "tanh'(x) near 1"};

int main(int argc, char **argv) {
  if (argc != M + 1)
    return 2;
  static float x[ROWS * C], out[ROWS * F * C];
  int n = 0;
  for (double e = -8; e < 1.5 && n < ROWS * C; e += 9.5 / (ROWS * C / 2))
    for (int sign = -1; sign <= 1; sign += 2)
      x[n++] = (float)(sign * pow(10, e));
  act *m = act_create();
  if (!m)
    return 1;
  act_init(m, 1);
  if (act_predict(m, x, ROWS, out)) {
    printf("predict failed: %s\n", act_error());
    return 1;
  }
  double worst[M] = {0}, at[M] = {0};
  for (int r = 0; r < ROWS; ++r) {
    const float *xr = x + r * C, *o = out + r * F * C;
    double mx = -INFINITY, s = 0;
    for (int c = 0; c < C; ++c)
      mx = fmax(mx, xr[c]);
    for (int c = 0; c < C; ++c)
      s += exp(xr[c] - mx);
    for (int c = 0; c < C; ++c) {
      double v = xr[c], ls = v - mx - log(s);
      double ref[F] = {tanh(v), sigmoid(v), ls, gelu(v), v * sigmoid(v),
                       v > 20 ? v : log1p(exp(v)), v > 0 ? v : 0.5 * expm1(v), v > 0 ? v : 0.2 * v};
      for (int f = 0; f < F; ++f) {
        double unit = f == 2   ? ulp(fmax(fabs(ls), log(s)))
                      : f == 3 ? ulp(fmax(fabs(ref[f]), fabs(v) / 2))
                               : ulp(ref[f]);
        double err = fabs(o[f * C + c] - ref[f]) / unit;
        if (err > worst[f])
          worst[f] = err, at[f] = v;
      }
      if (fabs(v) >= 0.55 && fabs(v) <= 9.1) {
        double y = o[c], yr = fabs(v) > 8.664339742 ? 1 : (float)tanh(v), d = 1 - yr * yr;
        double err = d == 0 ? fabs(1 - y * y) : fabs((1 - y * y) - d) / d;
        if (err > worst[F])
          worst[F] = err, at[F] = v;
      }
    }
  }
  int ok = 1;
  for (int f = 0; f < M; ++f) {
    printf("%s: worst %.3g %s (at %g)\n", kNames[f], worst[f], f < F ? "ulp" : "relative", at[f]);
    ok &= worst[f] <= atof(argv[f + 1]);
  }
  printf("%s\n", ok ? "within bounds" : "ABOVE a bound");
  act_destroy(m);
  return !ok;
}
