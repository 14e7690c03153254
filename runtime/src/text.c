/*===- text.c - Lines of text files as sequences of character ids ---------===*
 * A text source is one file per class (label = the file's index). Each
 * non-empty line (ASCII blanks trimmed) is a sample: its characters (UTF-8)
 * become ids through the model's vocabulary (vocabulary[k] -> k + 1),
 * right-aligned in the model's one i32 input with 0 padding before them,
 * so a recurrent layer reads the word last. Bad text is an error naming the
 * file and the line, never a silently skipped or garbled sample.
 *===----------------------------------------------------------------------===*/
#include "kiln/runtime.h"
#include "gzcheck.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Decodes one UTF-8 character at s (n bytes left); 0 if invalid (overlong,
 * surrogate, beyond U+10FFFF or truncated). */
static int utf8_next(const unsigned char *s, size_t n, uint32_t *cp) {
  static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
  int len = s[0] < 0x80 ? 1 : (s[0] >> 5) == 6 ? 2 : (s[0] >> 4) == 14 ? 3 : (s[0] >> 3) == 30 ? 4 : 0;
  if (len == 0 || (size_t)len > n)
    return 0;
  uint32_t c = len == 1 ? s[0] : s[0] & (0x7F >> len);
  for (int i = 1; i < len; ++i) {
    if ((s[i] & 0xC0) != 0x80)
      return 0;
    c = (c << 6) | (s[i] & 0x3F);
  }
  if (c < min[len] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
    return 0;
  *cp = c;
  return len;
}

/* Lowercase for ASCII and Latin-1 (U+00C0-U+00DE but the multiplication
 * sign); other characters are kept. */
static uint32_t lower(uint32_t c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 0xC0 && c <= 0xDE && c != 0xD7))
    return c + 0x20;
  return c;
}

/* The vocabulary as (code point, id) pairs sorted by code point. */
typedef struct entry {
  uint32_t cp;
  int32_t id;
} entry;

static int cmp_entry(const void *a, const void *b) {
  uint32_t x = ((const entry *)a)->cp, y = ((const entry *)b)->cp;
  return x < y ? -1 : x > y;
}

static entry *vocab_build(const kiln_model *m, size_t *count) {
  const unsigned char *s = (const unsigned char *)m->vocabulary;
  size_t n = strlen(m->vocabulary), k = 0;
  entry *v = malloc((n ? n : 1) * sizeof(entry));
  if (!v) {
    kiln_fail("out of memory");
    return NULL;
  }
  for (size_t i = 0; i < n; ++k) {
    int len = utf8_next(s + i, n - i, &v[k].cp);
    if (!len) {
      free(v);
      kiln_fail("model '%s': its vocabulary is not valid UTF-8", m->name);
      return NULL;
    }
    v[k].id = (int32_t)k + 1;
    i += (size_t)len;
  }
  qsort(v, k, sizeof(entry), cmp_entry);
  *count = k;
  return v;
}

static int32_t vocab_id(const entry *v, size_t n, uint32_t cp) {
  entry key = {cp, 0};
  const entry *e = bsearch(&key, v, n, sizeof(entry), cmp_entry);
  return e ? e->id : -1;
}

/* One line (len bytes, trimmed) into `width` ids as floats, right-aligned. */
static int line_ids(const kiln_model *m, const entry *v, size_t nv, const char *line, size_t len,
                    float *row, int64_t width, const char *path, int64_t lineno) {
  const unsigned char *s = (const unsigned char *)line;
  char where[4096]; /* "FILE:LINE", or what is encoding when there is no file */
  if (lineno > 0)
    snprintf(where, sizeof where, "%s:%lld", path, (long long)lineno);
  else
    snprintf(where, sizeof where, "%s", path);
  int64_t chars = 0;
  for (size_t i = 0; i < len; ++chars) {
    uint32_t c;
    int n = utf8_next(s + i, len - i, &c);
    if (!n)
      return kiln_fail("%s: byte %zu is not valid UTF-8", where, i + 1);
    i += (size_t)n;
  }
  if (chars > width && !m->truncate)
    return kiln_fail("%s: '%.*s' has %lld characters, the input '%s' holds %lld (truncate = "
                     "true keeps the last ones)",
                     where, (int)(len < 64 ? len : 64), line, (long long)chars,
                     m->inputs[0].name, (long long)width);
  int64_t skip = chars > width ? chars - width : 0, pos = width - (chars - skip);
  for (int64_t j = 0; j < pos; ++j)
    row[j] = 0;
  int64_t k = 0;
  for (size_t i = 0; i < len; ++k) {
    uint32_t c;
    int n = utf8_next(s + i, len - i, &c);
    if (k >= skip) {
      uint32_t key = m->lowercase ? lower(c) : c;
      int32_t id = vocab_id(v, nv, key);
      if (id < 0)
        return kiln_fail("%s: character '%.*s' (U+%04X) of '%.*s' is not in the vocabulary",
                         where, n, line + i, (unsigned)key,
                         (int)(len < 64 ? len : 64), line);
      row[pos++] = (float)id;
    }
    i += (size_t)n;
  }
  return 0;
}

/* A file's non-empty lines: offsets and lengths into its contents, and line
 * numbers for messages. */
typedef struct lines {
  char *text;
  size_t *start, *len;
  int64_t *lineno;
  int64_t n;
} lines;

static void lines_free(lines *l) {
  free(l->text);
  free(l->start);
  free(l->len);
  free(l->lineno);
  memset(l, 0, sizeof *l);
}

static int read_lines(const char *path, lines *out) {
  memset(out, 0, sizeof *out);
  gzFile f = gzopen(path, "rb");
  if (!f)
    return kiln_fail("%s: cannot open: %s", path, strerror(errno ? errno : ENOENT));
  size_t size = 0, cap = 1 << 16;
  char *text = malloc(cap);
  int got = 0;
  while (text && (got = gzread(f, text + size, (unsigned)(cap - size - 1))) > 0) {
    size += (size_t)got;
    if (cap - size < 2) {
      char *bigger = realloc(text, cap * 2);
      if (!bigger) {
        free(text);
        text = NULL;
        break;
      }
      text = bigger;
      cap *= 2;
    }
  }
  int rc = text ? kiln_gz_check(f, path) : kiln_fail("%s: out of memory", path);
  gzclose(f);
  if (rc) {
    free(text);
    return rc;
  }
  text[size] = '\0';
  int64_t most = 1;
  for (size_t i = 0; i < size; ++i)
    most += text[i] == '\n';
  out->text = text;
  out->start = malloc((size_t)most * sizeof(size_t));
  out->len = malloc((size_t)most * sizeof(size_t));
  out->lineno = malloc((size_t)most * sizeof(int64_t));
  if (!out->start || !out->len || !out->lineno) {
    lines_free(out);
    return kiln_fail("%s: out of memory", path);
  }
  int64_t lineno = 0;
  for (size_t i = 0; i < size;) {
    size_t end = i;
    while (end < size && text[end] != '\n')
      ++end;
    ++lineno;
    size_t a = i, b = end;
    while (a < b && (text[a] == ' ' || text[a] == '\t' || text[a] == '\r'))
      ++a;
    while (b > a && (text[b - 1] == ' ' || text[b - 1] == '\t' || text[b - 1] == '\r'))
      --b;
    if (b > a) {
      out->start[out->n] = a;
      out->len[out->n] = b - a;
      out->lineno[out->n] = lineno;
      ++out->n;
    }
    i = end + 1;
  }
  if (out->n == 0) {
    lines_free(out);
    return kiln_fail("%s: no lines of text", path);
  }
  return 0;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* Appends the lines of one file (all, or `sample` of them drawn by a shuffle
 * seeded from the model's seed and the file's index) with label `label`
 * (negative: none). */
static int add_file(const kiln_model *m, const entry *v, size_t nv, const char *path, int64_t label,
                    int64_t sample, kiln_dataset *d) {
  lines l;
  if (read_lines(path, &l))
    return -1;
  int64_t n = l.n, take = sample > 0 && sample < n ? sample : n;
  int64_t *idx = malloc((size_t)n * sizeof(int64_t));
  int rc = idx ? 0 : kiln_fail("out of memory");
  for (int64_t i = 0; rc == 0 && i < n; ++i)
    idx[i] = i;
  if (rc == 0 && take < n) {
    kiln_shuffle(idx, n, (uint64_t)m->seed * 1000003u + 7919u * (uint64_t)(label + 1));
    qsort(idx, (size_t)take, sizeof(int64_t), cmp_i64); /* file order: easier to read */
  }
  int64_t width = m->input_numel, rows = d->n + take;
  float *x = rc ? NULL : realloc(d->x, (size_t)(rows * width) * sizeof(float));
  if (x)
    d->x = x;
  int32_t *y = rc || label < 0 ? NULL : realloc(d->yi, (size_t)rows * sizeof(int32_t));
  if (y)
    d->yi = y;
  if (rc == 0 && (!x || (label >= 0 && !y)))
    rc = kiln_fail("out of memory loading %s", path);
  for (int64_t i = 0; rc == 0 && i < take; ++i) {
    int64_t k = idx[i];
    rc = line_ids(m, v, nv, l.text + l.start[k], l.len[k], d->x + (d->n + i) * width, width, path,
                  l.lineno[k]);
    if (label >= 0)
      d->yi[d->n + i] = (int32_t)label;
  }
  if (rc == 0)
    d->n = rows;
  free(idx);
  lines_free(&l);
  return rc;
}

/* Calls `f` on each of the '\n'-separated paths in `files`. */
static int each_file(const char *files, int (*f)(void *, const char *, int64_t), void *ctx) {
  int64_t k = 0;
  for (const char *p = files; *p; ++k) {
    size_t n = strcspn(p, "\n");
    char *path = malloc(n + 1);
    if (!path)
      return kiln_fail("out of memory");
    memcpy(path, p, n);
    path[n] = '\0';
    int rc = f(ctx, path, k);
    free(path);
    if (rc)
      return rc;
    p += n + (p[n] == '\n');
  }
  return 0;
}

typedef struct loading {
  const kiln_model *m;
  const entry *v;
  size_t nv;
  int64_t sample, labelled;
  kiln_dataset *d;
} loading;

static int load_one(void *ctx, const char *path, int64_t k) {
  loading *c = ctx;
  return add_file(c->m, c->v, c->nv, path, c->labelled ? k : -1, c->sample, c->d);
}

static int load(const kiln_model *m, const char *files, int64_t sample, int labelled,
                kiln_dataset *out) {
  memset(out, 0, sizeof *out);
  if (!m->vocabulary || !m->vocabulary[0] || m->num_inputs != 1)
    return kiln_fail("model '%s' does not read text", m->name);
  size_t nv;
  entry *v = vocab_build(m, &nv);
  if (!v)
    return -1;
  out->features = m->input_numel;
  out->label_numel = 1;
  loading c = {m, v, nv, sample, labelled, out};
  int64_t nfiles = 0;
  for (const char *p = files; *p; p += strcspn(p, "\n"), p += *p == '\n')
    ++nfiles;
  /* A class without a file would never be trained: a list one short is a
   * mistake, not a model with an unused class. */
  int rc = labelled && nfiles != m->num_classes
               ? kiln_fail("%.*s%s: a text source has one file per class: %lld file%s for the %lld "
                           "classes of model '%s'",
                           (int)strcspn(files, "\n"), files, nfiles > 1 ? ",..." : "",
                           (long long)nfiles, nfiles == 1 ? "" : "s",
                           (long long)m->num_classes, m->name)
               : each_file(files, load_one, &c);
  if (rc == 0 && !labelled) {
    out->yf = calloc((size_t)(out->n ? out->n : 1), sizeof(float)); /* no labels: zeros */
    if (!out->yf)
      rc = kiln_fail("out of memory");
  }
  free(v);
  if (rc)
    kiln_dataset_free(out);
  return rc;
}

int kiln_text_load(const kiln_model *m, const kiln_data_source *src, kiln_dataset *out) {
  return load(m, src->features, src->sample, 1, out);
}

int kiln_text_load_lines(const kiln_model *m, const char *path, kiln_dataset *out) {
  return load(m, path, 0, 0, out);
}

int kiln_text_encode(const kiln_model *m, const char *line, int32_t *ids) {
  if (!m->vocabulary || !m->vocabulary[0] || m->num_inputs != 1)
    return kiln_fail("model '%s' does not read text", m->name);
  if (!line || !ids)
    return kiln_fail("encode: %s is NULL", line ? "ids" : "the text");
  size_t nv, len = strlen(line);
  while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
    --len;
  int64_t width = m->input_numel;
  entry *v = vocab_build(m, &nv);
  float *row = malloc((size_t)width * sizeof(float));
  int rc = v && row ? line_ids(m, v, nv, line, len, row, width, "encode", 0) : -1;
  if (v && !row)
    rc = kiln_fail("out of memory");
  for (int64_t j = 0; rc == 0 && j < width; ++j)
    ids[j] = (int32_t)row[j];
  free(v);
  free(row);
  return rc;
}
