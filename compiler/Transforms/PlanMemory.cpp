//===- PlanMemory.cpp - Static workspace for temporary buffers ------------===//
//
// Every temporary of an entry point has a static shape, so the compiler can
// give each one a fixed offset in a workspace the caller allocates once.
// This first plan gives each buffer its own range (no reuse); liveness-based
// sharing can later shrink the workspace without changing the ABI.
//
//===----------------------------------------------------------------------===//
#include "compiler/Transforms/ModelAttrs.h"
#include "compiler/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

namespace kiln {
#define GEN_PASS_DEF_KILNPLANMEMORY
#include "compiler/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {
constexpr int64_t kAlignBytes = 64;

struct KilnPlanMemoryPass : kiln::impl::KilnPlanMemoryBase<KilnPlanMemoryPass> {
  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (fn.isDeclaration())
      return;
    SmallVector<std::pair<memref::AllocOp, int64_t>> allocs;
    int64_t total = 0;
    WalkResult walk = fn.walk([&](memref::AllocOp alloc) {
      MemRefType type = alloc.getType();
      if (!type.hasStaticShape() || !type.getLayout().isIdentity() ||
          !type.getElementType().isIntOrFloat()) {
        alloc.emitOpError("kiln-plan-memory: needs a static, identity-layout buffer, got ")
            << type;
        return WalkResult::interrupt();
      }
      int64_t bytes = type.getNumElements() *
                      llvm::divideCeil(type.getElementTypeBitWidth(), 8);
      allocs.push_back({alloc, total});
      total += llvm::alignTo(std::max<int64_t>(bytes, 1), kAlignBytes);
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();

    OpBuilder b(fn.getContext());
    auto wsType = MemRefType::get({total}, b.getI8Type());
    unsigned idx = fn.getNumArguments();
    fn.insertArgument(idx, wsType, b.getDictionaryAttr({}), fn.getLoc());
    Value ws = fn.getArgument(idx);
    fn->setAttr(attrs::kWorkspace, b.getI64IntegerAttr(total));

    for (auto [alloc, offset] : allocs) {
      b.setInsertionPoint(alloc);
      Value off = b.create<arith::ConstantIndexOp>(alloc.getLoc(), offset);
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
