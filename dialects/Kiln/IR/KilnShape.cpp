//===- KilnShape.cpp - Verifiers and VJPs of shape, loop and random ops ---===//
#include "dialects/Kiln/IR/KilnOps.h"

using namespace mlir;
using namespace kiln;

namespace {

/// The inverse of a permutation.
SmallVector<int64_t> inverse(ArrayRef<int64_t> perm) {
  SmallVector<int64_t> inv(perm.size());
  for (auto [i, p] : llvm::enumerate(perm))
    inv[p] = i;
  return inv;
}

/// Checks that `small` placed at `offsets` lies inside `large`.
LogicalResult verifyBlock(Operation *op, RankedTensorType large, RankedTensorType small,
                          ArrayRef<int64_t> offsets) {
  if (large.getElementType() != small.getElementType())
    return op->emitOpError("element types differ");
  if (large.getRank() != small.getRank() || int64_t(offsets.size()) != large.getRank())
    return op->emitOpError() << "expects one offset per dimension and operands of one rank";
  for (int64_t i = 0; i < large.getRank(); ++i)
    if (offsets[i] < 0 || offsets[i] + small.getDimSize(i) > large.getDimSize(i))
      return op->emitOpError() << "block of size " << small.getDimSize(i) << " at offset "
                               << offsets[i] << " does not fit dimension " << i << " of size "
                               << large.getDimSize(i);
  return success();
}

} // namespace

LogicalResult TransposeOp::verify() {
  auto in = getInput().getType(), out = getType();
  ArrayRef<int64_t> perm = getPerm();
  if (int64_t(perm.size()) != in.getRank() || in.getRank() != out.getRank() ||
      in.getElementType() != out.getElementType())
    return emitOpError("expects a permutation of the operand's dimensions and the same element type");
  SmallVector<bool> seen(perm.size(), false);
  for (auto [i, p] : llvm::enumerate(perm)) {
    if (p < 0 || p >= in.getRank() || seen[p])
      return emitOpError() << "perm is not a permutation of 0.." << in.getRank() - 1;
    seen[p] = true;
    if (out.getDimSize(i) != in.getDimSize(p))
      return emitOpError() << "result dimension " << i << " must have operand dimension " << p
                           << "'s size " << in.getDimSize(p);
  }
  return success();
}

LogicalResult SliceOp::verify() {
  return verifyBlock(*this, getInput().getType(), getType(), getOffsets());
}
LogicalResult PadOp::verify() {
  return verifyBlock(*this, getType(), getInput().getType(), getOffsets());
}
OpFoldResult PadOp::fold(FoldAdaptor) {
  return getInput().getType() == getType() ? getInput() : Value();
}

LogicalResult ConcatOp::verify() {
  RankedTensorType out = getType();
  int64_t dim = getDim(), along = 0;
  if (getInputs().empty())
    return emitOpError("expects at least one operand");
  if (dim < 0 || dim >= out.getRank())
    return emitOpError() << "dimension " << dim << " is not one of the result's " << out.getRank();
  for (auto [i, in] : llvm::enumerate(getInputs())) {
    auto t = cast<RankedTensorType>(in.getType());
    if (t.getRank() != out.getRank() || t.getElementType() != out.getElementType())
      return emitOpError() << "operand " << i << " differs from the result in rank or element type";
    for (int64_t d = 0; d < t.getRank(); ++d)
      if (d != dim && t.getDimSize(d) != out.getDimSize(d))
        return emitOpError() << "operand " << i << " has size " << t.getDimSize(d)
                             << " in dimension " << d << ", the result " << out.getDimSize(d);
    along += t.getDimSize(dim);
  }
  if (along != out.getDimSize(dim))
    return emitOpError() << "operands sum to " << along << " in dimension " << dim
                         << ", the result has " << out.getDimSize(dim);
  return success();
}
OpFoldResult ConcatOp::fold(FoldAdaptor) {
  return getInputs().size() == 1 ? getInputs()[0] : Value();
}

LogicalResult TransposeOp::buildVJP(OpBuilder &b, ValueRange resultGrads,
                                    SmallVectorImpl<Value> &operandGrads) {
  operandGrads.push_back(b.create<TransposeOp>(getLoc(), getInput().getType(), resultGrads[0],
                                               inverse(getPerm())));
  return success();
}
LogicalResult SliceOp::buildVJP(OpBuilder &b, ValueRange resultGrads,
                                SmallVectorImpl<Value> &operandGrads) {
  operandGrads.push_back(
      b.create<PadOp>(getLoc(), getInput().getType(), resultGrads[0], getOffsets()));
  return success();
}
LogicalResult PadOp::buildVJP(OpBuilder &b, ValueRange resultGrads,
                              SmallVectorImpl<Value> &operandGrads) {
  operandGrads.push_back(
      b.create<SliceOp>(getLoc(), getInput().getType(), resultGrads[0], getOffsets()));
  return success();
}

LogicalResult ConcatOp::buildVJP(OpBuilder &b, ValueRange resultGrads,
                                 SmallVectorImpl<Value> &operandGrads) {
  SmallVector<int64_t> offsets(getType().getRank(), 0);
  for (Value in : getInputs()) {
    auto t = cast<RankedTensorType>(in.getType());
    operandGrads.push_back(b.create<SliceOp>(getLoc(), t, resultGrads[0], offsets));
    offsets[getDim()] += t.getDimSize(getDim());
  }
  return success();
}

LogicalResult ScanOp::verify() {
  int64_t length = getLength();
  if (length < 1)
    return emitOpError("length must be positive");
  Block &step = getStep();
  size_t nc = getInits().size(), ns = getSequences().size(), nk = getCaptures().size();
  if (step.getNumArguments() != nc + ns + nk)
    return emitOpError() << "body has " << step.getNumArguments() << " arguments for " << nc
                         << " carried values, " << ns << " sequences and " << nk << " captures";
  if (getFinals().size() != nc)
    return emitOpError() << "expects one final value per carried value";
  for (auto [arg, init, fin] : llvm::zip(getCarryArgs(), getInits(), getFinals()))
    if (arg.getType() != init.getType() || fin.getType() != init.getType())
      return emitOpError() << "carried value typed " << init.getType()
                           << " needs the same type as body argument and final value";
  for (auto [arg, seq] : llvm::zip(getSliceArgs(), getSequences())) {
    auto t = cast<RankedTensorType>(seq.getType());
    if (t.getRank() < 1 || t.getDimSize(0) != length)
      return emitOpError() << "sequence " << t << " needs a leading dimension of " << length;
    if (arg.getType() != ScanOp::stepType(t))
      return emitOpError() << "body argument " << arg.getType() << " is not a step of " << t;
  }
  for (auto [arg, cap] : llvm::zip(getCaptureArgs(), getCaptures()))
    if (arg.getType() != cap.getType())
      return emitOpError() << "capture typed " << cap.getType() << " needs the same body argument type";
  auto yield = dyn_cast<YieldOp>(step.getTerminator());
  if (!yield)
    return emitOpError("body must end with kiln.yield");
  if (yield.getValues().size() != nc + getStacked().size())
    return emitOpError() << "body yields " << yield.getValues().size() << " values for " << nc
                         << " carried and " << getStacked().size() << " stacked results";
  for (auto [v, init] : llvm::zip(yield.getValues().take_front(nc), getInits()))
    if (v.getType() != init.getType())
      return emitOpError() << "yielded carried value " << v.getType() << " differs from "
                           << init.getType();
  for (auto [v, r] : llvm::zip(yield.getValues().drop_front(nc), getStacked())) {
    auto t = cast<RankedTensorType>(r.getType());
    if (t.getRank() < 1 || t.getDimSize(0) != length || v.getType() != ScanOp::stepType(t))
      return emitOpError() << "stacked result " << t << " must be " << length << " steps of "
                           << v.getType();
  }
  return success();
}

LogicalResult RandomUniformOp::verify() {
  if (getCounter().getType().getRank() != 0)
    return emitOpError("expects a rank-0 counter");
  if (getSalt() < 0 || getSalt() > 0xFFFFFFFFll)
    return emitOpError("expects a salt in [0, 2^32)");
  return success();
}

/// Checks table [V, D], ids S and rows S x D, whichever the op has as result.
static LogicalResult verifyGather(Operation *op, RankedTensorType table, RankedTensorType ids,
                                  RankedTensorType rows) {
  if (table.getRank() != 2)
    return op->emitOpError("expects a table [rows, width]");
  SmallVector<int64_t> want(ids.getShape());
  want.push_back(table.getDimSize(1));
  if (rows.getShape() != ArrayRef<int64_t>(want) || rows.getElementType() != table.getElementType())
    return op->emitOpError() << "expects rows of shape ids x " << table.getDimSize(1)
                             << " and the table's element type";
  return success();
}

LogicalResult GatherOp::verify() {
  return verifyGather(*this, getTable().getType(), getIds().getType(), getType());
}
LogicalResult ScatterAddOp::verify() {
  return verifyGather(*this, getType(), getIds().getType(), getUpdates().getType());
}

LogicalResult GatherOp::buildVJP(OpBuilder &b, ValueRange resultGrads,
                                 SmallVectorImpl<Value> &operandGrads) {
  operandGrads.push_back(
      b.create<ScatterAddOp>(getLoc(), getTable().getType(), resultGrads[0], getIds()));
  operandGrads.push_back(Value());
  return success();
}
