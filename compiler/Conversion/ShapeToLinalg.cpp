//===- ShapeToLinalg.cpp - Lower transpose, slice and pad -----------------===//
//
// Transpose is a copy through a permuted map (linalg.generic, for both
// targets); slice is a view (tensor.extract_slice) and pad is tensor.pad
// (zeros around the block).
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/LinalgBuild.h"
#include "dialects/Kiln/IR/KilnOps.h"

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

} // namespace

void kiln::populateShapeToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<TransposeLowering, SliceLowering, PadLowering>(patterns.getContext());
}
