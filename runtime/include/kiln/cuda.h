/*===- kiln/cuda.h - CUDA driver API, loaded at run time ------------------===*
 * libcuda.so.1 is opened with dlopen, so binaries run (and fail cleanly) on
 * machines without a driver or a device. All functions return 0 or -1 with
 * kiln_error() set.
 *===----------------------------------------------------------------------===*/
#ifndef KILN_CUDA_H
#define KILN_CUDA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kiln_cuda kiln_cuda;
typedef uint64_t kiln_device_ptr;

/* Opens the driver (libcuda.so.1, or the library KILN_CUDA_DRIVER names)
 * and device `ordinal`; fails with "no CUDA driver" or "no CUDA device"
 * where there is none. */
int kiln_cuda_open(int ordinal, kiln_cuda **out);
void kiln_cuda_close(kiln_cuda *c);
/* Makes the device's context current on this thread until kiln_cuda_leave
 * (which restores the previous one); the calls below need it. */
int kiln_cuda_enter(kiln_cuda *c);
void kiln_cuda_leave(kiln_cuda *c);
const char *kiln_cuda_device_name(const kiln_cuda *c);

/* Loads PTX text (JIT-compiled by the driver for this device). */
int kiln_cuda_load_ptx(kiln_cuda *c, const char *ptx, void **module);
int kiln_cuda_unload(kiln_cuda *c, void *module);
int kiln_cuda_function(kiln_cuda *c, void *module, const char *name, void **function);
int kiln_cuda_alloc(kiln_cuda *c, size_t bytes, kiln_device_ptr *out);
int kiln_cuda_free(kiln_cuda *c, kiln_device_ptr p);
/* Page-locked host memory: a copy to the device from it runs on the stream
 * without the host waiting, so the source must stay as it is until the copy
 * is done (an event recorded after it). */
int kiln_cuda_alloc_pinned(kiln_cuda *c, size_t bytes, void **out);
void kiln_cuda_free_pinned(kiln_cuda *c, void *p);
/* Copies and launches run in call order on the instance's stream. A copy to
 * the device and a launch return without waiting for the device (a pageable
 * source may be reused at once, a pinned one once the copy is done); a copy
 * to the host returns when it is done, so after everything before it. */
int kiln_cuda_to_device(kiln_cuda *c, kiln_device_ptr dst, const void *src, size_t bytes);
int kiln_cuda_to_host(kiln_cuda *c, void *dst, kiln_device_ptr src, size_t bytes);
/* `name` is the kernel's, for the error message. */
int kiln_cuda_launch(kiln_cuda *c, void *function, const unsigned grid[3], const unsigned block[3],
                     void **params, const char *name);
/* Waits until everything queued so far is done. */
int kiln_cuda_synchronize(kiln_cuda *c);
/* Events mark a point of the stream; the device's time between two. */
int kiln_cuda_event_create(kiln_cuda *c, void **event);
void kiln_cuda_event_destroy(kiln_cuda *c, void *event);
int kiln_cuda_event_record(kiln_cuda *c, void *event);
/* Waits until the work before the event's last record is done (at once if
 * it was never recorded). */
int kiln_cuda_event_wait(kiln_cuda *c, void *event);
/* Waits for `end`, then the milliseconds between `start` and `end`. */
int kiln_cuda_elapsed_ms(kiln_cuda *c, void *start, void *end, float *ms);
/* A device-to-device copy on the stream (returns without waiting). */
int kiln_cuda_copy_on_device(kiln_cuda *c, kiln_device_ptr dst, kiln_device_ptr src, size_t bytes);

/* CUDA graphs: the launches made between capture_begin and capture_end are
 * recorded (not run) and become one executable graph, which graph_launch
 * queues on the stream as a whole: one call instead of one per kernel.
 * has_graphs is 0 where the driver lacks them (before CUDA 11.4). */
int kiln_cuda_has_graphs(const kiln_cuda *c);
int kiln_cuda_capture_begin(kiln_cuda *c);
/* Ends the capture; with `keep` instantiates what it recorded into `*exec`,
 * else discards it (a launch failed while capturing). Fails if the capture
 * could not be ended or instantiated; nothing recorded has run. */
int kiln_cuda_capture_end(kiln_cuda *c, int keep, void **exec);
int kiln_cuda_graph_launch(kiln_cuda *c, void *exec);
void kiln_cuda_graph_destroy(kiln_cuda *c, void *exec);

#ifdef __cplusplus
}
#endif

#endif /* KILN_CUDA_H */
