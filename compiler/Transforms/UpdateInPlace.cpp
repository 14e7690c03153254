//===- UpdateInPlace.cpp - Write results straight into their arenas -------===//
//
// p' = p - lr * g is computed into a temporary and copied into p's slice;
// this pass makes the loop nest write p's slice itself when that cannot be
// observed. Aliasing is kiln::Place's: arena slices are static
// reinterpret_casts of an argument, so two slices of one argument overlap only
// if their byte ranges do; views whose range is unknown are assumed to.
//
//===----------------------------------------------------------------------===//
#include "compiler/Transforms/Passes.h"

#include "compiler/Analysis/Aliasing.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Dominance.h"

namespace kiln {
#define GEN_PASS_DEF_KILNUPDATEINPLACE
#include "compiler/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

/// Whether what the iterations of the loop around `copy` leave in `tmp`
/// is unseen after it (kiln::unreadAfter: overwritten whole before anything
/// touches it, through any view): then uses of `tmp` outside the loop (a
/// scratch buffer also used by a forward pass before it, or by the
/// optimizer after it) cannot tell where an iteration's last write went.
/// The loop's body itself reads only what it wrote into `tmp` earlier in
/// the same iteration (the bufferized tensors were the iteration's own), so
/// that write is seen only by its copy.
bool unseenAfterLoop(Operation *copy, Value tmp) {
  auto loop = dyn_cast<scf::ForOp>(copy->getParentOp());
  return loop && kiln::unreadAfter(loop, tmp);
}

/// Rewrites `copy(tmp -> dest)` when legal: the last op writing `tmp` writes
/// `dest` instead. Bufferization often reuses one temporary for several
/// values in turn (a weight's gradient, then its new value), so only that
/// last write is moved; earlier uses of the temporary stay as they are.
bool rewrite(Operation *copy, Value tmp, Value dest, DominanceInfo &dominance) {
  Place destPlace = Place::of(dest);
  if (!tmp.getDefiningOp<memref::AllocOp>() || !destPlace.distinctRoot())
    return false;
  Operation *last = nullptr;
  bool usedOutside = false;
  for (Operation *user : tmp.getUsers()) {
    if (user == copy)
      continue;
    if (user->getBlock() == copy->getBlock()) {
      if (!user->isBeforeInBlock(copy))
        return false;
      if (!last || last->isBeforeInBlock(user))
        last = user;
    } else if (copy->getBlock()->findAncestorOpInBlock(*user)) {
      return false; // inside an op beside the copy: not ordered here
    } else {
      usedOutside = true;
    }
  }
  if (usedOutside && !unseenAfterLoop(copy, tmp))
    return false;
  auto writer = dyn_cast_or_null<linalg::LinalgOp>(last);
  // The writer must be able to name the destination (a view of it may be
  // made only after the writer, for the copy).
  if (!writer || !writer.hasPureBufferSemantics() || !dominance.properlyDominates(dest, writer))
    return false;
  // It must overwrite every element of `tmp` without reading the old ones:
  // an all-parallel nest whose init map is the identity and unused in the body.
  OpOperand *init = nullptr;
  for (OpOperand &operand : writer.getDpsInitsMutable())
    if (operand.get() == tmp)
      init = &operand;
  if (!init || writer.payloadUsesValueFromOperand(init) ||
      writer.getNumParallelLoops() != writer.getNumLoops() ||
      !writer.getMatchingIndexingMap(init).isIdentity())
    return false;
  // In that op the destination's old value may be read only at the index it
  // is overwritten at; after it, nothing may touch the destination.
  for (OpOperand &operand : writer->getOpOperands()) {
    if (&operand == init || !isa<MemRefType>(operand.get().getType()) ||
        destPlace.disjointFrom(Place::of(operand.get())))
      continue;
    if (writer.isDpsInit(&operand) ||
        writer.getMatchingIndexingMap(&operand) != writer.getMatchingIndexingMap(init))
      return false;
  }
  for (Operation *op = last->getNextNode(); op != copy; op = op->getNextNode())
    if (kiln::mayAccess(op, destPlace))
      return false;
  init->set(dest);
  copy->erase();
  if (tmp.use_empty())
    tmp.getDefiningOp()->erase();
  return true;
}

struct KilnUpdateInPlacePass : kiln::impl::KilnUpdateInPlaceBase<KilnUpdateInPlacePass> {
  void runOnOperation() override {
    SmallVector<Operation *> copies;
    getOperation().walk([&](Operation *op) {
      if (isa<linalg::CopyOp, memref::CopyOp>(op))
        copies.push_back(op);
    });
    DominanceInfo dominance(getOperation());
    for (Operation *copy : copies) {
      Value src, dst;
      if (auto c = dyn_cast<linalg::CopyOp>(copy)) {
        src = c.getInputs()[0];
        dst = c.getOutputs()[0];
      } else {
        auto m = cast<memref::CopyOp>(copy);
        src = m.getSource();
        dst = m.getTarget();
      }
      // A copy onto itself (an insert_slice of what was built in the slice
      // it inserts, which bufferization copies anyway) does nothing.
      if (kiln::sameElements(src, dst)) {
        copy->erase();
        continue;
      }
      rewrite(copy, src, dst, dominance);
    }
  }
};

} // namespace
