/*===- cuda.c - CUDA driver API through dlopen ----------------------------===*
 * Only the few driver entry points Kiln uses, declared here with their ABI
 * types so the runtime builds without CUDA headers. cuDevicePrimaryCtxRetain
 * is used because context creation was renamed across CUDA versions.
 * Every copy and launch goes on one non-blocking stream of the instance's
 * own, in order: the host returns from a launch (and from a copy in, whose
 * pageable source the driver stages before returning) while the device
 * works, waits only where it reads results back, and never serialises with
 * an application's work on the context's other streams.
 *===----------------------------------------------------------------------===*/
#include "kiln/cuda.h"
#include "kiln/runtime.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

typedef int CUresult;
typedef int CUdevice;
typedef void *CUcontext, *CUmodule, *CUfunction, *CUstream, *CUevent, *CUgraph, *CUgraphExec;
typedef unsigned long long CUdeviceptr;

struct kiln_cuda {
  void *lib;
  CUdevice device;
  CUcontext context;
  CUstream stream;
  char name[256];
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDeviceGetCount)(int *);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDeviceGetName)(char *, int, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuDevicePrimaryCtxRelease)(CUdevice);
  CUresult (*cuCtxPushCurrent)(CUcontext);
  CUresult (*cuCtxPopCurrent)(CUcontext *);
  CUresult (*cuStreamCreate)(CUstream *, unsigned);
  CUresult (*cuStreamDestroy)(CUstream);
  CUresult (*cuStreamSynchronize)(CUstream);
  CUresult (*cuModuleLoadData)(CUmodule *, const void *);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemHostAlloc)(void **, size_t, unsigned);
  CUresult (*cuMemFreeHost)(void *);
  CUresult (*cuMemcpyHtoDAsync)(CUdeviceptr, const void *, size_t, CUstream);
  CUresult (*cuMemcpyDtoHAsync)(void *, CUdeviceptr, size_t, CUstream);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, CUstream, void **, void **);
  CUresult (*cuEventCreate)(CUevent *, unsigned);
  CUresult (*cuEventDestroy)(CUevent);
  CUresult (*cuEventRecord)(CUevent, CUstream);
  CUresult (*cuEventSynchronize)(CUevent);
  CUresult (*cuEventElapsedTime)(float *, CUevent, CUevent);
  CUresult (*cuGetErrorString)(CUresult, const char **);
  /* Optional: graphs (CUDA 11.4 and later). */
  int graphs_missing;
  CUresult (*cuMemcpyDtoDAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
  CUresult (*cuStreamBeginCapture)(CUstream, int);
  CUresult (*cuStreamEndCapture)(CUstream, CUgraph *);
  CUresult (*cuGraphInstantiateWithFlags)(CUgraphExec *, CUgraph, unsigned long long);
  CUresult (*cuGraphLaunch)(CUgraphExec, CUstream);
  CUresult (*cuGraphExecDestroy)(CUgraphExec);
  CUresult (*cuGraphDestroy)(CUgraph);
};

static int check(kiln_cuda *c, CUresult r, const char *what) {
  if (r == 0)
    return 0;
  const char *msg = NULL;
  if (c->cuGetErrorString)
    c->cuGetErrorString(r, &msg);
  return kiln_fail("CUDA %s failed: %s (error %d)", what, msg ? msg : "unknown error", r);
}

int kiln_cuda_open(int ordinal, kiln_cuda **out) {
  *out = NULL;
  /* KILN_CUDA_DRIVER names another driver library (the tests' fake one). */
  const char *path = getenv("KILN_CUDA_DRIVER");
  if (!path || !*path)
    path = "libcuda.so.1";
  void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    return kiln_fail("no CUDA driver: %s cannot be loaded on this machine", path);
  kiln_cuda *c = calloc(1, sizeof *c);
  if (!c) {
    dlclose(lib);
    return kiln_fail("out of memory");
  }
  c->lib = lib;
  /* Optional entries (graphs, CUDA 11.4 and later) may be missing. */
  struct { void **slot; const char *name; int optional; } syms[] = {
      {(void **)&c->cuInit, "cuInit", 0},
      {(void **)&c->cuDeviceGetCount, "cuDeviceGetCount", 0},
      {(void **)&c->cuDeviceGet, "cuDeviceGet", 0},
      {(void **)&c->cuDeviceGetName, "cuDeviceGetName", 0},
      {(void **)&c->cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain", 0},
      {(void **)&c->cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2", 0},
      {(void **)&c->cuCtxPushCurrent, "cuCtxPushCurrent_v2", 0},
      {(void **)&c->cuCtxPopCurrent, "cuCtxPopCurrent_v2", 0},
      {(void **)&c->cuStreamCreate, "cuStreamCreate", 0},
      {(void **)&c->cuStreamDestroy, "cuStreamDestroy_v2", 0},
      {(void **)&c->cuStreamSynchronize, "cuStreamSynchronize", 0},
      {(void **)&c->cuModuleLoadData, "cuModuleLoadData", 0},
      {(void **)&c->cuModuleGetFunction, "cuModuleGetFunction", 0},
      {(void **)&c->cuModuleUnload, "cuModuleUnload", 0},
      {(void **)&c->cuMemAlloc, "cuMemAlloc_v2", 0},
      {(void **)&c->cuMemFree, "cuMemFree_v2", 0},
      {(void **)&c->cuMemHostAlloc, "cuMemHostAlloc", 0},
      {(void **)&c->cuMemFreeHost, "cuMemFreeHost", 0},
      {(void **)&c->cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2", 0},
      {(void **)&c->cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2", 0},
      {(void **)&c->cuLaunchKernel, "cuLaunchKernel", 0},
      {(void **)&c->cuEventCreate, "cuEventCreate", 0},
      {(void **)&c->cuEventDestroy, "cuEventDestroy_v2", 0},
      {(void **)&c->cuEventRecord, "cuEventRecord", 0},
      {(void **)&c->cuEventSynchronize, "cuEventSynchronize", 0},
      {(void **)&c->cuEventElapsedTime, "cuEventElapsedTime", 0},
      {(void **)&c->cuGetErrorString, "cuGetErrorString", 0},
      {(void **)&c->cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2", 1},
      {(void **)&c->cuStreamBeginCapture, "cuStreamBeginCapture_v2", 1},
      {(void **)&c->cuStreamEndCapture, "cuStreamEndCapture", 1},
      {(void **)&c->cuGraphInstantiateWithFlags, "cuGraphInstantiateWithFlags", 1},
      {(void **)&c->cuGraphLaunch, "cuGraphLaunch", 1},
      {(void **)&c->cuGraphExecDestroy, "cuGraphExecDestroy", 1},
      {(void **)&c->cuGraphDestroy, "cuGraphDestroy", 1},
  };
  for (size_t i = 0; i < sizeof syms / sizeof syms[0]; ++i) {
    *syms[i].slot = dlsym(lib, syms[i].name);
    c->graphs_missing |= !*syms[i].slot;
    if (!*syms[i].slot && !syms[i].optional) {
      kiln_cuda_close(c);
      return kiln_fail("the CUDA driver lacks %s; it is too old", syms[i].name);
    }
  }
  int count = 0;
  CUresult init = c->cuInit(0);
  if (init == 100 /* CUDA_ERROR_NO_DEVICE */ ||
      (init == 0 && (c->cuDeviceGetCount(&count) != 0 || count == 0))) {
    kiln_cuda_close(c);
    return kiln_fail("no CUDA device: the driver is installed but reports no usable GPU");
  }
  if (init != 0) { /* e.g. a driver too old for this PTX's CUDA version */
    check(c, init, "cuInit");
    kiln_cuda_close(c);
    return -1;
  }
  if (ordinal < 0 || ordinal >= count) {
    kiln_cuda_close(c);
    return kiln_fail("CUDA device %d does not exist (%d present)", ordinal, count);
  }
  if (check(c, c->cuDeviceGet(&c->device, ordinal), "cuDeviceGet") ||
      check(c, c->cuDevicePrimaryCtxRetain(&c->context, c->device), "cuDevicePrimaryCtxRetain")) {
    kiln_cuda_close(c);
    return -1;
  }
  c->cuDeviceGetName(c->name, sizeof c->name, c->device);
  int entered = kiln_cuda_enter(c) == 0;
  int made = entered && check(c, c->cuStreamCreate(&c->stream, 1 /* CU_STREAM_NON_BLOCKING */),
                              "cuStreamCreate") == 0;
  if (entered)
    kiln_cuda_leave(c);
  if (!made) {
    kiln_cuda_close(c);
    return -1;
  }
  *out = c;
  return 0;
}

void kiln_cuda_close(kiln_cuda *c) {
  if (!c)
    return;
  /* Destroying a stream lets its queued work finish first. */
  if (c->stream && kiln_cuda_enter(c) == 0) {
    c->cuStreamDestroy(c->stream);
    kiln_cuda_leave(c);
  }
  if (c->context && c->cuDevicePrimaryCtxRelease)
    c->cuDevicePrimaryCtxRelease(c->device);
  /* libcuda stays loaded: the driver does not promise to survive being
   * unloaded and initialised again within one process. */
  free(c);
}

/* Every call into the driver runs with the instance's context pushed on the
 * calling thread and popped after, so any thread may use a model, models on
 * different devices mix, and the application's own current context (another
 * framework's) is untouched. */
int kiln_cuda_enter(kiln_cuda *c) {
  return check(c, c->cuCtxPushCurrent(c->context), "cuCtxPushCurrent");
}

void kiln_cuda_leave(kiln_cuda *c) {
  CUcontext popped;
  c->cuCtxPopCurrent(&popped);
}

const char *kiln_cuda_device_name(const kiln_cuda *c) { return c->name; }

int kiln_cuda_load_ptx(kiln_cuda *c, const char *ptx, void **module) {
  return check(c, c->cuModuleLoadData((CUmodule *)module, ptx), "cuModuleLoadData");
}

int kiln_cuda_unload(kiln_cuda *c, void *module) {
  return check(c, c->cuModuleUnload(module), "cuModuleUnload");
}

int kiln_cuda_function(kiln_cuda *c, void *module, const char *name, void **function) {
  CUresult r = c->cuModuleGetFunction((CUfunction *)function, module, name);
  return r ? kiln_fail("kernel '%s' is not in the module (CUDA error %d)", name, r) : 0;
}

int kiln_cuda_alloc(kiln_cuda *c, size_t bytes, kiln_device_ptr *out) {
  CUdeviceptr p = 0;
  if (check(c, c->cuMemAlloc(&p, bytes ? bytes : 1), "cuMemAlloc"))
    return -1;
  *out = p;
  return 0;
}

int kiln_cuda_free(kiln_cuda *c, kiln_device_ptr p) { return check(c, c->cuMemFree(p), "cuMemFree"); }

int kiln_cuda_alloc_pinned(kiln_cuda *c, size_t bytes, void **out) {
  *out = NULL;
  return check(c, c->cuMemHostAlloc(out, bytes ? bytes : 1, 0), "cuMemHostAlloc");
}

void kiln_cuda_free_pinned(kiln_cuda *c, void *p) {
  if (p)
    c->cuMemFreeHost(p);
}

/* From pageable memory the driver stages the source before returning, so the
 * caller may reuse it at once; the copy itself waits for the stream's
 * earlier work, which may still be reading the destination. */
int kiln_cuda_to_device(kiln_cuda *c, kiln_device_ptr dst, const void *src, size_t bytes) {
  return check(c, c->cuMemcpyHtoDAsync(dst, src, bytes, c->stream), "cuMemcpyHtoDAsync");
}

int kiln_cuda_to_host(kiln_cuda *c, void *dst, kiln_device_ptr src, size_t bytes) {
  return check(c, c->cuMemcpyDtoHAsync(dst, src, bytes, c->stream), "cuMemcpyDtoHAsync") ||
                 check(c, c->cuStreamSynchronize(c->stream), "cuStreamSynchronize")
             ? -1
             : 0;
}

int kiln_cuda_launch(kiln_cuda *c, void *function, const unsigned grid[3], const unsigned block[3],
                     void **params, const char *name) {
  CUresult r = c->cuLaunchKernel(function, grid[0], grid[1], grid[2], block[0], block[1], block[2],
                                 0, c->stream, params, NULL);
  if (r == 0)
    return 0;
  const char *msg = NULL;
  if (c->cuGetErrorString)
    c->cuGetErrorString(r, &msg);
  return kiln_fail("CUDA kernel '%s' failed to launch: %s (error %d)", name,
                   msg ? msg : "unknown error", r);
}

int kiln_cuda_synchronize(kiln_cuda *c) {
  return check(c, c->cuStreamSynchronize(c->stream), "cuStreamSynchronize");
}

int kiln_cuda_event_create(kiln_cuda *c, void **event) {
  return check(c, c->cuEventCreate((CUevent *)event, 0), "cuEventCreate");
}

void kiln_cuda_event_destroy(kiln_cuda *c, void *event) {
  if (event)
    c->cuEventDestroy(event);
}

int kiln_cuda_event_record(kiln_cuda *c, void *event) {
  return check(c, c->cuEventRecord(event, c->stream), "cuEventRecord");
}

int kiln_cuda_event_wait(kiln_cuda *c, void *event) {
  return check(c, c->cuEventSynchronize(event), "cuEventSynchronize");
}

int kiln_cuda_elapsed_ms(kiln_cuda *c, void *start, void *end, float *ms) {
  return kiln_cuda_event_wait(c, end) ||
                 check(c, c->cuEventElapsedTime(ms, start, end), "cuEventElapsedTime")
             ? -1
             : 0;
}

int kiln_cuda_copy_on_device(kiln_cuda *c, kiln_device_ptr dst, kiln_device_ptr src, size_t bytes) {
  if (!c->cuMemcpyDtoDAsync)
    return kiln_fail("the CUDA driver lacks cuMemcpyDtoDAsync_v2");
  return check(c, c->cuMemcpyDtoDAsync(dst, src, bytes, c->stream), "cuMemcpyDtoDAsync");
}

int kiln_cuda_has_graphs(const kiln_cuda *c) { return !c->graphs_missing; }

/* Thread-local mode: only this thread's calls that could not be captured
 * (a synchronisation, an allocation) break the capture; other threads'
 * models go on. */
int kiln_cuda_capture_begin(kiln_cuda *c) {
  return check(c, c->cuStreamBeginCapture(c->stream, 1 /* CU_STREAM_CAPTURE_MODE_THREAD_LOCAL */),
               "cuStreamBeginCapture");
}

int kiln_cuda_capture_end(kiln_cuda *c, int keep, void **exec) {
  CUgraph graph = NULL;
  *exec = NULL;
  CUresult r = c->cuStreamEndCapture(c->stream, &graph);
  if (r == 0 && keep)
    r = c->cuGraphInstantiateWithFlags((CUgraphExec *)exec, graph, 0);
  if (graph)
    c->cuGraphDestroy(graph); /* the executable graph is a copy */
  /* Discarding, an invalidated capture (901) is expected. */
  return keep || (r != 0 && r != 901) ? check(c, r, "graph capture") : 0;
}

int kiln_cuda_graph_launch(kiln_cuda *c, void *exec) {
  return check(c, c->cuGraphLaunch(exec, c->stream), "cuGraphLaunch");
}

void kiln_cuda_graph_destroy(kiln_cuda *c, void *exec) {
  if (exec)
    c->cuGraphExecDestroy(exec);
}
