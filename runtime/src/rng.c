/*===- rng.c - xoshiro256** seeded by splitmix64 --------------------------===*
 * Our own generator, so that a seed means the same weights and batches on
 * every platform and libc.
 *===----------------------------------------------------------------------===*/
#include "kiln/runtime.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void kiln_rng_seed(kiln_rng *r, uint64_t seed) {
  for (int i = 0; i < 4; ++i)
    r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t kiln_rng_next(kiln_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double kiln_rng_uniform(kiln_rng *r) { return (double)(kiln_rng_next(r) >> 11) * 0x1.0p-53; }

double kiln_rng_normal(kiln_rng *r) {
  double u1 = kiln_rng_uniform(r), u2 = kiln_rng_uniform(r);
  return sqrt(-2.0 * log(1.0 - u1)) * cos(6.283185307179586 * u2);
}

void kiln_shuffle(int64_t *idx, int64_t n, uint64_t seed) {
  kiln_rng r;
  kiln_rng_seed(&r, seed);
  for (int64_t i = n - 1; i > 0; --i) {
    int64_t j = (int64_t)(kiln_rng_next(&r) % (uint64_t)(i + 1));
    int64_t t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
}
