//===- ObjectEmitter.h - LLVM IR and object files from LLVM-dialect MLIR -*- C++ -*-===//
#ifndef KILN_COMPILER_TARGET_OBJECTEMITTER_H
#define KILN_COMPILER_TARGET_OBJECTEMITTER_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/IR/Module.h"
#include "llvm/Target/TargetMachine.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kiln {

/// The CPU that generated code is compiled for (kilnc --cpu), on the
/// host's target triple.
struct CPUTarget {
  std::string cpu, features; // LLVM's CPU name and feature string
  int64_t vectorWidth = 8;   // f32 lanes of its widest vector registers
  std::string required;      // its KILN_X86_FEATURES, comma-separated
};

/// `spec` is "native" (this host's CPU and every feature it has) or an LLVM
/// CPU name for the host's triple (x86-64-v3, skylake-avx512, znver4, ...);
/// nullopt with `error` set for a name the target does not know.
std::optional<CPUTarget> resolveCPU(llvm::StringRef spec, std::string &error);

/// An LLVM target machine for `cpu` (O3 code generation), or null with
/// `error` set.
std::unique_ptr<llvm::TargetMachine> createTargetMachine(const CPUTarget &cpu,
                                                         std::string &error);

/// Translates a module in the LLVM dialect to LLVM IR for `cpu` and adds
/// the model descriptor table and the C API, unoptimized.
std::unique_ptr<llvm::Module> translateToLLVMIR(mlir::ModuleOp module, llvm::LLVMContext &ctx,
                                                const CPUTarget &cpu, bool exportEntry);

/// LLVM's O3 pipeline for `tm`'s CPU.
void optimizeForTarget(llvm::Module &module, llvm::TargetMachine &tm);

/// translateToLLVMIR, then optimizeForTarget: one module, for --emit=llvm/asm.
std::unique_ptr<llvm::Module> translateAndOptimize(mlir::ModuleOp module,
                                                   llvm::LLVMContext &ctx, const CPUTarget &cpu,
                                                   bool exportEntry);

/// Optimizes and compiles the unoptimized `module` into `parts` native
/// objects, on as many threads as the host has cores (at most `parts`):
/// the functions are spread over the parts by size, each part is cloned
/// out of `module`, re-read in an LLVM context of its own and compiled
/// there (ParallelCodegen.cpp). The split depends only on the module, so
/// the objects do not depend on the core count. Empty on failure (reported).
std::vector<std::string> compileInParts(llvm::Module &module, const CPUTarget &cpu,
                                        unsigned parts);

/// Writes `module` as a native object file (or assembly) for `cpu`.
mlir::LogicalResult writeObjectFile(llvm::Module &module, const CPUTarget &cpu,
                                    llvm::StringRef path, bool assembly = false);

/// What a model instance allocates: floats of the parameter and state
/// arenas (each rounded up to 16) and the largest entry point's workspace
/// bytes, as the descriptor records them (workspace: after the memory plan).
struct ArenaSizes {
  int64_t params = 0, state = 0, workspace = 0;
  int64_t bytes() const { return 4 * (params + state) + workspace; }
};
ArenaSizes arenaSizes(mlir::ModuleOp module);

/// Adds the constant `kiln_model_<name>` table (see runtime/include/kiln/model.h)
/// built from the kiln.model and kiln.layout attributes; with `exportEntry`,
/// also the `kiln_entry_model` pointer that the runtime's driver starts from.
/// `cpuFeatures` is what the runtime checks the running CPU for.
mlir::LogicalResult emitModelDescriptor(mlir::ModuleOp module, llvm::Module &llvmModule,
                                        llvm::StringRef cpuFeatures, bool exportEntry);

} // namespace kiln

#endif // KILN_COMPILER_TARGET_OBJECTEMITTER_H
