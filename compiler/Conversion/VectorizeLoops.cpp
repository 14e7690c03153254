//===- VectorizeLoops.cpp - Vector code for kiln's non-matmul loop nests ---===//
#include "compiler/Conversion/VectorizeLoops.h"
#include "compiler/Conversion/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "llvm/ADT/bit.h"

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

llvm::SmallVector<kiln::Piece, 4> kiln::registerPieces(int64_t n, int64_t block) {
  SmallVector<Piece, 4> out;
  for (const Piece &p : pieces(n, block)) {
    if (p.block == block || llvm::isPowerOf2_64(p.block)) {
      out.push_back(p);
      continue;
    }
    // 10 -> 8 + 2, 13 -> 8 + 4 + 1.
    for (int64_t at = p.offset, left = p.size; left > 0;) {
      int64_t w = static_cast<int64_t>(llvm::bit_floor(static_cast<uint64_t>(left)));
      out.push_back({at, w, w});
      at += w;
      left -= w;
    }
  }
  return out;
}

scf::LoopNest kiln::staticLoopNest(OpBuilder &b, Location loc, ArrayRef<int64_t> sizes,
                                   function_ref<void(OpBuilder &, Location, ValueRange)> body) {
  SmallVector<Value> lbs, ubs, steps;
  for (int64_t n : sizes) {
    lbs.push_back(b.create<arith::ConstantIndexOp>(loc, 0));
    ubs.push_back(b.create<arith::ConstantIndexOp>(loc, n));
    steps.push_back(b.create<arith::ConstantIndexOp>(loc, 1));
  }
  return scf::buildLoopNest(b, loc, lbs, ubs, steps, body);
}

SmallVector<Value> kiln::stepLoop(OpBuilder &b, Location loc, int64_t lo, int64_t size, int64_t step,
                                  ValueRange init,
                                  function_ref<SmallVector<Value>(OpBuilder &, Value, ValueRange)> body) {
  if (size == step)
    return body(b, b.create<arith::ConstantIndexOp>(loc, lo), init);
  auto loop = b.create<scf::ForOp>(
      loc, b.create<arith::ConstantIndexOp>(loc, lo), b.create<arith::ConstantIndexOp>(loc, lo + size),
      b.create<arith::ConstantIndexOp>(loc, step), init,
      [&](OpBuilder &lb, Location, Value iv, ValueRange carried) {
        lb.create<scf::YieldOp>(loc, body(lb, iv, carried));
      });
  return SmallVector<Value>(loop.getResults());
}

bool kiln::unitInnerStride(MemRefType t) {
  if (t.getLayout().isIdentity())
    return true;
  SmallVector<int64_t> strides;
  int64_t offset;
  return t.getRank() > 0 && succeeded(getStridesAndOffset(t, strides, offset)) && strides.back() == 1;
}

int64_t kiln::rowBlock(int64_t m, int64_t most) {
  most = std::min(m, most);
  for (int64_t r = most; r > 1; --r)
    if (m % r == 0 && 2 * r >= most)
      return r;
  return most;
}

linalg::FillOp kiln::zeroFillBefore(linalg::GenericOp op) {
  Value c = op.getDpsInits()[0];
  for (Operation *prev = op->getPrevNode(); prev; prev = prev->getPrevNode()) {
    auto fill = dyn_cast<linalg::FillOp>(prev);
    if (fill && fill.getDpsInits()[0] == c) {
      auto value = fill.getDpsInputs()[0].getDefiningOp<arith::ConstantOp>();
      auto f = value ? dyn_cast<FloatAttr>(value.getValue()) : FloatAttr();
      return f && f.getValue().isPosZero() ? fill : linalg::FillOp();
    }
    if (llvm::is_contained(prev->getOperands(), c) || prev->getNumRegions() > 0 ||
        !isMemoryEffectFree(prev))
      return {};
  }
  return {};
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

bool kiln::isElementwiseNest(linalg::GenericOp op) {
  return staticBuffers(op) && allParallel(op) && op.getNumLoops() > 0 &&
         llvm::all_of(op.getIndexingMapsArray(),
                      [](AffineMap m) { return m.isProjectedPermutation(); }) &&
         succeeded(linalg::vectorizeOpPrecondition(op));
}

bool kiln::vectorizeElementwise(RewriterBase &rewriter, linalg::GenericOp op, int64_t width) {
  assert(isElementwiseNest(op) && "not an elementwise nest");
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

namespace {

/// Whether `map` walks its last result with unit stride along loop dimension
/// `last` and no other result depends on it: its last index is d_last plus
/// terms without d_last. A run of d_last is then a contiguous row.
bool rowContiguous(AffineMap map, unsigned last) {
  if (map.getNumResults() == 0)
    return false;
  for (unsigned r = 0; r + 1 < map.getNumResults(); ++r)
    if (map.getResult(r).isFunctionOfDim(last))
      return false;
  AffineExpr inner = map.getResults().back();
  AffineExpr dLast = getAffineDimExpr(last, map.getContext());
  if (inner == dLast)
    return true;
  auto sum = dyn_cast<AffineBinaryOpExpr>(inner);
  if (!sum || sum.getKind() != AffineExprKind::Add)
    return false;
  AffineExpr other = sum.getLHS() == dLast   ? sum.getRHS()
                     : sum.getRHS() == dLast ? sum.getLHS()
                                             : AffineExpr();
  return other && !other.isFunctionOfDim(last);
}

/// The indices `map` gives for loop indices `dims`.
SmallVector<Value> indicesOf(OpBuilder &b, Location loc, AffineMap map, ArrayRef<Value> dims) {
  SmallVector<Value> out;
  for (AffineExpr e : map.getResults())
    out.push_back(affine::makeComposedAffineApply(
        b, loc, AffineMap::get(map.getNumDims(), 0, e, map.getContext()), getAsOpFoldResult(dims)));
  return out;
}

/// Replaces `op` by scalar loops over every dimension but the last, in order,
/// and `row(b, loc, indices, lanes)` for each run of the last dimension in
/// vectors of up to `width` lanes (the remainder one vector of its own
/// size). The outermost loop is marked parallel when `parallelOuter`.
void buildRowLoops(RewriterBase &rewriter, linalg::GenericOp op, int64_t width, bool parallelOuter,
                   llvm::function_ref<void(OpBuilder &, Location, ArrayRef<Value>, int64_t)> row) {
  Location loc = op.getLoc();
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  unsigned last = ranges.size() - 1;
  rewriter.setInsertionPoint(op);
  scf::LoopNest nest = kiln::staticLoopNest(rewriter, loc, ArrayRef(ranges).drop_back(), [&](OpBuilder &b, Location l, ValueRange ivs) {
    for (const kiln::Piece &p : kiln::pieces(ranges[last], width)) {
      auto at = [&](OpBuilder &rb, Location rl, Value j) {
        SmallVector<Value> dims(ivs);
        dims.push_back(j);
        row(rb, rl, dims, p.block);
      };
      Value lo = b.create<arith::ConstantIndexOp>(l, p.offset);
      if (p.size == p.block) {
        at(b, l, lo);
        continue;
      }
      Value hi = b.create<arith::ConstantIndexOp>(l, p.offset + p.size);
      Value step = b.create<arith::ConstantIndexOp>(l, p.block);
      b.create<scf::ForOp>(l, lo, hi, step, std::nullopt,
                           [&](OpBuilder &fb, Location fl, Value j, ValueRange) {
                             at(fb, fl, j);
                             fb.create<scf::YieldOp>(fl);
                           });
    }
  });
  if (parallelOuter && !nest.loops.empty())
    nest.loops.front()->setAttr(kiln::kParallelAttr, rewriter.getUnitAttr());
  rewriter.eraseOp(op);
}

/// One input and one output, static and with identity layouts.
bool unaryOverBuffers(linalg::GenericOp op) {
  return staticBuffers(op) && op.getNumDpsInputs() == 1 && op.getNumDpsInits() == 1 &&
         identityLayouts(op) && op.getNumLoops() > 0;
}

} // namespace

bool kiln::vectorizeRowCopy(RewriterBase &rewriter, linalg::GenericOp op, int64_t width) {
  if (!unaryOverBuffers(op) || !allParallel(op))
    return false;
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  if (body.getOperations().size() != 1 || yield.getValues()[0] != body.getArgument(0))
    return false;
  AffineMap in = op.getIndexingMapsArray()[0], out = op.getIndexingMapsArray()[1];
  if (!out.isIdentity() || !rowContiguous(in, op.getNumLoops() - 1))
    return false;
  Value src = op.getDpsInputs()[0], dst = op.getDpsInits()[0];
  Type elem = cast<MemRefType>(src.getType()).getElementType();
  // Each iteration of any loop writes its own output rows.
  buildRowLoops(rewriter, op, width, /*parallelOuter=*/true,
                [&](OpBuilder &b, Location l, ArrayRef<Value> dims, int64_t lanes) {
                  auto vt = VectorType::get({lanes}, elem);
                  Value v = b.create<vector::LoadOp>(l, vt, src, indicesOf(b, l, in, dims));
                  b.create<vector::StoreOp>(l, v, dst, dims);
                });
  return true;
}

bool kiln::vectorizeRowAccumulate(RewriterBase &rewriter, linalg::GenericOp op, int64_t width) {
  if (!unaryOverBuffers(op))
    return false;
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto add = yield.getValues()[0].getDefiningOp<arith::AddFOp>();
  if (body.getOperations().size() != 2 || !add ||
      !((add.getLhs() == body.getArgument(1) && add.getRhs() == body.getArgument(0)) ||
        (add.getLhs() == body.getArgument(0) && add.getRhs() == body.getArgument(1))))
    return false;
  unsigned last = op.getNumLoops() - 1;
  AffineMap in = op.getIndexingMapsArray()[0], out = op.getIndexingMapsArray()[1];
  if (!rowContiguous(in, last) || !rowContiguous(out, last) || out.isPermutation())
    return false;
  // The outer loop may run in parallel when it is a parallel dimension that
  // picks the output's first index: its iterations then write apart.
  bool parallelOuter = last > 0 && op.getIteratorTypesArray()[0] == utils::IteratorType::parallel &&
                       out.getResult(0) == getAffineDimExpr(0, op.getContext());
  Value src = op.getDpsInputs()[0], dst = op.getDpsInits()[0];
  Type elem = cast<MemRefType>(src.getType()).getElementType();
  arith::FastMathFlags fm = add.getFastmath();
  buildRowLoops(rewriter, op, width, parallelOuter,
                [&](OpBuilder &b, Location l, ArrayRef<Value> dims, int64_t lanes) {
                  auto vt = VectorType::get({lanes}, elem);
                  SmallVector<Value> at = indicesOf(b, l, out, dims);
                  Value v = b.create<vector::LoadOp>(l, vt, src, indicesOf(b, l, in, dims));
                  Value acc = b.create<vector::LoadOp>(l, vt, dst, at);
                  b.create<vector::StoreOp>(l, b.create<arith::AddFOp>(l, acc, v, fm), dst, at);
                });
  return true;
}

bool kiln::parallelizeOuterLoop(RewriterBase &rewriter, linalg::GenericOp op) {
  if (!staticBuffers(op) || op.getNumLoops() == 0 ||
      op.getIteratorTypesArray()[0] != utils::IteratorType::parallel ||
      op.getStaticLoopRanges()[0] < 2)
    return false;
  AffineExpr d0 = getAffineDimExpr(0, op.getContext());
  for (OpOperand &init : op.getDpsInitsMutable()) {
    AffineMap map = op.getMatchingIndexingMap(&init);
    if (map.getNumResults() == 0 || map.getResult(0) != d0)
      return false;
  }
  SmallVector<int64_t> tile(op.getNumLoops(), 0);
  tile[0] = 1;
  scf::SCFTilingOptions options;
  options.setTileSizes(getAsIndexOpFoldResult(rewriter.getContext(), tile));
  rewriter.setInsertionPoint(op);
  auto tiled = scf::tileUsingSCF(rewriter, cast<TilingInterface>(op.getOperation()), options);
  if (failed(tiled) || tiled->loops.empty())
    return false;
  tiled->loops.front()->setAttr(kiln::kParallelAttr, rewriter.getUnitAttr());
  rewriter.eraseOp(op);
  return true;
}

bool kiln::vectorizeRowReduce(RewriterBase &rewriter, linalg::GenericOp op, int64_t width) {
  if (!unaryOverBuffers(op))
    return false;
  unsigned rank = op.getNumLoops();
  auto iters = op.getIteratorTypesArray();
  unsigned kept = 0;
  while (kept < rank && iters[kept] == utils::IteratorType::parallel)
    ++kept;
  if (kept == rank || !llvm::all_of(ArrayRef(iters).drop_front(kept), [](utils::IteratorType t) {
        return t == utils::IteratorType::reduction;
      }))
    return false;
  MLIRContext *ctx = op.getContext();
  AffineMap in = op.getIndexingMapsArray()[0], out = op.getIndexingMapsArray()[1];
  auto firstDims = [&](AffineMap m) {
    return llvm::all_of(llvm::enumerate(m.getResults()),
                        [&](auto e) { return e.value() == getAffineDimExpr(e.index(), ctx); });
  };
  if (!in.isIdentity() || out.getNumResults() != kept || !firstDims(out))
    return false;
  // (out, in) -> combined: a sum or a maximum, either operand order.
  Block &body = op.getRegion().front();
  Operation *combine = body.getTerminator()->getOperand(0).getDefiningOp();
  if (body.getOperations().size() != 2 || !combine || !isa<arith::AddFOp, arith::MaximumFOp>(combine) ||
      !llvm::is_contained(combine->getOperands(), body.getArgument(0)) ||
      !llvm::is_contained(combine->getOperands(), body.getArgument(1)))
    return false;
  bool sum = isa<arith::AddFOp>(combine);
  op = mergeTrailingDims(rewriter, op);
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  unsigned last = ranges.size() - 1;
  Location loc = op.getLoc();
  Value src = op.getDpsInputs()[0], dst = op.getDpsInits()[0];
  Type elem = cast<MemRefType>(src.getType()).getElementType();
  auto kind = sum ? vector::CombiningKind::ADD : vector::CombiningKind::MAXIMUMF;
  auto fold = [&](OpBuilder &b, Value x, Value y) -> Value {
    return sum ? b.create<arith::AddFOp>(loc, x, y).getResult()
               : b.create<arith::MaximumFOp>(loc, x, y).getResult();
  };
  rewriter.setInsertionPoint(op);
  // Each output element: lane-wise partial results over the row, then the
  // lanes combined (a tree, the same for every run), then the output.
  scf::LoopNest nest = staticLoopNest(rewriter, loc, ArrayRef(ranges).drop_back(), [&](OpBuilder &b, Location l, ValueRange ivs) {
    Value total;
    for (const Piece &p : pieces(ranges[last], width)) {
      auto vt = VectorType::get({p.block}, elem);
      auto at = [&](Value j) {
        SmallVector<Value> idx(ivs);
        idx.push_back(j);
        return idx;
      };
      Value lo = b.create<arith::ConstantIndexOp>(l, p.offset);
      Value acc = b.create<vector::LoadOp>(l, vt, src, at(lo));
      if (p.size > p.block) {
        Value next = b.create<arith::ConstantIndexOp>(l, p.offset + p.block);
        Value hi = b.create<arith::ConstantIndexOp>(l, p.offset + p.size);
        Value step = b.create<arith::ConstantIndexOp>(l, p.block);
        acc = b.create<scf::ForOp>(l, next, hi, step, ValueRange{acc},
                                   [&](OpBuilder &fb, Location fl, Value j, ValueRange carried) {
                                     Value v = fb.create<vector::LoadOp>(fl, vt, src, at(j));
                                     fb.create<scf::YieldOp>(fl, fold(fb, carried[0], v));
                                   })
                  .getResult(0);
      }
      Value part = b.create<vector::ReductionOp>(l, kind, acc);
      total = total ? fold(b, total, part) : part;
    }
    Value old = b.create<memref::LoadOp>(l, dst, ivs);
    b.create<memref::StoreOp>(l, fold(b, old, total), dst, ivs);
  });
  if (!nest.loops.empty()) // each iteration of the kept dimensions has its own outputs
    nest.loops.front()->setAttr(kiln::kParallelAttr, rewriter.getUnitAttr());
  rewriter.eraseOp(op);
  return true;
}
