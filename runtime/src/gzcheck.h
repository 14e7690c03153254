/*===- gzcheck.h - How a zlib read of a data file ended -------------------===*
 * zlib reads a truncated or corrupt gzip file as a shorter one unless asked:
 * every loader asks once it has read what it needs.
 *===----------------------------------------------------------------------===*/
#ifndef KILN_RUNTIME_GZCHECK_H
#define KILN_RUNTIME_GZCHECK_H

#include "kiln/runtime.h"

#include <zlib.h>

/* 0, or an error naming `path` if the gzip stream was cut short or corrupt
 * (gzerror's own text repeats the path, so it is not used). */
static inline int kiln_gz_check(gzFile f, const char *path) {
  int err;
  const char *msg = gzerror(f, &err);
  switch (err) {
  case Z_OK:
    return 0;
  case Z_BUF_ERROR:
    return kiln_fail("%s: the gzip data ends early (a truncated file)", path);
  case Z_DATA_ERROR:
    return kiln_fail("%s: corrupt gzip data", path);
  default:
    return kiln_fail("%s: read error: %s", path, msg);
  }
}

#endif // KILN_RUNTIME_GZCHECK_H
