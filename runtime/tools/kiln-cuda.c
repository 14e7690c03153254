/*===- kiln-cuda.c - Check a GPU and the PTX Kiln generates for it ---------===*
 * kiln-cuda probe           exit 0 if a CUDA device is usable, 2 if not
 * kiln-cuda load FILE.ptx   JIT-load the module and resolve every kernel
 * kiln-cuda axpy            copy, launch a tiny PTX kernel, check the result
 *===----------------------------------------------------------------------===*/
#include "kiln/cuda.h"
#include "kiln/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    kiln_fail("%s: cannot open", path);
    return NULL;
  }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
    fclose(f);
    free(buf);
    kiln_fail("%s: read error", path);
    return NULL;
  }
  buf[n] = 0;
  fclose(f);
  return buf;
}

/* y[i] = a * x[i] + y[i], for one block of 256 threads. */
static const char *kAxpy =
    ".version 8.0\n.target sm_80\n.address_size 64\n"
    ".visible .entry axpy(.param .f32 a, .param .u64 x, .param .u64 y) {\n"
    "  .reg .f32 %f<4>; .reg .b64 %rd<6>; .reg .b32 %r<2>;\n"
    "  ld.param.f32 %f1, [a]; ld.param.u64 %rd1, [x]; ld.param.u64 %rd2, [y];\n"
    "  mov.u32 %r1, %tid.x; mul.wide.u32 %rd3, %r1, 4;\n"
    "  add.s64 %rd4, %rd1, %rd3; add.s64 %rd5, %rd2, %rd3;\n"
    "  ld.global.f32 %f2, [%rd4]; ld.global.f32 %f3, [%rd5];\n"
    "  fma.rn.f32 %f3, %f1, %f2, %f3; st.global.f32 [%rd5], %f3; ret;\n}\n";

static int axpy(kiln_cuda *c) {
  void *module, *fn;
  float x[256], y[256], a = 2.0f;
  kiln_device_ptr dx, dy;
  for (int i = 0; i < 256; ++i) {
    x[i] = (float)i;
    y[i] = 1.0f;
  }
  if (kiln_cuda_load_ptx(c, kAxpy, &module) || kiln_cuda_function(c, module, "axpy", &fn) ||
      kiln_cuda_alloc(c, sizeof x, &dx) || kiln_cuda_alloc(c, sizeof y, &dy) ||
      kiln_cuda_to_device(c, dx, x, sizeof x) || kiln_cuda_to_device(c, dy, y, sizeof y))
    return -1;
  unsigned grid[3] = {1, 1, 1}, block[3] = {256, 1, 1};
  void *params[] = {&a, &dx, &dy};
  if (kiln_cuda_launch(c, fn, grid, block, params, "axpy") || kiln_cuda_synchronize(c) ||
      kiln_cuda_to_host(c, y, dy, sizeof y))
    return -1;
  for (int i = 0; i < 256; ++i)
    if (y[i] != 2.0f * (float)i + 1.0f)
      return kiln_fail("axpy: y[%d] = %g, expected %g", i, y[i], 2.0f * (float)i + 1.0f);
  kiln_cuda_free(c, dx);
  kiln_cuda_free(c, dy);
  printf("axpy ok\n");
  return 0;
}

static int load(kiln_cuda *c, const char *path) {
  char *ptx = read_file(path);
  void *module, *fn;
  if (!ptx || kiln_cuda_load_ptx(c, ptx, &module))
    return -1;
  int kernels = 0;
  for (const char *p = ptx; (p = strstr(p, ".entry ")) != NULL; ++kernels) {
    char name[256];
    p += 7;
    size_t n = strcspn(p, "( \n");
    snprintf(name, sizeof name, "%.*s", (int)(n < 255 ? n : 255), p);
    if (kiln_cuda_function(c, module, name, &fn))
      return -1;
  }
  free(ptx);
  if (kernels == 0)
    return kiln_fail("%s: the module has no kernels", path);
  printf("loaded %s: %d kernels\n", path, kernels);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2 || (strcmp(argv[1], "probe") && strcmp(argv[1], "axpy") &&
                   (strcmp(argv[1], "load") || argc < 3))) {
    fprintf(stderr, "usage: kiln-cuda probe | load FILE.ptx | axpy\n");
    return 1;
  }
  kiln_cuda *c;
  if (kiln_cuda_open(0, &c)) {
    fprintf(stderr, "kiln-cuda: %s\n", kiln_error());
    return 2;
  }
  printf("device: %s\n", kiln_cuda_device_name(c));
  int rc = kiln_cuda_enter(c);
  if (rc == 0 && !strcmp(argv[1], "load"))
    rc = load(c, argv[2]);
  else if (rc == 0 && !strcmp(argv[1], "axpy"))
    rc = axpy(c);
  kiln_cuda_leave(c);
  if (rc)
    fprintf(stderr, "kiln-cuda: error: %s\n", kiln_error());
  kiln_cuda_close(c);
  return rc ? 1 : 0;
}
