//===- VectorizeLoops.cpp - Vector code for kiln's non-matmul loop nests ---===//
#include "compiler/Conversion/VectorizeLoops.h"
#include "compiler/Conversion/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

llvm::SmallVector<kiln::Piece, 2> kiln::pieces(int64_t n, int64_t block) {
  block = std::min(block, n);
  SmallVector<Piece, 2> out;
  int64_t bulk = block > 0 ? n - n % block : 0;
  if (bulk > 0)
    out.push_back({0, bulk, block});
  if (n > bulk)
    out.push_back({bulk, n - bulk, n - bulk});
  return out;
}

namespace {

bool staticBuffers(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics())
    return false;
  return llvm::all_of(op->getOperands(), [](Value v) {
    auto t = dyn_cast<MemRefType>(v.getType());
    return t && t.hasStaticShape();
  });
}

bool identityLayouts(linalg::GenericOp op) {
  return llvm::all_of(op->getOperands(), [](Value v) {
    return cast<MemRefType>(v.getType()).getLayout().isIdentity();
  });
}

bool allParallel(linalg::GenericOp op) {
  return llvm::all_of(op.getIteratorTypesArray(), [](utils::IteratorType t) {
    return t == utils::IteratorType::parallel;
  });
}

/// The widest trailing run of loop dimensions that every operand indexes
/// contiguously and in order: one dimension of the vectorized nest.
linalg::GenericOp mergeTrailingDims(RewriterBase &rewriter, linalg::GenericOp op) {
  unsigned rank = op.getNumLoops();
  if (rank < 2 || !identityLayouts(op))
    return op;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  unsigned first = rank - 1;
  while (first > 0) {
    ReassociationIndices run;
    for (unsigned d = first - 1; d < rank; ++d)
      run.push_back(d);
    if (!linalg::areDimSequencesPreserved(maps, {run}))
      break;
    --first;
  }
  if (first == rank - 1)
    return op;
  SmallVector<ReassociationIndices> groups;
  for (unsigned d = 0; d < first; ++d)
    groups.push_back({int64_t(d)});
  ReassociationIndices run;
  for (unsigned d = first; d < rank; ++d)
    run.push_back(d);
  rewriter.setInsertionPoint(op);
  auto collapsed = linalg::collapseOpIterationDims(cast<linalg::LinalgOp>(op.getOperation()), {run},
                                                   rewriter);
  if (failed(collapsed))
    return op;
  auto merged = dyn_cast<linalg::GenericOp>(collapsed->collapsedOp.getOperation());
  if (!merged)
    return op;
  rewriter.eraseOp(op);
  return merged;
}

} // namespace

bool kiln::vectorizeElementwise(RewriterBase &rewriter, linalg::GenericOp op, int64_t width) {
  if (!staticBuffers(op) || !allParallel(op) || op.getNumLoops() == 0 ||
      !llvm::all_of(op.getIndexingMapsArray(),
                    [](AffineMap m) { return m.isProjectedPermutation(); }) ||
      failed(linalg::vectorizeOpPrecondition(op)))
    return false;
  op = mergeTrailingDims(rewriter, op);
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  unsigned last = ranges.size() - 1;
  auto index = [&](ArrayRef<int64_t> v) { return getAsIndexOpFoldResult(rewriter.getContext(), v); };
  for (const Piece &p : pieces(ranges[last], width)) {
    rewriter.setInsertionPoint(op);
    SmallVector<int64_t> offsets(ranges.size(), 0), sizes(ranges), tile(ranges.size(), 1);
    offsets[last] = p.offset;
    sizes[last] = p.size;
    tile[last] = p.block;
    auto part = cast<TilingInterface>(op.getOperation())
                    .getTiledImplementation(rewriter, index(offsets), index(sizes));
    if (failed(part))
      return false;
    for (Operation *partOp : part->tiledOps) {
      rewriter.setInsertionPoint(partOp);
      scf::SCFTilingOptions options;
      options.setTileSizes(index(tile));
      auto tiled = scf::tileUsingSCF(rewriter, cast<TilingInterface>(partOp), options);
      if (failed(tiled))
        return false;
      rewriter.eraseOp(partOp);
      if (!tiled->loops.empty()) // all-parallel: any loop writes disjoint blocks
        tiled->loops.front()->setAttr(kiln::kParallelAttr, rewriter.getUnitAttr());
      for (Operation *inner : tiled->tiledOps) {
        rewriter.setInsertionPoint(inner);
        if (failed(linalg::vectorize(rewriter, inner)))
          return false;
      }
    }
  }
  rewriter.eraseOp(op);
  return true;
}

bool kiln::vectorizeRowCopy(RewriterBase &rewriter, linalg::GenericOp op, int64_t width) {
  if (!staticBuffers(op) || !allParallel(op) || op.getNumDpsInputs() != 1 ||
      op.getNumDpsInits() != 1 || !identityLayouts(op))
    return false;
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  if (body.getOperations().size() != 1 || yield.getValues()[0] != body.getArgument(0))
    return false;
  AffineMap in = op.getIndexingMapsArray()[0], out = op.getIndexingMapsArray()[1];
  unsigned rank = op.getNumLoops(), last = rank - 1;
  if (!out.isIdentity() || in.getNumResults() == 0)
    return false;
  // The input's innermost index must be d_last + (terms without d_last), and
  // no other index may involve d_last: then a row of the output is a
  // contiguous run of the input.
  MLIRContext *ctx = op.getContext();
  AffineExpr dLast = getAffineDimExpr(last, ctx);
  for (unsigned r = 0; r + 1 < in.getNumResults(); ++r)
    if (in.getResult(r).isFunctionOfDim(last))
      return false;
  AffineExpr inner = in.getResults().back();
  if (inner != dLast) {
    auto sum = dyn_cast<AffineBinaryOpExpr>(inner);
    if (!sum || sum.getKind() != AffineExprKind::Add)
      return false;
    AffineExpr other = sum.getLHS() == dLast ? sum.getRHS() : sum.getRHS() == dLast ? sum.getLHS() : AffineExpr();
    if (!other || other.isFunctionOfDim(last))
      return false;
  }

  Location loc = op.getLoc();
  Value src = op.getDpsInputs()[0], dst = op.getDpsInits()[0];
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  rewriter.setInsertionPoint(op);
  SmallVector<Value> lbs, ubs, steps;
  for (unsigned d = 0; d < last; ++d) {
    lbs.push_back(rewriter.create<arith::ConstantIndexOp>(loc, 0));
    ubs.push_back(rewriter.create<arith::ConstantIndexOp>(loc, ranges[d]));
    steps.push_back(rewriter.create<arith::ConstantIndexOp>(loc, 1));
  }
  Type elem = cast<MemRefType>(src.getType()).getElementType();
  scf::LoopNest nest = scf::buildLoopNest(rewriter, loc, lbs, ubs, steps, [&](OpBuilder &b, Location l, ValueRange ivs) {
    for (const Piece &p : pieces(ranges[last], width)) {
      auto row = [&](OpBuilder &rb, Location rl, Value j) {
        SmallVector<Value> dims(ivs), srcIdx;
        dims.push_back(j);
        for (AffineExpr e : in.getResults())
          srcIdx.push_back(affine::makeComposedAffineApply(
              rb, rl, AffineMap::get(rank, 0, e, ctx), getAsOpFoldResult(dims)));
        auto vt = VectorType::get({p.block}, elem);
        Value v = rb.create<vector::LoadOp>(rl, vt, src, srcIdx);
        rb.create<vector::StoreOp>(rl, v, dst, dims);
      };
      Value lo = b.create<arith::ConstantIndexOp>(l, p.offset);
      if (p.size == p.block) {
        row(b, l, lo);
        continue;
      }
      Value hi = b.create<arith::ConstantIndexOp>(l, p.offset + p.size);
      Value step = b.create<arith::ConstantIndexOp>(l, p.block);
      b.create<scf::ForOp>(l, lo, hi, step, std::nullopt,
                           [&](OpBuilder &fb, Location fl, Value j, ValueRange) {
                             row(fb, fl, j);
                             fb.create<scf::YieldOp>(fl);
                           });
    }
  });
  if (!nest.loops.empty()) // each iteration writes its own output rows
    nest.loops.front()->setAttr(kiln::kParallelAttr, rewriter.getUnitAttr());
  rewriter.eraseOp(op);
  return true;
}
