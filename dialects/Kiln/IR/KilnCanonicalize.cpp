//===- KilnCanonicalize.cpp - Canonicalization patterns of kiln ops -------===//
//
// The gradient of a tensor sliced into blocks (a recurrent cell's gates) is
// the sum of the blocks' gradients, each padded back into zeros: per pad a
// zero fill and a copy, then additions over the whole tensor. Where two pads
// place blocks next to each other, their sum is one pad of their concat;
// repeated, the sum of all the gates' pads becomes one concat that writes
// every element once. Exact: wherever one block is, the other adds zero.
//
// A product that is only read transposed is made transposed: (A B)^T =
// B^T A^T is the same product with its operands swapped and their flags
// flipped, so no copy follows it (a recurrent weight's gradient, summed over
// steps in the layout the step reads it, then transposed back).
//
//===----------------------------------------------------------------------===//
#include "dialects/Kiln/IR/KilnOps.h"

#include "mlir/IR/PatternMatch.h"

#include <optional>

using namespace mlir;
using namespace kiln;

namespace {

/// `pad`'s block joined with `other`'s into one pad of their concat, if the
/// blocks lie next to each other along one dimension and match in every
/// other (else null). A concat along that dimension is spliced in, not
/// nested.
Value joinPads(PatternRewriter &rw, Location loc, PadOp pad, PadOp other) {
  if (!pad || !other || pad.getType() != other.getType())
    return {};
  ArrayRef<int64_t> at = pad.getOffsets(), otherAt = other.getOffsets();
  auto size = pad.getInput().getType().getShape(), otherSize = other.getInput().getType().getShape();
  std::optional<int64_t> dim;
  for (int64_t d = 0, rank = at.size(); d < rank; ++d) {
    if (at[d] == otherAt[d] && size[d] == otherSize[d])
      continue;
    if (dim)
      return {};
    dim = d;
  }
  if (!dim)
    return {}; // the same block twice: a sum, not a concat
  PadOp first = pad, second = other;
  if (otherAt[*dim] + otherSize[*dim] == at[*dim])
    std::swap(first, second);
  else if (at[*dim] + size[*dim] != otherAt[*dim])
    return {};
  SmallVector<Value> inputs;
  for (PadOp p : {first, second}) {
    auto concat = p.getInput().getDefiningOp<ConcatOp>();
    if (concat && int64_t(concat.getDim()) == *dim)
      llvm::append_range(inputs, concat.getInputs());
    else
      inputs.push_back(p.getInput());
  }
  SmallVector<int64_t> shape(size);
  shape[*dim] += otherSize[*dim];
  auto type = RankedTensorType::get(shape, pad.getType().getElementType());
  Value joined = rw.create<ConcatOp>(loc, type, inputs, *dim);
  if (type == pad.getType())
    return joined;
  return rw.create<PadOp>(loc, pad.getType(), joined, first.getOffsets()).getResult();
}

/// add(pad a, pad b) -> pad(concat(a, b)), and add(add(x, pad a), pad b) ->
/// add(x, pad(concat(a, b))) when the inner sum is used only there (the
/// order autodiff accumulates a value's gradients in). Exact in both: each
/// element of x meets at most one of the blocks' values and zeros.
struct JoinAdjacentPads : OpRewritePattern<AddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AddOp op, PatternRewriter &rw) const override {
    Value operands[2] = {op.getLhs(), op.getRhs()};
    for (int i = 0; i < 2; ++i) {
      auto pad = operands[i].getDefiningOp<PadOp>();
      if (!pad)
        continue;
      Value other = operands[1 - i];
      if (Value joined = joinPads(rw, op.getLoc(), pad, other.getDefiningOp<PadOp>())) {
        rw.replaceOp(op, joined);
        return success();
      }
      auto inner = other.getDefiningOp<AddOp>();
      if (!inner || !inner->hasOneUse())
        continue;
      Value innerOperands[2] = {inner.getLhs(), inner.getRhs()};
      for (int j = 0; j < 2; ++j)
        if (Value joined = joinPads(rw, op.getLoc(), innerOperands[j].getDefiningOp<PadOp>(), pad)) {
          rw.replaceOpWithNewOp<AddOp>(op, innerOperands[1 - j], joined);
          return success();
        }
    }
    return failure();
  }
};

struct TransposedProduct : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TransposeOp op, PatternRewriter &rewriter) const override {
    auto product = op.getInput().getDefiningOp<MatmulOp>();
    if (!product || !product->hasOneUse() || op.getPerm() != ArrayRef<int64_t>{1, 0})
      return failure();
    auto swapped = rewriter.create<MatmulOp>(op.getLoc(), op.getType(), product.getRhs(),
                                             product.getLhs());
    swapped.setTransposeA(!product.getTransposeB());
    swapped.setTransposeB(!product.getTransposeA());
    rewriter.replaceOp(op, swapped);
    rewriter.eraseOp(product);
    return success();
  }
};

} // namespace

void TransposeOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *context) {
  results.add<TransposedProduct>(context);
}

void AddOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *context) {
  results.add<JoinAdjacentPads>(context);
}
