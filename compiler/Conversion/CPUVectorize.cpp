//===- CPUVectorize.cpp - Vectorized matmul micro-kernels for the CPU -----===//
//
// A matmul C[i,j] += A[i,k] * B[k,j] becomes, per MR x NR block of C:
//   acc = C[block]                      (MR vectors of NR lanes, in registers)
//   for k: acc[r] = fma(broadcast(A[i+r, k]), B[k, j:j+NR], acc[r])
//   C[block] = acc
// using upstream tiling, linalg vectorization, transfer hoisting and the
// contraction-to-outer-product lowering.
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Hoisting.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"

namespace kiln {
#define GEN_PASS_DEF_KILNCPUVECTORIZE
#include "compiler/Conversion/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// Kiln's i-k-j matmul nest: maps (i,k), (k,j) -> (i,j), a mul-add body.
bool isKilnMatmul(linalg::GenericOp op) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 || !op.hasPureBufferSemantics())
    return false;
  MLIRContext *ctx = op.getContext();
  auto map = [&](ArrayRef<unsigned> dims) {
    SmallVector<AffineExpr> e;
    for (unsigned d : dims)
      e.push_back(getAffineDimExpr(d, ctx));
    return AffineMap::get(3, 0, e, ctx);
  };
  SmallVector<AffineMap> expected{map({0, 1}), map({1, 2}), map({0, 2})};
  return op.getIndexingMapsArray() == expected && linalg::isaContractionOpInterface(op);
}

/// Keeps the C block in registers across the k loop: its read moves before
/// the loop, its write after, and the value travels as an iter_arg.
/// (Upstream's hoisting refuses transfers on subviews, which tiling makes.)
/// Safe because kiln's matmul writes a fresh, zero-filled buffer that none of
/// the loop's reads alias.
void hoistAccumulator(RewriterBase &rewriter, scf::ForOp loop) {
  auto writes = loop.getBody()->getOps<vector::TransferWriteOp>();
  if (std::distance(writes.begin(), writes.end()) != 1)
    return;
  vector::TransferWriteOp write = *writes.begin();
  moveLoopInvariantCode(cast<LoopLikeOpInterface>(loop.getOperation()));
  auto invariant = [&](Value v) { return !loop.getRegion().isAncestor(v.getParentRegion()); };
  if (!invariant(write.getSource()) || !llvm::all_of(write.getIndices(), invariant))
    return;
  vector::TransferReadOp read;
  for (auto r : loop.getBody()->getOps<vector::TransferReadOp>())
    if (r.getSource() == write.getSource() && r.getIndices() == write.getIndices() &&
        r.getVectorType() == write.getVectorType() &&
        r.getPermutationMap() == write.getPermutationMap())
      read = r;
  if (!read)
    return;
  read->moveBefore(loop);
  Value updated = write.getVector();
  auto newLoop = cast<LoopLikeOpInterface>(loop.getOperation())
                     .replaceWithAdditionalYields(
                         rewriter, read.getResult(), /*replaceInitOperandUsesInLoop=*/true,
                         [&](OpBuilder &, Location, ArrayRef<BlockArgument>) {
                           return SmallVector<Value>{updated};
                         });
  if (failed(newLoop))
    return;
  write->moveAfter(*newLoop);
  write.getVectorMutable().assign((*newLoop)->getResults().back());
}

struct KilnCPUVectorizePass : kiln::impl::KilnCPUVectorizeBase<KilnCPUVectorizePass> {
  using KilnCPUVectorizeBase::KilnCPUVectorizeBase;

  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    IRRewriter rewriter(&getContext());
    SmallVector<linalg::GenericOp> matmuls;
    fn.walk([&](linalg::GenericOp op) {
      if (isKilnMatmul(op))
        matmuls.push_back(op);
    });
    for (linalg::GenericOp op : matmuls) {
      SmallVector<int64_t> ranges = op.getStaticLoopRanges();
      int64_t m = ranges[0], n = ranges[2];
      int64_t nr = n % (2 * vectorWidth) == 0 ? 2 * vectorWidth
                   : n % vectorWidth == 0     ? vectorWidth
                                              : 0;
      if (nr == 0 || ShapedType::isDynamic(m))
        continue; // left to the scalar loop lowering
      // Accumulators: MR x (NR / width) registers, at most half the file.
      int64_t mr = 1;
      for (int64_t c : {4, 2})
        if (m % c == 0 && c * (nr / vectorWidth) <= 8) {
          mr = c;
          break;
        }
      // Dimensions i, j, k: the C block stays put across the innermost loop,
      // and the contraction has the (m, n, k) form the outer-product
      // lowering wants.
      rewriter.setInsertionPoint(op);
      auto ijk = linalg::interchangeGenericOp(rewriter, op, {0, 2, 1});
      if (failed(ijk))
        return signalPassFailure();
      scf::SCFTilingOptions options;
      options.setTileSizes(getAsIndexOpFoldResult(&getContext(), {mr, nr, 1}));
      auto tiled = scf::tileUsingSCF(rewriter, cast<TilingInterface>(ijk->getOperation()), options);
      if (failed(tiled))
        return signalPassFailure();
      rewriter.eraseOp(*ijk);
      for (Operation *inner : tiled->tiledOps) {
        rewriter.setInsertionPoint(inner);
        if (failed(linalg::vectorize(rewriter, inner)))
          return signalPassFailure();
      }
    }
    if (matmuls.empty())
      return;
    // The generic vectorizer emits broadcast + mul + multi_reduction; fold
    // that back into vector.contract before anything is lowered.
    {
      RewritePatternSet patterns(&getContext());
      // Broadcasts folded into transfer_read maps become explicit first, so
      // the contract patterns can fold them into indexing maps instead.
      vector::populateVectorTransferPermutationMapLoweringPatterns(patterns);
      vector::populateVectorReductionToContractPatterns(patterns);
      if (failed(applyPatternsAndFoldGreedily(fn, std::move(patterns))))
        return signalPassFailure();
    }
    SmallVector<scf::ForOp> reductionLoops;
    fn.walk([&](scf::ForOp loop) {
      if (!loop.getBody()->getOps<vector::ContractionOp>().empty())
        reductionLoops.push_back(loop);
    });
    for (scf::ForOp loop : reductionLoops)
      hoistAccumulator(rewriter, loop);

    RewritePatternSet patterns(&getContext());
    vector::populateVectorContractLoweringPatterns(
        patterns, vector::VectorTransformsOptions().setVectorTransformsOptions(
                      vector::VectorContractLowering::OuterProduct));
    vector::populateVectorOuterProductLoweringPatterns(patterns);
    vector::populateVectorTransferPermutationMapLoweringPatterns(patterns);
    vector::populateVectorBroadcastLoweringPatterns(patterns);
    vector::populateVectorShapeCastLoweringPatterns(patterns);
    vector::populateVectorTransposeLoweringPatterns(patterns, vector::VectorTransformsOptions());
    if (failed(applyPatternsAndFoldGreedily(fn, std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
