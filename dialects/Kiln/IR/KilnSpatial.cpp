//===- KilnSpatial.cpp - Verifiers and VJPs of convolution, pooling, reshape ===//
#include "dialects/Kiln/IR/KilnOps.h"

#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"

using namespace mlir;
using namespace kiln;

namespace {

/// The spatial size conv2d produces.
int64_t convOut(int64_t in, int64_t kernel, int64_t stride, int64_t pad) {
  return (in + 2 * pad - kernel) / stride + 1;
}

/// Checks x [N,C,H,W] * w [F,C,KH,KW] -> y [N,F,OH,OW] with the attributes,
/// whichever of the three the op has as operands or result.
LogicalResult verifyConv(Operation *op, Type xt, Type wt, Type yt, ArrayRef<int64_t> strides,
                         ArrayRef<int64_t> padding) {
  auto x = cast<RankedTensorType>(xt), w = cast<RankedTensorType>(wt), y = cast<RankedTensorType>(yt);
  if (x.getRank() != 4 || w.getRank() != 4 || y.getRank() != 4)
    return op->emitOpError("expects images NCHW, filters FCHW and results NFHW (rank 4)");
  if (x.getElementType() != w.getElementType() || x.getElementType() != y.getElementType())
    return op->emitOpError("element types differ");
  if (strides.size() != 2 || padding.size() != 2)
    return op->emitOpError("expects two strides and two paddings (height, width)");
  auto xs = x.getShape(), ws = w.getShape(), ys = y.getShape();
  if (xs[1] != ws[1])
    return op->emitOpError() << "image has " << xs[1] << " channels, filter expects " << ws[1];
  for (int i = 0; i < 2; ++i) {
    if (strides[i] < 1 || padding[i] < 0 || padding[i] >= ws[2 + i])
      return op->emitOpError("strides must be positive and padding in [0, kernel size)");
    if (xs[2 + i] + 2 * padding[i] < ws[2 + i])
      return op->emitOpError("the kernel is larger than the padded image");
  }
  int64_t oh = convOut(xs[2], ws[2], strides[0], padding[0]);
  int64_t ow = convOut(xs[3], ws[3], strides[1], padding[1]);
  if (ys[0] != xs[0] || ys[1] != ws[0] || ys[2] != oh || ys[3] != ow)
    return op->emitOpError() << "expects the convolution's result to be " << xs[0] << "x" << ws[0]
                             << "x" << oh << "x" << ow;
  return success();
}

LogicalResult verifyPool(Operation *op, RankedTensorType x, RankedTensorType y,
                         ArrayRef<int64_t> kernel) {
  if (x.getRank() != 4 || y.getRank() != 4)
    return op->emitOpError("expects NCHW images (rank 4)");
  if (kernel.size() != 2 || kernel[0] < 1 || kernel[1] < 1)
    return op->emitOpError("expects a positive kernel height and width");
  auto xs = x.getShape();
  if (xs[2] % kernel[0] || xs[3] % kernel[1])
    return op->emitOpError() << "image " << xs[2] << "x" << xs[3]
                             << " is not a whole number of " << kernel[0] << "x" << kernel[1]
                             << " windows";
  SmallVector<int64_t> want{xs[0], xs[1], xs[2] / kernel[0], xs[3] / kernel[1]};
  if (y.getShape() != ArrayRef<int64_t>(want) || x.getElementType() != y.getElementType())
    return op->emitOpError() << "expects pooled shape " << want[0] << "x" << want[1] << "x"
                             << want[2] << "x" << want[3];
  return success();
}

} // namespace

LogicalResult ReshapeOp::verify() {
  auto in = getInput().getType(), out = getResult().getType();
  if (in.getElementType() != out.getElementType() || in.getNumElements() != out.getNumElements())
    return emitOpError() << "cannot reshape " << in << " to " << out;
  auto [from, to] = in.getRank() >= out.getRank() ? std::make_pair(in, out) : std::make_pair(out, in);
  if (!getReassociationIndicesForReshape(from, to))
    return emitOpError() << "reshape from " << in << " to " << out
                         << " neither merges nor splits consecutive dimensions";
  return success();
}

LogicalResult Conv2DOp::verify() {
  return verifyConv(*this, getLhs().getType(), getRhs().getType(), getType(), getStrides(),
                    getPadding());
}
LogicalResult Conv2DInputGradOp::verify() {
  return verifyConv(*this, getType(), getRhs().getType(), getLhs().getType(), getStrides(),
                    getPadding());
}
LogicalResult Conv2DFilterGradOp::verify() {
  return verifyConv(*this, getLhs().getType(), getType(), getRhs().getType(), getStrides(),
                    getPadding());
}

LogicalResult MaxPool2DOp::verify() {
  return verifyPool(*this, getInput().getType(), getType(), getKernel());
}
LogicalResult MaxPool2DGradOp::verify() {
  if (getType() != getInput().getType() || getPooled().getType() != getGrad().getType())
    return emitOpError("expects the result typed as the input and the gradient as the pooled");
  return verifyPool(*this, getInput().getType(), getPooled().getType(), getKernel());
}

LogicalResult ReshapeOp::buildVJP(OpBuilder &b, ValueRange resultGrads,
                                  SmallVectorImpl<Value> &operandGrads) {
  operandGrads.push_back(b.create<ReshapeOp>(getLoc(), getInput().getType(), resultGrads[0]));
  return success();
}

LogicalResult Conv2DOp::buildVJP(OpBuilder &b, ValueRange resultGrads,
                                 SmallVectorImpl<Value> &operandGrads) {
  Value g = resultGrads[0];
  operandGrads.push_back(b.create<Conv2DInputGradOp>(getLoc(), getLhs().getType(), g, getRhs(),
                                                     getStrides(), getPadding()));
  operandGrads.push_back(b.create<Conv2DFilterGradOp>(getLoc(), getRhs().getType(), getLhs(), g,
                                                      getStrides(), getPadding()));
  return success();
}

LogicalResult MaxPool2DOp::buildVJP(OpBuilder &b, ValueRange resultGrads,
                                    SmallVectorImpl<Value> &operandGrads) {
  operandGrads.push_back(b.create<MaxPool2DGradOp>(getLoc(), getInput().getType(), getInput(),
                                                   getResult(), resultGrads[0], getKernel()));
  return success();
}
