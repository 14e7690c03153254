//===- ScanToSCF.cpp - Lower kiln.scan to an scf.for over tensors ---------===//
//
// The carried values and the stacked results become the loop's iter_args;
// step t reads slice t of each sequence and writes slice t of each stacked
// result (tensor.extract_slice / insert_slice, in place after
// bufferization). The body's kiln ops are moved into the loop and lowered by
// the same conversion.
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/LinalgBuild.h"
#include "dialects/Kiln/IR/KilnOps.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::linalg_build;

namespace {

/// Offsets [t, 0, ...], sizes [1, step shape...], unit strides.
struct StepSlice {
  SmallVector<OpFoldResult> offsets, sizes, strides;
  StepSlice(OpBuilder &b, Value t, RankedTensorType whole) {
    offsets.push_back(t);
    sizes.push_back(b.getIndexAttr(1));
    for (int64_t d : whole.getShape().drop_front()) {
      offsets.push_back(b.getIndexAttr(0));
      sizes.push_back(b.getIndexAttr(d));
    }
    strides.assign(whole.getRank(), b.getIndexAttr(1));
  }
};

struct ScanLowering : OpConversionPattern<ScanOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ScanOp op, OpAdaptor a, ConversionPatternRewriter &rw) const override {
    Location loc = op.getLoc();
    int64_t length = op.getLength();
    unsigned nc = a.getInits().size();
    SmallVector<Value> iters(a.getInits());
    for (Type t : op.getStacked().getTypes())
      iters.push_back(empty(rw, loc, cast<RankedTensorType>(t)));
    Value lb = rw.create<arith::ConstantIndexOp>(loc, 0);
    Value ub = rw.create<arith::ConstantIndexOp>(loc, length);
    Value one = rw.create<arith::ConstantIndexOp>(loc, 1);
    auto loop = rw.create<scf::ForOp>(loc, lb, ub, one, iters);
    Block *body = loop.getBody();

    rw.setInsertionPointToStart(body);
    Value t = loop.getInductionVar();
    if (op.getReverse())
      t = rw.create<arith::SubIOp>(loc, rw.create<arith::ConstantIndexOp>(loc, length - 1), t);
    SmallVector<Value> args(loop.getRegionIterArgs().take_front(nc));
    for (Value seq : a.getSequences()) {
      auto whole = cast<RankedTensorType>(seq.getType());
      StepSlice s(rw, t, whole);
      args.push_back(rw.create<tensor::ExtractSliceOp>(loc, ScanOp::stepType(whole), seq, s.offsets,
                                                       s.sizes, s.strides));
    }
    args.append(a.getCaptures().begin(), a.getCaptures().end());

    auto yield = cast<YieldOp>(op.getStep().getTerminator());
    // The conversion replaces block arguments lazily: compare yielded values
    // with the body's own arguments.
    SmallVector<Value> carryArgs(op.getCarryArgs());
    rw.inlineBlockBefore(&op.getStep(), body, body->end(), args);
    rw.setInsertionPoint(yield);
    SmallVector<Value> carries, stacks;
    for (auto [v, stack] : llvm::zip(yield.getValues().drop_front(nc),
                                     loop.getRegionIterArgs().drop_front(nc))) {
      StepSlice s(rw, t, cast<RankedTensorType>(stack.getType()));
      stacks.push_back(
          rw.create<tensor::InsertSliceOp>(loc, v, stack, s.offsets, s.sizes, s.strides));
    }
    // The next carried value is copied into the current one's buffer after
    // the step has read it (stacking included): the loop then bufferizes
    // with each carry in one buffer, which a static workspace plan can hold
    // (a freshly allocated carry per step cannot). A carry passed on
    // unchanged needs no copy; one that is another carry's current value
    // (a swap) is staged through a temporary first, since that carry's
    // buffer is overwritten in turn.
    auto iterArgs = loop.getRegionIterArgs();
    SmallVector<Value> sources;
    SmallVector<bool> unchanged;
    for (auto [k, v] : llvm::enumerate(yield.getValues().take_front(nc))) {
      auto *it = llvm::find(carryArgs, v);
      unchanged.push_back(it != carryArgs.end() && unsigned(it - carryArgs.begin()) == k);
      if (it != carryArgs.end() && !unchanged.back())
        v = rw.create<linalg::CopyOp>(loc, iterArgs[it - carryArgs.begin()],
                                      empty(rw, loc, cast<RankedTensorType>(v.getType())))
                .getResult(0);
      sources.push_back(v);
    }
    for (auto [k, v] : llvm::enumerate(sources))
      carries.push_back(unchanged[k] ? iterArgs[k]
                                     : rw.create<linalg::CopyOp>(loc, v, iterArgs[k]).getResult(0));
    SmallVector<Value> next(carries);
    next.append(stacks);
    rw.create<scf::YieldOp>(loc, next);
    rw.eraseOp(yield);
    rw.replaceOp(op, loop.getResults());
    return success();
  }
};

} // namespace

void kiln::populateScanToSCFPatterns(RewritePatternSet &patterns) {
  patterns.add<ScanLowering>(patterns.getContext());
}
