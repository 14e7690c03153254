/* Accuracy of the CPU build's tanh, sigmoid and log_softmax (the polynomial
 * approximations of kiln-expand-math), in units in the last place of the
 * float32 result, against double precision: every magnitude from 1e-8 to
 * 30, both signs, for tanh and sigmoid; rows of mixed logits for
 * log_softmax (its error counted in ulps of the larger of the result and
 * the log of the sum, the size of what it subtracts). Prints the worst of
 * each; exits 1 if one is above its bound (arguments: tanh, sigmoid and
 * log_softmax bounds in ulps). Build: cc math_accuracy.c libact.a -lz -lm
 * -lpthread. */
#include "act.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static double ulp(double v) { return ldexp(1.0, ilogb(fabs(v) > 1e-30 ? v : 1e-30) - 23); }

int main(int argc, char **argv) {
  if (argc != 4)
    return 2;
  enum { C = 8, ROWS = 4096 };
  static float x[ROWS * C], out[ROWS * 3 * C];
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
  double worst[3] = {0, 0, 0}, at[3] = {0, 0, 0};
  for (int r = 0; r < ROWS; ++r) {
    const float *xr = x + r * C, *o = out + r * 3 * C;
    double mx = -INFINITY, s = 0;
    for (int c = 0; c < C; ++c)
      mx = fmax(mx, xr[c]);
    for (int c = 0; c < C; ++c)
      s += exp(xr[c] - mx);
    for (int c = 0; c < C; ++c) {
      double v = xr[c], ls = v - mx - log(s);
      double ref[3] = {tanh(v), 1 / (1 + exp(-v)), ls};
      double unit[3] = {ulp(ref[0]), ulp(ref[1]), ulp(fmax(fabs(ls), log(s)))};
      for (int f = 0; f < 3; ++f) {
        double err = fabs(o[f * C + c] - ref[f]) / unit[f];
        if (err > worst[f])
          worst[f] = err, at[f] = v;
      }
    }
  }
  printf("tanh: worst %.2f ulp (at %g)\nsigmoid: worst %.2f ulp (at %g)\nlog_softmax: worst %.2f ulp\n",
         worst[0], at[0], worst[1], at[1], worst[2]);
  act_destroy(m);
  int ok = 1;
  for (int f = 0; f < 3; ++f)
    ok &= worst[f] <= atof(argv[f + 1]);
  printf("%s\n", ok ? "within bounds" : "ABOVE a bound");
  return !ok;
}
