/* Drives examples/word_language.kiln through its C API: each line of a file
 * becomes one row of character ids through word_language_encode, and the
 * predictions are printed as the driver's `predict --input` prints them.
 * A line the vocabulary cannot encode is reported and the program fails. */
#include "word_language.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { B = WORD_LANGUAGE_BATCH, L = WORD_LANGUAGE_INPUT_WORD_SIZE, C = WORD_LANGUAGE_CLASSES };

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s CHECKPOINT WORDS.txt\n", argv[0]);
    return 2;
  }
  word_language *m = word_language_create();
  FILE *f = fopen(argv[2], "r");
  if (!m || !f || word_language_load(m, argv[1])) {
    fprintf(stderr, "error: %s\n", f ? word_language_error() : "cannot open the words");
    return 1;
  }
  static int32_t ids[B][L];
  static float out[B][C];
  char line[256];
  int n = 0;
  while (n < B && fgets(line, sizeof line, f)) {
    if (line[0] == '\n')
      continue;
    if (word_language_encode(line, ids[n]) != 0) {
      fprintf(stderr, "error: %s\n", word_language_error());
      return 1;
    }
    ++n;
  }
  if (word_language_predict(m, &ids[0][0], n, &out[0][0]) != 0) {
    fprintf(stderr, "error: %s\n", word_language_error());
    return 1;
  }
  for (int i = 0; i < n; ++i) {
    int best = 0;
    double sum = 0;
    for (int c = 1; c < C; ++c)
      if (out[i][c] > out[i][best])
        best = c;
    for (int c = 0; c < C; ++c)
      sum += exp((double)out[i][c] - out[i][best]);
    printf("%d: class %d (p=%.4f)\n", i, best, 1.0 / sum);
  }
  word_language_destroy(m);
  return 0;
}
