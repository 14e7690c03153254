//===- SpatialToLinalg.cpp - Convolution, pooling and reshape to linalg ---===//
//
// Every op becomes linalg.generic loop nests over tensors whose outputs are
// written with projected-permutation maps (fully parallel over the output),
// so the same IR feeds the CPU and GPU pipelines. The three convolutions are
// im2col copies (patches as a matrix) feeding one matmul each, so they run on
// the matmul micro-kernels; the copies cost K*K times the image, the
// products C*K*K*F multiply-adds per output pixel:
// - conv2d: a zero-padded image, patches (c, kh, kw) x positions (n, i, j);
// - its image gradient: the filter transposed times dy (a gradient for every
//   patch element), added back where each patch element was read (col2im);
// - its filter gradient: the same patches times dy (positions x channels);
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

/// im2col: the kh x kw patches of a padded NCHW image x, moved by `stride`
/// over oh x ow positions, as a matrix with one row per patch element
/// (c, a, b) and one column per position (n, i, j). Every convolution then is
/// one matmul through the register-blocked micro-kernel, instead of a
/// seven-deep scalar loop nest.
Value im2col(OpBuilder &b, Location loc, Value x, int64_t kh, int64_t kw,
             ArrayRef<int64_t> stride, int64_t oh, int64_t ow) {
  MLIRContext *ctx = b.getContext();
  auto t = tensorType(x);
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  // Loops: c a b | n i j
  AffineMap in = AffineMap::get(
      6, 0, {d(3), d(0), d(4) * stride[0] + d(1), d(5) * stride[1] + d(2)}, ctx);
  auto colsType =
      RankedTensorType::get({t.getDimSize(1), kh, kw, t.getDimSize(0), oh, ow}, t.getElementType());
  return collapse(b, loc, readThrough(b, loc, x, in, colsType), {kFirst3, kLast3});
}

/// [F, N*H*W] (a matmul's rows per channel) as the NCHW tensor [N, F, H, W].
Value channelsToNCHW(OpBuilder &b, Location loc, Value y2, RankedTensorType nchw) {
  auto s = nchw.getShape();
  Value y4 = expand(b, loc, y2, {s[1], s[0], s[2], s[3]}, {kFirst, kRest3});
  return transposed(b, loc, y4, {1, 0, 2, 3});
}

// y[n, f, i, j] = sum over (c, a, b) of xpad[n, c, i*sh + a, j*sw + b] * w[f, c, a, b]:
// W[F, C*KH*KW] x im2col(xpad)[C*KH*KW, N*OH*OW].
struct Conv2DLowering : KilnPattern<Conv2DOp> {
  using KilnPattern::KilnPattern;
  LogicalResult matchAndRewrite(Conv2DOp op, Adaptor a, ConversionPatternRewriter &rw) const override {
    Location loc = op.getLoc();
    auto w = tensorType(a.getRhs()), y = op.getType();
    Value xp = padSpatial(rw, loc, a.getLhs(), op.getPadding(), op.getPadding());
    Value cols = im2col(rw, loc, xp, w.getDimSize(2), w.getDimSize(3), op.getStrides(),
                        y.getDimSize(2), y.getDimSize(3));
    Value y2 = matmul(rw, loc, collapse(rw, loc, a.getRhs(), {kFirst, kRest3}), cols);
    rw.replaceOp(op, channelsToNCHW(rw, loc, y2, y));
    return success();
  }
};

// dw[f, c, a, b] = sum over (n, i, j) of dy[n, f, i, j] * xpad[n, c, i*sh + a, j*sw + b]:
// dw transposed [C*KH*KW, F] = im2col(xpad) x dy as [N*OH*OW, F]. The patches
// are the forward's very same im2col, which CSE then computes once.
struct Conv2DFilterGradLowering : KilnPattern<Conv2DFilterGradOp> {
  using KilnPattern::KilnPattern;
  LogicalResult matchAndRewrite(Conv2DFilterGradOp op, Adaptor a,
                                ConversionPatternRewriter &rw) const override {
    Location loc = op.getLoc();
    auto dw = op.getType(), dy = tensorType(a.getRhs());
    Value xp = padSpatial(rw, loc, a.getLhs(), op.getPadding(), op.getPadding());
    Value cols = im2col(rw, loc, xp, dw.getDimSize(2), dw.getDimSize(3), op.getStrides(),
                        dy.getDimSize(2), dy.getDimSize(3));
    Value dyT = collapse(rw, loc, transposed(rw, loc, a.getRhs(), {0, 2, 3, 1}), {kFirst3, {3}});
    Value dwT = matmul(rw, loc, cols, dyT);
    auto s = dw.getShape();
    Value dw4 = expand(rw, loc, dwT, {s[1], s[2], s[3], s[0]}, {kFirst3, {3}});
    rw.replaceOp(op, transposed(rw, loc, dw4, {3, 0, 1, 2}));
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
