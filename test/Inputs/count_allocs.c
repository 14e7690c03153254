/* Counts heap allocations of a whole process: LD_PRELOAD this library and
 * the malloc family is forwarded to glibc's, counting every call; at exit
 * the count is written to $KILN_ALLOC_COUNT_FILE. Used to show that a
 * training step allocates nothing: runs that differ only in their step
 * count must allocate the same number of times. */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static atomic_long count;

void *malloc(size_t n) {
  ++count;
  return __libc_malloc(n);
}
void *calloc(size_t n, size_t size) {
  ++count;
  return __libc_calloc(n, size);
}
void *realloc(void *p, size_t n) {
  ++count;
  return __libc_realloc(p, n);
}
void *memalign(size_t align, size_t n) {
  ++count;
  return __libc_memalign(align, n);
}
void *aligned_alloc(size_t align, size_t n) {
  ++count;
  return __libc_memalign(align, n);
}
int posix_memalign(void **out, size_t align, size_t n) {
  ++count;
  void *p = __libc_memalign(align, n);
  if (!p)
    return 12; /* ENOMEM */
  *out = p;
  return 0;
}

__attribute__((destructor)) static void report(void) {
  long n = count; /* before fopen allocates */
  const char *path = getenv("KILN_ALLOC_COUNT_FILE");
  if (!path)
    return;
  FILE *f = fopen(path, "w");
  if (f) {
    fprintf(f, "%ld\n", n);
    fclose(f);
  }
}
