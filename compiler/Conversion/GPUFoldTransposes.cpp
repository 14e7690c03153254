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
// Where the copy's readers cannot be changed (a recurrent step's gradient
// of the hidden state is read by the next time step, through the loop), the
// copy may still fold the other way: when its source is scratch that one
// generic has just written whole (after a fill, for a product's
// accumulator) and nothing reads after the copy, that generic writes the
// copy's output through the inverse permutation instead (an LSTM's
// backward step computed dh^T and transposed it: a launch per time step).
//
//===----------------------------------------------------------------------===//
#include "compiler/Analysis/Aliasing.h"
#include "compiler/Conversion/GPUKernels.h"
#include "compiler/Conversion/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Dominance.h"
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

/// Whether `buffer` is workspace scratch (an allocation, or a workspace
/// view): its value is nobody's result once nothing reads it.
bool isScratch(Value buffer) {
  return buffer.getDefiningOp<memref::AllocOp>() || buffer.getDefiningOp<memref::ViewOp>();
}

/// Redirects the readers of `copy`'s output to its input; erases the copy
/// if nothing reads its output any more, and says whether it did.
bool fold(linalg::GenericOp copy) {
  Value source = copy.getDpsInputOperand(0)->get();
  Value copied = copy.getDpsInitOperand(0)->get();
  if (!kiln::disjoint(source, copied))
    return false;
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
  if (!isScratch(copied) || !kiln::unreadAfter(copy, copied))
    return false;
  copy.erase();
  return true;
}

/// Whether `op` writes every element of `buffer` through `map` (a
/// projected permutation onto all of its dimensions, each over the loop's
/// whole range).
bool writesWhole(linalg::GenericOp op, AffineMap map, Value buffer) {
  auto type = cast<MemRefType>(buffer.getType());
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (!map.isProjectedPermutation() || map.getNumResults() != type.getRank())
    return false;
  for (auto [i, result] : llvm::enumerate(map.getResults()))
    if (ranges[cast<AffineDimExpr>(result).getPosition()] != type.getDimSize(i))
      return false;
  return true;
}

/// Has the generic that wrote `copy`'s source (and the fill before it, if
/// it accumulates) write `copy`'s output instead, permuted; erases the copy.
void foldIntoProducer(linalg::GenericOp copy) {
  Value source = copy.getDpsInputOperand(0)->get();
  Value copied = copy.getDpsInitOperand(0)->get();
  if (!isScratch(source) || !kiln::disjoint(source, copied) || !kiln::unreadAfter(copy, source))
    return;
  // The last op before the copy that touches either buffer, and before it
  // the one before that.
  auto previousToucher = [&](Operation *from) -> Operation * {
    for (Operation *op = from->getPrevNode(); op; op = op->getPrevNode())
      if (kiln::mayAccess(op, source) || kiln::mayAccess(op, copied))
        return op;
    return nullptr;
  };
  auto producer = dyn_cast_or_null<linalg::GenericOp>(previousToucher(copy));
  if (!producer || !producer.hasPureBufferSemantics() || producer.getNumDpsInits() != 1)
    return;
  OpOperand *out = producer.getDpsInitOperand(0);
  AffineMap outMap = producer.getMatchingIndexingMap(out);
  if (out->get() != source || !writesWhole(producer, outMap, source) ||
      llvm::any_of(producer.getDpsInputOperands(), [&](OpOperand *in) {
        return !kiln::disjoint(in->get(), source) || !kiln::disjoint(in->get(), copied);
      }))
    return;
  // An accumulator starts from a fill of the whole source, which then fills
  // the copy's output instead.
  linalg::FillOp fill;
  if (producer.payloadUsesValueFromOperand(out)) {
    fill = dyn_cast_or_null<linalg::FillOp>(previousToucher(producer));
    if (!fill || fill.getDpsInitOperand(0)->get() != source)
      return;
  }
  // The copy's output is defined before the first op that will write it
  // (a view made just for the copy moves up, its operands allowing).
  Operation *first = fill ? fill.getOperation() : producer.getOperation();
  DominanceInfo dominance(first->getParentOfType<func::FuncOp>());
  if (!dominance.properlyDominates(copied, first)) {
    Operation *def = copied.getDefiningOp();
    if (!def || def->getBlock() != first->getBlock() || !isMemoryEffectFree(def) ||
        def->getNumRegions() ||
        !llvm::all_of(def->getOperands(),
                      [&](Value v) { return dominance.properlyDominates(v, first); }))
      return;
    def->moveBefore(first);
  }
  // The copy: copied[d] = source[inMap(d)]; the producer wrote
  // source[outMap(i)], which is copied[inMap^-1(outMap(i))].
  AffineMap inMap = copy.getMatchingIndexingMap(copy.getDpsInputOperand(0));
  SmallVector<AffineMap> maps = producer.getIndexingMapsArray();
  maps[out->getOperandNumber()] = inversePermutation(inMap).compose(outMap);
  producer.setIndexingMapsAttr(Builder(producer).getAffineMapArrayAttr(maps));
  out->set(copied);
  if (fill)
    fill.getDpsInitOperand(0)->set(copied);
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
      if (!fold(copy))
        foldIntoProducer(copy);
  }
};

} // namespace
