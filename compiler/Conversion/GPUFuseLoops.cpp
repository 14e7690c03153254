//===- GPUFuseLoops.cpp - Neighbouring parallel loops as one kernel -------===//
//
// Each scf.parallel left after the product and reduction passes becomes a
// kernel launch of its own. A classifier's loss is three of them over the
// same 64 rows (each row's max, its sum of exponentials, its label's logit),
// its gradient three more over 64x10; each is a few microseconds of launch
// for a few hundred flops. Two neighbouring loops over the same iteration
// space become one when, for every element one of them writes and the other
// touches, both name it by the same induction variables (each once): then an
// iteration of the fused loop reads and writes only what the same iteration
// did before, in the same order, and results do not change. Anything the
// bodies do besides loads, stores, scf.for/if and pure ops, or any access
// whose aliasing kiln::Place cannot settle, leaves the loops apart. Ops
// between the loops must be pure, or touch no memory the first loop does
// (they move above it).
//
// Then loops over different spaces that share no written memory (the
// optimizer's update of each parameter, each its own buffers) run side by
// side as one loop over both spaces laid end to end: iteration i < N1 is
// the first's (its indices recovered from i), the rest the second's.
// Nothing one writes the other touches, so no order between them is lost;
// a launch less each, and the two run at once.
//
//===----------------------------------------------------------------------===//
#include "compiler/Analysis/Aliasing.h"
#include "compiler/Conversion/GPUKernels.h"
#include "compiler/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace kiln {
#define GEN_PASS_DEF_KILNGPUFUSELOOPS
#include "compiler/Conversion/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// An op that neither touches memory nor holds others (a view, arithmetic).
bool isPlain(Operation *op) { return op->getNumRegions() == 0 && isMemoryEffectFree(op); }

struct Access {
  Value memref;
  SmallVector<Value> indices;
  bool write;
};

/// The loads and stores of `loop`'s body, or nothing if it does anything
/// else with memory (or has results, or nests another parallel loop).
std::optional<SmallVector<Access>> accessesOf(scf::ParallelOp loop) {
  if (loop.getNumResults())
    return std::nullopt;
  SmallVector<Access> accesses;
  WalkResult walk = loop.getBody()->walk([&](Operation *op) {
    if (auto load = dyn_cast<memref::LoadOp>(op))
      accesses.push_back({load.getMemRef(), llvm::to_vector(load.getIndices()), false});
    else if (auto store = dyn_cast<memref::StoreOp>(op))
      accesses.push_back({store.getMemRef(), llvm::to_vector(store.getIndices()), true});
    else if (!isa<scf::ForOp, scf::IfOp, scf::YieldOp, scf::ReduceOp>(op) && !isPlain(op))
      return WalkResult::interrupt();
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return std::nullopt;
  return accesses;
}

/// The position of each of `loop`'s induction variables in `indices` if they
/// are exactly those variables, each once: the element is that iteration's
/// alone.
std::optional<SmallVector<unsigned>> ownElement(scf::ParallelOp loop, ArrayRef<Value> indices) {
  auto ivs = loop.getInductionVars();
  if (indices.size() != ivs.size())
    return std::nullopt;
  SmallVector<unsigned> order;
  for (Value index : indices) {
    auto it = llvm::find(ivs, index);
    if (it == ivs.end() || llvm::is_contained(order, it - ivs.begin()))
      return std::nullopt;
    order.push_back(it - ivs.begin());
  }
  return order;
}

/// Whether two accesses, `a` of `first` and `b` of `second`, allow fusing:
/// apart, both reads, or the same element of one buffer owned by the same
/// iteration in both loops.
bool compatible(scf::ParallelOp first, const Access &a, scf::ParallelOp second, const Access &b) {
  if ((!a.write && !b.write) || kiln::disjoint(a.memref, b.memref))
    return true;
  if (!kiln::sameElements(a.memref, b.memref))
    return false;
  auto ea = ownElement(first, a.indices), eb = ownElement(second, b.indices);
  return ea && eb && *ea == *eb;
}

bool sameSpace(scf::ParallelOp a, scf::ParallelOp b) {
  return llvm::equal(a.getLowerBound(), b.getLowerBound()) &&
         llvm::equal(a.getUpperBound(), b.getUpperBound()) &&
         llvm::equal(a.getStep(), b.getStep());
}

/// Whether `op` writes nothing `accesses` touch and reads nothing they
/// write: a loop making them may run before or after it.
bool independent(Operation *op, ArrayRef<Access> accesses) {
  return llvm::none_of(accesses, [&](const Access &access) {
    return kiln::mayAccess(op, access.memref, /*writesOnly=*/!access.write);
  });
}

/// Whether `op`, between `first` and the next loop, may move above `first`:
/// its operands are there already, it has no regions, and it writes nothing
/// `first` touches and reads nothing `first` writes.
bool movesAbove(Operation *op, scf::ParallelOp first, ArrayRef<Access> accesses) {
  if (op->getNumRegions())
    return false;
  for (Value operand : op->getOperands()) {
    Operation *def = operand.getDefiningOp();
    if (def && def->getBlock() == first->getBlock() && !def->isBeforeInBlock(first))
      return false;
  }
  return independent(op, accesses);
}

/// The plain ops between `first` and `second` that `second` uses (directly,
/// inside its body, or through other such ops), in block order, if each
/// uses only values defined before `first` or by another of them; else
/// nothing.
std::optional<SmallVector<Operation *>> plainOpsUsed(scf::ParallelOp first, scf::ParallelOp second) {
  llvm::SetVector<Operation *> used;
  SmallVector<Value> worklist;
  second->walk([&](Operation *inner) { llvm::append_range(worklist, inner->getOperands()); });
  while (!worklist.empty()) {
    Operation *def = worklist.pop_back_val().getDefiningOp();
    if (!def || def->getBlock() != first->getBlock() || def->isBeforeInBlock(first) ||
        second->isAncestor(def) || used.contains(def))
      continue;
    if (!isPlain(def))
      return std::nullopt;
    used.insert(def);
    llvm::append_range(worklist, def->getOperands());
  }
  SmallVector<Operation *> ordered(used.begin(), used.end());
  llvm::sort(ordered, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
  return ordered;
}

/// Fuses `first` into the next scf.parallel of its block over the same
/// space if legal; returns the fused loop, or null. The ops in between
/// either all move above `first` (each touches nothing `first` does), or
/// the second loop moves up to `first` over all of them (none touches what
/// it does: a bias gradient's sum over the batch and its accumulation, a
/// recurrent step's products in between).
scf::ParallelOp fuseWithNext(scf::ParallelOp first) {
  auto firstAccesses = accessesOf(first);
  if (!firstAccesses)
    return {};
  SmallVector<Operation *> between; // not plain
  bool allMoveAbove = true;
  scf::ParallelOp second;
  for (Operation *op = first->getNextNode(); op; op = op->getNextNode()) {
    auto loop = dyn_cast<scf::ParallelOp>(op);
    if (loop && sameSpace(first, loop)) {
      second = loop;
      break;
    }
    if (isPlain(op))
      continue;
    allMoveAbove &= movesAbove(op, first, *firstAccesses);
    between.push_back(op);
  }
  if (!second)
    return {};
  auto secondAccesses = accessesOf(second);
  if (!secondAccesses)
    return {};
  for (const Access &a : *firstAccesses)
    for (const Access &b : *secondAccesses)
      if (!compatible(first, a, second, b))
        return {};
  if (allMoveAbove) {
    for (Operation *op : between)
      op->moveBefore(first);
  } else {
    std::optional<SmallVector<Operation *>> plain = plainOpsUsed(first, second);
    if (!plain || !llvm::all_of(between, [&](Operation *op) { return independent(op, *secondAccesses); }))
      return {};
    for (Operation *op : *plain)
      op->moveBefore(first);
    second->moveAfter(first);
  }
  IRMapping ivs;
  ivs.map(first.getInductionVars(), second.getInductionVars());
  OpBuilder b = OpBuilder::atBlockBegin(second.getBody());
  for (Operation &op : first.getBody()->without_terminator())
    b.clone(op, ivs);
  first.erase();
  return second;
}

/// The constant trip counts of `loop`'s dimensions, if each runs from 0 by 1.
std::optional<SmallVector<int64_t>> normalizedExtents(scf::ParallelOp loop) {
  SmallVector<int64_t> extents;
  for (auto [lb, ub, step] : llvm::zip(loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
    std::optional<int64_t> l = getConstantIntValue(lb), u = getConstantIntValue(ub),
                           st = getConstantIntValue(step);
    if (!l || !u || !st || *l != 0 || *st != 1 || *u <= 0)
      return std::nullopt;
    extents.push_back(*u);
  }
  return extents;
}

/// Clones `loop`'s body at `b`, its induction variables recovered from the
/// row-major linear index `linear` over `extents`.
void cloneDelinearized(OpBuilder &b, Location loc, scf::ParallelOp loop, ArrayRef<int64_t> extents,
                       Value linear) {
  IRMapping map;
  Value rest = linear;
  for (int64_t d = extents.size() - 1; d > 0; --d) {
    Value extent = b.create<arith::ConstantIndexOp>(loc, extents[d]);
    map.map(loop.getInductionVars()[d], b.create<arith::RemUIOp>(loc, rest, extent));
    rest = b.create<arith::DivUIOp>(loc, rest, extent);
  }
  map.map(loop.getInductionVars()[0], rest);
  for (Operation &op : loop.getBody()->without_terminator())
    b.clone(op, map);
}

/// The next scf.parallel after `op` in its block, or null.
scf::ParallelOp nextLoop(Operation *op) {
  for (op = op->getNextNode(); op; op = op->getNextNode())
    if (auto loop = dyn_cast<scf::ParallelOp>(op))
      return loop;
  return {};
}

/// Runs `first` and `second`, the next scf.parallel of its block (only
/// plain ops in between, or ops the second may move up over), as one 1-D
/// loop when neither writes memory the other touches; returns it, or null.
scf::ParallelOp mergeSideBySide(scf::ParallelOp first, scf::ParallelOp second) {
  auto firstAccesses = accessesOf(first);
  auto firstExtents = normalizedExtents(first);
  if (!firstAccesses || !firstExtents)
    return {};
  SmallVector<Operation *> between; // not plain
  for (Operation *op = first->getNextNode(); op != second; op = op->getNextNode())
    if (!isPlain(op))
      between.push_back(op);
  auto secondAccesses = accessesOf(second);
  auto secondExtents = normalizedExtents(second);
  if (!secondAccesses || !secondExtents)
    return {};
  for (const Access &a : *firstAccesses)
    for (const Access &b : *secondAccesses)
      if ((a.write || b.write) && !kiln::disjoint(a.memref, b.memref))
        return {};
  std::optional<SmallVector<Operation *>> plain = plainOpsUsed(first, second);
  if (!plain || !llvm::all_of(between, [&](Operation *op) { return independent(op, *secondAccesses); }))
    return {};
  for (Operation *op : *plain)
    op->moveBefore(first);

  Location loc = first.getLoc();
  OpBuilder b(first);
  int64_t n1 = computeProduct(*firstExtents), n2 = computeProduct(*secondExtents);
  Value zero = b.create<arith::ConstantIndexOp>(loc, 0);
  Value one = b.create<arith::ConstantIndexOp>(loc, 1);
  Value total = b.create<arith::ConstantIndexOp>(loc, n1 + n2);
  auto merged = b.create<scf::ParallelOp>(loc, ValueRange{zero}, ValueRange{total}, ValueRange{one});
  OpBuilder inner = OpBuilder::atBlockBegin(merged.getBody());
  Value i = merged.getInductionVars()[0];
  Value split = inner.create<arith::ConstantIndexOp>(loc, n1);
  Value inFirst = inner.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, i, split);
  auto branch = inner.create<scf::IfOp>(loc, inFirst, /*withElseRegion=*/true);
  OpBuilder thenB = branch.getThenBodyBuilder();
  cloneDelinearized(thenB, loc, first, *firstExtents, i);
  OpBuilder elseB = branch.getElseBodyBuilder();
  Value j = elseB.create<arith::SubIOp>(loc, i, split);
  cloneDelinearized(elseB, loc, second, *secondExtents, j);
  first.erase();
  second.erase();
  return merged;
}

struct KilnGPUFuseLoopsPass : kiln::impl::KilnGPUFuseLoopsBase<KilnGPUFuseLoopsPass> {
  void runOnOperation() override {
    // Loops in blocks outside any parallel loop (the function's, a
    // recurrence's step), each fused forward as far as it goes.
    SmallVector<scf::ParallelOp> loops = kiln::outermostParallelLoops(getOperation());
    llvm::SmallPtrSet<Operation *, 16> erased;
    for (scf::ParallelOp loop : loops) {
      if (erased.contains(loop))
        continue;
      for (scf::ParallelOp current = loop; current;) {
        Operation *gone = current;
        current = fuseWithNext(current);
        if (current)
          erased.insert(gone);
      }
    }
    // Then side by side, over the loops left.
    loops = kiln::outermostParallelLoops(getOperation());
    erased.clear();
    for (scf::ParallelOp loop : loops) {
      if (erased.contains(loop))
        continue;
      for (scf::ParallelOp current = loop, next; current && (next = nextLoop(current));) {
        Operation *gone = current;
        current = mergeSideBySide(current, next);
        if (current) {
          erased.insert(gone);
          erased.insert(next);
        }
      }
    }
  }
};

} // namespace
