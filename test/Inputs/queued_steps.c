/* Queued steps (<model>_queue_step, <model>_take_losses) are the same
 * steps as <model>_train_step: two instances from the same weights, one
 * stepping, one queueing, must give bitwise the same losses in the same
 * order and predict the same at every point (predict sees queued steps
 * done); the queue's limits and misuse are refused with a message and
 * change nothing. Built against test/Runtime/queued-steps.test's model
 * `queued` (x: 4 floats, 3 classes), for the CPU or the GPU. */
#include "queued.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { B = QUEUED_BATCH, Q = QUEUED_QUEUE_STEPS, STEPS = 150 };

static float x[STEPS][B][QUEUED_INPUT_X_SIZE];
static int32_t y[STEPS][B];

static int same_predictions(queued *a, queued *b) {
  float pa[B][QUEUED_OUTPUT_SIZE], pb[B][QUEUED_OUTPUT_SIZE];
  return !queued_predict(a, &x[0][0][0], B, &pa[0][0]) &&
         !queued_predict(b, &x[0][0][0], B, &pb[0][0]) && !memcmp(pa, pb, sizeof pa);
}

int main(void) {
  for (int s = 0; s < STEPS; ++s)
    for (int i = 0; i < B; ++i) {
      for (int j = 0; j < QUEUED_INPUT_X_SIZE; ++j)
        x[s][i][j] = sinf((float)(s * 31 + i * 7 + j));
      y[s][i] = (s + i) % QUEUED_CLASSES;
    }
  queued *stepped = queued_create(), *queueing = queued_create();
  if (!stepped || !queueing) {
    printf("create failed: %s\n", queued_error());
    return 1;
  }
  queued_init(stepped, 5);
  queued_init(queueing, 5);
  float expected[STEPS], losses[Q], got[STEPS];
  int taken = 0, failures = 0, takes = 0;
  for (int s = 0; s < STEPS; ++s) {
    expected[s] = queued_train_step(stepped, &x[s][0][0], &y[s][0]);
    if (queued_queue_step(queueing, &x[s][0][0], &y[s][0])) {
      printf("step %d: queue_step failed: %s\n", s + 1, queued_error());
      return 1;
    }
    if (s + 1 == 10 && !same_predictions(stepped, queueing)) {
      printf("predict with 10 steps queued differs from 10 steps taken\n");
      ++failures;
    }
    if ((s + 1) % Q == 0) {
      /* Full: one more is refused, and so is train_step and a NULL buffer. */
      if (queued_queue_step(queueing, &x[s][0][0], &y[s][0]) == 0)
        printf("a step past the queue's %d was NOT refused\n", Q), ++failures;
      else if (takes == 0)
        printf("full queue: refused: %s\n", queued_error());
      if (!isnan(queued_train_step(queueing, &x[s][0][0], &y[s][0])))
        printf("train_step with steps queued was NOT refused\n"), ++failures;
      else if (takes == 0)
        printf("train_step while queued: refused: %s\n", queued_error());
      if (queued_take_losses(queueing, NULL) != -1)
        printf("take_losses into NULL was NOT refused\n"), ++failures;
      else if (takes == 0)
        printf("take_losses(NULL): refused: %s\n", queued_error());
    }
    if ((s + 1) % Q == 0 || s + 1 == STEPS) {
      int n = queued_take_losses(queueing, losses);
      if (n < 0) {
        printf("take_losses failed: %s\n", queued_error());
        return 1;
      }
      memcpy(got + taken, losses, (size_t)n * sizeof(float));
      taken += n;
      ++takes;
      if (queued_take_losses(queueing, losses) != 0)
        printf("a second take_losses found steps\n"), ++failures;
    }
  }
  printf("%d steps, losses taken %d times\n", taken, takes);
  for (int s = 0; s < STEPS && s < taken; ++s)
    if (memcmp(&got[s], &expected[s], sizeof(float))) {
      printf("step %d: queued loss %.9g, train_step's %.9g\n", s + 1, got[s], expected[s]);
      ++failures;
      break;
    }
  if (!same_predictions(stepped, queueing))
    printf("predictions differ after %d steps\n", STEPS), ++failures;
  for (int s = 0; s < STEPS; ++s)
    if (!isfinite(expected[s]) || (s > 0 && expected[s] == expected[0])) {
      printf("step %d: loss %g (not finite, or the first step's)\n", s + 1, expected[s]);
      ++failures;
      break;
    }
  printf("%s\n", failures ? "FAILED" : "queued steps match");
  queued_destroy(stepped);
  queued_destroy(queueing);
  return failures != 0 || taken != STEPS;
}
