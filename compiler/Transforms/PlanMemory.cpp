//===- PlanMemory.cpp - Static workspace for temporary buffers ------------===//
//
// Every temporary of an entry point has a static shape, so the compiler can
// give each one a fixed offset in a workspace the caller allocates once.
// Temporaries whose lifetimes (first definition to last use, views included)
// do not overlap share bytes; offsets are chosen first-fit in program order.
//
//===----------------------------------------------------------------------===//
#include "compiler/Transforms/ModelAttrs.h"
#include "compiler/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Interfaces/LoopLikeInterface.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace kiln {
#define GEN_PASS_DEF_KILNPLANMEMORY
#include "compiler/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {
constexpr int64_t kAlignBytes = 64;

struct Buffer {
  memref::AllocOp alloc;
  int64_t bytes, start, end, offset = 0;
};

/// The last position in `block` (as an index into `order`) at which `value`
/// or a view of it is used; uses inside nested regions count at their
/// top-level ancestor. A loop's result tied to a buffer passed as its
/// iter_arg is that buffer too (bufferization reuses it), so its uses count.
int64_t lastUse(Value value, Block &block, const DenseMap<Operation *, int64_t> &order) {
  int64_t last = -1;
  SmallVector<Value> worklist{value};
  while (!worklist.empty()) {
    Value v = worklist.pop_back_val();
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      Operation *top = block.findAncestorOpInBlock(*user);
      if (!top)
        return std::numeric_limits<int64_t>::max(); // escapes the block
      last = std::max(last, order.lookup(top));
      if (auto view = dyn_cast<ViewLikeOpInterface>(user))
        if (view.getViewSource() == v)
          worklist.append(user->result_begin(), user->result_end());
      if (auto loop = dyn_cast<LoopLikeOpInterface>(user))
        if (OpResult tied = loop.getTiedLoopResult(&use))
          worklist.push_back(tied);
    }
  }
  return last;
}

/// First fit: the lowest aligned offset not used by a buffer live at the same
/// time.
void place(Buffer &b, ArrayRef<Buffer> placed) {
  SmallVector<std::pair<int64_t, int64_t>> busy;
  for (const Buffer &p : placed)
    if (p.start <= b.end && b.start <= p.end)
      busy.push_back({p.offset, p.offset + p.bytes});
  llvm::sort(busy);
  int64_t offset = 0;
  for (auto [lo, hi] : busy) {
    if (offset + b.bytes <= lo)
      break;
    offset = std::max<int64_t>(offset, llvm::alignTo(hi, kAlignBytes));
  }
  b.offset = offset;
}

struct KilnPlanMemoryPass : kiln::impl::KilnPlanMemoryBase<KilnPlanMemoryPass> {
  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (fn.isDeclaration())
      return;
    Block &entry = fn.getBody().front();
    DenseMap<Operation *, int64_t> order;
    for (Operation &op : entry)
      order[&op] = order.size();

    SmallVector<Buffer> buffers;
    WalkResult walk = fn.walk([&](memref::AllocOp alloc) {
      MemRefType type = alloc.getType();
      if (!type.hasStaticShape() || !type.getLayout().isIdentity() ||
          !type.getElementType().isIntOrFloat()) {
        alloc.emitOpError("kiln-plan-memory: needs a static, identity-layout buffer, got ")
            << type;
        return WalkResult::interrupt();
      }
      Buffer b{alloc,
               std::max<int64_t>(1, type.getNumElements() *
                                        llvm::divideCeil(type.getElementTypeBitWidth(), 8)),
               0, std::numeric_limits<int64_t>::max()};
      // Buffers of the entry block share space when their lifetimes do not
      // overlap; one allocated inside a loop keeps its own range throughout.
      if (alloc->getBlock() == &entry) {
        b.start = order.lookup(alloc);
        b.end = std::max(b.start, lastUse(alloc, entry, order));
      }
      buffers.push_back(b);
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();

    int64_t total = 0, unshared = 0;
    for (size_t i = 0; i < buffers.size(); ++i) {
      unshared += llvm::alignTo(buffers[i].bytes, kAlignBytes);
      place(buffers[i], ArrayRef<Buffer>(buffers).take_front(i));
      total = std::max<int64_t>(total, llvm::alignTo(buffers[i].offset + buffers[i].bytes, kAlignBytes));
    }

    OpBuilder b(fn.getContext());
    auto wsType = MemRefType::get({total}, b.getI8Type());
    unsigned idx = fn.getNumArguments();
    fn.insertArgument(idx, wsType, b.getDictionaryAttr({}), fn.getLoc());
    Value ws = fn.getArgument(idx);
    fn->setAttr(attrs::kWorkspace, b.getI64IntegerAttr(total));
    fn->setAttr(attrs::kTemporaries, b.getI64IntegerAttr(unshared));

    for (Buffer &buffer : buffers) {
      memref::AllocOp alloc = buffer.alloc;
      b.setInsertionPoint(alloc);
      Value off = b.create<arith::ConstantIndexOp>(alloc.getLoc(), buffer.offset);
      Value view = b.create<memref::ViewOp>(alloc.getLoc(), alloc.getType(), ws, off,
                                            ValueRange{});
      for (Operation *user : llvm::make_early_inc_range(alloc->getUsers()))
        if (isa<memref::DeallocOp>(user))
          user->erase();
      alloc.replaceAllUsesWith(view);
      alloc.erase();
    }
  }
};
} // namespace
