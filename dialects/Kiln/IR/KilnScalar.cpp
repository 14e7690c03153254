//===- KilnScalar.cpp - Scalar bodies of elementwise kiln ops -------------===//
//
// One scalar definition per elementwise op, shared by the lowering of single
// ops and of fused groups, so a fused loop computes exactly what the unfused
// ops would.
//
//===----------------------------------------------------------------------===//
#include "dialects/Kiln/IR/KilnOps.h"

using namespace mlir;
using namespace kiln;

static Value floatConst(OpBuilder &b, Location loc, Type t, double v) {
  return b.create<arith::ConstantOp>(loc, t, b.getFloatAttr(t, v));
}

Value NegOp::buildScalar(OpBuilder &b, Location loc, ValueRange x) {
  return b.create<arith::NegFOp>(loc, x[0]);
}
Value ExpOp::buildScalar(OpBuilder &b, Location loc, ValueRange x) {
  return b.create<math::ExpOp>(loc, x[0]);
}
Value LogOp::buildScalar(OpBuilder &b, Location loc, ValueRange x) {
  return b.create<math::LogOp>(loc, x[0]);
}
Value SqrtOp::buildScalar(OpBuilder &b, Location loc, ValueRange x) {
  return b.create<math::SqrtOp>(loc, x[0]);
}
// `ugt` is true for NaN, so relu(NaN) stays NaN as in PyTorch.
Value ReluOp::buildScalar(OpBuilder &b, Location loc, ValueRange x) {
  Value zero = floatConst(b, loc, x[0].getType(), 0.0);
  Value pos = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::UGT, x[0], zero);
  return b.create<arith::SelectOp>(loc, pos, x[0], zero);
}
Value SigmoidOp::buildScalar(OpBuilder &b, Location loc, ValueRange x) {
  Type t = x[0].getType();
  Value e = b.create<math::ExpOp>(loc, b.create<arith::NegFOp>(loc, x[0]));
  Value one = floatConst(b, loc, t, 1.0);
  return b.create<arith::DivFOp>(loc, one, b.create<arith::AddFOp>(loc, one, e));
}
Value TanhOp::buildScalar(OpBuilder &b, Location loc, ValueRange x) {
  return b.create<math::TanhOp>(loc, x[0]);
}
Value StopGradientOp::buildScalar(OpBuilder &, Location, ValueRange x) { return x[0]; }
Value ErfOp::buildScalar(OpBuilder &b, Location loc, ValueRange x) {
  return b.create<math::ErfOp>(loc, x[0]);
}
/// x > 0 ? x : x * slope (PyTorch's order: NaN stays NaN).
Value LeakyReluOp::buildScalar(OpBuilder &b, Location loc, ValueRange x) {
  Type t = x[0].getType();
  Value pos =
      b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, x[0], floatConst(b, loc, t, 0.0));
  Value neg =
      b.create<arith::MulFOp>(loc, x[0], floatConst(b, loc, t, getSlope().convertToDouble()));
  return b.create<arith::SelectOp>(loc, pos, x[0], neg);
}
/// x > 0 ? x : expm1(x) * alpha, as PyTorch's vectorized kernel.
Value EluOp::buildScalar(OpBuilder &b, Location loc, ValueRange x) {
  Type t = x[0].getType();
  Value pos =
      b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, x[0], floatConst(b, loc, t, 0.0));
  Value neg = b.create<arith::MulFOp>(loc, b.create<math::ExpM1Op>(loc, x[0]),
                                      floatConst(b, loc, t, getAlpha().convertToDouble()));
  return b.create<arith::SelectOp>(loc, pos, x[0], neg);
}
/// x > 20 ? x : log1p(exp(x)): PyTorch's softplus (beta 1, threshold 20).
Value SoftplusOp::buildScalar(OpBuilder &b, Location loc, ValueRange x) {
  Type t = x[0].getType();
  Value big =
      b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, x[0], floatConst(b, loc, t, 20.0));
  Value soft = b.create<math::Log1pOp>(loc, b.create<math::ExpOp>(loc, x[0]));
  return b.create<arith::SelectOp>(loc, big, x[0], soft);
}
Value StepOp::buildScalar(OpBuilder &b, Location loc, ValueRange x) {
  Type t = x[0].getType();
  Value pos = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, x[0],
                                      floatConst(b, loc, t, 0.0));
  return b.create<arith::SelectOp>(loc, pos, floatConst(b, loc, t, 1.0),
                                   floatConst(b, loc, t, 0.0));
}
Value AddOp::buildScalar(OpBuilder &b, Location loc, ValueRange x) {
  return b.create<arith::AddFOp>(loc, x[0], x[1]);
}
Value SubOp::buildScalar(OpBuilder &b, Location loc, ValueRange x) {
  return b.create<arith::SubFOp>(loc, x[0], x[1]);
}
Value MulOp::buildScalar(OpBuilder &b, Location loc, ValueRange x) {
  return b.create<arith::MulFOp>(loc, x[0], x[1]);
}
Value DivOp::buildScalar(OpBuilder &b, Location loc, ValueRange x) {
  return b.create<arith::DivFOp>(loc, x[0], x[1]);
}
