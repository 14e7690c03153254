//===- Optimizers.h - The table of optimizers -------------------*- C++ -*-===//
//
// One entry per optimizer says everything about it: its hyper-parameters
// (names, defaults, valid ranges) for the frontend, its per-parameter state
// slots for the training-step signature, and its update rule for
// kiln-optimizer. Adding an optimizer is adding an entry.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPILER_TRANSFORMS_OPTIMIZERS_H
#define KILN_COMPILER_TRANSFORMS_OPTIMIZERS_H

#include "dialects/Kiln/IR/KilnBuilder.h"

#include "llvm/ADT/StringMap.h"

#include <string>

namespace kiln {

/// A hyper-parameter: a number in [min, max] ([min, max) if belowMax), or a
/// flag (true = 1).
struct HyperParam {
  llvm::StringLiteral name;
  double defaultValue, min, max;
  bool belowMax = false, flag = false;
};

/// Hyper-parameter values by name, defaults filled in.
using Hypers = llvm::StringMap<double>;

/// What an update rule works with, for the parameter being updated.
struct UpdateArgs {
  KilnBuilder &u;
  const Hypers &h;
  mlir::Value lr;   ///< rank-0 learning rate (a run-time hyper-parameter)
  mlir::Value step; ///< rank-0 step count after this step (optimizers with a counter)
  mlir::Value param, grad;
  llvm::ArrayRef<mlir::Value> state; ///< this parameter's slots, in slot order
  /// Rank-0 values shared by every parameter's update (bias corrections),
  /// built once by `build` on first use.
  mlir::Value shared(llvm::StringRef key, llvm::function_ref<mlir::Value()> build) const;
  llvm::StringMap<mlir::Value> *cache;
};

struct OptimizerDef {
  llvm::StringLiteral name;
  /// Hyper-parameters besides `lr` and `clip_norm`, which every optimizer has.
  llvm::ArrayRef<HyperParam> hypers;
  double defaultLr;
  /// A message if these values do not go together (checked by the frontend).
  const char *(*check)(const Hypers &);
  /// Names of the state tensors each parameter keeps, for these values.
  llvm::SmallVector<llvm::StringRef> (*slots)(const Hypers &);
  bool stepCounter;
  /// Appends the new parameter, then its new slots in slot order.
  void (*update)(const UpdateArgs &, llvm::SmallVectorImpl<mlir::Value> &out);
};

/// Every optimizer, and one by name (nullptr if unknown).
llvm::ArrayRef<OptimizerDef> optimizers();
const OptimizerDef *lookupOptimizer(llvm::StringRef name);

/// `clip_norm`: gradients are scaled so that their global L2 norm is at most
/// this (PyTorch's clip_grad_norm_); 0 disables clipping.
inline constexpr HyperParam kClipNorm{"clip_norm", 0.0, 0.0, 1e30};

/// The optimizer's hyper-parameters and those every optimizer has (but lr).
llvm::SmallVector<HyperParam> allHypers(const OptimizerDef &def);

} // namespace kiln

#endif // KILN_COMPILER_TRANSFORMS_OPTIMIZERS_H
