/*===- progress.c - Progress bar on a terminal, plain lines otherwise -----===*/
#include "kiln/runtime.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

double kiln_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void kiln_progress_start(kiln_progress *p, const char *label, int64_t total) {
  p->label = label;
  p->total = total;
  p->done = 0;
  p->start = kiln_now();
  p->last_draw = 0;
  p->tty = isatty(fileno(stderr));
}

static void draw(kiln_progress *p, float loss, int final) {
  double elapsed = kiln_now() - p->start;
  double rate = elapsed > 0 ? (double)p->done / elapsed : 0;
  double eta = rate > 0 ? (double)(p->total - p->done) / rate : 0;
  if (p->tty) {
    int width = 30, filled = p->total ? (int)(width * p->done / p->total) : width;
    fprintf(stderr, "\r%s [", p->label);
    for (int i = 0; i < width; ++i)
      fputc(i < filled ? '#' : '.', stderr);
    fprintf(stderr, "] %lld/%lld loss %.4f  %.0f samples/s  ETA %.0fs ", (long long)p->done,
            (long long)p->total, loss, rate, eta);
    if (final)
      fputc('\n', stderr);
  } else if (final) {
    fprintf(stderr, "%s %lld/%lld loss %.4f  %.0f samples/s  %.1fs\n", p->label,
            (long long)p->done, (long long)p->total, loss, rate, elapsed);
  }
  fflush(stderr);
}

void kiln_progress_update(kiln_progress *p, int64_t done, float loss) {
  p->done = done;
  double now = kiln_now();
  if (p->tty && now - p->last_draw > 0.1) {
    p->last_draw = now;
    draw(p, loss, 0);
  }
}

void kiln_progress_finish(kiln_progress *p, float loss) { draw(p, loss, 1); }
