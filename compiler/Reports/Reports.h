//===- Reports.h - What kilnc --report prints ------------------*- C++ -*-===//
//
// kilnc feeds each report the module after the stages it reads (the training
// step before and after fusion, the code after the workspace plan) and prints
// it once compilation is done. Reports read the IR; they change nothing.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPILER_REPORTS_REPORTS_H
#define KILN_COMPILER_REPORTS_REPORTS_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>

namespace kiln {

/// The points of kilnc's pipeline a report can look at.
enum class ReportStage { Built, Grad, Fused, Codegen };

class Report {
public:
  virtual ~Report() = default;
  /// Called with the module after `stage` (only the stages compilation reaches).
  virtual void observe(ReportStage stage, mlir::ModuleOp module) = 0;
  virtual void print(llvm::raw_ostream &os) const = 0;
};

/// Kernels (loop nests over memory) per entry point before and after fusion,
/// and how the optimizer update is grouped.
std::unique_ptr<Report> createFusionReport();
/// Bytes of parameters, gradients, optimizer state, saved activations and
/// inputs, and each entry point's planned workspace.
std::unique_ptr<Report> createMemoryReport();

/// Bytes of a ranked tensor or memref type with a static shape (0 otherwise).
int64_t staticBytes(mlir::Type type);

/// Names of the state tensors the model itself keeps (batch-norm running
/// statistics, dropout's counter): the `loss` function's state arguments.
/// The training step's other state is the optimizer's.
llvm::StringSet<> modelBuffers(mlir::ModuleOp module);

} // namespace kiln

#endif // KILN_COMPILER_REPORTS_REPORTS_H
