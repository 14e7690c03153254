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
      if (fill.hasPureTensorSemantics() && !fill->getResult(0).hasOneUse())
        fills.push_back(fill);
    });
    for (linalg::FillOp fill : fills) {
      // Each linalg op filling its output from it gets a copy of the fill
      // right before it (the fill's operands are defined before the fill,
      // so before it), but the first in program order when every use is
      // such: that one keeps the original. Other users (an insert into a
      // parallel loop's result, say) keep the original.
      SmallVector<OpOperand *> uses;
      bool allInits = true;
      for (OpOperand &use : fill->getResult(0).getUses()) {
        auto user = dyn_cast<linalg::LinalgOp>(use.getOwner());
        if (user && user.isDpsInit(&use))
          uses.push_back(&use);
        else
          allInits = false;
      }
      if (uses.empty())
        continue;
      auto first = llvm::min_element(uses, [](OpOperand *a, OpOperand *b) {
        Operation *x = a->getOwner(), *y = b->getOwner();
        return x->getBlock() == y->getBlock() && x->isBeforeInBlock(y);
      });
      std::swap(*first, uses.front());
      for (OpOperand *use : llvm::drop_begin(uses, allInits ? 1 : 0)) {
        OpBuilder b(use->getOwner());
        use->set(b.clone(*fill)->getResult(0));
      }
    }
  }
};

} // namespace
