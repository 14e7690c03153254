//===- KilnToGPU.cpp - GPU-specific preparation of lowered kiln code ------===//
#include "compiler/Conversion/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_KILNEXPANDMATH
#define GEN_PASS_DEF_KILNGPULOOPORDER
#define GEN_PASS_DEF_KILNGPUMERGEMODULES
#include "compiler/Conversion/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

struct KilnExpandMathPass : kiln::impl::KilnExpandMathBase<KilnExpandMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateExpandTanhPattern(patterns);
    populateMathPolynomialApproximationPatterns(patterns);
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

struct KilnGPULoopOrderPass : kiln::impl::KilnGPULoopOrderBase<KilnGPULoopOrderPass> {
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    SmallVector<linalg::GenericOp> generics;
    getOperation().walk([&](linalg::GenericOp op) { generics.push_back(op); });
    for (linalg::GenericOp op : generics) {
      SmallVector<unsigned> order;
      auto iters = op.getIteratorTypesArray();
      for (unsigned i = 0; i < iters.size(); ++i)
        if (linalg::isParallelIterator(iters[i]))
          order.push_back(i);
      for (unsigned i = 0; i < iters.size(); ++i)
        if (!linalg::isParallelIterator(iters[i]))
          order.push_back(i);
      if (llvm::equal(order, llvm::seq<unsigned>(0, iters.size())))
        continue;
      rewriter.setInsertionPoint(op);
      if (failed(linalg::interchangeGenericOp(rewriter, op, order)))
        return signalPassFailure();
    }
  }
};

struct KilnGPUMergeModulesPass : kiln::impl::KilnGPUMergeModulesBase<KilnGPUMergeModulesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::GPUModuleOp> modules(module.getOps<gpu::GPUModuleOp>());
    if (modules.size() < 2)
      return;
    OpBuilder b(modules.front());
    auto merged = b.create<gpu::GPUModuleOp>(module.getLoc(), "kiln_kernels");
    Block &body = merged.getBodyRegion().front();
    DenseMap<Attribute, SymbolRefAttr> renamed;
    for (gpu::GPUModuleOp m : modules) {
      for (Operation &op : llvm::make_early_inc_range(m.getBodyRegion().front())) {
        if (op.hasTrait<OpTrait::IsTerminator>())
          continue;
        // Outlining names modules uniquely but may reuse the kernel name
        // inside them; the module's name becomes the kernel's.
        StringAttr name = SymbolTable::getSymbolName(&op);
        op.moveBefore(body.getTerminator());
        SymbolTable::setSymbolName(&op, m.getNameAttr());
        renamed[SymbolRefAttr::get(m.getNameAttr(), {FlatSymbolRefAttr::get(name)})] =
            SymbolRefAttr::get(merged.getNameAttr(), {FlatSymbolRefAttr::get(m.getNameAttr())});
      }
      m.erase();
    }
    module.walk([&](gpu::LaunchFuncOp launch) {
      auto it = renamed.find(launch.getKernel());
      if (it != renamed.end())
        launch.setKernelAttr(it->second);
    });
  }
};

} // namespace
