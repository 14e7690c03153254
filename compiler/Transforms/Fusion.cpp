//===- Fusion.cpp - Group elementwise kiln ops into kiln.fused ------------===//
//
// Greedy producer-consumer grouping over one block. A group is a set of
// elementwise ops of one shape; it becomes a kiln.fused placed where its last
// op was, so every value it yields must be used only after that point.
// Splat constants and broadcasts feeding a group are cloned into it: in the
// loop nest they are an index map or a scalar, not a buffer.
//
//===----------------------------------------------------------------------===//
#include "compiler/Transforms/Passes.h"

#include "llvm/ADT/EquivalenceClasses.h"
#include "llvm/ADT/SetVector.h"
#include "mlir/Transforms/RegionUtils.h"

namespace kiln {
#define GEN_PASS_DEF_KILNFUSE
#include "compiler/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

bool isGroupable(Operation *op) { return isa_and_nonnull<ElementwiseOpInterface>(op); }

/// Ops that are cheaper to recompute inside a group than to materialize: in
/// the loop nest they are a scalar or an index map, whatever computed their
/// input (an op of another group, already materialized or not: the answer must
/// not depend on the order groups are materialized in). Never one computed
/// from the group itself: such a broadcast is a user of a member outside the
/// group, which `usersAfter` keeps after the group's last op, where no member
/// can read it.
bool isCloneable(Operation *op) { return isa_and_nonnull<ConstantOp, BroadcastOp>(op); }

struct Grouping {
  llvm::EquivalenceClasses<Operation *> classes;

  /// True if every user of a value of `members` that is outside
  /// `members` ∪ {last} comes after `last` in the block.
  static bool usersAfter(ArrayRef<Operation *> members, Operation *last) {
    llvm::SmallPtrSet<Operation *, 16> in(members.begin(), members.end());
    in.insert(last);
    for (Operation *m : members)
      for (Operation *user : m->getUsers())
        if (!in.contains(user) && user->isBeforeInBlock(last))
          return false;
    return true;
  }

  SmallVector<Operation *> membersOf(Operation *leader) {
    SmallVector<Operation *> ops(classes.findLeader(leader),
                                 classes.member_end());
    llvm::sort(ops, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
    return ops;
  }

  void build(Block &block) {
    for (Operation &op : block) {
      if (!isGroupable(&op))
        continue;
      classes.insert(&op);
      Type shape = op.getResult(0).getType();
      for (Value operand : op.getOperands()) {
        Operation *def = operand.getDefiningOp();
        if (!def || !isGroupable(def) || def->getResult(0).getType() != shape)
          continue;
        if (classes.isEquivalent(def, &op))
          continue;
        SmallVector<Operation *> merged = membersOf(def);
        auto mine = membersOf(&op);
        merged.append(mine.begin(), mine.end());
        llvm::erase(merged, &op);
        if (usersAfter(merged, &op))
          classes.unionSets(def, &op);
      }
    }
  }
};

void materialize(ArrayRef<Operation *> group) {
  Operation *last = group.back();
  llvm::SmallPtrSet<Operation *, 16> in(group.begin(), group.end());

  llvm::SetVector<Value> inputs;
  // Cloned ops in post order (operands first), so cloning them in this order
  // keeps the region's SSA valid for chains such as a broadcast of a broadcast.
  llvm::SetVector<Operation *> cloned;
  size_t absorbed = 0;
  std::function<void(Value)> capture = [&](Value v) {
    Operation *def = v.getDefiningOp();
    if (def && in.contains(def))
      return;
    if (!isCloneable(def)) {
      inputs.insert(v);
      return;
    }
    if (cloned.contains(def))
      return;
    for (Value operand : def->getOperands())
      capture(operand);
    cloned.insert(def);
  };
  auto addInput = [&](Value v) {
    absorbed += isCloneable(v.getDefiningOp());
    capture(v);
  };
  for (Operation *op : group)
    for (Value v : op->getOperands())
      addInput(v);
  // A lone op that absorbs nothing gains nothing from a region.
  if (group.size() < 2 && absorbed == 0)
    return;

  SmallVector<Value> results;
  for (Operation *op : group)
    for (Value r : op->getResults())
      if (llvm::any_of(r.getUsers(), [&](Operation *u) { return !in.contains(u); }))
        results.push_back(r);

  OpBuilder b(last);
  auto fused = b.create<FusedOp>(last->getLoc(), ValueRange(results).getTypes(),
                                 inputs.getArrayRef());
  Block *body = b.createBlock(&fused.getBody());
  IRMapping map;
  for (Value v : inputs)
    map.map(v, body->addArgument(v.getType(), v.getLoc()));
  // Constants first (they have no operands), then the rest in post order.
  SmallVector<Operation *> pre;
  for (bool constants : {true, false})
    for (Operation *op : cloned)
      if (isa<ConstantOp>(op) == constants)
        pre.push_back(op);
  for (Operation *op : pre)
    b.clone(*op, map);
  for (Operation *op : group)
    b.clone(*op, map);
  SmallVector<Value> yielded;
  for (Value r : results)
    yielded.push_back(map.lookup(r));
  b.create<YieldOp>(last->getLoc(), yielded);

  for (auto [r, f] : llvm::zip(results, fused.getResults()))
    r.replaceUsesWithIf(f, [&](OpOperand &use) { return !in.contains(use.getOwner()); });
  for (Operation *op : llvm::reverse(group))
    op->erase();
  for (Operation *op : llvm::reverse(pre))
    if (op->use_empty())
      op->erase();
}

struct KilnFusePass : kiln::impl::KilnFuseBase<KilnFusePass> {
  void runOnOperation() override {
    // Scan bodies are isolated from above, so each is grouped on its own.
    SmallVector<Block *> blocks;
    for (Block &block : getOperation().getBody())
      blocks.push_back(&block);
    getOperation().walk([&](ScanOp scan) { blocks.push_back(&scan.getStep()); });
    for (Block *blockPtr : blocks) {
      Block &block = *blockPtr;
      Grouping grouping;
      grouping.build(block);
      SmallVector<SmallVector<Operation *>> groups;
      for (auto it = grouping.classes.begin(); it != grouping.classes.end(); ++it)
        if (it->isLeader())
          groups.push_back(grouping.membersOf(it->getData()));
      // The classes iterate in pointer order; materialize in block order so
      // the output does not depend on where the allocator put the ops.
      llvm::sort(groups, [](const auto &a, const auto &b) {
        return a.front()->isBeforeInBlock(b.front());
      });
      for (auto &g : groups)
        materialize(g);
    }
  }
};

} // namespace
