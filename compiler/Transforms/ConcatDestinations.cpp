//===- ConcatDestinations.cpp - Concats built where they go, before bufferization ===//
//
// A concatenation lowers to a chain of tensor.insert_slice ops into a
// tensor.empty. Two things make bufferization copy whole tensors there:
//
// - Two concats sharing their first pieces (a GRU's reset and update gate
//   gradients start both the input and the recurrent gate gradient) share
//   that prefix of the chain after CSE; once the first concat writes its
//   last piece in place, the second needs the prefix intact, so the whole
//   tensor built so far is copied (32x192 floats at each time step of a
//   GRU). Here each further use gets a chain of its own: only the shared
//   pieces are copied, each into the second destination, slices of the
//   same shape as the ops computing them (the GPU kernels fuse the copies
//   with those ops). Never more bytes than the whole copy: the pieces are
//   disjoint parts of one tensor.
// - A concat (or any op's output) that is itself inserted into a larger
//   tensor (a recurrent step's gate gradients stacked over time steps) is
//   built in a tensor of its own and then copied there. Here it is built
//   in that slice of the destination instead of its tensor.empty (only
//   this use of the empty: others may be unrelated values), so it is
//   written where it goes, as upstream's empty-tensor elimination would
//   do. (The insert then copies the slice onto itself, a copy
//   kiln-update-in-place drops.)
//
//===----------------------------------------------------------------------===//
#include "compiler/Transforms/Passes.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/IR/Dominance.h"

namespace kiln {
#define GEN_PASS_DEF_KILNCONCATDESTINATIONS
#include "compiler/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// Whether `use` is the destination operand of an insert_slice.
bool isDest(OpOperand &use) {
  auto insert = dyn_cast<tensor::InsertSliceOp>(use.getOwner());
  return insert && use.getOperandNumber() == insert.getDestMutable().getOperandNumber();
}

/// Gives every insert_slice inserting into `insert`'s result, but the first
/// in `insert`'s block, a copy of `insert` right before it (its operands
/// are defined before `insert`, so before the user). Users in other blocks
/// keep theirs: a copy inside a loop would redo the work at every
/// iteration.
void chainPerUse(tensor::InsertSliceOp insert) {
  SmallVector<OpOperand *> dests;
  for (OpOperand &use : insert.getResult().getUses())
    if (isDest(use) && use.getOwner()->getBlock() == insert->getBlock())
      dests.push_back(&use);
  if (dests.size() < 2)
    return;
  llvm::sort(dests, [](OpOperand *a, OpOperand *b) {
    return a->getOwner()->isBeforeInBlock(b->getOwner());
  });
  for (OpOperand *use : llvm::drop_begin(dests)) {
    OpBuilder b(use->getOwner());
    use->set(b.clone(*insert)->getResult(0));
  }
}

/// The operand a tensor result is built in: an insert_slice's destination,
/// a destination-style op's init tied to it (a linalg op's output); null
/// for anything else.
OpOperand *builtIn(Value v) {
  auto result = dyn_cast<OpResult>(v);
  if (!result)
    return nullptr;
  if (auto insert = dyn_cast<tensor::InsertSliceOp>(result.getOwner()))
    return &insert.getDestMutable();
  if (auto dps = dyn_cast<DestinationStyleOpInterface>(result.getOwner()))
    return dps.getTiedOpOperand(result);
  return nullptr;
}

/// When `outer` inserts a value built from a tensor.empty (through
/// insert_slices and ops writing their outputs, each the only use of the
/// one before), builds it in the slice of `outer`'s destination it ends up
/// in instead of the empty (that use of it only), where that destination
/// and the slice's offsets are available. The value may have other readers
/// before `outer` (an LSTM's gate gradients feed its weight gradients, then
/// are stacked over time steps): they read the slice before `outer` writes
/// it (with what it already holds).
void buildInPlace(tensor::InsertSliceOp outer, DominanceInfo &dominance) {
  Value last = outer.getSource();
  if (llvm::any_of(last.getUsers(), [&](Operation *user) {
        return user != outer && (user->getBlock() != outer->getBlock() || !user->isBeforeInBlock(outer));
      }))
    return;
  OpOperand *root = builtIn(last);
  while (root && !root->get().getDefiningOp<tensor::EmptyOp>()) {
    if (!root->get().hasOneUse())
      return;
    root = builtIn(root->get());
  }
  if (!root)
    return;
  Operation *first = root->getOwner();
  auto available = [&](Value v) { return dominance.properlyDominates(v, first); };
  if (!available(outer.getDest()) || !llvm::all_of(outer.getOffsets(), available) ||
      !llvm::all_of(outer.getSizes(), available) || !llvm::all_of(outer.getStrides(), available))
    return;
  OpBuilder b(first);
  root->set(b.create<tensor::ExtractSliceOp>(outer.getLoc(), outer.getSourceType(), outer.getDest(),
                                             outer.getMixedOffsets(), outer.getMixedSizes(),
                                             outer.getMixedStrides()));
}

struct KilnConcatDestinationsPass
    : kiln::impl::KilnConcatDestinationsBase<KilnConcatDestinationsPass> {
  void runOnOperation() override {
    SmallVector<tensor::InsertSliceOp> inserts;
    getOperation().walk([&](tensor::InsertSliceOp op) { inserts.push_back(op); });
    // Last first: a copy adds a use of its destination, an insert earlier
    // in the chain, which is then visited with every use it has.
    for (tensor::InsertSliceOp insert : llvm::reverse(inserts))
      chainPerUse(insert);
    DominanceInfo dominance(getOperation());
    getOperation().walk([&](tensor::InsertSliceOp op) { buildInPlace(op, dominance); });
  }
};

} // namespace
