/*===- dataset.c - IDX and CSV loaders, split, standardisation, batches ---===*
 * Loaders check everything they read against the model: a file that is
 * missing, truncated, malformed or of the wrong shape is an error naming the
 * file (and line, for CSV), never a crash or silently wrong data. zlib reads
 * gzip and plain files alike.
 *===----------------------------------------------------------------------===*/
#include "kiln/runtime.h"
#include "gzcheck.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

void kiln_dataset_free(kiln_dataset *d) {
  free(d->x);
  free(d->yi);
  free(d->yf);
  memset(d, 0, sizeof *d);
}

/* The error for a read that returned nothing before `n` bytes: the gzip
 * stream's own error if it has one, else a truncated file. */
static int short_read(gzFile f, const char *path, size_t n, const char *what, size_t got) {
  int err;
  gzerror(f, &err);
  if (err != Z_OK && err != Z_BUF_ERROR)
    return kiln_gz_check(f, path);
  return kiln_fail("%s: file is truncated: expected %zu bytes of %s, got %zu", path, n, what, got);
}

static int read_exact(gzFile f, void *buf, size_t n, const char *path, const char *what) {
  size_t got = 0;
  while (got < n) {
    unsigned chunk = n - got > (1u << 30) ? (1u << 30) : (unsigned)(n - got);
    int r = gzread(f, (char *)buf + got, chunk);
    if (r <= 0)
      return short_read(f, path, n, what, got);
    got += (size_t)r;
  }
  return 0;
}

/* read_exact into a buffer of its own that grows as the data arrives, so
 * that a header claiming gigabytes costs memory only for bytes the file
 * really has (a 60-byte file claiming 4 GB used to allocate them first). */
static int read_growing(gzFile f, size_t n, const char *path, const char *what,
                        unsigned char **out) {
  unsigned char *buf = NULL;
  size_t cap = 0, got = 0;
  int rc = 0;
  while (rc == 0 && got < n) {
    if (got == cap) {
      size_t next = cap ? cap * 2 : (size_t)1 << 20;
      if (next > n)
        next = n;
      unsigned char *grown = realloc(buf, next);
      if (!grown) {
        rc = kiln_fail("%s: out of memory reading %s", path, what);
        break;
      }
      buf = grown;
      cap = next;
    }
    size_t chunk = cap - got > (1u << 30) ? (1u << 30) : cap - got;
    int r = gzread(f, buf + got, (unsigned)chunk);
    if (r <= 0)
      rc = short_read(f, path, n, what, got);
    got += r > 0 ? (size_t)r : 0;
  }
  if (rc) {
    free(buf);
    buf = NULL;
  }
  *out = buf;
  return rc;
}

static uint32_t be32(const unsigned char *b) {
  return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Reads an IDX file of unsigned bytes; returns the item count and item size. */
static int read_idx(const char *path, int rank, unsigned char **data, int64_t *count, int64_t *item) {
  gzFile f = gzopen(path, "rb");
  if (!f)
    return kiln_fail("%s: cannot open: %s", path, strerror(errno ? errno : ENOENT));
  unsigned char hdr[4 + 4 * 3];
  int rc = read_exact(f, hdr, 4 + 4 * (size_t)rank, path, "the IDX header");
  if (rc == 0 && (hdr[0] || hdr[1] || hdr[2] != 0x08 || hdr[3] != rank))
    rc = kiln_fail("%s: not an IDX file of unsigned bytes with %d dimensions (magic %02x%02x%02x%02x)",
                   path, rank, hdr[0], hdr[1], hdr[2], hdr[3]);
  if (rc == 0) {
    /* Every product checked before it is formed: four 32-bit sizes multiply
     * past 64 bits. */
    const uint64_t limit = (uint64_t)1 << 34;
    uint64_t n = be32(hdr + 4), size = 1;
    for (int i = 1; rc == 0 && i < rank; ++i) {
      uint64_t d = be32(hdr + 4 + 4 * i);
      if (d == 0 || size > limit / d)
        rc = -1;
      else
        size *= d;
    }
    if (rc || n == 0 || n > limit / size)
      rc = kiln_fail("%s: implausible IDX dimensions", path);
    *count = (int64_t)n;
    *item = (int64_t)size;
  }
  if (rc == 0)
    rc = read_growing(f, (size_t)(*count * *item), path, "the IDX data", data);
  if (rc == 0) {
    unsigned char extra;
    if (gzread(f, &extra, 1) > 0)
      rc = kiln_fail("%s: data after the %lld items its IDX header gives", path, (long long)*count);
    else
      rc = kiln_gz_check(f, path);
    if (rc) {
      free(*data);
      *data = NULL;
    }
  }
  gzclose(f);
  return rc;
}

static int load_idx(const kiln_model *m, const kiln_data_source *src, kiln_dataset *out) {
  unsigned char *images = NULL, *labels = NULL;
  int64_t n = 0, item = 0, nl = 0, litem = 0;
  if (read_idx(src->features, 3, &images, &n, &item) != 0)
    return -1;
  if (read_idx(src->labels, 1, &labels, &nl, &litem) != 0) {
    free(images);
    return -1;
  }
  int rc = 0;
  if (item != m->input_numel)
    rc = kiln_fail("%s: images have %lld values each, the model's input has %lld", src->features,
                   (long long)item, (long long)m->input_numel);
  else if (nl != n)
    rc = kiln_fail("%s: %lld labels for %lld images in %s", src->labels, (long long)nl, (long long)n,
                   src->features);
  else if (!m->label_is_int)
    rc = kiln_fail("%s: IDX labels are class indices, but the model's loss (%s) expects values",
                   src->labels, m->loss);
  for (int64_t i = 0; rc == 0 && i < n; ++i)
    if (labels[i] >= m->num_classes)
      rc = kiln_fail("%s: label %d of item %lld is not a class of this model (0..%lld)", src->labels,
                     labels[i], (long long)i, (long long)m->num_classes - 1);
  if (rc == 0) {
    out->n = n;
    out->features = item;
    out->label_numel = 1;
    out->x = malloc((size_t)(n * item) * sizeof(float));
    out->yi = malloc((size_t)n * sizeof(int32_t));
    if (!out->x || !out->yi)
      rc = kiln_fail("out of memory loading %s", src->features);
  }
  for (int64_t i = 0; rc == 0 && i < n * item; ++i)
    out->x[i] = (float)images[i];
  for (int64_t i = 0; rc == 0 && i < n; ++i)
    out->yi[i] = labels[i];
  free(images);
  free(labels);
  if (rc != 0)
    kiln_dataset_free(out);
  return rc;
}

/* A growable table of numbers read from a delimited text file. */
typedef struct table {
  double *v;
  int64_t rows, cols, cap;
} table;

static int read_table(const char *path, int64_t skip, table *t) {
  memset(t, 0, sizeof *t);
  gzFile f = gzopen(path, "rb");
  if (!f)
    return kiln_fail("%s: cannot open: %s", path, strerror(errno ? errno : ENOENT));
  char line[1 << 16];
  int64_t lineno = 0;
  int rc = 0;
  z_off_t at = gztell(f);
  while (rc == 0 && gzgets(f, line, sizeof line)) {
    ++lineno;
    size_t len = strlen(line);
    /* gzgets reads past a NUL byte that strlen stops at: compare with what
     * it consumed, or a binary file's lines read as blank. */
    z_off_t next = gztell(f);
    if ((z_off_t)len != next - at) {
      rc = kiln_fail("%s:%lld: a NUL byte: not a text file", path, (long long)lineno);
      break;
    }
    at = next;
    if (len == sizeof line - 1 && line[len - 1] != '\n') {
      rc = kiln_fail("%s:%lld: line is longer than %zu bytes", path, (long long)lineno, sizeof line - 2);
      break;
    }
    if (lineno <= skip)
      continue;
    char *p = line;
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
      ++p;
    if (!*p)
      continue; /* blank line */
    int64_t cols = 0;
    while (*p && rc == 0) {
      char *end;
      errno = 0;
      double v = strtod(p, &end);
      /* Values are stored as f32: one beyond its range would become inf. */
      if (end == p || errno == ERANGE || !isfinite(v) || fabs(v) > FLT_MAX) {
        char tok[32];
        size_t k = strcspn(p, ", \t\r\n");
        snprintf(tok, sizeof tok, "%.*s", (int)(k < 31 ? k : 31), p);
        rc = kiln_fail("%s:%lld: column %lld: '%s' is not a finite number", path, (long long)lineno,
                       (long long)cols + 1, tok);
        break;
      }
      if (t->rows * (t->cols ? t->cols : 0) + cols >= t->cap) {
        t->cap = t->cap ? 2 * t->cap : 4096;
        double *nv = realloc(t->v, (size_t)t->cap * sizeof(double));
        if (!nv) {
          rc = kiln_fail("%s: out of memory", path);
          break;
        }
        t->v = nv;
      }
      t->v[t->rows * t->cols + cols++] = v;
      p = end;
      while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        ++p;
      if (*p == ',') {
        ++p;
        while (*p == ' ' || *p == '\t')
          ++p;
        if (!*p || *p == '\n' || *p == '\r')
          rc = kiln_fail("%s:%lld: empty value after the last comma", path, (long long)lineno);
      }
    }
    if (rc)
      break;
    if (t->rows == 0)
      t->cols = cols;
    else if (cols != t->cols) {
      rc = kiln_fail("%s:%lld: %lld values where earlier rows have %lld", path, (long long)lineno,
                     (long long)cols, (long long)t->cols);
      break;
    }
    ++t->rows;
  }
  if (rc == 0)
    rc = kiln_gz_check(f, path);
  gzclose(f);
  if (rc == 0 && t->rows == 0)
    rc = kiln_fail("%s: no data rows", path);
  if (rc != 0) {
    free(t->v);
    t->v = NULL;
  }
  return rc;
}

/* Label value `at` (row `row`'s, counted from 1 in messages) of `d`. */
static int set_label(const kiln_model *m, kiln_dataset *d, int64_t at, int64_t row, double v,
                     const char *path) {
  if (m->label_is_int) {
    if (v != floor(v) || v < 0 || v >= (double)m->num_classes)
      return kiln_fail("%s: row %lld: label %g is not a class of this model (0..%lld)", path,
                       (long long)row + 1, v, (long long)m->num_classes - 1);
    d->yi[at] = (int32_t)v;
  } else {
    if (strcmp(m->task, "binary") == 0 && v != 0 && v != 1)
      return kiln_fail("%s: row %lld: label %g must be 0 or 1 for %s", path, (long long)row + 1, v,
                       m->loss);
    d->yf[at] = (float)v;
  }
  return 0;
}

/* The file column of each feature-row value: the model's columns, or every
 * column but `labelCol` (-1: none) in order. Checks the file has them. */
static int feature_columns(const kiln_model *m, const char *path, int64_t cols, int64_t labelCol,
                           int64_t *out) {
  if (m->columns) {
    for (int64_t i = 0; i < m->num_inputs; ++i) {
      const kiln_input_info *in = &m->inputs[i];
      for (int64_t j = 0; j < in->numel; ++j) {
        int64_t c = m->columns[in->offset + j];
        if (c >= cols)
          return kiln_fail("%s: input '%s' reads column %lld, but rows have %lld values (columns "
                           "0..%lld)",
                           path, in->name, (long long)c, (long long)cols, (long long)cols - 1);
        if (c == labelCol)
          return kiln_fail("%s: input '%s' reads column %lld, which is the label column", path,
                           in->name, (long long)c);
        out[in->offset + j] = c;
      }
    }
    return 0;
  }
  int64_t features = cols - (labelCol >= 0);
  if (features != m->input_numel)
    return kiln_fail("%s: rows have %lld feature values, the model's inputs take %lld", path,
                     (long long)features, (long long)m->input_numel);
  for (int64_t c = 0, k = 0; c < cols; ++c)
    if (c != labelCol)
      out[k++] = c;
  return 0;
}

/* Row r's feature values: the table's columns cols[0..features). */
static void pick_row(const table *t, int64_t r, const int64_t *cols, int64_t features, float *x) {
  for (int64_t k = 0; k < features; ++k)
    x[k] = (float)t->v[r * t->cols + cols[k]];
}

static int load_csv(const kiln_model *m, const kiln_data_source *src, kiln_dataset *out) {
  table t, labels = {0};
  if (read_table(src->features, src->skip, &t) != 0)
    return -1;
  int separate = src->labels && src->labels[0];
  if (separate && read_table(src->labels, src->skip, &labels) != 0) {
    free(t.v);
    return -1;
  }
  int rc = 0;
  int64_t labelCol = -1, features = m->input_numel, k = m->label_numel;
  int64_t *cols = malloc((size_t)(features ? features : 1) * sizeof(int64_t));
  if (!cols)
    rc = kiln_fail("out of memory loading %s", src->features);
  else if (k != 1 && !separate)
    rc = kiln_fail("%s: the model's label has %lld values per sample; they come from a labels "
                   "file (csv(features = ..., labels = ...)), not a column",
                   src->features, (long long)k);
  else if (separate) {
    if (labels.rows != t.rows)
      rc = kiln_fail("%s: %lld rows, but %s has %lld", src->labels, (long long)labels.rows,
                     src->features, (long long)t.rows);
    else if (labels.cols != k)
      rc = kiln_fail("%s: expected %lld label value%s per line (the model's label), found %lld",
                     src->labels, (long long)k, k == 1 ? "" : "s", (long long)labels.cols);
  } else {
    labelCol = src->label_column < 0 ? t.cols + src->label_column : src->label_column;
    if (labelCol < 0 || labelCol >= t.cols)
      rc = kiln_fail("%s: label column %lld does not exist (rows have %lld values)", src->features,
                     (long long)src->label_column, (long long)t.cols);
  }
  if (rc == 0)
    rc = feature_columns(m, src->features, t.cols, labelCol, cols);
  if (rc == 0) {
    out->n = t.rows;
    out->features = features;
    out->label_numel = k;
    out->x = malloc((size_t)(t.rows * features) * sizeof(float));
    if (m->label_is_int)
      out->yi = malloc((size_t)(t.rows * k) * sizeof(int32_t));
    else
      out->yf = malloc((size_t)(t.rows * k) * sizeof(float));
    if (!out->x || (!out->yi && !out->yf))
      rc = kiln_fail("out of memory loading %s", src->features);
  }
  for (int64_t r = 0; rc == 0 && r < t.rows; ++r) {
    pick_row(&t, r, cols, features, out->x + r * features);
    for (int64_t j = 0; rc == 0 && j < k; ++j) {
      double y = separate ? labels.v[r * k + j] : t.v[r * t.cols + labelCol];
      rc = set_label(m, out, r * k + j, r, y, separate ? src->labels : src->features);
    }
  }
  free(cols);
  free(t.v);
  free(labels.v);
  if (rc != 0)
    kiln_dataset_free(out);
  return rc;
}

/* An id input accepts only whole numbers in [0, bound): an id out of range
 * would pick no embedding row, so it is an error naming the file, the row
 * and the input, never a silent clamp. */
static int check_ids(const kiln_model *m, const char *path, kiln_dataset *d) {
  for (int64_t i = 0; i < m->num_inputs; ++i) {
    const kiln_input_info *in = &m->inputs[i];
    if (!in->is_int)
      continue;
    for (int64_t r = 0; r < d->n; ++r)
      for (int64_t j = 0; j < in->numel; ++j) {
        float v = d->x[r * d->features + in->offset + j];
        if (!(v >= 0 && v < (float)in->bound && v == (float)(int64_t)v)) {
          int rc = kiln_fail("%s: row %lld, input '%s' value %lld is %g, not an id in [0, %lld)",
                             path, (long long)r + 1, in->name, (long long)j + 1, v,
                             (long long)in->bound);
          kiln_dataset_free(d);
          return rc;
        }
      }
  }
  return 0;
}

void **kiln_inputs_alloc(const kiln_model *m, int64_t rows) {
  void **inputs = calloc((size_t)m->num_inputs, sizeof(void *));
  for (int64_t i = 0; inputs && i < m->num_inputs; ++i) {
    size_t bytes = (size_t)(rows * m->inputs[i].numel) * KILN_INPUT_VALUE_BYTES;
    inputs[i] = aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
    if (!inputs[i]) {
      kiln_inputs_free(m, inputs);
      return NULL;
    }
  }
  return inputs;
}

void kiln_inputs_free(const kiln_model *m, void **inputs) {
  for (int64_t i = 0; inputs && i < m->num_inputs; ++i)
    free(inputs[i]);
  free(inputs);
}

void kiln_inputs_from_rows(const kiln_model *m, const float *x, int64_t rows, void *const *inputs) {
  for (int64_t i = 0; i < m->num_inputs; ++i) {
    const kiln_input_info *in = &m->inputs[i];
    for (int64_t r = 0; r < rows; ++r) {
      const float *src = x + r * m->input_numel + in->offset;
      if (in->is_int) {
        int32_t *dst = (int32_t *)inputs[i] + r * in->numel;
        for (int64_t j = 0; j < in->numel; ++j)
          dst[j] = (int32_t)src[j];
      } else {
        memcpy((float *)inputs[i] + r * in->numel, src, (size_t)in->numel * sizeof(float));
      }
    }
  }
}

int kiln_dataset_load_features(const kiln_model *m, const char *path, kiln_dataset *out) {
  memset(out, 0, sizeof *out);
  if (m->vocabulary && m->vocabulary[0])
    return kiln_text_load_lines(m, path, out);
  table t;
  if (read_table(path, 0, &t) != 0)
    return -1;
  int64_t features = m->input_numel;
  int64_t *cols = malloc((size_t)(features ? features : 1) * sizeof(int64_t));
  int rc = cols ? 0 : kiln_fail("out of memory loading %s", path);
  if (rc == 0 && !m->columns && t.cols != features)
    rc = kiln_fail("%s: rows have %lld values, the model's inputs take %lld", path,
                   (long long)t.cols, (long long)features);
  if (rc == 0)
    rc = feature_columns(m, path, t.cols, -1, cols);
  if (rc == 0) {
    out->n = t.rows;
    out->features = features;
    out->label_numel = 1;
    out->x = malloc((size_t)(t.rows * features) * sizeof(float));
    out->yf = calloc((size_t)t.rows, sizeof(float)); /* no labels: zeros */
    if (!out->x || !out->yf)
      rc = kiln_fail("out of memory loading %s", path);
  }
  for (int64_t r = 0; rc == 0 && r < t.rows; ++r)
    pick_row(&t, r, cols, features, out->x + r * features);
  free(cols);
  free(t.v);
  if (rc != 0)
    kiln_dataset_free(out);
  return rc ? rc : check_ids(m, path, out);
}

int kiln_dataset_load(const kiln_model *m, const kiln_data_source *src, kiln_dataset *out) {
  memset(out, 0, sizeof *out);
  if (!src->format || !src->format[0])
    return kiln_fail("no data source: the model names none; pass --data-train/--data-test");
  int rc;
  if (strcmp(src->format, "idx") == 0)
    rc = load_idx(m, src, out);
  else if (strcmp(src->format, "csv") == 0)
    rc = load_csv(m, src, out);
  else if (strcmp(src->format, "text") == 0)
    rc = kiln_text_load(m, src, out);
  else
    return kiln_fail("unknown data format '%s'", src->format);
  return rc ? rc : check_ids(m, src->features, out);
}

int kiln_dataset_split(kiln_dataset *all, double fraction, uint64_t seed, kiln_dataset *test) {
  memset(test, 0, sizeof *test);
  int64_t n = all->n, nt = (int64_t)floor((double)n * fraction + 0.5);
  if (nt <= 0 || nt >= n)
    return kiln_fail("split %.3f of %lld rows leaves an empty train or test set", fraction, (long long)n);
  int64_t *idx = malloc((size_t)n * sizeof(int64_t));
  kiln_dataset train = {0};
  if (!idx)
    return kiln_fail("out of memory");
  for (int64_t i = 0; i < n; ++i)
    idx[i] = i;
  kiln_shuffle(idx, n, seed ^ 0x5eed5eedull);
  kiln_dataset *parts[2] = {&train, test};
  int64_t sizes[2] = {n - nt, nt}, start = 0;
  for (int p = 0; p < 2; ++p) {
    kiln_dataset *d = parts[p];
    d->n = sizes[p];
    d->features = all->features;
    d->label_numel = all->label_numel;
    d->x = malloc((size_t)(d->n * d->features) * sizeof(float));
    if (all->yi)
      d->yi = malloc((size_t)d->n * sizeof(int32_t));
    if (all->yf)
      d->yf = malloc((size_t)(d->n * d->label_numel) * sizeof(float));
    if (!d->x || (all->yi && !d->yi) || (all->yf && !d->yf)) {
      kiln_dataset_free(&train);
      kiln_dataset_free(test);
      free(idx);
      return kiln_fail("out of memory");
    }
    kiln_dataset_gather(all, idx + start, d->n, d->n, d->x, d->yi ? (void *)d->yi : (void *)d->yf);
    start += d->n;
  }
  free(idx);
  kiln_dataset_free(all);
  *all = train;
  return 0;
}

void kiln_dataset_gather(const kiln_dataset *d, const int64_t *idx, int64_t count, int64_t batch,
                         float *x, void *y) {
  int64_t f = d->features, l = d->label_numel;
  for (int64_t i = 0; i < batch; ++i) {
    /* Rows past `count` pad a partial batch with copies of its first row. */
    int64_t src = idx[i < count ? i : 0];
    memcpy(x + i * f, d->x + src * f, (size_t)f * sizeof(float));
    if (d->yi)
      ((int32_t *)y)[i] = d->yi[src];
    else
      memcpy((float *)y + i * l, d->yf + src * l, (size_t)l * sizeof(float));
  }
}
