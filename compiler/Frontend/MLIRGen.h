//===- MLIRGen.h - Build kiln IR from a checked model -----------*- C++ -*-===//
#ifndef KILN_COMPILER_FRONTEND_MLIRGEN_H
#define KILN_COMPILER_FRONTEND_MLIRGEN_H

#include "compiler/Frontend/Sema.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace kiln::frontend {

/// Emits `@loss(params..., input, label) -> tensor<f32>` and
/// `@predict(params..., input) -> output`, with the model's facts in the
/// module's `kiln.model` attribute and each parameter's name and initializer
/// on its argument.
mlir::OwningOpRef<mlir::ModuleOp> generateModule(const Model &model, const ModelInfo &info,
                                                 Diagnostics &diags);

} // namespace kiln::frontend

#endif // KILN_COMPILER_FRONTEND_MLIRGEN_H
