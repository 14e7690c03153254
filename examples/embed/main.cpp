// A C++ application that embeds a Kiln model: it links the library and header
// that `kilnc --emit=lib` and `--emit=header` generate for
// examples/logistic_regression.kiln, loads its own data and runs its own
// training loop. No framework, no Python.
#include "logistic_regression.h"

#include <algorithm>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {
constexpr int kBatch = LOGISTIC_REGRESSION_BATCH;
constexpr int kFeatures = LOGISTIC_REGRESSION_INPUT_X_SIZE;

struct Rows {
  std::vector<float> x, y;
  size_t size() const { return y.size(); }
};

// sklearn's breast_cancer.csv: a header line, then 30 features and a 0/1 label.
bool loadCsv(const std::string &path, Rows &rows) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line))
    return false;
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string cell;
    std::vector<float> values;
    while (std::getline(ss, cell, ','))
      values.push_back(std::stof(cell));
    if (values.size() != kFeatures + 1)
      return false;
    rows.x.insert(rows.x.end(), values.begin(), values.end() - 1);
    rows.y.push_back(values.back());
  }
  return rows.size() > 0;
}

// Accuracy on raw rows: the instance preprocesses them with its own
// statistics (fitted, or loaded from a checkpoint) and predicts them all in
// one call (any row count).
float accuracy(logistic_regression *m, const Rows &raw, std::vector<float> *logits = nullptr) {
  std::vector<float> x = raw.x, out(raw.size());
  if (logistic_regression_preprocess(m, x.data(), int64_t(raw.size())) != 0 ||
      logistic_regression_predict(m, x.data(), int64_t(raw.size()), out.data()) != 0) {
    std::fprintf(stderr, "prediction failed: %s\n", logistic_regression_error());
    std::exit(1);
  }
  size_t correct = 0;
  for (size_t i = 0; i < raw.size(); ++i)
    correct += (out[i] > 0) == (raw.y[i] > 0.5f);
  if (logits)
    *logits = out;
  return float(correct) / float(raw.size());
}
} // namespace

int main(int argc, char **argv) {
  std::string path = argc > 1 ? argv[1]
                              : "/usr/lib/python3/dist-packages/sklearn/datasets/data/breast_cancer.csv";
  Rows all;
  if (!loadCsv(path, all)) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    return 1;
  }
  // Shuffle and hold out 20% of the rows for testing.
  std::vector<size_t> order(all.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937 rng(7);
  std::shuffle(order.begin(), order.end(), rng);
  Rows train, test;
  size_t nTest = all.size() / 5;
  for (size_t k = 0; k < order.size(); ++k) {
    Rows &dst = k < nTest ? test : train;
    dst.x.insert(dst.x.end(), all.x.begin() + order[k] * kFeatures,
                 all.x.begin() + (order[k] + 1) * kFeatures);
    dst.y.push_back(all.y[order[k]]);
  }
  logistic_regression *model = logistic_regression_create();
  if (!model) {
    std::fprintf(stderr, "create failed: %s\n", logistic_regression_error());
    return 1;
  }
  logistic_regression_init(model, 7);
  logistic_regression_set_lr(model, 0.1f);
  // Standardise with the training rows' statistics; the model keeps them and
  // its checkpoints carry them, so new rows are preprocessed the same way.
  if (logistic_regression_fit_preprocess(model, train.x.data(), int64_t(train.size())) != 0 ||
      logistic_regression_preprocess(model, train.x.data(), int64_t(train.size())) != 0) {
    std::fprintf(stderr, "preprocessing failed: %s\n", logistic_regression_error());
    return 1;
  }
  std::vector<float> x(kBatch * kFeatures), y(kBatch);
  std::vector<size_t> idx(train.size());
  std::iota(idx.begin(), idx.end(), 0);
  // Steps are queued rather than taken one by one (_train_step): a GPU
  // build then runs a step while the next batch is gathered here, and the
  // losses come back together when asked for.
  float losses[LOGISTIC_REGRESSION_QUEUE_STEPS];
  for (int epoch = 0; epoch < 30; ++epoch) {
    std::shuffle(idx.begin(), idx.end(), rng);
    double sum = 0;
    int steps = 0;
    for (size_t start = 0; start + kBatch <= idx.size(); start += kBatch) {
      for (int i = 0; i < kBatch; ++i) {
        std::copy_n(train.x.begin() + idx[start + i] * kFeatures, kFeatures, x.begin() + i * kFeatures);
        y[i] = train.y[idx[start + i]];
      }
      if (logistic_regression_queue_step(model, x.data(), y.data()) != 0) {
        std::fprintf(stderr, "training failed: %s\n", logistic_regression_error());
        return 1;
      }
      bool last = start + 2 * kBatch > idx.size();
      if (++steps % LOGISTIC_REGRESSION_QUEUE_STEPS == 0 || last) {
        int n = logistic_regression_take_losses(model, losses);
        if (n < 0) {
          std::fprintf(stderr, "training failed: %s\n", logistic_regression_error());
          return 1;
        }
        for (int k = 0; k < n; ++k)
          sum += losses[k];
      }
    }
    if (epoch % 10 == 9)
      std::printf("epoch %d mean loss %.4f\n", epoch + 1, sum / steps);
  }
  std::vector<float> logits, reloaded;
  float acc = accuracy(model, test, &logits);
  std::printf("test accuracy %.4f\n", acc);

  // A checkpoint round trip gives a second instance the same preprocessing
  // and the same predictions.
  const char *ckpt = "embed_logreg.safetensors";
  logistic_regression *copy = logistic_regression_create();
  if (logistic_regression_save(model, ckpt) != 0 || logistic_regression_load(copy, ckpt) != 0) {
    std::fprintf(stderr, "checkpoint failed: %s\n", logistic_regression_error());
    return 1;
  }
  std::printf("reloaded accuracy %.4f\n", accuracy(copy, test, &reloaded));
  std::printf("reloaded logits %s\n", logits == reloaded ? "identical" : "DIFFER");
  if (logistic_regression_load(copy, "/nonexistent/ckpt.safetensors") == 0)
    return 1;
  std::printf("missing checkpoint reported: %s\n", logistic_regression_error());
  logistic_regression_destroy(copy);
  logistic_regression_destroy(model);
  return acc >= 0.95f ? 0 : 2;
}
