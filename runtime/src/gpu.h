/*===- gpu.h - A GPU build's model state on the device (internal) ---------===*
 * kilnc --target=cuda builds call the same kiln_state API; state.c hands
 * their steps to these functions, which keep the arenas on the device and
 * the host copies (checkpoints, initialisation) in step.
 *===----------------------------------------------------------------------===*/
#ifndef KILN_RUNTIME_GPU_H
#define KILN_RUNTIME_GPU_H

#include "kiln/runtime.h"

typedef struct kiln_gpu kiln_gpu;

/* Opens device `device`, loads the model's PTX, resolves every kernel and
 * allocates the device arenas and staging buffers; NULL with kiln_error()
 * set ("no CUDA driver", "no CUDA device", ...). */
kiln_gpu *kiln_gpu_create(const kiln_model *m, int device);
void kiln_gpu_destroy(kiln_gpu *g);
/* The host arenas changed (initialisation, a checkpoint loaded): the device
 * copies are replaced before the next step. */
void kiln_gpu_host_changed(kiln_gpu *g);
/* Brings the host arenas up to date with the device's (before a checkpoint
 * is saved or the arenas are inspected). */
int kiln_gpu_pull(const kiln_state *s);
/* Launches one training step whose loss goes to slot `slot` (below
 * KILN_QUEUE_STEPS) of the device's loss buffer; returns before it runs. */
int kiln_gpu_queue_step(kiln_state *s, const void *const *x, const void *y, int64_t slot);
/* Waits for the queued steps and copies the losses of slots [0, n) out. */
int kiln_gpu_take_losses(kiln_state *s, float *losses, int64_t n);
/* One call of predict (rows == batch) or, if `one`, predict_one (one row);
 * kiln_state_predict splits any row count into such calls. */
int kiln_gpu_predict(kiln_state *s, const void *const *x, int64_t rows, int one, float *out);

#endif /* KILN_RUNTIME_GPU_H */
