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
      // Every use but the first in program order gets a copy of the fill
      // right before its user (the fill's operands are defined before the
      // fill, so before it).
      SmallVector<OpOperand *> uses;
      for (OpOperand &use : fill->getResult(0).getUses())
        uses.push_back(&use);
      auto first = llvm::min_element(uses, [](OpOperand *a, OpOperand *b) {
        Operation *x = a->getOwner(), *y = b->getOwner();
        return x->getBlock() == y->getBlock() && x->isBeforeInBlock(y);
      });
      std::swap(*first, uses.front());
      for (OpOperand *use : llvm::drop_begin(uses)) {
        OpBuilder b(use->getOwner());
        use->set(b.clone(*fill)->getResult(0));
      }
    }
  }
};

} // namespace
