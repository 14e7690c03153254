/*===- error.c - Per-thread error messages --------------------------------===*/
#include "kiln/runtime.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char message[1024];

const char *kiln_error(void) { return message; }

void kiln_clear_error(void) { message[0] = '\0'; }

/* Formatted apart first: callers may pass kiln_error() itself as an
 * argument, to wrap the message they got in context. */
int kiln_fail(const char *fmt, ...) {
  char formatted[sizeof message];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(formatted, sizeof formatted, fmt, ap);
  va_end(ap);
  memcpy(message, formatted, sizeof message);
  return -1;
}
