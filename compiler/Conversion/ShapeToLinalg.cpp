//===- ShapeToLinalg.cpp - Lower transpose, slice and pad -----------------===//
//
// Transpose is a copy through a permuted map (linalg.generic, for both
// targets); slice is a view (tensor.extract_slice), pad is tensor.pad
// (zeros around the block) and concat a tensor written block by block
// (tensor.insert_slice), each element once.
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/LinalgBuild.h"
#include "dialects/Kiln/IR/KilnOps.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

#include <numeric>

using namespace mlir;
using namespace kiln;
using namespace kiln::linalg_build;

namespace {

/// out[d...] = in[map(d...)].
Value copyThrough(OpBuilder &b, Location loc, Value in, AffineMap inMap, RankedTensorType out) {
  int64_t r = out.getRank();
  return generic(b, loc, in, empty(b, loc, out),
                 {inMap, AffineMap::getMultiDimIdentityMap(r, b.getContext())},
                 SmallVector<IteratorType>(r, IteratorType::parallel),
                 [](OpBuilder &nb, Location l, ValueRange a) {
                   nb.create<linalg::YieldOp>(l, a[0]);
                 });
}

struct TransposeLowering : KilnPattern<TransposeOp> {
  using KilnPattern::KilnPattern;
  LogicalResult matchAndRewrite(TransposeOp op, Adaptor a, ConversionPatternRewriter &rw) const override {
    ArrayRef<int64_t> perm = op.getPerm();
    SmallVector<int64_t> inv(perm.size());
    for (auto [i, p] : llvm::enumerate(perm))
      inv[p] = i;
    AffineMap map = dimsMap(rw.getContext(), perm.size(), inv);
    rw.replaceOp(op, copyThrough(rw, op.getLoc(), a.getInput(), map, op.getType()));
    return success();
  }
};

/// A view (tensor.extract_slice): a copy would gain nothing, and a generic
/// reading through an offset map cannot express offset 0 (linalg would
/// infer the loop bounds from the larger operand).
struct SliceLowering : KilnPattern<SliceOp> {
  using KilnPattern::KilnPattern;
  LogicalResult matchAndRewrite(SliceOp op, Adaptor a, ConversionPatternRewriter &rw) const override {
    SmallVector<OpFoldResult> offsets, sizes, strides;
    for (auto [off, size] : llvm::zip(op.getOffsets(), op.getType().getShape())) {
      offsets.push_back(rw.getIndexAttr(off));
      sizes.push_back(rw.getIndexAttr(size));
      strides.push_back(rw.getIndexAttr(1));
    }
    rw.replaceOpWithNewOp<tensor::ExtractSliceOp>(op, op.getType(), a.getInput(), offsets, sizes,
                                                  strides);
    return success();
  }
};

struct PadLowering : KilnPattern<PadOp> {
  using KilnPattern::KilnPattern;
  LogicalResult matchAndRewrite(PadOp op, Adaptor a, ConversionPatternRewriter &rw) const override {
    auto small = cast<RankedTensorType>(a.getInput().getType());
    auto large = op.getType();
    SmallVector<OpFoldResult> lo, hi;
    for (auto [i, off] : llvm::enumerate(op.getOffsets())) {
      lo.push_back(rw.getIndexAttr(off));
      hi.push_back(rw.getIndexAttr(large.getDimSize(i) - small.getDimSize(i) - off));
    }
    Value zero = floatConst(rw, op.getLoc(), large.getElementType(), 0.0);
    rw.replaceOpWithNewOp<tensor::PadOp>(op, large, a.getInput(), lo, hi, zero);
    return success();
  }
};

struct ConcatLowering : KilnPattern<ConcatOp> {
  using KilnPattern::KilnPattern;
  LogicalResult matchAndRewrite(ConcatOp op, Adaptor a, ConversionPatternRewriter &rw) const override {
    RankedTensorType type = op.getType();
    Value out = empty(rw, op.getLoc(), type);
    SmallVector<OpFoldResult> offsets(type.getRank(), rw.getIndexAttr(0));
    SmallVector<OpFoldResult> strides(type.getRank(), rw.getIndexAttr(1));
    int64_t at = 0;
    for (Value in : a.getInputs()) {
      auto t = cast<RankedTensorType>(in.getType());
      offsets[op.getDim()] = rw.getIndexAttr(at);
      SmallVector<OpFoldResult> sizes;
      for (int64_t size : t.getShape())
        sizes.push_back(rw.getIndexAttr(size));
      out = rw.create<tensor::InsertSliceOp>(op.getLoc(), in, out, offsets, sizes, strides);
      at += t.getDimSize(op.getDim());
    }
    rw.replaceOp(op, out);
    return success();
  }
};

/// An id as an index into `rows` rows, clamped so that a bad id can never
/// read or write outside the table.
Value clampedRow(OpBuilder &b, Location loc, Value id, int64_t rows) {
  Value i = b.create<arith::IndexCastOp>(loc, b.getIndexType(), id);
  Value lo = b.create<arith::ConstantIndexOp>(loc, 0);
  Value hi = b.create<arith::ConstantIndexOp>(loc, rows - 1);
  return b.create<arith::MaxSIOp>(loc, lo, b.create<arith::MinSIOp>(loc, i, hi));
}

/// result[i..., d] = table[ids[i...], d]: one generic over the result that
/// reads the table at the id it is given.
struct GatherLowering : KilnPattern<GatherOp> {
  using KilnPattern::KilnPattern;
  LogicalResult matchAndRewrite(GatherOp op, Adaptor a, ConversionPatternRewriter &rw) const override {
    auto out = op.getType();
    int64_t r = out.getRank();
    int64_t rows = op.getTable().getType().getDimSize(0);
    MLIRContext *ctx = rw.getContext();
    SmallVector<int64_t> lead(r - 1);
    std::iota(lead.begin(), lead.end(), 0);
    Value table = a.getTable();
    rw.replaceOp(op, generic(rw, op.getLoc(), a.getIds(), empty(rw, op.getLoc(), out),
                             {dimsMap(ctx, r, lead), AffineMap::getMultiDimIdentityMap(r, ctx)},
                             SmallVector<IteratorType>(r, IteratorType::parallel),
                             [&](OpBuilder &b, Location l, ValueRange args) {
                               Value row = clampedRow(b, l, args[0], rows);
                               Value col = b.create<linalg::IndexOp>(l, r - 1);
                               Value v = b.create<tensor::ExtractOp>(l, table, ValueRange{row, col});
                               b.create<linalg::YieldOp>(l, v);
                             }));
    return success();
  }
};

/// A loop nest over the updates adding each into its id's row: linear in
/// the number of updates, whatever the table's size. With `perRow` (the
/// GPU's) a reduction per table element instead: result[v, d] = sum over
/// i... of (ids[i...] == v ? updates[i..., d] : 0), each element's own
/// parallel iteration (a thread or a block each on a GPU, where the loop
/// nest is one thread) reading every id and only its row's updates. Its
/// work grows with the table (V * D * ids), its depth does not.
struct ScatterAddLowering : KilnPattern<ScatterAddOp> {
  ScatterAddLowering(MLIRContext *ctx, bool perRow) : KilnPattern(ctx), perRow(perRow) {}
  bool perRow;

  LogicalResult matchAndRewrite(ScatterAddOp op, Adaptor a,
                                ConversionPatternRewriter &rw) const override {
    if (perRow)
      return perTableElement(op, a, rw);
    Location loc = op.getLoc();
    auto out = op.getType();
    auto upd = cast<RankedTensorType>(a.getUpdates().getType());
    int64_t r = upd.getRank();
    Value zero = rw.create<arith::ConstantIndexOp>(loc, 0);
    Value one = rw.create<arith::ConstantIndexOp>(loc, 1);
    Value acc = filled(rw, loc, out, 0.0);
    SmallVector<Value> ivs;
    // Loops from the outermost dimension in; the innermost adds one value.
    std::function<Value(OpBuilder &, int64_t, Value)> nest = [&](OpBuilder &b, int64_t d,
                                                                 Value table) -> Value {
      Value ub = b.create<arith::ConstantIndexOp>(loc, upd.getDimSize(d));
      auto loop = b.create<scf::ForOp>(
          loc, zero, ub, one, ValueRange{table},
          [&](OpBuilder &lb, Location l, Value iv, ValueRange iter) {
            ivs.push_back(iv);
            Value next;
            if (d + 1 < r) {
              next = nest(lb, d + 1, iter[0]);
            } else {
              SmallVector<Value> idIdx(ivs.begin(), ivs.end() - 1);
              Value id = lb.create<tensor::ExtractOp>(l, a.getIds(), idIdx);
              Value row = clampedRow(lb, l, id, out.getDimSize(0));
              Value v = lb.create<tensor::ExtractOp>(l, a.getUpdates(), ivs);
              Value old = lb.create<tensor::ExtractOp>(l, iter[0], ValueRange{row, iv});
              Value sum = lb.create<arith::AddFOp>(l, old, v);
              next = lb.create<tensor::InsertOp>(l, sum, iter[0], ValueRange{row, iv});
            }
            ivs.pop_back();
            lb.create<scf::YieldOp>(l, next);
          });
      return loop.getResult(0);
    };
    rw.replaceOp(op, nest(rw, 0, acc));
    return success();
  }

  LogicalResult perTableElement(ScatterAddOp op, Adaptor a, ConversionPatternRewriter &rw) const {
    Location loc = op.getLoc();
    auto out = op.getType();
    int64_t idsRank = cast<RankedTensorType>(a.getIds().getType()).getRank();
    MLIRContext *ctx = rw.getContext();
    // Loops: v d | i...
    SmallVector<int64_t> idDims(idsRank);
    std::iota(idDims.begin(), idDims.end(), 2);
    SmallVector<IteratorType> iters(2, IteratorType::parallel);
    iters.append(idsRank, IteratorType::reduction);
    Value updates = a.getUpdates();
    Type elem = out.getElementType();
    int64_t rows = out.getDimSize(0);
    Value sums = generic(
        rw, loc, a.getIds(), filled(rw, loc, out, 0.0),
        {dimsMap(ctx, 2 + idsRank, idDims), dimsMap(ctx, 2 + idsRank, {0, 1})}, iters,
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value hit = b.create<arith::CmpIOp>(l, arith::CmpIPredicate::eq,
                                              clampedRow(b, l, args[0], rows),
                                              b.create<linalg::IndexOp>(l, 0));
          SmallVector<Value> at; // (linalg.index only directly in the body)
          for (int64_t d : idDims)
            at.push_back(b.create<linalg::IndexOp>(l, d));
          at.push_back(b.create<linalg::IndexOp>(l, 1));
          auto pick = b.create<scf::IfOp>(
              l, hit,
              [&](OpBuilder &tb, Location tl) {
                tb.create<scf::YieldOp>(tl, tb.create<tensor::ExtractOp>(tl, updates, at).getResult());
              },
              [&](OpBuilder &eb, Location el) {
                eb.create<scf::YieldOp>(el, floatConst(eb, el, elem, 0.0));
              });
          b.create<linalg::YieldOp>(l, b.create<arith::AddFOp>(l, args[1], pick.getResult(0)).getResult());
        });
    rw.replaceOp(op, sums);
    return success();
  }
};

} // namespace

void kiln::populateShapeToLinalgPatterns(RewritePatternSet &patterns, bool scatterPerRow) {
  patterns.add<TransposeLowering, SliceLowering, PadLowering, ConcatLowering, GatherLowering>(
      patterns.getContext());
  patterns.add<ScatterAddLowering>(patterns.getContext(), scatterPerRow);
}
