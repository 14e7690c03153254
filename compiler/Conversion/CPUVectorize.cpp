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
#include "compiler/Conversion/VectorizeLoops.h"

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

/// Marks a k loop whose C block starts at zero: the matmul's zero fill was
/// dropped, so the block is never read.
constexpr llvm::StringLiteral kZeroAccumulator = "kiln.zero_accumulator";

/// Keeps the C block in registers across the k loop: its read moves before
/// the loop (or becomes zeros, for a loop marked kZeroAccumulator), its write
/// after, and the value travels as an iter_arg. (Upstream's hoisting refuses
/// transfers on subviews, which tiling makes.) Safe because kiln's matmul
/// writes a fresh buffer that none of the loop's reads alias. Returns
/// whether the block was hoisted.
bool hoistAccumulator(RewriterBase &rewriter, scf::ForOp loop) {
  auto writes = loop.getBody()->getOps<vector::TransferWriteOp>();
  if (std::distance(writes.begin(), writes.end()) != 1)
    return false;
  vector::TransferWriteOp write = *writes.begin();
  moveLoopInvariantCode(cast<LoopLikeOpInterface>(loop.getOperation()));
  auto invariant = [&](Value v) { return !loop.getRegion().isAncestor(v.getParentRegion()); };
  if (!invariant(write.getSource()) || !llvm::all_of(write.getIndices(), invariant))
    return false;
  vector::TransferReadOp read;
  for (auto r : loop.getBody()->getOps<vector::TransferReadOp>())
    if (r.getSource() == write.getSource() && r.getIndices() == write.getIndices() &&
        r.getVectorType() == write.getVectorType() &&
        r.getPermutationMap() == write.getPermutationMap())
      read = r;
  if (!read)
    return false;
  read->moveBefore(loop);
  Value init = read.getResult();
  if (loop->hasAttr(kZeroAccumulator)) {
    rewriter.setInsertionPoint(read);
    VectorType vt = read.getVectorType();
    init = rewriter.create<arith::ConstantOp>(
        read.getLoc(), DenseElementsAttr::get(vt, rewriter.getZeroAttr(vt.getElementType())));
    rewriter.replaceOp(read, init);
  }
  Value updated = write.getVector();
  auto newLoop = cast<LoopLikeOpInterface>(loop.getOperation())
                     .replaceWithAdditionalYields(
                         rewriter, init, /*replaceInitOperandUsesInLoop=*/true,
                         [&](OpBuilder &, Location, ArrayRef<BlockArgument>) {
                           return SmallVector<Value>{updated};
                         });
  if (failed(newLoop))
    return false;
  write->moveAfter(*newLoop);
  write.getVectorMutable().assign((*newLoop)->getResults().back());
  return true;
}

using Part = kiln::MatmulPart;

/// Rows per register block of two vectors: 2r accumulators, and each k
/// step costs about max(r, 5) cycles (2 FMA pipes of 4-5 cycles' latency
/// need 8-10 independent chains; 4-row blocks ran 64x784x256 at 62% of the
/// AVX2 FMA peak, 6-row blocks at 84%). Picks r <= 6 (12 accumulators, the
/// two B vectors and a broadcast: 15 of AVX2's 16 registers) for the
/// fewest cycles over m rows, the remainder a block of its own; ties go
/// to no remainder, then to taller blocks.
int64_t matmulRowBlock(int64_t m) {
  auto cycles = [&](int64_t r) {
    return m / r * std::max<int64_t>(r, 5) + (m % r ? std::max<int64_t>(m % r, 5) : 0);
  };
  int64_t best = 1;
  for (int64_t r = 2; r <= std::min<int64_t>(m, 6); ++r) {
    auto key = [&](int64_t x) { return std::make_tuple(cycles(x), m % x != 0, -x); };
    if (key(r) < key(best))
      best = r;
  }
  return best;
}

/// Register blocks for a matmul of static sizes: the bulk in blocks of
/// matmulRowBlock rows x 2 vectors, and the row and column remainders as
/// blocks of their own (static, smaller) sizes, so that no shape falls back
/// to scalar loops.
SmallVector<Part> partition(int64_t m, int64_t n, int64_t width) {
  int64_t mr = matmulRowBlock(m);
  SmallVector<Part> parts;
  for (const kiln::Piece &rows : kiln::pieces(m, mr))
    for (const kiln::Piece &cols : kiln::registerPieces(n, 2 * width))
      parts.push_back({rows.offset, rows.size, rows.block, cols.offset, cols.size, cols.block});
  return parts;
}

/// Cache blocking: a B operand larger than L2 (1 MiB per core on current
/// x86 server cores) is swept in column panels of K x nc that fit a quarter
/// of it, each panel reused by every row block of A before the next; 0 when
/// B fits already, only one row block reads it, or no panel width that is a
/// whole number of register blocks divides the part.
constexpr int64_t kL2Bytes = 1 << 20;
int64_t columnPanel(const Part &p, int64_t k) {
  if (k * p.n * 4 <= kL2Bytes || p.m <= p.mr)
    return 0;
  for (int64_t nc = kL2Bytes / 4 / (k * 4) / p.nr * p.nr; nc >= p.nr; nc -= p.nr)
    if (p.n % nc == 0)
      return nc < p.n ? nc : 0;
  return 0;
}

LogicalResult vectorizeMatmul(RewriterBase &rewriter, linalg::GenericOp op, int64_t width) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  int64_t m = ranges[0], k = ranges[1], n = ranges[2];
  if (ShapedType::isDynamic(m) || ShapedType::isDynamic(n) || ShapedType::isDynamic(k))
    return success(); // left to the scalar loop lowering
  linalg::FillOp zeroFill = k > 0 ? kiln::zeroFillBefore(op) : linalg::FillOp();
  bool zeroStart = zeroFill != nullptr;
  if (zeroFill)
    rewriter.eraseOp(zeroFill);
  // Dimensions i, j, k: the C block stays put across the innermost loop,
  // and the contraction has the (m, n, k) form the outer-product lowering
  // wants.
  rewriter.setInsertionPoint(op);
  auto ijk = linalg::interchangeGenericOp(rewriter, op, {0, 2, 1});
  if (failed(ijk))
    return failure();
  // The column loop outside when B is the larger operand: a K x NR panel of
  // B then stays in L1 while every row block of A passes over it (im2col
  // convolutions: few rows, very many columns).
  const SmallVector<int64_t> rowsFirst{0, 1, 2}, columnsFirst{1, 0, 2};
  auto index = [&](ArrayRef<int64_t> v) { return getAsIndexOpFoldResult(rewriter.getContext(), v); };
  for (const Part &p : partition(m, n, width)) {
    rewriter.setInsertionPoint(*ijk);
    int64_t nc = columnPanel(p, k);
    if (nc && kiln::packedMatmul(rewriter, *ijk, p, nc, width, zeroStart))
      continue;
    auto part = cast<TilingInterface>(ijk->getOperation())
                    .getTiledImplementation(rewriter, index({p.i0, p.j0, 0}), index({p.m, p.n, k}));
    if (failed(part))
      return failure();
    SmallVector<Operation *> partOps(part->tiledOps);
    Operation *parallelLoop = nullptr;
    ArrayRef<int64_t> loopOrder = n > m ? columnsFirst : rowsFirst;
    if (nc) {
      // Panels outermost (on separate threads, each its own part of B),
      // rows next, so that a panel stays in L2 across the row blocks.
      if (partOps.size() != 1)
        return failure();
      scf::SCFTilingOptions panels;
      panels.setTileSizes(index({0, nc, 0}));
      auto tiled = scf::tileUsingSCF(rewriter, cast<TilingInterface>(partOps[0]), panels);
      if (failed(tiled))
        return failure();
      rewriter.eraseOp(partOps[0]);
      partOps.assign(tiled->tiledOps.begin(), tiled->tiledOps.end());
      parallelLoop = tiled->loops.front();
      loopOrder = rowsFirst;
    }
    for (Operation *partOp : partOps) {
      rewriter.setInsertionPoint(partOp);
      scf::SCFTilingOptions options;
      options.setTileSizes(index({p.mr, p.nr, 1}));
      options.setInterchange(loopOrder);
      auto tiled = scf::tileUsingSCF(rewriter, cast<TilingInterface>(partOp), options);
      if (failed(tiled))
        return failure();
      rewriter.eraseOp(partOp);
      // The outer loop (panels, or rows or columns of C) writes disjoint
      // blocks.
      (parallelLoop ? parallelLoop : tiled->loops.front())
          ->setAttr(kiln::kParallelAttr, rewriter.getUnitAttr());
      if (zeroStart)
        tiled->loops.back()->setAttr(kZeroAccumulator, rewriter.getUnitAttr());
      for (Operation *inner : tiled->tiledOps) {
        rewriter.setInsertionPoint(inner);
        if (failed(linalg::vectorize(rewriter, inner)))
          return failure();
      }
    }
  }
  rewriter.eraseOp(*ijk);
  return success();
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
    for (linalg::GenericOp op : matmuls)
      if (failed(vectorizeMatmul(rewriter, op, vectorWidth)))
        return signalPassFailure();
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
    for (scf::ForOp loop : reductionLoops) {
      bool zeroStart = loop->hasAttr(kZeroAccumulator);
      if (!hoistAccumulator(rewriter, loop) && zeroStart) {
        // Its fill is gone: a block left in memory would start from garbage.
        loop.emitError("kiln-cpu-vectorize: matmul block without its zero fill was not hoisted");
        return signalPassFailure();
      }
    }
    fn.walk([](scf::ForOp loop) { loop->removeAttr(kZeroAccumulator); });

    // Then every other nest that has a vector form (copies from
    // bufferization included).
    SmallVector<linalg::CopyOp> copies;
    fn.walk([&](linalg::CopyOp op) { copies.push_back(op); });
    for (linalg::CopyOp copy : copies) {
      rewriter.setInsertionPoint(copy);
      if (failed(linalg::generalizeNamedOp(rewriter, copy)))
        return signalPassFailure();
    }
    SmallVector<linalg::GenericOp> nests;
    fn.walk([&](linalg::GenericOp op) { nests.push_back(op); });
    for (linalg::GenericOp op : nests) {
      if (kiln::vectorizeDirectConv(rewriter, op, vectorWidth) ||
          kiln::vectorizeConvFilterGrad(rewriter, op, vectorWidth) ||
          kiln::vectorizeRowCopy(rewriter, op, vectorWidth) ||
          kiln::vectorizeRowAccumulate(rewriter, op, vectorWidth) ||
          kiln::vectorizeRowReduce(rewriter, op, vectorWidth) ||
          kiln::vectorizeWindowNest(rewriter, op, vectorWidth))
        continue;
      if (!kiln::isElementwiseNest(op)) {
        kiln::parallelizeOuterLoop(rewriter, op);
        continue;
      }
      if (!kiln::vectorizeElementwise(rewriter, op, vectorWidth)) {
        op.emitError("kiln-cpu-vectorize: could not vectorize this elementwise nest");
        return signalPassFailure();
      }
    }

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
