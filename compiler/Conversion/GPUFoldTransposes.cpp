//===- GPUFoldTransposes.cpp - Products read transposed operands in place -===//
//
// A dense layer's gradients multiply by transposes (dX = dY W^T, dW =
// X^T dY), which linalg materializes as copies: fashion_mlp's step had six,
// each a launch that reads and writes a whole matrix, one of them the
// transpose of a transpose. A product (any linalg.generic) reads its
// operands through indexing maps, so it can read the original through the
// composed map instead: a copy T = X permuted (T[d] = X[p(d)]) read by an
// op at m(i) is X read at p(m(i)). Here every later reader of T in the same
// block whose read is not separated from the copy by a write to X or T reads
// X instead; the copy goes when nothing else reads T, scratch (an
// allocation, or a workspace view) whose value nobody sees after the
// function. It runs before the memory plan, which then keeps X alive as
// long as its new readers need. Same values, read from elsewhere: results
// do not change.
//
//===----------------------------------------------------------------------===//
#include "compiler/Analysis/Aliasing.h"
#include "compiler/Conversion/GPUKernels.h"
#include "compiler/Conversion/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace kiln {
#define GEN_PASS_DEF_KILNGPUFOLDTRANSPOSES
#include "compiler/Conversion/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// A transpose (kiln::isPermutationCopy) writing its output in order: its
/// readers may read the input through the permutation instead.
bool foldableTranspose(linalg::GenericOp op) {
  return kiln::isPermutationCopy(op) &&
         op.getMatchingIndexingMap(op.getDpsInitOperand(0)).isIdentity();
}

bool mayWrite(Operation *op, Value buffer) { return kiln::mayAccess(op, buffer, true); }

/// Redirects the readers of `copy`'s output to its input; erases the copy
/// if nothing reads its output any more.
void fold(linalg::GenericOp copy) {
  Value source = copy.getDpsInputOperand(0)->get();
  Value copied = copy.getDpsInitOperand(0)->get();
  if (!kiln::disjoint(source, copied))
    return;
  AffineMap permutation = copy.getMatchingIndexingMap(copy.getDpsInputOperand(0));
  for (Operation *op = copy->getNextNode(); op; op = op->getNextNode()) {
    auto reader = dyn_cast<linalg::GenericOp>(op);
    bool reads = reader && reader.hasPureBufferSemantics() &&
                 llvm::any_of(reader.getDpsInputOperands(),
                              [&](OpOperand *in) { return in->get() == copied; });
    // Its outputs may not touch the source, nor the copy unless they are
    // the copy itself written whole (in place of what it read).
    if (reads && llvm::none_of(reader.getDpsInitsMutable(), [&](OpOperand &out) {
          if (!kiln::disjoint(out.get(), source))
            return true;
          if (kiln::disjoint(out.get(), copied))
            return false;
          return out.get() != copied || reader.getNumParallelLoops() != reader.getNumLoops() ||
                 !reader.getMatchingIndexingMap(&out).isIdentity() ||
                 reader.payloadUsesValueFromOperand(&out);
        })) {
      SmallVector<AffineMap> maps = reader.getIndexingMapsArray();
      for (OpOperand *in : reader.getDpsInputOperands())
        if (in->get() == copied) {
          maps[in->getOperandNumber()] = permutation.compose(maps[in->getOperandNumber()]);
          in->set(source);
        }
      reader.setIndexingMapsAttr(Builder(reader).getAffineMapArrayAttr(maps));
      // Having written the copy's buffer, it leaves later readers its values.
      if (mayWrite(reader, copied))
        break;
      continue;
    }
    // Past a write to either buffer, later readers see other values.
    if (mayWrite(op, source) || mayWrite(op, copied))
      break;
  }
  // The copy goes if it was workspace scratch (an allocation, or a
  // workspace view) whose value nothing reads any more: before anything
  // else touches it, it is overwritten whole (the memory plan gives its
  // bytes to later buffers), in a loop's body also on the way round to the
  // next iteration's copy and out of the loop.
  if (!(copied.getDefiningOp<memref::AllocOp>() || copied.getDefiningOp<memref::ViewOp>()) ||
      !kiln::unreadAfter(copy, copied))
    return;
  copy.erase();
}

struct KilnGPUFoldTransposesPass
    : kiln::impl::KilnGPUFoldTransposesBase<KilnGPUFoldTransposesPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> copies;
    getOperation().walk([&](linalg::GenericOp op) {
      if (foldableTranspose(op))
        copies.push_back(op);
    });
    // In program order: a copy of a copy then reads the first one's source.
    for (linalg::GenericOp copy : copies)
      fold(copy);
  }
};

} // namespace
