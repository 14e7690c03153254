//===- KilnToGPU.cpp - GPU-specific preparation of lowered kiln code ------===//
#include "compiler/Conversion/GPUKernels.h"
#include "compiler/Conversion/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <numeric>

namespace kiln {
#define GEN_PASS_DEF_KILNEXPANDMATH
#define GEN_PASS_DEF_KILNGPULOOPORDER
#define GEN_PASS_DEF_KILNGPUFUSEINTOREDUCTIONS
#define GEN_PASS_DEF_KILNGPUMAPLOOPS
#define GEN_PASS_DEF_KILNGPUPRECISESQRT
#define GEN_PASS_DEF_KILNGPUDEVICEONLY
#define GEN_PASS_DEF_KILNGPUCHECKHOST
#define GEN_PASS_DEF_KILNGPUMERGEMODULES
#include "compiler/Conversion/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// f32 tanh in three ranges. Upstream's rational approximation is within a
/// few ulp of tanh, but near saturation a few ulp of a result near 1 are
/// most of 1 - y^2, the derivative autodiff builds: it returned 1.0
/// (derivative 0) from |x| = 8.0 on, PyTorch's CPU tanh (Sleef's) from
/// 8.664339742 on. Below |x| = 0.55: the rational approximation (a tanh
/// marked kSmall, which this pattern leaves to upstream's). Up to
/// 8.664339742: 1 - 2 / (e^2|x| + 1), whose small term's rounding is far
/// below an ulp of the result, so it is nearly always correctly rounded.
/// Past it, 1, as PyTorch's (correct rounding would give 1 from 9.011).
struct SplitTanh : OpRewritePattern<math::TanhOp> {
  static constexpr llvm::StringLiteral kSmall = "kiln.small_tanh";
  static constexpr double kSaturated = 8.664339742;
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(math::TanhOp op, PatternRewriter &rewriter) const override {
    Type type = op.getType();
    if (!getElementTypeOrSelf(type).isF32() || op->hasAttr(kSmall))
      return failure();
    Location loc = op.getLoc();
    auto cst = [&](double v) -> Value {
      TypedAttr scalar = rewriter.getF32FloatAttr(float(v));
      if (auto vt = dyn_cast<VectorType>(type))
        return rewriter.create<arith::ConstantOp>(loc, DenseElementsAttr::get(vt, scalar));
      return rewriter.create<arith::ConstantOp>(loc, scalar);
    };
    Value x = op.getOperand();
    Value a = rewriter.create<math::AbsFOp>(loc, x);
    Value capped = rewriter.create<arith::MinimumFOp>(loc, a, cst(kSaturated));
    Value e =
        rewriter.create<math::ExpOp>(loc, rewriter.create<arith::AddFOp>(loc, capped, capped));
    Value tail = rewriter.create<arith::DivFOp>(loc, cst(2.0),
                                                rewriter.create<arith::AddFOp>(loc, e, cst(1.0)));
    Value saturated =
        rewriter.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, a, cst(kSaturated));
    Value magnitude = rewriter.create<arith::SelectOp>(
        loc, saturated, cst(1.0), rewriter.create<arith::SubFOp>(loc, cst(1.0), tail));
    Value large = rewriter.create<math::CopySignOp>(loc, magnitude, x);
    auto small = rewriter.create<math::TanhOp>(loc, x);
    small->setAttr(kSmall, rewriter.getUnitAttr());
    Value isSmall = rewriter.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OLT, a, cst(0.55));
    rewriter.replaceOpWithNewOp<arith::SelectOp>(op, isSmall, small, large);
    return success();
  }
};

struct KilnExpandMathPass : kiln::impl::KilnExpandMathBase<KilnExpandMathPass> {
  void runOnOperation() override {
    // f32 first: tanh split (SplitTanh), then upstream's approximations,
    // whose rational tanh is within a few ulp below 0.55.
    // populateExpandTanhPattern's (1 - e^-2|x|) / (1 + e^-2|x|) cancels for
    // small |x| (in f32, tanh(1e-6) off by 1%), so it only takes what they
    // leave, the f64 of gradient checks (there off by 5e-9 at worst).
    RewritePatternSet split(&getContext()), approximations(&getContext()),
        expansions(&getContext());
    split.add<SplitTanh>(&getContext());
    populateMathPolynomialApproximationPatterns(approximations);
    populateExpandTanhPattern(expansions);
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(split))) ||
        failed(applyPatternsAndFoldGreedily(getOperation(), std::move(approximations))) ||
        failed(applyPatternsAndFoldGreedily(getOperation(), std::move(expansions))))
      signalPassFailure();
  }
};

struct KilnGPUPreciseSqrtPass : kiln::impl::KilnGPUPreciseSqrtBase<KilnGPUPreciseSqrtPass> {
  void runOnOperation() override {
    static constexpr llvm::StringLiteral kApprox = "__nv_sqrtf";
    getOperation().walk([](LLVM::CallOp call) {
      if (call.getCallee() != kApprox)
        return;
      OpBuilder b(call);
      call.getResult().replaceAllUsesWith(
          b.create<LLVM::SqrtOp>(call.getLoc(), call.getArgOperands()[0]).getResult());
      call.erase();
    });
    auto decl = getOperation().lookupSymbol<LLVM::LLVMFuncOp>(kApprox);
    if (decl && SymbolTable::symbolKnownUseEmpty(decl, getOperation()))
      decl.erase();
  }
};

struct KilnGPUFuseIntoReductionsPass
    : kiln::impl::KilnGPUFuseIntoReductionsBase<KilnGPUFuseIntoReductionsPass> {
  /// A reduction that reads each element of each input once.
  static bool readsEachElementOnce(linalg::GenericOp op) {
    return op.getNumDpsInits() == 1 && op.getNumReductionLoops() > 0 &&
           llvm::all_of(op.getDpsInputOperands(), [&](OpOperand *in) {
             return op.getMatchingIndexingMap(in).isPermutation();
           });
  }

  /// The input of `op` to fuse next: made by an elementwise generic that
  /// only `op` reads, from at most one whole tensor `op` does not read
  /// already (a reduction with few blocks streams its inputs: one read of
  /// the producer's result is not traded for two; smaller, broadcast
  /// operands are not counted).
  static OpOperand *fusable(linalg::GenericOp op) {
    for (OpOperand *in : op.getDpsInputOperands()) {
      auto producer = in->get().getDefiningOp<linalg::GenericOp>();
      if (!producer || producer.getNumLoops() != producer.getNumParallelLoops() ||
          producer->getNumResults() != 1 ||
          llvm::any_of(producer->getUsers(), [&](Operation *u) { return u != op; }) ||
          !linalg::areElementwiseOpsFusable(in))
        continue;
      llvm::SmallDenseSet<Value, 4> newReads;
      for (OpOperand *pin : producer.getDpsInputOperands())
        if (producer.getMatchingIndexingMap(pin).isPermutation() &&
            !llvm::is_contained(op->getOperands(), pin->get()))
          newReads.insert(pin->get());
      if (newReads.size() <= 1)
        return in;
    }
    return nullptr;
  }

  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    SmallVector<linalg::GenericOp> reductions;
    getOperation().walk([&](linalg::GenericOp op) {
      if (op.hasPureTensorSemantics() && readsEachElementOnce(op))
        reductions.push_back(op);
    });
    SmallVector<Operation *> fusedOps;
    for (linalg::GenericOp op : reductions) {
      // Each fusion makes a new op; it fuses on until no input qualifies.
      bool fusedAny = false;
      while (OpOperand *in = fusable(op)) {
        auto producer = in->get().getDefiningOp<linalg::GenericOp>();
        rewriter.setInsertionPoint(op);
        FailureOr<linalg::ElementwiseOpFusionResult> fused = linalg::fuseElementwiseOps(rewriter, in);
        if (failed(fused))
          break;
        for (auto [old, now] : fused->replacements)
          rewriter.replaceAllUsesWith(old, now);
        rewriter.eraseOp(op);
        if (producer->use_empty()) // else the fused op still reads it: fused next
          rewriter.eraseOp(producer);
        op = cast<linalg::GenericOp>(fused->fusedOp);
        fusedAny = true;
        if (!readsEachElementOnce(op))
          break;
      }
      if (fusedAny)
        fusedOps.push_back(op);
    }
    // A square's two operands (x * x) become two inputs reading the same
    // tensor: one.
    RewritePatternSet dedup(&getContext());
    linalg::populateEraseUnusedOperandsAndResultsPatterns(dedup);
    (void)applyOpPatternsAndFold(fusedOps, std::move(dedup)); // best effort
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

/// Threads per block: a multiple of the 32-thread warp, and enough warps to
/// hide memory latency.
static constexpr int64_t kBlockThreads = 256;

struct KilnGPUMapLoopsPass : kiln::impl::KilnGPUMapLoopsBase<KilnGPUMapLoopsPass> {
  void runOnOperation() override {
    SmallVector<scf::ParallelOp> outermost = kiln::outermostParallelLoops(getOperation());
    IRRewriter rewriter(&getContext());
    MLIRContext *ctx = &getContext();
    AffineMap identity = AffineMap::getMultiDimIdentityMap(1, ctx);
    auto mapTo = [&](scf::ParallelOp loop, gpu::Processor p) {
      SmallVector<gpu::ParallelLoopDimMappingAttr> mapping(
          loop.getNumLoops(), gpu::ParallelLoopDimMappingAttr::get(ctx, p, identity, identity));
      return gpu::setMappingAttr(loop, mapping);
    };
    for (scf::ParallelOp op : outermost) {
      {
        // One flat dimension: its index is the row-major linear index, so a
        // warp's threads touch consecutive elements, and small trailing
        // dimensions (a 4x4 feature map) do not leave most threads idle.
        // One-dimensional loops too: collapsing normalizes them to lower
        // bound 0 and step 1, which tiling without min bounds assumes (it
        // counts a step other than 1 twice in its bounds check).
        Block *block = op->getBlock();
        Operation *before = op->getPrevNode();
        rewriter.setInsertionPoint(op);
        std::vector<unsigned> all(op.getNumLoops());
        std::iota(all.begin(), all.end(), 0u);
        collapseParallelLoops(rewriter, op, {all});
        op = nullptr;
        for (Operation *it = before ? before->getNextNode() : &block->front(); it && !op;
             it = it->getNextNode())
          op = dyn_cast<scf::ParallelOp>(it);
        if (!op)
          return signalPassFailure();
      }
      auto [grid, threads] = scf::tileParallelLoop(op, {kBlockThreads}, /*noMinMaxBounds=*/true);
      if (failed(mapTo(grid, gpu::Processor::BlockX)) ||
          failed(mapTo(threads, gpu::Processor::ThreadX)))
        return signalPassFailure();
      threads.getBody()->walk([&](scf::ParallelOp inner) {
        if (failed(mapTo(inner, gpu::Processor::Sequential)))
          signalPassFailure();
      });
    }
  }
};

/// Operations a host function may hold: they compute addresses, not data.
static bool isHostOp(Operation *op) {
  if (isa<arith::ConstantOp, memref::ViewOp, memref::ReinterpretCastOp, memref::SubViewOp,
          memref::CollapseShapeOp, memref::ExpandShapeOp, memref::CastOp, func::ReturnOp,
          gpu::LaunchFuncOp, scf::YieldOp>(op))
    return true;
  // Index arithmetic (loop bounds, offsets of views).
  if (op->getDialect() && isa<arith::ArithDialect>(op->getDialect()))
    return llvm::all_of(op->getResultTypes(), [](Type t) { return t.isIndex() || t.isInteger(1); });
  return false;
}

/// Whether a loop holds kernels (parallel loops or launches): a loop of
/// launches stays on the host.
static bool containsParallelLoop(Operation *op) {
  return op->walk([](Operation *inner) {
             return isa<scf::ParallelOp, gpu::LaunchOp>(inner) ? WalkResult::interrupt()
                                                                : WalkResult::advance();
           })
      .wasInterrupted();
}

struct KilnGPUDeviceOnlyPass : kiln::impl::KilnGPUDeviceOnlyBase<KilnGPUDeviceOnlyPass> {
  void runOnOperation() override {
    if (failed(processBlock(getOperation().getBody().front())))
      signalPassFailure();
  }

  /// A run of operations to become one kernel, and the address
  /// computations among them that stay on the host (moved before it).
  struct Run {
    SmallVector<Operation *> ops, hoisted;
    llvm::SmallPtrSet<Operation *, 16> members;
  };

  LogicalResult processBlock(Block &block) {
    SmallVector<Run, 4> runs(1);
    auto endRun = [&] {
      if (!runs.back().ops.empty())
        runs.emplace_back();
      else
        runs.back().hoisted.clear();
    };
    for (Operation &op : block) {
      Run &run = runs.back();
      if (isa<scf::ParallelOp, gpu::LaunchOp, gpu::LaunchFuncOp>(op) ||
          op.hasTrait<OpTrait::IsTerminator>()) {
        endRun();
        continue;
      }
      if (auto loop = dyn_cast<scf::ForOp>(&op); loop && containsParallelLoop(loop)) {
        endRun();
        if (failed(processBlock(*loop.getBody())))
          return failure();
        continue;
      }
      if (isHostOp(&op)) {
        // An address computed from the run's data belongs to the kernel;
        // any other stays on the host, ahead of the kernel.
        bool fromRun = llvm::any_of(op.getOperands(), [&](Value v) {
          return v.getDefiningOp() && run.members.contains(v.getDefiningOp());
        });
        if (!fromRun) {
          if (!run.ops.empty())
            run.hoisted.push_back(&op);
          continue;
        }
      }
      run.ops.push_back(&op);
      run.members.insert(&op);
    }
    for (Run &run : runs)
      if (!run.ops.empty() && failed(wrap(run)))
        return failure();
    return success();
  }

  /// Moves the run's operations into a one-iteration scf.parallel in place
  /// of the first.
  LogicalResult wrap(Run &run) {
    for (Operation *op : run.ops)
      for (Value v : op->getResults())
        for (Operation *user : v.getUsers())
          if (!run.members.contains(op->getBlock()->findAncestorOpInBlock(*user)))
            return op->emitOpError("computes a value the host needs after it; a GPU kernel "
                                   "cannot return it");
    for (Operation *op : run.hoisted)
      op->moveBefore(run.ops.front());
    OpBuilder b(run.ops.front());
    Location loc = run.ops.front()->getLoc();
    Value zero = b.create<arith::ConstantIndexOp>(loc, 0);
    Value one = b.create<arith::ConstantIndexOp>(loc, 1);
    auto loop = b.create<scf::ParallelOp>(loc, ValueRange{zero}, ValueRange{one}, ValueRange{one});
    Operation *terminator = loop.getBody()->getTerminator();
    for (Operation *op : run.ops)
      op->moveBefore(terminator);
    return success();
  }
};

struct KilnGPUCheckHostPass : kiln::impl::KilnGPUCheckHostBase<KilnGPUCheckHostPass> {
  void runOnOperation() override {
    getOperation().walk([&](func::FuncOp f) {
      f.walk([&](Operation *op) {
        if (op == f.getOperation() || isHostOp(op) || isa<scf::ForOp, scf::IfOp>(op))
          return;
        op->emitOpError("would run on the host against device memory (kiln-gpu-device-only "
                        "left it outside a kernel)");
        signalPassFailure();
      });
    });
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
