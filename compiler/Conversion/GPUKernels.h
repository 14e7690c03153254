//===- GPUKernels.h - Helpers shared by Kiln's hand-built GPU kernels -----===//
#ifndef KILN_COMPILER_CONVERSION_GPUKERNELS_H
#define KILN_COMPILER_CONVERSION_GPUKERNELS_H

#include "compiler/Analysis/Aliasing.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Utils/Utils.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace kiln {

/// Whether kiln-gpu-block-reduce makes a reduction of `reduced` elements
/// into each of `outputs` elements a block per output: a full reduction
/// always; otherwise where each sum is long and there are too few outputs
/// to fill the GPU one per thread.
inline bool blockReduces(int64_t outputs, int64_t reduced) {
  return reduced >= 2 && (outputs == 1 || (reduced >= 256 && outputs <= 16384));
}

/// Whether each element of `op`'s output `init` is one parallel
/// iteration's: its indexing map picks every parallel loop once and no
/// reduction loop (else several iterations, run apart, would update one
/// element: a transposed convolution's scatter, out[h + kh]).
inline bool ownsOutput(mlir::linalg::GenericOp op, mlir::OpOperand *init) {
  mlir::AffineMap map = op.getMatchingIndexingMap(init);
  if (!map.isProjectedPermutation() || map.getNumResults() != op.getNumParallelLoops())
    return false;
  auto iters = op.getIteratorTypesArray();
  for (unsigned r = 0; r < map.getNumResults(); ++r)
    if (!mlir::linalg::isParallelIterator(iters[map.getDimPosition(r)]))
      return false;
  return true;
}

/// The scf.parallel loops under `root` not nested in another: each becomes
/// a kernel (its nested loops run inside it), in program order.
inline llvm::SmallVector<mlir::scf::ParallelOp> outermostParallelLoops(mlir::Operation *root) {
  llvm::SmallVector<mlir::scf::ParallelOp> loops;
  root->walk([&](mlir::scf::ParallelOp loop) {
    if (!loop->getParentOfType<mlir::scf::ParallelOp>())
      loops.push_back(loop);
  });
  return loops;
}

/// Whether `op` only copies its one input into its one output with the
/// dimensions permuted (a transpose).
inline bool isPermutationCopy(mlir::linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 1 || op.getNumDpsInits() != 1 ||
      op.getNumParallelLoops() != op.getNumLoops())
    return false;
  mlir::Block &body = op.getRegion().front();
  auto yield = llvm::cast<mlir::linalg::YieldOp>(body.getTerminator());
  return body.getOperations().size() == 1 && yield.getOperand(0) == body.getArgument(0) &&
         op.getIndexingMapsArray()[0].isPermutation() &&
         op.getIndexingMapsArray()[1].isPermutation();
}

/// Whether `op`'s body computes without touching memory itself (what the
/// kernels that load its operands and store its results for it assume).
inline bool bodyIsMemoryFree(mlir::linalg::GenericOp op) {
  return llvm::all_of(op.getRegion().front().without_terminator(),
                      [](mlir::Operation &inner) { return mlir::isMemoryEffectFree(&inner); });
}

/// Whether `op`'s body (nested regions too) touches memory only to load
/// from memrefs that cannot share memory with `op`'s outputs (an embedding
/// gradient's updates, read where a row matches): a kernel that keeps the
/// outputs in registers changes nothing they read.
inline bool bodyOnlyReadsOthers(mlir::linalg::GenericOp op) {
  auto walk = op.getRegion().front().walk([&](mlir::Operation *inner) {
    if (inner == op.getRegion().front().getTerminator() || mlir::isMemoryEffectFree(inner))
      return mlir::WalkResult::advance();
    if (llvm::isa<mlir::scf::IfOp, mlir::scf::YieldOp>(inner))
      return mlir::WalkResult::advance(); // their regions' ops are visited
    auto load = llvm::dyn_cast<mlir::memref::LoadOp>(inner);
    if (!load)
      return mlir::WalkResult::interrupt();
    for (mlir::OpOperand &init : op.getDpsInitsMutable())
      if (!disjoint(load.getMemRef(), init.get()))
        return mlir::WalkResult::interrupt();
    return mlir::WalkResult::advance();
  });
  return !walk.wasInterrupted();
}

/// The value of a `linalg.fill` of `op`'s output placed right before it,
/// the fill erased, for a kernel that writes every element of that output
/// once (its caller's to know): it starts from that value, and the fill's
/// own launch goes. Null if there is no such fill.
inline mlir::Value takeFill(mlir::linalg::GenericOp op) {
  mlir::OpOperand *init = op.getDpsInitOperand(0);
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

/// takeFill where each element of `op`'s one output is one parallel
/// iteration's (ownsOutput); null otherwise.
inline mlir::Value takeOutputFill(mlir::linalg::GenericOp op) {
  return ownsOutput(op, op.getDpsInitOperand(0)) ? takeFill(op) : mlir::Value();
}

/// Sets `dims[d]` for each dimension d of `which` (outermost first, sizes
/// from `sizes`) to its row-major index in `linear`; the outermost takes
/// what the others leave (`linear` is below the product of the sizes).
inline void delinearize(mlir::OpBuilder &b, mlir::Location loc, mlir::Value linear,
                        llvm::ArrayRef<unsigned> which, llvm::ArrayRef<int64_t> sizes,
                        llvm::MutableArrayRef<mlir::Value> dims) {
  if (which.empty())
    return;
  for (unsigned d : llvm::reverse(which.drop_front())) {
    mlir::Value size = b.create<mlir::arith::ConstantIndexOp>(loc, sizes[d]);
    dims[d] = b.create<mlir::arith::RemUIOp>(loc, linear, size);
    linear = b.create<mlir::arith::DivUIOp>(loc, linear, size);
  }
  dims[which.front()] = linear;
}

/// The indices an indexing map gives for the loop indices `dims`.
inline llvm::SmallVector<mlir::Value> applyIndexingMap(mlir::OpBuilder &b, mlir::Location loc,
                                                       mlir::AffineMap map, mlir::ValueRange dims) {
  llvm::SmallVector<mlir::Value> indices;
  for (unsigned r = 0; r < map.getNumResults(); ++r)
    indices.push_back(b.create<mlir::affine::AffineApplyOp>(loc, map.getSubMap({r}), dims));
  return indices;
}

/// Maps the block argument of each of `op`'s `operands` to its element at
/// the loop indices `dims`: loaded where the body uses it, a scalar operand
/// as it is.
inline void mapOperandsAt(mlir::OpBuilder &b, mlir::Location loc, mlir::linalg::GenericOp op,
                          llvm::ArrayRef<mlir::OpOperand *> operands, mlir::ValueRange dims,
                          mlir::IRMapping &values) {
  for (mlir::OpOperand *operand : operands) {
    mlir::BlockArgument arg = op.getMatchingBlockArgument(operand);
    if (!llvm::isa<mlir::MemRefType>(operand->get().getType()))
      values.map(arg, operand->get());
    else if (!arg.use_empty())
      values.map(arg, b.create<mlir::memref::LoadOp>(
                          loc, operand->get(),
                          applyIndexingMap(b, loc, op.getMatchingIndexingMap(operand), dims)));
  }
}

/// Clones `op`'s body but its terminator (and `skip`) at `b`, linalg.index
/// d as dims[d], block arguments through `values`; the values it yields.
inline llvm::SmallVector<mlir::Value> cloneBody(mlir::OpBuilder &b, mlir::linalg::GenericOp op,
                                                mlir::ValueRange dims, mlir::IRMapping &values,
                                                mlir::Operation *skip = nullptr) {
  mlir::Block &body = op.getRegion().front();
  for (mlir::Operation &inner : body.without_terminator()) {
    if (&inner == skip)
      continue;
    if (auto index = llvm::dyn_cast<mlir::linalg::IndexOp>(inner))
      values.map(index.getResult(), dims[index.getDim()]);
    else
      b.clone(inner, values);
  }
  llvm::SmallVector<mlir::Value> yielded;
  for (mlir::Value v : body.getTerminator()->getOperands())
    yielded.push_back(values.lookupOrDefault(v));
  return yielded;
}

} // namespace kiln

#endif // KILN_COMPILER_CONVERSION_GPUKERNELS_H
