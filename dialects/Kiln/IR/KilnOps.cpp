//===- KilnOps.cpp - Kiln op verifiers ------------------------------------===//
#include "dialects/Kiln/IR/KilnOps.h"

#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace kiln;

/// Checks that `dims` is strictly increasing and every entry is in [0, bound).
static LogicalResult verifyDimList(Operation *op, ArrayRef<int64_t> dims,
                                   int64_t bound, StringRef what) {
  for (auto [i, d] : llvm::enumerate(dims)) {
    if (d < 0 || d >= bound)
      return op->emitOpError() << what << " dimension " << d
                               << " is out of range [0, " << bound << ")";
    if (i > 0 && dims[i - 1] >= d)
      return op->emitOpError() << what << " dimensions must be strictly increasing";
  }
  return success();
}

static LogicalResult verifySameElementType(Operation *op, Type a, Type b) {
  if (getElementTypeOrSelf(a) != getElementTypeOrSelf(b))
    return op->emitOpError() << "element types differ: " << a << " vs " << b;
  return success();
}

LogicalResult BroadcastOp::verify() {
  auto in = getInput().getType();
  auto out = getResult().getType();
  if (failed(verifySameElementType(*this, in, out)))
    return failure();
  if (static_cast<int64_t>(getDims().size()) != in.getRank())
    return emitOpError() << "expects " << in.getRank()
                         << " entries in dims (one per operand dimension), got "
                         << getDims().size();
  if (failed(verifyDimList(*this, getDims(), out.getRank(), "result")))
    return failure();
  for (auto [i, d] : llvm::enumerate(getDims()))
    if (in.getDimSize(i) != out.getDimSize(d))
      return emitOpError() << "operand dimension " << i << " (size "
                           << in.getDimSize(i) << ") maps to result dimension "
                           << d << " of size " << out.getDimSize(d);
  return success();
}

LogicalResult ReduceSumOp::verify() {
  auto in = getInput().getType();
  auto out = getResult().getType();
  if (failed(verifySameElementType(*this, in, out)))
    return failure();
  if (failed(verifyDimList(*this, getDims(), in.getRank(), "reduced")))
    return failure();
  SmallVector<int64_t> kept;
  for (int64_t i = 0; i < in.getRank(); ++i)
    if (!llvm::is_contained(getDims(), i))
      kept.push_back(in.getDimSize(i));
  if (ArrayRef<int64_t>(kept) != out.getShape())
    return emitOpError() << "result type " << out
                         << " does not match the operand shape without the reduced dimensions";
  return success();
}

LogicalResult MatmulOp::verify() {
  auto a = getLhs().getType();
  auto b = getRhs().getType();
  auto c = getResult().getType();
  if (a.getRank() != 2 || b.getRank() != 2 || c.getRank() != 2)
    return emitOpError() << "expects rank-2 operands and result";
  if (failed(verifySameElementType(*this, a, b)) ||
      failed(verifySameElementType(*this, a, c)))
    return failure();
  int64_t m = a.getDimSize(getTransposeA() ? 1 : 0);
  int64_t ka = a.getDimSize(getTransposeA() ? 0 : 1);
  int64_t kb = b.getDimSize(getTransposeB() ? 1 : 0);
  int64_t n = b.getDimSize(getTransposeB() ? 0 : 1);
  if (ka != kb)
    return emitOpError() << "contracting dimensions differ: " << ka << " vs " << kb;
  if (c.getDimSize(0) != m || c.getDimSize(1) != n)
    return emitOpError() << "result type " << c << " should be " << m << "x" << n;
  return success();
}

LogicalResult SoftmaxOp::verify() {
  if (getInput().getType().getRank() < 1)
    return emitOpError() << "expects an operand of rank >= 1";
  return success();
}

LogicalResult LogSoftmaxOp::verify() {
  if (getInput().getType().getRank() < 1)
    return emitOpError() << "expects an operand of rank >= 1";
  return success();
}

LogicalResult OneHotOp::verify() {
  auto l = getLabels().getType();
  auto r = getResult().getType();
  if (l.getRank() != 1 || r.getRank() != 2 || r.getDimSize(0) != l.getDimSize(0))
    return emitOpError() << "expects labels [N] and a result [N, C], got " << l
                         << " -> " << r;
  return success();
}

LogicalResult SoftmaxCrossEntropyOp::verify() {
  auto z = getLogits().getType();
  auto l = getLabels().getType();
  auto r = getResult().getType();
  if (z.getRank() != 2 || l.getRank() != 1 || z.getDimSize(0) != l.getDimSize(0))
    return emitOpError() << "expects logits [N, C] and labels [N], got " << z
                         << " and " << l;
  if (r.getRank() != 0)
    return emitOpError() << "expects a rank-0 result, got " << r;
  return verifySameElementType(*this, z, r);
}

LogicalResult SigmoidBCEOp::verify() {
  if (getLogits().getType() != getTargets().getType())
    return emitOpError() << "logits and targets must have the same type, got "
                         << getLogits().getType() << " and " << getTargets().getType();
  if (getResult().getType().getRank() != 0)
    return emitOpError() << "expects a rank-0 result, got " << getResult().getType();
  return verifySameElementType(*this, getLogits().getType(), getResult().getType());
}

LogicalResult FusedOp::verify() {
  Block &body = getBody().front();
  if (body.getNumArguments() != getInputs().size())
    return emitOpError() << "body has " << body.getNumArguments()
                         << " arguments for " << getInputs().size() << " inputs";
  for (auto [arg, in] : llvm::zip(body.getArguments(), getInputs()))
    if (arg.getType() != in.getType())
      return emitOpError() << "body argument type " << arg.getType()
                           << " does not match input type " << in.getType();
  auto yield = dyn_cast<YieldOp>(body.getTerminator());
  if (!yield)
    return emitOpError() << "body must end with kiln.yield";
  if (yield.getValues().getTypes() != getResultTypes())
    return emitOpError() << "yielded types do not match the result types";
  return success();
}

#define GET_OP_CLASSES
#include "dialects/Kiln/IR/KilnOps.cpp.inc"
