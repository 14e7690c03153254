/*===- checkpoint.c - safetensors checkpoints ------------------------------===*
 * Parameters and optimizer state as F32 tensors named as in the model, plus
 * metadata (model name, architecture hash). Written to a temporary file,
 * fsync'ed and renamed, so a crash never leaves a half-written checkpoint.
 * Loading validates every header field before trusting it.
 *===----------------------------------------------------------------------===*/
#include "kiln/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_HEADER (64u << 20)

static int write_all(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

typedef struct strbuf {
  char *s;
  size_t len, cap;
} strbuf;

static void sb_add(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#include <stdarg.h>
static void sb_add(strbuf *b, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (n >= 0 && b->s && b->len + (size_t)n < b->cap) {
      b->len += (size_t)n;
      return;
    }
    size_t cap = b->cap ? b->cap * 2 : 4096;
    while (cap < b->len + (size_t)n + 1)
      cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s)
      abort(); /* a few KB of header: out of memory here is unrecoverable */
    b->s = s;
    b->cap = cap;
  }
}

static void header_tensor(strbuf *b, const kiln_tensor_info *t, size_t *offset) {
  sb_add(b, ",\"%s\":{\"dtype\":\"F32\",\"shape\":[", t->name);
  for (int64_t d = 0; d < t->rank; ++d)
    sb_add(b, "%s%lld", d ? "," : "", (long long)t->shape[d]);
  size_t bytes = (size_t)t->numel * sizeof(float);
  sb_add(b, "],\"data_offsets\":[%zu,%zu]}", *offset, *offset + bytes);
  *offset += bytes;
}

int kiln_checkpoint_save(const kiln_state *s, const char *path) {
  const kiln_model *m = s->model;
  strbuf h = {0};
  sb_add(&h,
         "{\"__metadata__\":{\"format\":\"pt\",\"kiln_model\":\"%s\",\"kiln_arch_hash\":\"%016llx\","
         "\"kiln_epochs_done\":\"%lld\"}",
         m->name, (unsigned long long)m->arch_hash, (long long)s->epochs_done);
  size_t offset = 0;
  for (int64_t i = 0; i < m->num_params; ++i)
    header_tensor(&h, &m->params[i], &offset);
  for (int64_t i = 0; i < m->num_state; ++i)
    header_tensor(&h, &m->state[i], &offset);
  sb_add(&h, "}");
  while (h.len % 8)
    sb_add(&h, " ");

  size_t plen = strlen(path);
  char *tmp = malloc(plen + 16);
  if (!tmp) {
    free(h.s);
    return kiln_fail("out of memory");
  }
  snprintf(tmp, plen + 16, "%s.tmp.%d", path, (int)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int rc = 0;
  if (fd < 0) {
    rc = kiln_fail("%s: cannot create: %s", tmp, strerror(errno));
  } else {
    unsigned char len8[8];
    for (int i = 0; i < 8; ++i)
      len8[i] = (unsigned char)((uint64_t)h.len >> (8 * i));
    int bad = write_all(fd, len8, 8) || write_all(fd, h.s, h.len);
    for (int64_t i = 0; !bad && i < m->num_params; ++i)
      bad = write_all(fd, s->params + m->params[i].offset, (size_t)m->params[i].numel * sizeof(float));
    for (int64_t i = 0; !bad && i < m->num_state; ++i)
      bad = write_all(fd, s->state + m->state[i].offset, (size_t)m->state[i].numel * sizeof(float));
    if (bad || fsync(fd) != 0)
      rc = kiln_fail("%s: write failed: %s", tmp, strerror(errno));
    if (close(fd) != 0 && rc == 0)
      rc = kiln_fail("%s: close failed: %s", tmp, strerror(errno));
    if (rc == 0 && rename(tmp, path) != 0)
      rc = kiln_fail("%s: cannot rename to %s: %s", tmp, path, strerror(errno));
    if (rc != 0)
      unlink(tmp);
  }
  free(tmp);
  free(h.s);
  return rc;
}

/* --- A strict reader for the safetensors JSON header ---------------------- */

typedef struct cursor {
  const char *p, *end, *path;
} cursor;

static void ws(cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\t' || *c->p == '\r'))
    ++c->p;
}
static int expect_char(cursor *c, char ch) {
  ws(c);
  if (c->p >= c->end || *c->p != ch)
    return kiln_fail("%s: corrupt checkpoint header: expected '%c' at byte %ld", c->path, ch,
                     (long)(c->p - (c->end - 0)));
  ++c->p;
  return 0;
}
static int peek_char(cursor *c, char ch) {
  ws(c);
  return c->p < c->end && *c->p == ch;
}
/* Reads a string without escapes (Kiln writes none; others are rejected). */
static int read_string(cursor *c, char *out, size_t cap) {
  if (expect_char(c, '"'))
    return -1;
  size_t n = 0;
  while (c->p < c->end && *c->p != '"') {
    if (*c->p == '\\' || n + 1 >= cap)
      return kiln_fail("%s: corrupt checkpoint header: unsupported or overlong string", c->path);
    out[n++] = *c->p++;
  }
  out[n] = 0;
  return expect_char(c, '"');
}
static int read_uint(cursor *c, uint64_t *v) {
  ws(c);
  if (c->p >= c->end || *c->p < '0' || *c->p > '9')
    return kiln_fail("%s: corrupt checkpoint header: expected a number", c->path);
  uint64_t x = 0;
  while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
    if (x > (UINT64_MAX - 9) / 10)
      return kiln_fail("%s: corrupt checkpoint header: number too large", c->path);
    x = x * 10 + (uint64_t)(*c->p++ - '0');
  }
  *v = x;
  return 0;
}
static int read_uint_list(cursor *c, uint64_t *out, int cap, int *count) {
  if (expect_char(c, '['))
    return -1;
  *count = 0;
  if (peek_char(c, ']'))
    return expect_char(c, ']');
  for (;;) {
    if (*count >= cap)
      return kiln_fail("%s: corrupt checkpoint header: list too long", c->path);
    if (read_uint(c, &out[(*count)++]))
      return -1;
    if (peek_char(c, ','))
      ++c->p;
    else
      return expect_char(c, ']');
  }
}

typedef struct entry {
  char name[256], dtype[16];
  uint64_t shape[8], offsets[2];
  int rank, found;
} entry;

static int read_entry(cursor *c, entry *e) {
  if (expect_char(c, '{'))
    return -1;
  int seen = 0;
  while (!peek_char(c, '}')) {
    char key[64];
    int n;
    if (read_string(c, key, sizeof key) || expect_char(c, ':'))
      return -1;
    if (strcmp(key, "dtype") == 0) {
      if (read_string(c, e->dtype, sizeof e->dtype)) return -1;
      seen |= 1;
    } else if (strcmp(key, "shape") == 0) {
      if (read_uint_list(c, e->shape, 8, &e->rank)) return -1;
      seen |= 2;
    } else if (strcmp(key, "data_offsets") == 0) {
      if (read_uint_list(c, e->offsets, 2, &n)) return -1;
      if (n != 2) return kiln_fail("%s: corrupt checkpoint header: bad data_offsets", c->path);
      seen |= 4;
    } else {
      return kiln_fail("%s: corrupt checkpoint header: unknown field '%s'", c->path, key);
    }
    if (peek_char(c, ','))
      ++c->p;
  }
  ++c->p;
  if (seen != 7)
    return kiln_fail("%s: corrupt checkpoint header: tensor '%s' lacks dtype, shape or offsets",
                     c->path, e->name);
  return 0;
}

static int skip_metadata(cursor *c, char *model, size_t cap, char *hash, size_t hcap,
                         int64_t *epochs) {
  if (expect_char(c, '{'))
    return -1;
  model[0] = hash[0] = 0;
  *epochs = 0;
  while (!peek_char(c, '}')) {
    char key[64], value[256];
    if (read_string(c, key, sizeof key) || expect_char(c, ':') || read_string(c, value, sizeof value))
      return -1;
    if (strcmp(key, "kiln_model") == 0)
      snprintf(model, cap, "%s", value);
    if (strcmp(key, "kiln_arch_hash") == 0)
      snprintf(hash, hcap, "%s", value);
    if (strcmp(key, "kiln_epochs_done") == 0) {
      char *end;
      long long e = strtoll(value, &end, 10);
      if (!*value || *end || e < 0)
        return kiln_fail("%s: corrupt checkpoint header: bad kiln_epochs_done '%s'", c->path, value);
      *epochs = e;
    }
    if (peek_char(c, ','))
      ++c->p;
  }
  ++c->p;
  return 0;
}

static int check_tensor(const char *path, const entry *e, const kiln_tensor_info *t,
                        uint64_t dataBytes) {
  if (strcmp(e->dtype, "F32") != 0)
    return kiln_fail("%s: tensor '%s' has dtype %s, expected F32", path, t->name, e->dtype);
  int ok = e->rank == t->rank;
  for (int d = 0; ok && d < e->rank; ++d)
    ok = e->shape[d] == (uint64_t)t->shape[d];
  if (!ok)
    return kiln_fail("%s: tensor '%s' has a different shape than the model's", path, t->name);
  if (e->offsets[1] < e->offsets[0] || e->offsets[1] > dataBytes ||
      e->offsets[1] - e->offsets[0] != (uint64_t)t->numel * sizeof(float))
    return kiln_fail("%s: tensor '%s' has data offsets outside the file or of the wrong size", path,
                     t->name);
  return 0;
}

int kiln_checkpoint_load(kiln_state *s, const char *path) {
  const kiln_model *m = s->model;
  FILE *f = fopen(path, "rb");
  if (!f)
    return kiln_fail("%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  unsigned char len8[8];
  int rc = 0;
  char *header = NULL, *data = NULL;
  entry *entries = NULL;
  int64_t total = m->num_params + m->num_state;
  uint64_t hlen = 0, dataBytes = 0;
  if (fstat(fileno(f), &st) != 0 || fread(len8, 1, 8, f) != 8)
    rc = kiln_fail("%s: not a safetensors file (shorter than 8 bytes)", path);
  if (rc == 0) {
    for (int i = 0; i < 8; ++i)
      hlen |= (uint64_t)len8[i] << (8 * i);
    if (hlen == 0 || hlen > MAX_HEADER || hlen + 8 > (uint64_t)st.st_size)
      rc = kiln_fail("%s: corrupt checkpoint: header length %llu does not fit a %lld-byte file", path,
                     (unsigned long long)hlen, (long long)st.st_size);
  }
  if (rc == 0) {
    dataBytes = (uint64_t)st.st_size - 8 - hlen;
    header = malloc(hlen);
    data = malloc(dataBytes ? dataBytes : 1);
    entries = calloc((size_t)(total ? total : 1), sizeof(entry));
    if (!header || !data || !entries)
      rc = kiln_fail("%s: out of memory", path);
    else if (fread(header, 1, hlen, f) != hlen || fread(data, 1, dataBytes, f) != dataBytes)
      rc = kiln_fail("%s: read error", path);
  }
  char model[256] = "", hash[64] = "";
  int64_t epochs = 0;
  if (rc == 0) {
    cursor c = {header, header + hlen, path};
    rc = expect_char(&c, '{');
    while (rc == 0 && !peek_char(&c, '}')) {
      char key[256];
      if ((rc = read_string(&c, key, sizeof key)) || (rc = expect_char(&c, ':')))
        break;
      if (strcmp(key, "__metadata__") == 0) {
        rc = skip_metadata(&c, model, sizeof model, hash, sizeof hash, &epochs);
      } else {
        entry e = {0};
        snprintf(e.name, sizeof e.name, "%s", key);
        if ((rc = read_entry(&c, &e)))
          break;
        for (int64_t i = 0; i < total; ++i) {
          const kiln_tensor_info *t = i < m->num_params ? &m->params[i] : &m->state[i - m->num_params];
          if (strcmp(t->name, e.name) == 0) {
            entries[i] = e;
            entries[i].found = 1;
          }
        }
      }
      if (rc == 0 && peek_char(&c, ','))
        ++c.p;
    }
    if (rc == 0)
      rc = expect_char(&c, '}');
  }
  if (rc == 0 && model[0] && strcmp(model, m->name) != 0)
    rc = kiln_fail("%s: checkpoint of model '%s', not '%s'", path, model, m->name);
  for (int64_t i = 0; rc == 0 && i < total; ++i) {
    const kiln_tensor_info *t = i < m->num_params ? &m->params[i] : &m->state[i - m->num_params];
    if (!entries[i].found)
      rc = kiln_fail("%s: checkpoint has no tensor '%s'", path, t->name);
    else
      rc = check_tensor(path, &entries[i], t, dataBytes);
  }
  if (rc == 0)
    s->epochs_done = epochs;
  for (int64_t i = 0; rc == 0 && i < total; ++i) {
    int param = i < m->num_params;
    const kiln_tensor_info *t = param ? &m->params[i] : &m->state[i - m->num_params];
    memcpy((param ? s->params : s->state) + t->offset, data + entries[i].offsets[0],
           (size_t)t->numel * sizeof(float));
  }
  free(header);
  free(data);
  free(entries);
  fclose(f);
  return rc;
}
