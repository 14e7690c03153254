//===- GPUThreadReduce.cpp - Reductions a thread per output, in registers -===//
//
// Lowered by upstream's linalg-to-parallel-loops, a reduction that maps one
// output element per thread (a row's max over 10 logits, a bias gradient
// summed over the batch) loads and stores its output in global memory on
// every step of the reduction, and the linalg.fill that zeroes the output
// first is a launch of its own. Here each thread keeps its outputs in
// registers through the reduction loops, starting from the fill's value
// where a fill comes right before (the fill goes), and stores them once.
// The reduction order is the same as before: results do not change.
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/GPUKernels.h"
#include "compiler/Conversion/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Utils/Utils.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"

namespace kiln {
#define GEN_PASS_DEF_KILNGPUTHREADREDUCE
#include "compiler/Conversion/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// Whether every output of `op` is indexed by all its parallel loops and
/// nothing else (each element is one parallel iteration's), and no input
/// or other output can share memory with an output, nor the body touch
/// memory but to read other memory (registers would hide the output's
/// updates from them).
static bool ownsOutputs(linalg::GenericOp op) {
  if (!kiln::bodyOnlyReadsOthers(op))
    return false;
  for (OpOperand &init : op.getDpsInitsMutable()) {
    if (!kiln::ownsOutput(op, &init))
      return false;
    for (OpOperand *input : op.getDpsInputOperands())
      if (isa<MemRefType>(input->get().getType()) && !kiln::disjoint(input->get(), init.get()))
        return false;
    for (OpOperand &other : op.getDpsInitsMutable())
      if (&other != &init && !kiln::disjoint(other.get(), init.get()))
        return false;
  }
  return true;
}

struct KilnGPUThreadReducePass : kiln::impl::KilnGPUThreadReduceBase<KilnGPUThreadReducePass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> candidates;
    getOperation().walk([&](linalg::GenericOp op) {
      if (op.hasPureBufferSemantics() && op.getNumReductionLoops() && op.getNumParallelLoops() &&
          llvm::none_of(op.getStaticLoopRanges(), ShapedType::isDynamic) && ownsOutputs(op))
        candidates.push_back(op);
    });
    for (linalg::GenericOp op : candidates)
      rewrite(op);
  }

  void rewrite(linalg::GenericOp op) {
    Location loc = op.getLoc();
    SmallVector<int64_t> sizes = op.getStaticLoopRanges();
    auto iters = op.getIteratorTypesArray();
    SmallVector<unsigned> parallel, reduced;
    for (unsigned d = 0; d < op.getNumLoops(); ++d)
      (linalg::isParallelIterator(iters[d]) ? parallel : reduced).push_back(d);
    Value filled = op.getNumDpsInits() == 1 ? kiln::takeOutputFill(op) : Value();

    OpBuilder b(op);
    auto cst = [&](OpBuilder &at, int64_t v) {
      return at.create<arith::ConstantIndexOp>(loc, v).getResult();
    };
    auto bounds = [&](ArrayRef<unsigned> dims, SmallVector<Value> &lbs, SmallVector<Value> &ubs,
                      SmallVector<Value> &steps) {
      for (unsigned d : dims) {
        lbs.push_back(cst(b, 0));
        ubs.push_back(cst(b, sizes[d]));
        steps.push_back(cst(b, 1));
      }
    };
    SmallVector<Value> plbs, pubs, psteps, rlbs, rubs, rsteps;
    bounds(parallel, plbs, pubs, psteps);
    bounds(reduced, rlbs, rubs, rsteps);
    b.create<scf::ParallelOp>(loc, plbs, pubs, psteps, [&](OpBuilder &pb, Location, ValueRange pivs) {
      // (The outputs' maps take the reduction loops too, unused: 0.)
      SmallVector<Value> dims(sizes.size(), cst(pb, 0));
      for (auto [d, iv] : llvm::zip(parallel, pivs))
        dims[d] = iv;
      // The outputs' starting values: the fill's, or what they hold.
      SmallVector<Value> init;
      for (OpOperand &out : op.getDpsInitsMutable())
        init.push_back(filled ? filled
                              : pb.create<memref::LoadOp>(
                                     loc, out.get(),
                                     kiln::applyIndexingMap(
                                         pb, loc, op.getMatchingIndexingMap(&out), dims)));
      scf::LoopNest nest = scf::buildLoopNest(
          pb, loc, rlbs, rubs, rsteps, init,
          [&](OpBuilder &ib, Location, ValueRange rivs, ValueRange accs) -> scf::ValueVector {
            SmallVector<Value> all(dims);
            for (auto [d, iv] : llvm::zip(reduced, rivs))
              all[d] = iv;
            IRMapping values;
            kiln::mapOperandsAt(ib, loc, op, op.getDpsInputOperands(), all, values);
            for (auto [out, acc] : llvm::zip(op.getDpsInitsMutable(), accs))
              values.map(op.getMatchingBlockArgument(&out), acc);
            return kiln::cloneBody(ib, op, all, values);
          });
      for (auto [out, result] : llvm::zip(op.getDpsInitsMutable(), nest.results))
        pb.create<memref::StoreOp>(
            loc, result, out.get(),
            kiln::applyIndexingMap(pb, loc, op.getMatchingIndexingMap(&out), dims));
    });
    op.erase();
  }
};

} // namespace
