//===- ABI.h - Flat-buffer C entry points -----------------------*- C++ -*-===//
#ifndef KILN_COMPILER_TRANSFORMS_ABI_H
#define KILN_COMPILER_TRANSFORMS_ABI_H

#include "runtime/include/kiln/model.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace kiln {

/// The entry points kilnc emits, in the model descriptor's order: each is
/// built from the value-semantics function of the same name. predict_one is
/// predict compiled for one row (no padding to the training batch).
struct EntryPointDef {
  const char *name;
  bool trains;        // updates the arenas in place, takes hyper-parameters
  const char *params; // the parameter list the runtime calls it with
};
inline constexpr EntryPointDef kEntryPoints[] = {
    {"train_step", true, KILN_TRAIN_STEP_PARAMS},
    {"predict", false, KILN_PREDICT_PARAMS},
    {"predict_one", false, KILN_PREDICT_PARAMS},
};

/// Where one tensor lives in its arena.
struct TensorSlot {
  std::string arena; // "param", "state" or "hyper"
  std::string name;
  int64_t offset;    // in elements
  llvm::SmallVector<int64_t> shape;
  mlir::DictionaryAttr init;
};

struct EntryOptions {
  /// Give the entry params and state arenas (and the hyper arena, with
  /// `alwaysHyper`) even when empty, so every model's entry points have the
  /// same C signatures.
  bool alwaysArenas = false;
  bool alwaysHyper = false;
  /// Arena tensors may be overwritten (results marked `kiln.update`).
  bool inPlace = false;
  /// Another entry point's layout: arena tensors found in it (by arena and
  /// name) keep their offsets, and the arenas their sizes, so predict reads
  /// the persistent buffers where the training step keeps them.
  llvm::ArrayRef<TensorSlot> reference;
  /// What the out-buffers are, in the entry's `kiln.roles`.
  llvm::StringRef outputRole = "output";
};

/// Builds a function `name` next to `fn` that takes arenas and plain buffers
/// instead of tensors (see ABI.cpp), and appends the arena layout to `layout`.
mlir::FailureOr<mlir::func::FuncOp>
buildEntryPoint(mlir::func::FuncOp fn, llvm::StringRef name, const EntryOptions &options,
                llvm::SmallVectorImpl<TensorSlot> &layout);

} // namespace kiln

#endif // KILN_COMPILER_TRANSFORMS_ABI_H
