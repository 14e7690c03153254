//===- ObjectEmitter.h - LLVM IR and object files from LLVM-dialect MLIR -*- C++ -*-===//
#ifndef KILN_COMPILER_TARGET_OBJECTEMITTER_H
#define KILN_COMPILER_TARGET_OBJECTEMITTER_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/IR/Module.h"

#include <memory>

namespace kiln {

/// f32 lanes of the host's widest vector registers (16 with AVX-512, else 8).
int64_t hostVectorWidth();

/// Translates a module in the LLVM dialect to LLVM IR, adds the model
/// descriptor table and optimizes at O3 for the host CPU.
std::unique_ptr<llvm::Module> translateAndOptimize(mlir::ModuleOp module,
                                                   llvm::LLVMContext &ctx,
                                                   bool exportEntry);

/// Writes `module` as a native object file (or assembly) for the host CPU.
mlir::LogicalResult writeObjectFile(llvm::Module &module, llvm::StringRef path,
                                    bool assembly = false);

/// Adds the constant `kiln_model_<name>` table (see runtime/include/kiln/model.h)
/// built from the kiln.model and kiln.layout attributes; with `exportEntry`,
/// also the `kiln_entry_model` pointer that the runtime's driver starts from.
mlir::LogicalResult emitModelDescriptor(mlir::ModuleOp module, llvm::Module &llvmModule,
                                        bool exportEntry);

} // namespace kiln

#endif // KILN_COMPILER_TARGET_OBJECTEMITTER_H
