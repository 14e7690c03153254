//===- KilnVJP.cpp - Vector-Jacobian products of kiln ops -----------------===//
//
// Each differentiable op builds the gradients of its operands from the
// gradient of its result, out of kiln primitives only, so the backward pass is
// ordinary kiln IR that fusion and lowering treat like the forward pass.
//
//===----------------------------------------------------------------------===//
#include "dialects/Kiln/IR/KilnBuilder.h"

#include <cmath>

using namespace mlir;
using namespace kiln;

namespace {
int64_t numElements(Value v) {
  return cast<RankedTensorType>(v.getType()).getNumElements();
}
} // namespace

LogicalResult NegOp::buildVJP(OpBuilder &builder, ValueRange resultGrads,
                             SmallVectorImpl<Value> &operandGrads) {
  KilnBuilder v{builder, getLoc()};
  Value g = resultGrads[0];
  operandGrads.push_back(v.neg(g));
  return success();
}

LogicalResult ExpOp::buildVJP(OpBuilder &builder, ValueRange resultGrads,
                             SmallVectorImpl<Value> &operandGrads) {
  KilnBuilder v{builder, getLoc()};
  Value g = resultGrads[0];
  operandGrads.push_back(v.mul(g, getResult()));
  return success();
}

LogicalResult LogOp::buildVJP(OpBuilder &builder, ValueRange resultGrads,
                             SmallVectorImpl<Value> &operandGrads) {
  KilnBuilder v{builder, getLoc()};
  Value g = resultGrads[0];
  operandGrads.push_back(v.div(g, getInput()));
  return success();
}

LogicalResult SqrtOp::buildVJP(OpBuilder &builder, ValueRange resultGrads,
                              SmallVectorImpl<Value> &operandGrads) {
  KilnBuilder v{builder, getLoc()};
  Value g = resultGrads[0];
  operandGrads.push_back(v.div(v.scale(g, 0.5), getResult()));
  return success();
}

LogicalResult ReluOp::buildVJP(OpBuilder &builder, ValueRange resultGrads,
                              SmallVectorImpl<Value> &operandGrads) {
  KilnBuilder v{builder, getLoc()};
  Value g = resultGrads[0];
  operandGrads.push_back(
                       v.mul(g, builder.create<StepOp>(getLoc(), getInput())));
  return success();
}

LogicalResult SigmoidOp::buildVJP(OpBuilder &builder, ValueRange resultGrads,
                                 SmallVectorImpl<Value> &operandGrads) {
  KilnBuilder v{builder, getLoc()};
  Value g = resultGrads[0];
  Value y = getResult();
  Value one = v.constant(y.getType(), 1.0);
  operandGrads.push_back(v.mul(g, v.mul(y, v.sub(one, y))));
  return success();
}

LogicalResult TanhOp::buildVJP(OpBuilder &builder, ValueRange resultGrads,
                              SmallVectorImpl<Value> &operandGrads) {
  KilnBuilder v{builder, getLoc()};
  Value g = resultGrads[0];
  Value y = getResult();
  Value one = v.constant(y.getType(), 1.0);
  operandGrads.push_back(v.mul(g, v.sub(one, v.mul(y, y))));
  return success();
}

LogicalResult StopGradientOp::buildVJP(OpBuilder &, ValueRange,
                                       SmallVectorImpl<Value> &operandGrads) {
  operandGrads.push_back(Value());
  return success();
}

LogicalResult ErfOp::buildVJP(OpBuilder &builder, ValueRange resultGrads,
                             SmallVectorImpl<Value> &operandGrads) {
  KilnBuilder v{builder, getLoc()};
  Value x = getInput();
  Value gauss = builder.create<ExpOp>(getLoc(), v.neg(v.mul(x, x)));
  operandGrads.push_back(v.mul(resultGrads[0], v.scale(gauss, 2.0 / std::sqrt(M_PI))));
  return success();
}

/// g where x > 0, g * slope elsewhere: the step mask picks one of two terms
/// (the other exactly 0), so neither is rounded by the choice.
LogicalResult LeakyReluOp::buildVJP(OpBuilder &builder, ValueRange resultGrads,
                                   SmallVectorImpl<Value> &operandGrads) {
  KilnBuilder v{builder, getLoc()};
  Value g = resultGrads[0];
  Value pos = builder.create<StepOp>(getLoc(), getInput());
  Value rest = v.sub(v.constant(pos.getType(), 1.0), pos);
  operandGrads.push_back(
      v.add(v.mul(g, pos), v.mul(v.scale(g, getSlope().convertToDouble()), rest)));
  return success();
}

/// g where x > 0, g * alpha * exp(x) elsewhere; exp of min(x, 0), so that a
/// large x does not make inf * 0.
LogicalResult EluOp::buildVJP(OpBuilder &builder, ValueRange resultGrads,
                             SmallVectorImpl<Value> &operandGrads) {
  KilnBuilder v{builder, getLoc()};
  Value g = resultGrads[0], x = getInput();
  Value pos = builder.create<StepOp>(getLoc(), x);
  Value rest = v.sub(v.constant(pos.getType(), 1.0), pos);
  Value e = builder.create<ExpOp>(getLoc(), v.neg(builder.create<ReluOp>(getLoc(), v.neg(x))));
  operandGrads.push_back(
      v.add(v.mul(g, pos), v.mul(v.mul(v.scale(g, getAlpha().convertToDouble()), e), rest)));
  return success();
}

/// g * sigmoid(x): PyTorch's g * z / (z + 1) (z = e^x) but for rounding, and
/// exactly g above the threshold (sigmoid(20) is 1 in f32).
LogicalResult SoftplusOp::buildVJP(OpBuilder &builder, ValueRange resultGrads,
                                  SmallVectorImpl<Value> &operandGrads) {
  KilnBuilder v{builder, getLoc()};
  operandGrads.push_back(v.mul(resultGrads[0], builder.create<SigmoidOp>(getLoc(), getInput())));
  return success();
}

LogicalResult AddOp::buildVJP(OpBuilder &builder, ValueRange resultGrads,
                             SmallVectorImpl<Value> &operandGrads) {
  Value g = resultGrads[0];
  operandGrads.push_back(g);
  operandGrads.push_back(g);
  return success();
}

LogicalResult SubOp::buildVJP(OpBuilder &builder, ValueRange resultGrads,
                             SmallVectorImpl<Value> &operandGrads) {
  KilnBuilder v{builder, getLoc()};
  Value g = resultGrads[0];
  operandGrads.push_back(g);
  operandGrads.push_back(v.neg(g));
  return success();
}

LogicalResult MulOp::buildVJP(OpBuilder &builder, ValueRange resultGrads,
                             SmallVectorImpl<Value> &operandGrads) {
  KilnBuilder v{builder, getLoc()};
  Value g = resultGrads[0];
  operandGrads.push_back(v.mul(g, getRhs()));
  operandGrads.push_back(v.mul(g, getLhs()));
  return success();
}

LogicalResult DivOp::buildVJP(OpBuilder &builder, ValueRange resultGrads,
                             SmallVectorImpl<Value> &operandGrads) {
  KilnBuilder v{builder, getLoc()};
  Value g = resultGrads[0];
  operandGrads.push_back(v.div(g, getRhs()));
  operandGrads.push_back(v.neg(v.div(v.mul(g, getResult()), getRhs())));
  return success();
}

LogicalResult BroadcastOp::buildVJP(OpBuilder &builder, ValueRange resultGrads,
                                   SmallVectorImpl<Value> &operandGrads) {
  Value g = resultGrads[0];
  SmallVector<int64_t> newDims;
  for (int64_t i = 0, e = getResult().getType().getRank(); i < e; ++i)
    if (!llvm::is_contained(getDims(), i))
      newDims.push_back(i);
  operandGrads.push_back(builder.create<ReduceSumOp>(
      getLoc(), getInput().getType(), g, newDims));
  return success();
}

LogicalResult ReduceSumOp::buildVJP(OpBuilder &builder, ValueRange resultGrads,
                                   SmallVectorImpl<Value> &operandGrads) {
  Value g = resultGrads[0];
  SmallVector<int64_t> kept;
  for (int64_t i = 0, e = getInput().getType().getRank(); i < e; ++i)
    if (!llvm::is_contained(getDims(), i))
      kept.push_back(i);
  operandGrads.push_back(builder.create<BroadcastOp>(
      getLoc(), getInput().getType(), g, kept));
  return success();
}

// C = op(A) op(B). dA = G op(B)^T (transposed back when A was), and
// dB = op(A)^T G likewise; each case is one matmul with the right flags.
LogicalResult MatmulOp::buildVJP(OpBuilder &builder, ValueRange resultGrads,
                                SmallVectorImpl<Value> &operandGrads) {
  KilnBuilder v{builder, getLoc()};
  Value g = resultGrads[0];
  Value a = getLhs(), bm = getRhs();
  bool ta = getTransposeA(), tb = getTransposeB();
  operandGrads.push_back(ta ? v.matmul(bm, g, tb, true)
                            : v.matmul(g, bm, false, !tb));
  operandGrads.push_back(tb ? v.matmul(g, a, true, ta)
                            : v.matmul(a, g, !ta, false));
  return success();
}

// dx = y * (g - sum_last(g * y)).
LogicalResult SoftmaxOp::buildVJP(OpBuilder &builder, ValueRange resultGrads,
                                 SmallVectorImpl<Value> &operandGrads) {
  KilnBuilder v{builder, getLoc()};
  Value g = resultGrads[0];
  Value y = getResult();
  auto type = getResult().getType();
  int64_t rank = type.getRank();
  SmallVector<int64_t> rowShape(type.getShape().drop_back());
  auto rowType = RankedTensorType::get(rowShape, type.getElementType());
  SmallVector<int64_t> kept;
  for (int64_t i = 0; i + 1 < rank; ++i)
    kept.push_back(i);
  Value dot = builder.create<ReduceSumOp>(getLoc(), rowType, v.mul(g, y),
                                          ArrayRef<int64_t>{rank - 1});
  Value dotB = builder.create<BroadcastOp>(getLoc(), type, dot, kept);
  operandGrads.push_back(v.mul(y, v.sub(g, dotB)));
  return success();
}

// dx = g - softmax(x) * sum(g) over the last dimension, softmax(x) = exp(y).
LogicalResult LogSoftmaxOp::buildVJP(OpBuilder &builder, ValueRange resultGrads,
                                    SmallVectorImpl<Value> &operandGrads) {
  KilnBuilder v{builder, getLoc()};
  Value g = resultGrads[0];
  auto type = getResult().getType();
  int64_t rank = type.getRank();
  auto rowType = RankedTensorType::get(type.getShape().drop_back(), type.getElementType());
  SmallVector<int64_t> kept;
  for (int64_t i = 0; i + 1 < rank; ++i)
    kept.push_back(i);
  Value sum = builder.create<ReduceSumOp>(getLoc(), rowType, g, ArrayRef<int64_t>{rank - 1});
  Value sumB = builder.create<BroadcastOp>(getLoc(), type, sum, kept);
  Value p = builder.create<ExpOp>(getLoc(), getResult());
  operandGrads.push_back(v.sub(g, v.mul(p, sumB)));
  return success();
}

// dlogits = (softmax(z) - onehot(labels)) * g / N; labels get no gradient.
LogicalResult SoftmaxCrossEntropyOp::buildVJP(OpBuilder &builder, ValueRange resultGrads,
                                             SmallVectorImpl<Value> &operandGrads) {
  KilnBuilder v{builder, getLoc()};
  Value g = resultGrads[0];
  auto type = getLogits().getType();
  Value probs = builder.create<SoftmaxOp>(getLoc(), getLogits());
  Value hot = builder.create<OneHotOp>(getLoc(), type, getLabels());
  Value scaled = v.scale(g, 1.0 / static_cast<double>(type.getDimSize(0)));
  operandGrads.push_back(v.mul(v.sub(probs, hot), v.splat(scaled, type)));
  operandGrads.push_back(Value());
  return success();
}

// dz = (sigmoid(z) - t) * g / N and dt = -z * g / N.
LogicalResult SigmoidBCEOp::buildVJP(OpBuilder &builder, ValueRange resultGrads,
                                    SmallVectorImpl<Value> &operandGrads) {
  KilnBuilder v{builder, getLoc()};
  Value g = resultGrads[0];
  auto type = getLogits().getType();
  Value scaled = v.splat(v.scale(g, 1.0 / static_cast<double>(numElements(getLogits()))), type);
  Value s = builder.create<SigmoidOp>(getLoc(), getLogits());
  operandGrads.push_back(v.mul(v.sub(s, getTargets()), scaled));
  operandGrads.push_back(v.neg(v.mul(getLogits(), scaled)));
  return success();
}
