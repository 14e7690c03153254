//===- UpdateInPlace.cpp - Write results straight into their arenas -------===//
//
// p' = p - lr * g is computed into a temporary and copied into p's slice;
// this pass makes the loop nest write p's slice itself when that cannot be
// observed. Aliasing is decided structurally: arena slices are static
// reinterpret_casts of an argument, so two slices of one argument overlap only
// if their ranges do; anything else derived from the same argument is assumed
// to overlap.
//
//===----------------------------------------------------------------------===//
#include "compiler/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace kiln {
#define GEN_PASS_DEF_KILNUPDATEINPLACE
#include "compiler/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

/// The argument a memref is a view of, and its static element range when it
/// is a static reinterpret_cast of that argument.
struct Footprint {
  Value root;
  std::optional<std::pair<int64_t, int64_t>> range;

  static Footprint of(Value v) {
    Footprint f;
    if (auto cast = v.getDefiningOp<memref::ReinterpretCastOp>()) {
      auto type = cast.getType();
      int64_t offset;
      SmallVector<int64_t> strides;
      if (type.hasStaticShape() && succeeded(getStridesAndOffset(type, strides, offset)) &&
          !ShapedType::isDynamic(offset))
        f.range = {offset, offset + type.getNumElements()};
    }
    while (auto view = v.getDefiningOp<ViewLikeOpInterface>())
      v = view.getViewSource();
    f.root = v;
    return f;
  }
  bool mayOverlap(const Footprint &o) const {
    if (root != o.root)
      return false;
    if (!range || !o.range)
      return true;
    return range->first < o.range->second && o.range->first < range->second;
  }
};

/// Whether `op` or an op nested in it (a loop body) uses memory that may
/// overlap `dest`.
bool touches(Operation *op, const Footprint &dest) {
  return op
      ->walk([&](Operation *inner) {
        bool hit = llvm::any_of(inner->getOperands(), [&](Value v) {
          return isa<MemRefType>(v.getType()) && dest.mayOverlap(Footprint::of(v));
        });
        return hit ? WalkResult::interrupt() : WalkResult::advance();
      })
      .wasInterrupted();
}

/// Rewrites `copy(tmp -> dest)` when legal: the last op writing `tmp` writes
/// `dest` instead. Bufferization often reuses one temporary for several
/// values in turn (a weight's gradient, then its new value), so only that
/// last write is moved; earlier uses of the temporary stay as they are.
bool rewrite(Operation *copy, Value tmp, Value dest) {
  if (!tmp.getDefiningOp<memref::AllocOp>() || !isa<BlockArgument>(Footprint::of(dest).root))
    return false;
  Footprint destPrint = Footprint::of(dest);
  Operation *last = nullptr;
  for (Operation *user : tmp.getUsers()) {
    if (user == copy)
      continue;
    if (user->getBlock() != copy->getBlock() || !user->isBeforeInBlock(copy))
      return false;
    if (!last || last->isBeforeInBlock(user))
      last = user;
  }
  auto writer = dyn_cast_or_null<linalg::LinalgOp>(last);
  if (!writer || !writer.hasPureBufferSemantics())
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
        !destPrint.mayOverlap(Footprint::of(operand.get())))
      continue;
    if (writer.isDpsInit(&operand) ||
        writer.getMatchingIndexingMap(&operand) != writer.getMatchingIndexingMap(init))
      return false;
  }
  for (Operation *op = last->getNextNode(); op != copy; op = op->getNextNode())
    if (touches(op, destPrint))
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
      rewrite(copy, src, dst);
    }
  }
};

} // namespace
