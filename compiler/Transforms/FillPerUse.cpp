//===- FillPerUse.cpp - One linalg.fill per use, before bufferization -----===//
//
// CSE leaves one zero-filled tensor feeding several ops (a convolution's
// output and, in the backward pass, an unrelated gradient of the same
// shape). Bufferization must then keep the filled buffer intact for the
// later users: it fills a buffer and copies it into each destination. A
// fill of its own per use lets each op fill its destination in place, and
// the GPU kernels fold that fill into the op that follows it.
//
//===----------------------------------------------------------------------===//
#include "compiler/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace kiln {
#define GEN_PASS_DEF_KILNFILLPERUSE
#include "compiler/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

struct KilnFillPerUsePass : kiln::impl::KilnFillPerUseBase<KilnFillPerUsePass> {
  void runOnOperation() override {
    SmallVector<linalg::FillOp> fills;
    getOperation().walk([&](linalg::FillOp fill) {
      if (fill.hasPureTensorSemantics())
        fills.push_back(fill);
    });
    for (linalg::FillOp fill : fills) {
      // Each linalg op filling its output from it gets a copy of the fill
      // right before it (the fill's operands are defined before the fill,
      // so before it), except the first in program order in the fill's own
      // block when every use is such: that one keeps the original. Other
      // users (an insert into a parallel loop's result, say) keep the
      // original. (A user inside a loop gets its own fill even when it is
      // the only one: otherwise each iteration copies the filled buffer.)
      SmallVector<OpOperand *> uses;
      bool allInits = true;
      for (OpOperand &use : fill->getResult(0).getUses()) {
        auto user = dyn_cast<linalg::LinalgOp>(use.getOwner());
        if (user && user.isDpsInit(&use))
          uses.push_back(&use);
        else
          allInits = false;
      }
      Block *home = fill->getBlock();
      auto local = llvm::partition(uses, [&](OpOperand *use) {
        return use->getOwner()->getBlock() == home;
      });
      if (allInits && local != uses.begin()) {
        auto first = std::min_element(uses.begin(), local, [](OpOperand *a, OpOperand *b) {
          return a->getOwner()->isBeforeInBlock(b->getOwner());
        });
        std::swap(*first, uses.front());
      }
      bool keepFirst = allInits && local != uses.begin();
      for (OpOperand *use : llvm::drop_begin(uses, keepFirst ? 1 : 0)) {
        OpBuilder b(use->getOwner());
        use->set(b.clone(*fill)->getResult(0));
      }
      if (fill->use_empty())
        fill.erase();
    }
  }
};

} // namespace
