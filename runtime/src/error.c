/*===- error.c - Per-thread error messages --------------------------------===*/
#include "kiln/runtime.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char message[1024];

const char *kiln_error(void) { return message; }

void kiln_clear_error(void) { message[0] = '\0'; }

int kiln_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  return -1;
}
