//===- Sema.h - Names, shapes and settings of a .kiln model -----*- C++ -*-===//
#ifndef KILN_COMPILER_FRONTEND_SEMA_H
#define KILN_COMPILER_FRONTEND_SEMA_H

#include "compiler/Frontend/Diagnostics.h"

#include <map>

namespace kiln::frontend {

struct ParamInfo {
  std::string name;
  std::vector<int64_t> shape;
  std::string init;
  int64_t fanIn = 0, fanOut = 0;
  /// A persistent buffer (batch norm's running statistics): initialised and
  /// checkpointed like a parameter, updated by the training step, never
  /// trained.
  bool buffer = false;
};

struct DataSource {
  std::string format; // "idx", "csv" or "text"; empty when absent
  std::string features, labels;
  int64_t labelColumn = -1, skip = 0;
  /// text: one file per class, in label order; `sample` lines of each (0: all).
  std::vector<std::string> files;
  int64_t sample = 0;
};

/// One `input` declaration, in order.
struct InputInfo {
  std::string name;
  std::vector<int64_t> sample; // the shape of one sample (no batch dimension)
  /// Ids (i32), each below `bound`: the smallest vocabulary of the
  /// embeddings that read it.
  bool isInt = false;
  int64_t bound = 0;
  /// CSV: the file column of each value (data { NAME = columns(...) }), or
  /// empty: the columns after the previous inputs', the label's skipped.
  std::vector<int64_t> columns;
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : sample)
      n *= d;
    return n;
  }
};

/// Everything later stages need that is not in the expression tree itself.
struct ModelInfo {
  int64_t batch = 32, epochs = 1, seed = 0;
  /// Learning-rate schedule: constant, step (period = every, factor = gamma)
  /// or cosine (period = epochs of a half cosine, factor = min_lr).
  std::string schedule = "constant";
  int64_t schedulePeriod = 0;
  double scheduleFactor = 0;
  double lr = 0.01;
  std::string optimizer = "sgd";
  /// Every hyper-parameter of the optimizer but lr, defaults filled in.
  std::map<std::string, double> optimizerArgs;
  std::string loss, task; // task: classify | binary | regress
  int64_t numClasses = 0;
  std::vector<ParamInfo> params;
  const Expr *lossExpr = nullptr;
  DataSource train, test;
  double split = 0, scale = 1;
  bool standardize = false;
  std::vector<InputInfo> inputs;
  /// Text sources: the characters of ids 1, 2, ... (UTF-8; id 0 pads), and
  /// whether words are lowercased first and cut to the input's length.
  std::string vocabulary;
  bool lowercase = false, truncate = false;
};

/// Resolves names, infers and checks every shape (annotating the Exprs) and
/// validates the settings. Reports every error it can; returns failure if any.
mlir::FailureOr<ModelInfo> analyze(Model &model, Diagnostics &diags,
                                   std::optional<int64_t> batchOverride);

} // namespace kiln::frontend

#endif // KILN_COMPILER_FRONTEND_SEMA_H
