//===- SpatialToLinalg.cpp - Convolution, pooling and reshape to linalg ---===//
//
// Every op becomes linalg.generic loop nests over tensors whose outputs are
// written with projected-permutation maps (fully parallel over the output),
// or, for the scatter-adds of gradients, with the window's own map, so the
// same IR feeds the CPU and GPU pipelines:
// - conv2d: a direct convolution over a zero-padded image, reading it
//   through the window (n, c, i*sh + a, j*sw + b);
// - its filter gradient: the same window read times dy, summed over
//   (n, i, j);
// - its image gradient: the filter transposed times dy (a gradient for every
//   patch element, one matmul), added back where each patch element was
//   read (col2im);
// - max pooling: a window reduction; its gradient finds each window's first
//   maximum (PyTorch's choice on ties) and routes the gradient there.
// Loop dimensions that no operand indexes directly (the window of pooling)
// get a shape-only operand, as linalg's named pooling ops do.
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/LinalgBuild.h"
#include "dialects/Kiln/IR/KilnOps.h"

#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::linalg_build;

namespace {

RankedTensorType tensorType(Value v) { return cast<RankedTensorType>(v.getType()); }

/// Pads the two spatial dimensions of an NCHW tensor with zeros.
Value padSpatial(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> low,
                 ArrayRef<int64_t> high) {
  if (llvm::all_of(low, [](int64_t p) { return p == 0; }) &&
      llvm::all_of(high, [](int64_t p) { return p == 0; }))
    return x;
  auto t = tensorType(x);
  SmallVector<int64_t> shape(t.getShape());
  SmallVector<OpFoldResult> lo{b.getIndexAttr(0), b.getIndexAttr(0)}, hi = lo;
  for (int i = 0; i < 2; ++i) {
    shape[2 + i] += low[i] + high[i];
    lo.push_back(b.getIndexAttr(low[i]));
    hi.push_back(b.getIndexAttr(high[i]));
  }
  Value zero = floatConst(b, loc, t.getElementType(), 0.0);
  return b.create<tensor::PadOp>(loc, RankedTensorType::get(shape, t.getElementType()), x, lo, hi,
                                 zero);
}

/// x with consecutive dimensions merged (groups) or split again: views.
Value collapse(OpBuilder &b, Location loc, Value x, ArrayRef<ReassociationIndices> groups) {
  auto t = tensorType(x);
  SmallVector<int64_t> shape;
  for (const ReassociationIndices &g : groups) {
    int64_t n = 1;
    for (int64_t d : g)
      n *= t.getDimSize(d);
    shape.push_back(n);
  }
  return b.create<tensor::CollapseShapeOp>(loc, RankedTensorType::get(shape, t.getElementType()),
                                           x, groups);
}
Value expand(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> shape,
             ArrayRef<ReassociationIndices> groups) {
  auto t = RankedTensorType::get(shape, tensorType(x).getElementType());
  return b.create<tensor::ExpandShapeOp>(loc, t, x, groups);
}

const ReassociationIndices kFirst{0}, kRest3{1, 2, 3}, kFirst3{0, 1, 2}, kLast3{3, 4, 5};

/// out + l * r: the body of every convolution and matmul nest.
void mulAdd(OpBuilder &nb, Location l, ValueRange v) {
  Value p = nb.create<arith::MulFOp>(l, v[0], v[1]);
  nb.create<linalg::YieldOp>(l, ValueRange{nb.create<arith::AddFOp>(l, v[2], p)});
}

/// The padded image read through the window: (n, c, i*sh + a, j*sw + b) for
/// loop dimensions given by position.
AffineMap windowRead(MLIRContext *ctx, ArrayRef<int64_t> strides, unsigned n, unsigned c, unsigned i,
                     unsigned j, unsigned a, unsigned b) {
  auto d = [&](unsigned k) { return getAffineDimExpr(k, ctx); };
  return AffineMap::get(7, 0, {d(n), d(c), d(i) * strides[0] + d(a), d(j) * strides[1] + d(b)}, ctx);
}

SmallVector<IteratorType> fourParallelThreeReductions() {
  SmallVector<IteratorType> iters(4, IteratorType::parallel);
  iters.append(3, IteratorType::reduction);
  return iters;
}

// y[n, f, i, j] = sum over (c, a, b) of xpad[n, c, i*sh + a, j*sw + b] * w[f, c, a, b]: a direct
// convolution, loops (n, f, i, j | c, a, b). The CPU runs it as register blocks straight
// from the image (VectorizeConv.cpp), the GPU one output per thread.
struct Conv2DLowering : KilnPattern<Conv2DOp> {
  using KilnPattern::KilnPattern;
  LogicalResult matchAndRewrite(Conv2DOp op, Adaptor a, ConversionPatternRewriter &rw) const override {
    MLIRContext *ctx = rw.getContext();
    Location loc = op.getLoc();
    Value xp = padSpatial(rw, loc, a.getLhs(), op.getPadding(), op.getPadding());
    Value y = generic(rw, loc, {xp, a.getRhs()}, filled(rw, loc, op.getType(), 0.0),
                      {windowRead(ctx, op.getStrides(), 0, 4, 2, 3, 5, 6), dimsMap(ctx, 7, {1, 4, 5, 6}),
                       dimsMap(ctx, 7, {0, 1, 2, 3})},
                      fourParallelThreeReductions(), mulAdd);
    rw.replaceOp(op, y);
    return success();
  }
};

// dw[f, c, a, b] = sum over (n, i, j) of dy[n, f, i, j] * xpad[n, c, i*sh + a, j*sw + b]:
// loops (f, c, a, b | n, i, j), on the CPU as dot products of dy's rows with the image's.
struct Conv2DFilterGradLowering : KilnPattern<Conv2DFilterGradOp> {
  using KilnPattern::KilnPattern;
  LogicalResult matchAndRewrite(Conv2DFilterGradOp op, Adaptor a,
                                ConversionPatternRewriter &rw) const override {
    MLIRContext *ctx = rw.getContext();
    Location loc = op.getLoc();
    Value xp = padSpatial(rw, loc, a.getLhs(), op.getPadding(), op.getPadding());
    Value dw = generic(rw, loc, {a.getRhs(), xp}, filled(rw, loc, op.getType(), 0.0),
                       {dimsMap(ctx, 7, {4, 0, 5, 6}), windowRead(ctx, op.getStrides(), 4, 1, 5, 6, 2, 3),
                        dimsMap(ctx, 7, {0, 1, 2, 3})},
                       fourParallelThreeReductions(), mulAdd);
    rw.replaceOp(op, dw);
    return success();
  }
};

// dx is col2im of the patch gradients: dcols[(c, a, b), (n, i, j)] = sum over f of
// w[f, c, a, b] * dy[n, f, i, j] (W transposed x dy as [F, N*OH*OW]), each added back where
// the forward's im2col read it, xpad[n, c, i*sh + a, j*sw + b]. That is the forward's
// multiply-adds (a transposed convolution through im2col did (KH*KW*F) per input pixel,
// 2x the forward's for a 5x5 unpadded convolution, and copied K*K times dy).
struct Conv2DInputGradLowering : KilnPattern<Conv2DInputGradOp> {
  using KilnPattern::KilnPattern;
  LogicalResult matchAndRewrite(Conv2DInputGradOp op, Adaptor a,
                                ConversionPatternRewriter &rw) const override {
    MLIRContext *ctx = rw.getContext();
    Location loc = op.getLoc();
    auto s = op.getStrides(), p = op.getPadding();
    auto dyT = tensorType(a.getLhs()), wT = tensorType(a.getRhs());
    auto x = op.getType();
    Type elem = dyT.getElementType();
    int64_t c = wT.getDimSize(1), kh = wT.getDimSize(2), kw = wT.getDimSize(3);
    int64_t n = dyT.getDimSize(0), oh = dyT.getDimSize(2), ow = dyT.getDimSize(3);
    Value w2T = transposed(rw, loc, collapse(rw, loc, a.getRhs(), {kFirst, kRest3}), {1, 0});
    Value dy2 = collapse(rw, loc, transposed(rw, loc, a.getLhs(), {1, 0, 2, 3}), {kFirst, kRest3});
    Value dcols = expand(rw, loc, matmul(rw, loc, w2T, dy2), {c, kh, kw, n, oh, ow},
                         {kFirst3, kLast3});
    // Loops: n c a b i j, the window and positions reductions into xpad[n, c, i*sh + a,
    // j*sw + b]; each (n, c) plane is written by its own iterations.
    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    AffineMap in = dimsMap(ctx, 6, {1, 2, 3, 0, 4, 5});
    AffineMap out = AffineMap::get(6, 0, {d(0), d(1), d(4) * s[0] + d(2), d(5) * s[1] + d(3)}, ctx);
    SmallVector<int64_t> padded(x.getShape());
    for (int i = 0; i < 2; ++i)
      padded[2 + i] += 2 * p[i];
    SmallVector<IteratorType> iters(2, IteratorType::parallel);
    iters.append(4, IteratorType::reduction);
    Value dxp = generic(rw, loc, dcols, filled(rw, loc, RankedTensorType::get(padded, elem), 0.0),
                        {in, out}, iters, [](OpBuilder &nb, Location l, ValueRange v) {
                          nb.create<linalg::YieldOp>(
                              l, ValueRange{nb.create<arith::AddFOp>(l, v[1], v[0])});
                        });
    if (p[0] == 0 && p[1] == 0) {
      rw.replaceOp(op, dxp);
      return success();
    }
    SmallVector<OpFoldResult> offsets{rw.getIndexAttr(0), rw.getIndexAttr(0),
                                      rw.getIndexAttr(p[0]), rw.getIndexAttr(p[1])},
        sizes, strides(4, rw.getIndexAttr(1));
    for (int64_t dim : x.getShape())
      sizes.push_back(rw.getIndexAttr(dim));
    rw.replaceOpWithNewOp<tensor::ExtractSliceOp>(op, x, dxp, offsets, sizes, strides);
    return success();
  }
};

// y[n, c, i, j] = max over the (a, b) window of x[n, c, i*kh + a, j*kw + b]
struct MaxPool2DLowering : KilnPattern<MaxPool2DOp> {
  using KilnPattern::KilnPattern;
  LogicalResult matchAndRewrite(MaxPool2DOp op, Adaptor a, ConversionPatternRewriter &rw) const override {
    MLIRContext *ctx = rw.getContext();
    Location loc = op.getLoc();
    auto k = op.getKernel();
    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    Type elem = op.getType().getElementType();
    Value window = rw.create<tensor::EmptyOp>(loc, ArrayRef<int64_t>{k[0], k[1]}, elem);
    SmallVector<IteratorType> iters(4, IteratorType::parallel);
    iters.append(2, IteratorType::reduction);
    // Loops: n c i j | a b
    AffineMap x = AffineMap::get(6, 0, {d(0), d(1), d(2) * k[0] + d(4), d(3) * k[1] + d(5)}, ctx);
    Value y = generic(rw, loc, {a.getInput(), window},
                      filled(rw, loc, op.getType(), -std::numeric_limits<double>::infinity()),
                      {x, dimsMap(ctx, 6, {4, 5}), dimsMap(ctx, 6, {0, 1, 2, 3})}, iters,
                      [](OpBuilder &nb, Location l, ValueRange v) {
                        // NaN propagates, as in PyTorch.
                        nb.create<linalg::YieldOp>(
                            l, ValueRange{nb.create<arith::MaximumFOp>(l, v[0], v[2])});
                      });
    rw.replaceOp(op, y);
    return success();
  }
};

struct MaxPool2DGradLowering : KilnPattern<MaxPool2DGradOp> {
  using KilnPattern::KilnPattern;
  LogicalResult matchAndRewrite(MaxPool2DGradOp op, Adaptor a,
                                ConversionPatternRewriter &rw) const override {
    MLIRContext *ctx = rw.getContext();
    Location loc = op.getLoc();
    auto k = op.getKernel();
    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    Type elem = op.getType().getElementType();
    auto pooled = tensorType(a.getPooled());
    // First, each window's first maximum as a position a*kw + b (row-major).
    auto i32 = rw.getI32Type();
    auto idxType = RankedTensorType::get(pooled.getShape(), i32);
    Value sentinel = rw.create<arith::ConstantOp>(loc, rw.getI32IntegerAttr(int32_t(k[0] * k[1])));
    Value init = rw.create<linalg::FillOp>(loc, sentinel,
                                           rw.create<tensor::EmptyOp>(loc, idxType.getShape(), i32)
                                               .getResult())
                     .getResult(0);
    Value window = rw.create<tensor::EmptyOp>(loc, ArrayRef<int64_t>{k[0], k[1]}, elem);
    SmallVector<IteratorType> iters(4, IteratorType::parallel);
    iters.append(2, IteratorType::reduction);
    AffineMap x = AffineMap::get(6, 0, {d(0), d(1), d(2) * k[0] + d(4), d(3) * k[1] + d(5)}, ctx);
    AffineMap out = dimsMap(ctx, 6, {0, 1, 2, 3});
    int64_t kw = k[1];
    Value first = generic(
        rw, loc, {a.getInput(), a.getPooled(), window}, init, {x, out, dimsMap(ctx, 6, {4, 5}), out},
        iters, [&](OpBuilder &nb, Location l, ValueRange v) {
          Value wa = nb.create<linalg::IndexOp>(l, 4), wb = nb.create<linalg::IndexOp>(l, 5);
          Value pos = nb.create<arith::AddIOp>(
              l, nb.create<arith::MulIOp>(l, wa, nb.create<arith::ConstantIndexOp>(l, kw)), wb);
          pos = nb.create<arith::IndexCastOp>(l, i32, pos);
          // x == max, or both NaN (a NaN maximum came from a NaN element).
          Value eq = nb.create<arith::CmpFOp>(l, arith::CmpFPredicate::OEQ, v[0], v[1]);
          Value nan = nb.create<arith::AndIOp>(
              l, nb.create<arith::CmpFOp>(l, arith::CmpFPredicate::UNO, v[0], v[0]),
              nb.create<arith::CmpFOp>(l, arith::CmpFPredicate::UNO, v[1], v[1]));
          Value hit = nb.create<arith::OrIOp>(l, eq, nan);
          Value cand = nb.create<arith::SelectOp>(l, hit, pos, v[3]);
          nb.create<linalg::YieldOp>(l, ValueRange{nb.create<arith::MinSIOp>(l, cand, v[3])});
        });
    // Then each window routes its gradient to that position and zeros to the
    // rest: one write per input element (windows do not overlap); rows and
    // columns past the last window are zeros.
    auto xType = op.getType();
    Value dxInit = xType.getDimSize(2) == pooled.getDimSize(2) * k[0] &&
                           xType.getDimSize(3) == pooled.getDimSize(3) * k[1]
                       ? empty(rw, loc, xType)
                       : filled(rw, loc, xType, 0.0);
    Value dx = generic(
        rw, loc, {first, a.getGrad(), window}, dxInit, {out, out, dimsMap(ctx, 6, {4, 5}), x},
        SmallVector<IteratorType>(6, IteratorType::parallel),
        [&](OpBuilder &nb, Location l, ValueRange v) {
          Value wa = nb.create<linalg::IndexOp>(l, 4), wb = nb.create<linalg::IndexOp>(l, 5);
          Value pos = nb.create<arith::AddIOp>(
              l, nb.create<arith::MulIOp>(l, wa, nb.create<arith::ConstantIndexOp>(l, kw)), wb);
          pos = nb.create<arith::IndexCastOp>(l, i32, pos);
          Value isMax = nb.create<arith::CmpIOp>(l, arith::CmpIPredicate::eq, pos, v[0]);
          Value zero = floatConst(nb, l, elem, 0.0);
          nb.create<linalg::YieldOp>(l, ValueRange{nb.create<arith::SelectOp>(l, isMax, v[1], zero)});
        });
    rw.replaceOp(op, dx);
    return success();
  }
};

/// Merging or splitting consecutive dimensions: a view, no copy.
struct ReshapeLowering : KilnPattern<ReshapeOp> {
  using KilnPattern::KilnPattern;
  LogicalResult matchAndRewrite(ReshapeOp op, Adaptor a, ConversionPatternRewriter &rw) const override {
    auto in = tensorType(a.getInput());
    auto out = op.getType();
    if (in == out) {
      rw.replaceOp(op, a.getInput());
      return success();
    }
    bool collapse = in.getRank() > out.getRank();
    auto reassociation =
        collapse ? getReassociationIndicesForReshape(in, out) : getReassociationIndicesForReshape(out, in);
    if (!reassociation)
      return rw.notifyMatchFailure(op, "not a merge or split of consecutive dimensions");
    if (collapse)
      rw.replaceOpWithNewOp<tensor::CollapseShapeOp>(op, out, a.getInput(), *reassociation);
    else
      rw.replaceOpWithNewOp<tensor::ExpandShapeOp>(op, out, a.getInput(), *reassociation);
    return success();
  }
};

} // namespace

void kiln::populateSpatialToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<Conv2DLowering, Conv2DFilterGradLowering, Conv2DInputGradLowering,
               MaxPool2DLowering, MaxPool2DGradLowering, ReshapeLowering>(patterns.getContext());
}
