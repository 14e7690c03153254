//===- GPUReduce.cpp - Reductions as block-wide tree reductions -----------===//
//
// Mapped like any other loop nest, a reduction runs one thread per output
// element, each summing its whole reduction sequentially: a loss summed over
// the batch is one thread, batch-norm statistics are one thread per channel
// summing 50,000 values. Here such a reduction becomes one block of 256
// threads per output element: each thread folds a strided slice, then the
// block combines the 256 partials in shared memory as a fixed binary tree,
// so the result does not depend on scheduling (runs are bitwise
// repeatable).
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/GPUKernels.h"
#include "compiler/Conversion/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Utils/Utils.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"

namespace kiln {
#define GEN_PASS_DEF_KILNGPUBLOCKREDUCE
#include "compiler/Conversion/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// Threads per reducing block (a power of two: the tree halves it).
constexpr int64_t kThreads = 256;

/// The combining operation of `out = combine(out, value)` and its identity.
struct Combiner {
  Operation *op;
  Value value; // the element's contribution, computed from the inputs
  TypedAttr identity;
};

static std::optional<Combiner> matchCombiner(linalg::GenericOp op) {
  if (op.getNumDpsInits() != 1 || op->getNumResults() != 0)
    return std::nullopt;
  Block &body = op.getRegion().front();
  Value yielded = cast<linalg::YieldOp>(body.getTerminator()).getOperand(0);
  Operation *combine = yielded.getDefiningOp();
  auto type = dyn_cast<FloatType>(yielded.getType());
  if (!combine || combine->getBlock() != &body || !type || !yielded.hasOneUse())
    return std::nullopt;
  const llvm::fltSemantics &sem = type.getFloatSemantics();
  TypedAttr identity;
  if (isa<arith::AddFOp>(combine))
    identity = FloatAttr::get(type, llvm::APFloat::getZero(sem, /*Negative=*/true)); // -0 + x == x
  else if (isa<arith::MaximumFOp, arith::MaxNumFOp>(combine))
    identity = FloatAttr::get(type, llvm::APFloat::getInf(sem, /*Negative=*/true));
  else if (isa<arith::MinimumFOp, arith::MinNumFOp>(combine))
    identity = FloatAttr::get(type, llvm::APFloat::getInf(sem));
  else
    return std::nullopt;
  BlockArgument out = body.getArgument(op.getNumDpsInputs());
  if (!out.hasOneUse() || out.use_begin()->getOwner() != combine)
    return std::nullopt;
  Value value = combine->getOperand(0) == out ? combine->getOperand(1) : combine->getOperand(0);
  if (value == out)
    return std::nullopt;
  return Combiner{combine, value, identity};
}

struct KilnGPUBlockReducePass : kiln::impl::KilnGPUBlockReduceBase<KilnGPUBlockReducePass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> candidates;
    getOperation().walk([&](linalg::GenericOp op) { candidates.push_back(op); });
    for (linalg::GenericOp op : candidates)
      if (std::optional<Combiner> c = matchCombiner(op))
        rewrite(op, *c);
  }

  void rewrite(linalg::GenericOp op, const Combiner &combiner) {
    // Products run after kiln-gpu-tile-matmul, which leaves only those
    // with a long reduction into few outputs (kiln::blockReduces).
    if (!op.hasPureBufferSemantics())
      return;
    SmallVector<int64_t> sizes = op.getStaticLoopRanges();
    auto iters = op.getIteratorTypesArray();
    int64_t parallel = 1, reduced = 1;
    SmallVector<unsigned> parallelDims, reducedDims;
    for (auto [d, size] : llvm::enumerate(sizes)) {
      if (ShapedType::isDynamic(size))
        return;
      bool isParallel = linalg::isParallelIterator(iters[d]);
      (isParallel ? parallel : reduced) *= size;
      (isParallel ? parallelDims : reducedDims).push_back(d);
    }
    if (!kiln::blockReduces(parallel, reduced))
      return;
    // Each output element must be one block's, and nothing the blocks read
    // another block's output (it writes its element only at the end).
    OpOperand *out = op.getDpsInitOperand(0);
    if (!kiln::ownsOutput(op, out) || !kiln::bodyOnlyReadsOthers(op))
      return;
    for (OpOperand *input : op.getDpsInputOperands())
      if (isa<MemRefType>(input->get().getType()) && !kiln::disjoint(input->get(), out->get()))
        return;

    Location loc = op.getLoc();
    MLIRContext *ctx = &getContext();
    Value filled = kiln::takeOutputFill(op);
    OpBuilder b(op);
    auto cst = [&](OpBuilder &at, int64_t v) {
      return at.create<arith::ConstantIndexOp>(loc, v).getResult();
    };
    Type elem = combiner.identity.getType();
    auto shared = MemRefType::get({kThreads}, elem, MemRefLayoutAttrInterface(),
                                  gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup));
    Value one = cst(b, 1);
    auto launch = b.create<gpu::LaunchOp>(loc, cst(b, parallel), one, one, cst(b, kThreads), one,
                                          one);
    Value partials = launch.addWorkgroupAttribution(shared, loc);
    Block *body = &launch.getBody().front();
    b.setInsertionPointToStart(body);
    Value block = launch.getBlockIds().x, thread = launch.getThreadIds().x;

    // The iteration-space index of each dimension: the block's output
    // element (parallel dimensions), then each element of the thread's
    // slice (reduction dimensions), both row-major.
    SmallVector<Value> dims(sizes.size());
    kiln::delinearize(b, loc, block, parallelDims, sizes, dims);
    auto combine = [&](OpBuilder &at, Value x, Value y) {
      IRMapping map;
      map.map(combiner.op->getOperand(0), x);
      map.map(combiner.op->getOperand(1), y);
      return at.clone(*combiner.op, map)->getResult(0);
    };

    // Each thread folds elements thread, thread + 256, ...
    Value identity = b.create<arith::ConstantOp>(loc, combiner.identity);
    auto slice = b.create<scf::ForOp>(loc, thread, cst(b, reduced), cst(b, kThreads),
                                      ValueRange{identity});
    {
      OpBuilder lb = OpBuilder::atBlockBegin(slice.getBody());
      kiln::delinearize(lb, loc, slice.getInductionVar(), reducedDims, sizes, dims);
      IRMapping map;
      kiln::mapOperandsAt(lb, loc, op, op.getDpsInputOperands(), dims, map);
      kiln::cloneBody(lb, op, dims, map, combiner.op);
      Value acc = slice.getRegionIterArgs()[0];
      // (The contribution may also be a value from outside the body.)
      Value value = map.lookupOrDefault(combiner.value);
      Value next = combiner.op->getOperand(0) == combiner.value ? combine(lb, value, acc)
                                                                : combine(lb, acc, value);
      lb.create<scf::YieldOp>(loc, next);
    }
    b.create<memref::StoreOp>(loc, slice.getResult(0), partials, thread);
    b.create<gpu::BarrierOp>(loc);

    // The tree: at each level the lower half adds the upper half.
    for (int64_t half = kThreads / 2; half >= 1; half /= 2) {
      Value lower = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, thread, cst(b, half));
      auto ifOp = b.create<scf::IfOp>(loc, lower, /*withElseRegion=*/false);
      OpBuilder ib = ifOp.getThenBodyBuilder();
      Value mine = ib.create<memref::LoadOp>(loc, partials, thread);
      Value other = ib.create<arith::AddIOp>(loc, thread, cst(ib, half));
      Value theirs = ib.create<memref::LoadOp>(loc, partials, other);
      ib.create<memref::StoreOp>(loc, combine(ib, mine, theirs), partials, thread);
      b.create<gpu::BarrierOp>(loc);
    }

    // Thread 0 folds the block's total into the output element (whose
    // indices do not involve the reduction dimensions), or into the value
    // the output was just filled with.
    for (unsigned d : reducedDims)
      dims[d] = cst(b, 0);
    Value first = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, thread, cst(b, 0));
    auto ifOp = b.create<scf::IfOp>(loc, first, /*withElseRegion=*/false);
    {
      OpBuilder ib = ifOp.getThenBodyBuilder();
      OpOperand *init = op.getDpsInitOperand(0);
      SmallVector<Value> indices =
          kiln::applyIndexingMap(ib, loc, op.getMatchingIndexingMap(init), dims);
      Value old =
          filled ? filled : ib.create<memref::LoadOp>(loc, init->get(), indices).getResult();
      Value total = ib.create<memref::LoadOp>(loc, partials, cst(ib, 0));
      Value result = combiner.op->getOperand(0) == combiner.value ? combine(ib, total, old)
                                                                  : combine(ib, old, total);
      ib.create<memref::StoreOp>(loc, result, init->get(), indices);
    }
    b.create<gpu::TerminatorOp>(loc);
    op.erase();
  }
};

} // namespace
