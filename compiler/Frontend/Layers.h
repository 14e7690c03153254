//===- Layers.h - The table of layers and losses ----------------*- C++ -*-===//
//
// One entry per function of the language says everything about it: its
// arguments, its shape rule and parameters (used by Sema) and its expansion
// into kiln primitives (used by MLIRGen). Adding a layer is adding an entry
// (plus, for a new primitive, its op, VJP and lowering).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPILER_FRONTEND_LAYERS_H
#define KILN_COMPILER_FRONTEND_LAYERS_H

#include "compiler/Frontend/Sema.h"

#include "mlir/IR/Builders.h"

namespace kiln::frontend {

/// What a shape rule may ask of the semantic checker.
class LayerChecker {
public:
  virtual ~LayerChecker() = default;
  virtual Diagnostics &diagnostics() = 0;
  /// Reports (and returns false) unless `x` is f32[batch, n].
  virtual bool floatMatrix(const Expr &x, const Expr &call, const char *what) = 0;
  /// The initializer named by `key` in the call, if any; false after an error.
  virtual bool initializer(const Expr &call, llvm::StringRef key, std::string &out) = 0;
  /// A fresh name prefix for the parameters of this call: the binding's name,
  /// then NAME.1, NAME.2, ... for further calls in the same binding.
  virtual std::string paramPrefix() = 0;
  virtual void addParam(ParamInfo p) = 0;
  /// Records that `ids` (which must be the model's i32 input) indexes a
  /// table of `rows` rows; false after an error.
  virtual bool readsIds(const Expr &ids, int64_t rows, const Expr &call) = 0;
  /// Records the loss and the task it implies (classify, binary, regress).
  virtual void setLoss(llvm::StringRef loss, llvm::StringRef task, int64_t numClasses) = 0;
};

/// What an expansion may ask of MLIRGen.
class LayerBuilder {
public:
  virtual ~LayerBuilder() = default;
  virtual mlir::OpBuilder &builder() = 0;
  /// A parameter's or buffer's value by name; null if the model has none of
  /// that name.
  virtual mlir::Value param(llvm::StringRef name) = 0;
  /// True while building the training function, false for predict (dropout
  /// off, batch norm from its running statistics).
  virtual bool training() = 0;
  /// The value a buffer holds after the training step.
  virtual void updateBuffer(llvm::StringRef name, mlir::Value next) = 0;
  /// The tensor type Sema inferred for an expression.
  virtual mlir::RankedTensorType typeOf(const Expr &e) = 0;
};

struct LayerDef {
  llvm::StringLiteral name;
  /// How it is called, for messages and docs.
  llvm::StringLiteral usage;
  bool isLoss;
  /// Positional arguments: tensors first, then plain numbers (dense's units).
  unsigned tensorArgs, numberArgs;
  llvm::ArrayRef<llvm::StringLiteral> keys;
  /// The shape rule, run once the tensor arguments have checked: sets the
  /// call's shape and element kind, declares parameters. False after an error.
  bool (*check)(LayerChecker &, Expr &call);
  /// The expansion into kiln primitives of a call whose tensor arguments
  /// are built.
  mlir::Value (*build)(LayerBuilder &, const Expr &call, mlir::Location,
                       llvm::ArrayRef<mlir::Value> args);
};

/// Every function of the language, and one by name (nullptr if unknown).
llvm::ArrayRef<LayerDef> layers();
const LayerDef *lookupLayer(llvm::StringRef name);

/// Argument helpers for shape rules (Layers.cpp, Recurrent.cpp): each reports
/// its error and returns nullopt.
/// A positional integer argument `v` of `call` in [min, max].
std::optional<int64_t> intArg(LayerChecker &c, const Expr &call, const Expr &v, const char *what,
                              int64_t min, int64_t max);
/// The named true/false setting `key` of `call` (default `dflt`).
std::optional<bool> boolKey(LayerChecker &c, const Expr &call, llvm::StringRef key, bool dflt);

/// "f32[32, 784]" for messages.
std::string shapeStr(const std::vector<int64_t> &shape, bool isInt);

} // namespace kiln::frontend

#endif // KILN_COMPILER_FRONTEND_LAYERS_H
