/*===- checkpoint.c - safetensors checkpoints ------------------------------===*
 * Parameters and optimizer state as F32 tensors named as in the model, the
 * standardisation statistics as F64, and metadata (model name, architecture
 * and its hash, epochs done and the steps and loss sum of a part-done epoch,
 * seed, test split, input scale). Written to a temporary file,
 * fsync'ed and renamed, so a crash never leaves a half-written checkpoint.
 * Loading validates every header field before trusting it.
 *===----------------------------------------------------------------------===*/
#include "kiln/runtime.h"
#include "gpu.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_HEADER (64u << 20)
#define MAX_META_VALUE (1u << 16) /* the longest metadata string, architecture included */

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

static void header_tensor(strbuf *b, const char *name, const char *dtype, const int64_t *shape,
                          int64_t rank, size_t bytes, size_t *offset) {
  sb_add(b, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", name, dtype);
  for (int64_t d = 0; d < rank; ++d)
    sb_add(b, "%s%lld", d ? "," : "", (long long)shape[d]);
  sb_add(b, "],\"data_offsets\":[%zu,%zu]}", *offset, *offset + bytes);
  *offset += bytes;
}

static void header_info(strbuf *b, const kiln_tensor_info *t, size_t *offset) {
  header_tensor(b, t->name, "F32", t->shape, t->rank, (size_t)t->numel * sizeof(float), offset);
}

/* Standardisation statistics, in double precision so that a reloaded model
 * preprocesses exactly as the one that was trained. The ':' cannot appear in
 * a model's tensor names. */
static const char *const kStatNames[2] = {"kiln:input_mean", "kiln:input_std"};

/* Kiln writes metadata strings without escapes; the reader rejects escapes. */
static int json_plain(const char *v) {
  for (; *v; ++v)
    if (*v == '"' || *v == '\\' || (unsigned char)*v < 0x20)
      return 0;
  return 1;
}

/* The directory part of `path` ("." for none), in `buf`. */
static const char *dir_of(const char *path, char *buf, size_t cap) {
  const char *slash = strrchr(path, '/');
  if (!slash)
    return ".";
  size_t n = slash == path ? 1 : (size_t)(slash - path);
  if (n >= cap)
    return NULL;
  memcpy(buf, path, n);
  buf[n] = '\0';
  return buf;
}

/* Once a save has landed: the rename made durable (the directory synced),
 * and temporary files that killed processes left beside `path`
 * ("<path>.tmp.<pid>" of a pid that no longer runs) removed. */
static void after_rename(const char *path) {
  char buf[4096];
  const char *dir = dir_of(path, buf, sizeof buf);
  if (!dir)
    return;
  int dfd = open(dir, O_RDONLY | O_DIRECTORY);
  if (dfd < 0)
    return;
  fsync(dfd);
  const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  size_t blen = strlen(base);
  DIR *d = fdopendir(dfd);
  if (!d) {
    close(dfd);
    return;
  }
  for (struct dirent *e; (e = readdir(d));) {
    const char *name = e->d_name;
    if (strncmp(name, base, blen) || strncmp(name + blen, ".tmp.", 5))
      continue;
    char *end;
    long pid = strtol(name + blen + 5, &end, 10);
    if (*end || pid <= 0 || pid == (long)getpid())
      continue;
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
      unlinkat(dirfd(d), name, 0);
  }
  closedir(d);
}

int kiln_checkpoint_save(const kiln_state *s, const char *path) {
  const kiln_model *m = s->model;
  const char *arch = m->architecture ? m->architecture : "";
  if (!json_plain(m->name) || !json_plain(arch) || strlen(arch) >= MAX_META_VALUE)
    return kiln_fail("%s: model name or architecture cannot be stored in a checkpoint header", path);
  /* A checkpoint must be loadable: a standardising model needs its statistics. */
  if (m->standardize && !s->standardization_ready)
    return kiln_fail("%s: model '%s' standardises its inputs, but no statistics were fitted "
                     "(call fit_preprocess first); not saved", path, m->name);
  /* A GPU build's trained arenas are on the device. */
  if (kiln_gpu_pull(s))
    return kiln_fail("%s: not saved: %s", path, kiln_error());
  int stats = m->standardize;
  strbuf h = {0};
  sb_add(&h,
         "{\"__metadata__\":{\"format\":\"pt\",\"kiln_model\":\"%s\",\"kiln_arch_hash\":\"%016llx\","
         "\"kiln_arch\":\"%s\",\"kiln_epochs_done\":\"%lld\",\"kiln_steps_done\":\"%lld\","
         "\"kiln_epoch_loss\":\"%.17g\",\"kiln_seed\":\"%llu\","
         "\"kiln_split\":\"%.17g\",\"kiln_scale\":\"%.17g\"}",
         m->name, (unsigned long long)m->arch_hash, arch, (long long)s->epochs_done,
         (long long)s->steps_done, s->epoch_loss, (unsigned long long)s->seed, s->split,
         kiln_model_scale(m));
  size_t offset = 0;
  for (int64_t i = 0; i < m->num_params; ++i)
    header_info(&h, &m->params[i], &offset);
  for (int64_t i = 0; i < m->num_state; ++i)
    header_info(&h, &m->state[i], &offset);
  for (int k = 0; stats && k < 2; ++k)
    header_tensor(&h, kStatNames[k], "F64", &m->input_numel, 1,
                  (size_t)m->input_numel * sizeof(double), &offset);
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
    const double *stat[2] = {s->input_mean, s->input_std};
    for (int k = 0; !bad && stats && k < 2; ++k)
      bad = write_all(fd, stat[k], (size_t)m->input_numel * sizeof(double));
    if (bad || fsync(fd) != 0)
      rc = kiln_fail("%s: write failed: %s", tmp, strerror(errno));
    if (close(fd) != 0 && rc == 0)
      rc = kiln_fail("%s: close failed: %s", tmp, strerror(errno));
    if (rc == 0 && rename(tmp, path) != 0)
      rc = kiln_fail("%s: cannot rename to %s: %s", tmp, path, strerror(errno));
    if (rc != 0)
      unlink(tmp);
    else
      after_rename(path);
  }
  free(tmp);
  free(h.s);
  return rc;
}

/* --- A strict reader for the safetensors JSON header ---------------------- */

typedef struct cursor {
  const char *p, *start, *end, *path;
} cursor;

static void ws(cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\t' || *c->p == '\r'))
    ++c->p;
}
static int expect_char(cursor *c, char ch) {
  ws(c);
  if (c->p >= c->end || *c->p != ch)
    return kiln_fail("%s: corrupt checkpoint header: expected '%c' at byte %ld", c->path, ch,
                     (long)(8 + (c->p - c->start)));
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

/* What the metadata says (the reader records which fields were present). */
typedef struct meta {
  char model[256], hash[64];
  char *arch; /* NULL when absent */
  int64_t epochs, steps; /* steps: within the next epoch (absent: 0) */
  double epoch_loss;
  int has_seed, has_split, has_scale, has_epochs;
  uint64_t seed;
  double split, scale;
} meta;


static int meta_number(const cursor *c, const char *key, const char *value, double *out) {
  char *end;
  *out = strtod(value, &end);
  if (!*value || *end || !isfinite(*out))
    return kiln_fail("%s: corrupt checkpoint header: bad %s '%s'", c->path, key, value);
  return 0;
}

static int meta_integer(const cursor *c, const char *key, const char *value, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(value, &end, 10);
  if (!*value || *end || *value == '-' || errno)
    return kiln_fail("%s: corrupt checkpoint header: bad %s '%s'", c->path, key, value);
  *out = v;
  return 0;
}

static int read_metadata(cursor *c, meta *md) {
  if (expect_char(c, '{'))
    return -1;
  char *value = malloc(MAX_META_VALUE);
  if (!value)
    return kiln_fail("%s: out of memory", c->path);
  int rc = 0;
  while (rc == 0 && !peek_char(c, '}')) {
    char key[64];
    if ((rc = read_string(c, key, sizeof key)) || (rc = expect_char(c, ':')) ||
        (rc = read_string(c, value, MAX_META_VALUE)))
      break;
    uint64_t u;
    if (strcmp(key, "kiln_model") == 0) {
      snprintf(md->model, sizeof md->model, "%s", value);
    } else if (strcmp(key, "kiln_arch_hash") == 0) {
      snprintf(md->hash, sizeof md->hash, "%s", value);
    } else if (strcmp(key, "kiln_arch") == 0) {
      free(md->arch);
      if (!(md->arch = strdup(value)))
        rc = kiln_fail("%s: out of memory", c->path);
    } else if (strcmp(key, "kiln_epochs_done") == 0) {
      /* Bounded so that resuming for more epochs cannot overflow. */
      if ((rc = meta_integer(c, key, value, &u)) == 0 && u > KILN_MAX_EPOCHS)
        rc = kiln_fail("%s: corrupt checkpoint header: bad %s '%s'", c->path, key, value);
      md->epochs = (int64_t)u;
      md->has_epochs = 1;
    } else if (strcmp(key, "kiln_steps_done") == 0) {
      if ((rc = meta_integer(c, key, value, &u)) == 0 && u > (1ull << 50))
        rc = kiln_fail("%s: corrupt checkpoint header: bad %s '%s'", c->path, key, value);
      md->steps = (int64_t)u;
    } else if (strcmp(key, "kiln_epoch_loss") == 0) {
      rc = meta_number(c, key, value, &md->epoch_loss);
    } else if (strcmp(key, "kiln_seed") == 0) {
      rc = meta_integer(c, key, value, &md->seed);
      md->has_seed = 1;
    } else if (strcmp(key, "kiln_split") == 0) {
      if ((rc = meta_number(c, key, value, &md->split)) == 0 && !(md->split >= 0 && md->split < 1))
        rc = kiln_fail("%s: corrupt checkpoint header: bad %s '%s'", c->path, key, value);
      md->has_split = 1;
    } else if (strcmp(key, "kiln_scale") == 0) {
      if ((rc = meta_number(c, key, value, &md->scale)) == 0 && md->scale == 0)
        rc = kiln_fail("%s: corrupt checkpoint header: bad %s '%s'", c->path, key, value);
      md->has_scale = 1;
    }
    if (rc == 0 && peek_char(c, ','))
      ++c->p;
  }
  free(value);
  if (rc == 0)
    ++c->p;
  return rc;
}

static int check_tensor(const char *path, const entry *e, const char *name, const char *dtype,
                        const int64_t *shape, int64_t rank, uint64_t bytes, uint64_t dataBytes) {
  if (strcmp(e->dtype, dtype) != 0)
    return kiln_fail("%s: tensor '%s' has dtype %s, expected %s", path, name, e->dtype, dtype);
  int ok = e->rank == rank;
  for (int d = 0; ok && d < e->rank; ++d)
    ok = e->shape[d] == (uint64_t)shape[d];
  if (!ok)
    return kiln_fail("%s: tensor '%s' has a different shape than the model's", path, name);
  if (e->offsets[1] < e->offsets[0] || e->offsets[1] > dataBytes ||
      e->offsets[1] - e->offsets[0] != bytes)
    return kiln_fail("%s: tensor '%s' has data offsets outside the file or of the wrong size", path,
                     name);
  return 0;
}

/* Steps past one "; "-separated line (and its separator, if any). */
static const char *next_line(const char *p, size_t len) {
  p += len;
  if (*p == ';')
    ++p;
  if (*p == ' ')
    ++p;
  return p;
}

/* Names the first line where two "; "-separated architectures differ. */
static int architecture_differs(const char *path, const char *theirs, const char *ours) {
  if (!theirs)
    return kiln_fail("%s: checkpoint written by an older Kiln (it does not record its "
                     "architecture); retrain or convert it", path);
  for (;;) {
    size_t a = strcspn(theirs, ";"), b = strcspn(ours, ";");
    if (!*theirs && !*ours)
      return kiln_fail("%s: checkpoint of the same architecture text but another hash: corrupt "
                       "metadata", path);
    if (!*theirs)
      return kiln_fail("%s: checkpoint of a different architecture: it lacks '%.*s'", path,
                       (int)b, ours);
    if (!*ours)
      return kiln_fail("%s: checkpoint of a different architecture: it has '%.*s', which this "
                       "model lacks", path, (int)a, theirs);
    if (a != b || strncmp(theirs, ours, a) != 0)
      return kiln_fail("%s: checkpoint of a different architecture: it has '%.*s' where this "
                       "model has '%.*s'", path, (int)a, theirs, (int)b, ours);
    theirs = next_line(theirs, a);
    ours = next_line(ours, b);
  }
}

/* Everything the metadata must agree on before any tensor is looked at. */
static int check_metadata(const char *path, const kiln_model *m, const meta *md) {
  if (md->model[0] && strcmp(md->model, m->name) != 0)
    return kiln_fail("%s: checkpoint of model '%s', not '%s'", path, md->model, m->name);
  if (!md->hash[0])
    return kiln_fail("%s: not a Kiln checkpoint: its metadata has no kiln_arch_hash", path);
  char ours[32];
  snprintf(ours, sizeof ours, "%016llx", (unsigned long long)m->arch_hash);
  if (strcmp(md->hash, ours) != 0)
    return architecture_differs(path, md->arch, m->architecture ? m->architecture : "");
  if (!md->has_seed || !md->has_split || !md->has_scale || !md->has_epochs)
    return kiln_fail("%s: corrupt checkpoint metadata: kiln_seed, kiln_split, kiln_scale and "
                     "kiln_epochs_done are required", path);
  double scale = kiln_model_scale(m);
  if (fabs(md->scale - scale) > 1e-12 * fabs(scale))
    return kiln_fail("%s: checkpoint was trained on inputs scaled by %g; this model scales them by %g",
                     path, md->scale, scale);
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
  /* Parameters, optimizer state, then the two standardisation statistics. */
  int64_t tensors = m->num_params + m->num_state, total = tensors + 2;
  uint64_t hlen = 0, dataBytes = 0;
  meta md = {0};
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
    entries = calloc((size_t)total, sizeof(entry));
    if (!header || !data || !entries)
      rc = kiln_fail("%s: out of memory", path);
    else if (fread(header, 1, hlen, f) != hlen || fread(data, 1, dataBytes, f) != dataBytes)
      rc = kiln_fail("%s: read error", path);
  }
  if (rc == 0) {
    cursor c = {header, header, header + hlen, path};
    rc = expect_char(&c, '{');
    while (rc == 0 && !peek_char(&c, '}')) {
      char key[256];
      if ((rc = read_string(&c, key, sizeof key)) || (rc = expect_char(&c, ':')))
        break;
      if (strcmp(key, "__metadata__") == 0) {
        rc = read_metadata(&c, &md);
      } else {
        entry e = {0};
        snprintf(e.name, sizeof e.name, "%s", key);
        if ((rc = read_entry(&c, &e)))
          break;
        for (int64_t i = 0; i < total; ++i) {
          const char *name = i < m->num_params ? m->params[i].name
                             : i < tensors     ? m->state[i - m->num_params].name
                                               : kStatNames[i - tensors];
          if (strcmp(name, e.name) == 0) {
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
  if (rc == 0)
    rc = check_metadata(path, m, &md);
  int stats = entries && entries[tensors].found;
  if (rc == 0 && m->standardize && !stats)
    rc = kiln_fail("%s: checkpoint has no standardisation statistics (%s), but model '%s' "
                   "standardises its inputs", path, kStatNames[0], m->name);
  if (rc == 0 && !m->standardize && stats)
    rc = kiln_fail("%s: checkpoint was trained on standardised inputs; model '%s' does not "
                   "standardise them", path, m->name);
  for (int64_t i = 0; rc == 0 && i < total; ++i) {
    if (i < tensors) {
      const kiln_tensor_info *t = i < m->num_params ? &m->params[i] : &m->state[i - m->num_params];
      if (!entries[i].found)
        rc = kiln_fail("%s: checkpoint has no tensor '%s'", path, t->name);
      else
        rc = check_tensor(path, &entries[i], t->name, "F32", t->shape, t->rank,
                          (uint64_t)t->numel * sizeof(float), dataBytes);
    } else if (stats) {
      if (!entries[i].found)
        rc = kiln_fail("%s: checkpoint has no tensor '%s'", path, kStatNames[i - tensors]);
      else
        rc = check_tensor(path, &entries[i], kStatNames[i - tensors], "F64", &m->input_numel, 1,
                          (uint64_t)m->input_numel * sizeof(double), dataBytes);
    }
  }
  for (int64_t j = 0; rc == 0 && stats && j < m->input_numel; ++j) {
    double mean, sd;
    memcpy(&mean, data + entries[tensors].offsets[0] + j * sizeof(double), sizeof mean);
    memcpy(&sd, data + entries[tensors + 1].offsets[0] + j * sizeof(double), sizeof sd);
    if (!isfinite(mean) || !isfinite(sd) || !(sd > 0))
      rc = kiln_fail("%s: corrupt standardisation statistics for input %lld (mean %g, std %g)", path,
                     (long long)j, mean, sd);
  }
  /* Valid throughout: only now does the state change. */
  if (rc == 0) {
    for (int64_t i = 0; i < tensors; ++i) {
      int param = i < m->num_params;
      const kiln_tensor_info *t = param ? &m->params[i] : &m->state[i - m->num_params];
      memcpy((param ? s->params : s->state) + t->offset, data + entries[i].offsets[0],
             (size_t)t->numel * sizeof(float));
    }
    double *stat[2] = {s->input_mean, s->input_std};
    for (int k = 0; stats && k < 2; ++k)
      memcpy(stat[k], data + entries[tensors + k].offsets[0], (size_t)m->input_numel * sizeof(double));
    s->standardization_ready = stats;
    s->epochs_done = md.epochs;
    s->steps_done = md.steps;
    s->epoch_loss = md.epoch_loss;
    s->seed = md.seed;
    s->split = md.split;
    if (s->gpu)
      kiln_gpu_host_changed(s->gpu);
  }
  free(md.arch);
  free(header);
  free(data);
  free(entries);
  fclose(f);
  return rc;
}
