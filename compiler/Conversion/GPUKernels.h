//===- GPUKernels.h - Helpers shared by Kiln's hand-built GPU kernels -----===//
#ifndef KILN_COMPILER_CONVERSION_GPUKERNELS_H
#define KILN_COMPILER_CONVERSION_GPUKERNELS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/TypeUtilities.h"

namespace kiln {

/// The value of a `linalg.fill` of `op`'s output placed right before it,
/// the fill erased: a kernel that writes every element of its output once
/// starts from that value, and the fill's own launch goes. Null if there is
/// no such fill or the output is not covered (its indexing map must be a
/// permutation of the parallel dimensions).
inline mlir::Value takeOutputFill(mlir::linalg::GenericOp op) {
  mlir::OpOperand *init = op.getDpsInitOperand(0);
  mlir::AffineMap map = op.getMatchingIndexingMap(init);
  if (!map.isProjectedPermutation() || map.getNumResults() != op.getNumParallelLoops())
    return {};
  for (mlir::OpOperand *input : op.getDpsInputOperands())
    if (input->get() == init->get())
      return {}; // read too: it needs the fill in memory
  auto fill = llvm::dyn_cast_or_null<mlir::linalg::FillOp>(op->getPrevNode());
  if (!fill || !fill.hasPureBufferSemantics() || fill.getDpsInitOperand(0)->get() != init->get())
    return {};
  mlir::Value value = fill.getDpsInputOperand(0)->get();
  // linalg.fill converts its value; the kernel uses it as it is.
  if (value.getType() != mlir::getElementTypeOrSelf(init->get().getType()))
    return {};
  fill.erase();
  return value;
}

} // namespace kiln

#endif // KILN_COMPILER_CONVERSION_GPUKERNELS_H
