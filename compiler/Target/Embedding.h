//===- Embedding.h - C API, header and static library for a model -*- C++ -*-===//
#ifndef KILN_COMPILER_TARGET_EMBEDDING_H
#define KILN_COMPILER_TARGET_EMBEDDING_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/IR/Module.h"

namespace kiln {

/// Adds `<model>_create`, `_destroy`, `_init`, `_set_lr`, `_train_step`,
/// `_predict`, `_save`, `_load` and `_error`: typed C entry points that call
/// the runtime with this model's descriptor.
mlir::LogicalResult emitEmbeddingAPI(mlir::ModuleOp module, llvm::Module &llvmModule);

/// Writes the C header that declares the API above, with the model's shapes.
mlir::LogicalResult writeHeader(mlir::ModuleOp module, llvm::raw_ostream &os);

/// Writes a static library holding the model's objects (their contents,
/// named `<name>.<k>.o`) and the runtime's.
mlir::LogicalResult writeStaticLibrary(llvm::ArrayRef<std::string> objects, llvm::StringRef name,
                                       llvm::StringRef runtimeArchive, llvm::StringRef outPath);

} // namespace kiln

#endif // KILN_COMPILER_TARGET_EMBEDDING_H
