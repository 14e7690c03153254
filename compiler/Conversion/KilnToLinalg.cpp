//===- KilnToLinalg.cpp - Lower kiln ops to linalg on tensors -------------===//
#include "compiler/Conversion/LinalgBuild.h"
#include "compiler/Conversion/Passes.h"
#include "dialects/Kiln/IR/KilnOps.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/DialectConversion.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"

namespace kiln {
#define GEN_PASS_DEF_CONVERTKILNTOLINALG
#include "compiler/Conversion/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;
using namespace kiln::linalg_build;

namespace {

SmallVector<int64_t> allBut(int64_t rank, ArrayRef<int64_t> drop) {
  SmallVector<int64_t> kept;
  for (int64_t i = 0; i < rank; ++i)
    if (!llvm::is_contained(drop, i))
      kept.push_back(i);
  return kept;
}

/// Reduces `in` over its last dimension: out[r] = combine(out[r], f(in[r, j])).
Value reduceLast(OpBuilder &b, Location loc, Value in, Value init,
                 function_ref<Value(OpBuilder &, Location, Value, Value)> combine) {
  auto t = cast<RankedTensorType>(in.getType());
  int64_t r = t.getRank();
  MLIRContext *ctx = b.getContext();
  SmallVector<IteratorType> iters(r, IteratorType::parallel);
  iters.back() = IteratorType::reduction;
  SmallVector<int64_t> rows = allBut(r, {r - 1});
  return generic(b, loc, in, init,
                 {AffineMap::getMultiDimIdentityMap(r, ctx), dimsMap(ctx, r, rows)}, iters,
                 [&](OpBuilder &nb, Location l, ValueRange a) {
                   nb.create<linalg::YieldOp>(l, combine(nb, l, a[0], a[1]));
                 });
}

/// Row maxima and sums of exp(x - max) over the last dimension.
std::pair<Value, Value> rowMaxAndSumExp(OpBuilder &b, Location loc, Value x) {
  auto t = cast<RankedTensorType>(x.getType());
  auto rowType = RankedTensorType::get(t.getShape().drop_back(), t.getElementType());
  Value max = reduceLast(b, loc, x,
                         filled(b, loc, rowType, -std::numeric_limits<double>::infinity()),
                         [](OpBuilder &nb, Location l, Value v, Value acc) -> Value {
                           return nb.create<arith::MaxNumFOp>(l, v, acc);
                         });
  int64_t r = t.getRank();
  MLIRContext *ctx = b.getContext();
  SmallVector<IteratorType> iters(r, IteratorType::parallel);
  iters.back() = IteratorType::reduction;
  AffineMap rows = dimsMap(ctx, r, allBut(r, {r - 1}));
  Value sum = generic(b, loc, {x, max}, filled(b, loc, rowType, 0.0),
                      {AffineMap::getMultiDimIdentityMap(r, ctx), rows, rows}, iters,
                      [](OpBuilder &nb, Location l, ValueRange a) {
                        Value e = nb.create<math::ExpOp>(l, nb.create<arith::SubFOp>(l, a[0], a[1]));
                        nb.create<linalg::YieldOp>(l, ValueRange{nb.create<arith::AddFOp>(l, e, a[2])});
                      });
  return {max, sum};
}

struct ElementwiseLowering : OpInterfaceConversionPattern<ElementwiseOpInterface> {
  using OpInterfaceConversionPattern::OpInterfaceConversionPattern;
  LogicalResult matchAndRewrite(ElementwiseOpInterface op, ArrayRef<Value> operands,
                                ConversionPatternRewriter &rw) const override {
    auto t = cast<RankedTensorType>(op->getResult(0).getType());
    Location loc = op->getLoc();
    SmallVector<AffineMap> maps(operands.size() + 1,
                                AffineMap::getMultiDimIdentityMap(t.getRank(), rw.getContext()));
    SmallVector<IteratorType> iters(t.getRank(), IteratorType::parallel);
    Value r = generic(rw, loc, operands, empty(rw, loc, t), maps, iters,
                      [&](OpBuilder &b, Location l, ValueRange a) {
                        b.create<linalg::YieldOp>(l, op.buildScalar(b, l, a.drop_back()));
                      });
    rw.replaceOp(op, r);
    return success();
  }
};

struct ConstantLowering : KilnPattern<ConstantOp> {
  using KilnPattern::KilnPattern;
  LogicalResult matchAndRewrite(ConstantOp op, Adaptor, ConversionPatternRewriter &rw) const override {
    rw.replaceOp(op, filled(rw, op.getLoc(), op.getType(), op.getValue().convertToDouble()));
    return success();
  }
};

struct BroadcastLowering : KilnPattern<BroadcastOp> {
  using KilnPattern::KilnPattern;
  LogicalResult matchAndRewrite(BroadcastOp op, Adaptor a, ConversionPatternRewriter &rw) const override {
    auto t = op.getType();
    rw.replaceOp(op, readThrough(rw, op.getLoc(), a.getInput(),
                                 dimsMap(rw.getContext(), t.getRank(), op.getDims()), t));
    return success();
  }
};

/// Sums x over `dims` (sorted) into a tensor of type t: one generic.
Value sumOver(OpBuilder &rw, Location loc, Value x, ArrayRef<int64_t> dims, RankedTensorType t) {
  int64_t r = cast<RankedTensorType>(x.getType()).getRank();
  MLIRContext *ctx = rw.getContext();
  SmallVector<IteratorType> iters(r, IteratorType::parallel);
  for (int64_t d : dims)
    iters[d] = IteratorType::reduction;
  return generic(rw, loc, x, filled(rw, loc, t, 0.0),
                 {AffineMap::getMultiDimIdentityMap(r, ctx), dimsMap(ctx, r, allBut(r, dims))}, iters,
                 [](OpBuilder &b, Location l, ValueRange v) {
                   b.create<linalg::YieldOp>(l, ValueRange{b.create<arith::AddFOp>(l, v[0], v[1])});
                 });
}

/// A sum over trailing dimensions and others (batch norm's statistics and
/// its gradients: N x H x W values per channel) adds each row first, then
/// the row sums: rounding errors grow with H*W + N terms in sequence
/// instead of N*H*W (50k for a 28x28 batch of 64, where a single running
/// sum drifted 1e-5 from PyTorch's).
struct ReduceSumLowering : KilnPattern<ReduceSumOp> {
  using KilnPattern::KilnPattern;
  LogicalResult matchAndRewrite(ReduceSumOp op, Adaptor a, ConversionPatternRewriter &rw) const override {
    Location loc = op.getLoc();
    auto in = cast<RankedTensorType>(a.getInput().getType());
    int64_t r = in.getRank();
    SmallVector<int64_t> dims(op.getDims());
    llvm::sort(dims);
    size_t trailing = 0;
    while (trailing < dims.size() && dims[dims.size() - 1 - trailing] == r - 1 - int64_t(trailing))
      ++trailing;
    if (trailing == 0 || trailing == dims.size()) {
      rw.replaceOp(op, sumOver(rw, loc, a.getInput(), dims, op.getType()));
      return success();
    }
    ArrayRef<int64_t> rows = ArrayRef<int64_t>(dims).take_back(trailing);
    auto rowSumsType = RankedTensorType::get(in.getShape().drop_back(trailing), in.getElementType());
    Value rowSums = sumOver(rw, loc, a.getInput(), rows, rowSumsType);
    rw.replaceOp(op, sumOver(rw, loc, rowSums, ArrayRef<int64_t>(dims).drop_back(trailing),
                             op.getType()));
    return success();
  }
};

/// Transposed operands are materialized first (O(n^2) against the O(n^3)
/// product) so that the product itself is always the i-k-j loop nest, whose
/// vectors run along C's rows. Either C = op(A) op(B) is computed so, or its
/// transpose, C^T = op(B)^T op(A)^T, which is then copied back: whichever
/// copies fewer elements and wastes fewer vector lanes. A weight gradient
/// x^T dy of a classifier head (x: 64 x 784, dy: 64 x 10) so copies 8k
/// elements instead of 50k and runs its vectors along the 784 inputs, not
/// the 10 classes. Each element of C still sums k in order.
struct MatmulLowering : KilnPattern<MatmulOp> {
  using KilnPattern::KilnPattern;

  /// In sixteenths of a cycle: a transposing copy moves about one element
  /// a cycle; two FMA pipes of 8 lanes do 16 lane multiply-adds a cycle, and
  /// the vectors run along N (rounded up to whole vectors).
  static int64_t cost(int64_t copied, int64_t m, int64_t k, int64_t n) {
    return 16 * copied + m * k * static_cast<int64_t>(llvm::alignTo(n, 8));
  }

  LogicalResult matchAndRewrite(MatmulOp op, Adaptor a, ConversionPatternRewriter &rw) const override {
    Location loc = op.getLoc();
    auto at = cast<RankedTensorType>(a.getLhs().getType());
    auto bt = cast<RankedTensorType>(a.getRhs().getType());
    bool ta = op.getTransposeA(), tb = op.getTransposeB();
    int64_t m = at.getDimSize(ta ? 1 : 0), k = at.getDimSize(ta ? 0 : 1), n = bt.getDimSize(tb ? 0 : 1);
    bool swap = !ShapedType::isDynamic(m) && !ShapedType::isDynamic(k) && !ShapedType::isDynamic(n) &&
                cost((tb ? 0 : k * n) + (ta ? 0 : m * k) + m * n, n, k, m) <
                    cost((ta ? m * k : 0) + (tb ? k * n : 0), m, k, n);
    if (swap) {
      Value lhs = tb ? a.getRhs() : transposed(rw, loc, a.getRhs(), {1, 0});
      Value rhs = ta ? a.getLhs() : transposed(rw, loc, a.getLhs(), {1, 0});
      rw.replaceOp(op, transposed(rw, loc, matmul(rw, loc, lhs, rhs), {1, 0}));
      return success();
    }
    Value lhs = ta ? transposed(rw, loc, a.getLhs(), {1, 0}) : a.getLhs();
    Value rhs = tb ? transposed(rw, loc, a.getRhs(), {1, 0}) : a.getRhs();
    rw.replaceOp(op, matmul(rw, loc, lhs, rhs));
    return success();
  }
};

/// One pass over x with its row maxima and row sums of exp(x - max):
/// body(x, max, sum) gives each result element. Softmax and log-softmax.
Value rowwiseFromMaxAndSum(OpBuilder &rw, Location loc, Value x, RankedTensorType t,
                           function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  int64_t r = t.getRank();
  MLIRContext *ctx = rw.getContext();
  auto [max, sum] = rowMaxAndSumExp(rw, loc, x);
  AffineMap id = AffineMap::getMultiDimIdentityMap(r, ctx);
  AffineMap rows = dimsMap(ctx, r, allBut(r, {r - 1}));
  return generic(rw, loc, {x, max, sum}, empty(rw, loc, t), {id, rows, rows, id},
                 SmallVector<IteratorType>(r, IteratorType::parallel),
                 [&](OpBuilder &b, Location l, ValueRange v) {
                   b.create<linalg::YieldOp>(l, ValueRange{body(b, l, v)});
                 });
}

// exp(x - max) / sum
struct SoftmaxLowering : KilnPattern<SoftmaxOp> {
  using KilnPattern::KilnPattern;
  LogicalResult matchAndRewrite(SoftmaxOp op, Adaptor a, ConversionPatternRewriter &rw) const override {
    rw.replaceOp(op, rowwiseFromMaxAndSum(rw, op.getLoc(), a.getInput(), op.getType(),
                                          [](OpBuilder &b, Location l, ValueRange v) -> Value {
                                            Value e = b.create<math::ExpOp>(
                                                l, b.create<arith::SubFOp>(l, v[0], v[1]));
                                            return b.create<arith::DivFOp>(l, e, v[2]);
                                          }));
    return success();
  }
};

// (x - max) - log(sum): finite wherever x is.
struct LogSoftmaxLowering : KilnPattern<LogSoftmaxOp> {
  using KilnPattern::KilnPattern;
  LogicalResult matchAndRewrite(LogSoftmaxOp op, Adaptor a, ConversionPatternRewriter &rw) const override {
    rw.replaceOp(op, rowwiseFromMaxAndSum(rw, op.getLoc(), a.getInput(), op.getType(),
                                          [](OpBuilder &b, Location l, ValueRange v) -> Value {
                                            Value shifted = b.create<arith::SubFOp>(l, v[0], v[1]);
                                            Value lse = b.create<math::LogOp>(l, v[2]);
                                            return b.create<arith::SubFOp>(l, shifted, lse);
                                          }));
    return success();
  }
};

/// Yields acc + x * scale: one element's share of a mean.
void yieldMeanTerm(OpBuilder &b, Location l, Value acc, Value x, double scale) {
  Value s = b.create<arith::MulFOp>(l, x, floatConst(b, l, x.getType(), scale));
  b.create<linalg::YieldOp>(l, ValueRange{b.create<arith::AddFOp>(l, acc, s)});
}

/// True where the column index equals the row's label.
Value labelMatches(OpBuilder &b, Location l, Value label) {
  Value j = b.create<arith::IndexCastOp>(l, b.getI32Type(), b.create<linalg::IndexOp>(l, 1));
  return b.create<arith::CmpIOp>(l, arith::CmpIPredicate::eq, j, label);
}

struct OneHotLowering : KilnPattern<OneHotOp> {
  using KilnPattern::KilnPattern;
  LogicalResult matchAndRewrite(OneHotOp op, Adaptor a, ConversionPatternRewriter &rw) const override {
    MLIRContext *ctx = rw.getContext();
    Type et = op.getType().getElementType();
    rw.replaceOp(op, generic(rw, op.getLoc(), a.getLabels(), empty(rw, op.getLoc(), op.getType()),
                             {dimsMap(ctx, 2, {0}), dimsMap(ctx, 2, {0, 1})},
                             {IteratorType::parallel, IteratorType::parallel},
                             [&](OpBuilder &b, Location l, ValueRange v) {
                               Value r = b.create<arith::SelectOp>(l, labelMatches(b, l, v[0]),
                                                                   floatConst(b, l, et, 1.0),
                                                                   floatConst(b, l, et, 0.0));
                               b.create<linalg::YieldOp>(l, r);
                             }));
    return success();
  }
};

/// loss = mean_i((max_i - z[i, label_i]) + log(sum_i)): PyTorch's order, exact
/// when the label's logit is the largest (max + log(sum) first would round
/// at the logits' scale, 1.9e-6 at 20, however small the loss).
struct SoftmaxCrossEntropyLowering : KilnPattern<SoftmaxCrossEntropyOp> {
  using KilnPattern::KilnPattern;
  LogicalResult matchAndRewrite(SoftmaxCrossEntropyOp op, Adaptor a,
                                ConversionPatternRewriter &rw) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rw.getContext();
    auto zt = op.getLogits().getType();
    Type et = zt.getElementType();
    auto rowType = RankedTensorType::get({zt.getDimSize(0)}, et);
    auto [max, sum] = rowMaxAndSumExp(rw, loc, a.getLogits());
    Value picked = generic(rw, loc, {a.getLogits(), a.getLabels()}, filled(rw, loc, rowType, 0.0),
                           {dimsMap(ctx, 2, {0, 1}), dimsMap(ctx, 2, {0}), dimsMap(ctx, 2, {0})},
                           {IteratorType::parallel, IteratorType::reduction},
                           [&](OpBuilder &b, Location l, ValueRange v) {
                             Value z = b.create<arith::SelectOp>(l, labelMatches(b, l, v[1]), v[0],
                                                                 floatConst(b, l, et, 0.0));
                             b.create<linalg::YieldOp>(l, ValueRange{b.create<arith::AddFOp>(l, v[2], z)});
                           });
    double inv = 1.0 / static_cast<double>(zt.getDimSize(0));
    AffineMap row = dimsMap(ctx, 1, {0});
    rw.replaceOp(op, generic(rw, loc, {max, sum, picked}, filled(rw, loc, op.getType(), 0.0),
                             {row, row, row, AffineMap::get(1, 0, ctx)}, {IteratorType::reduction},
                             [&](OpBuilder &b, Location l, ValueRange v) {
                               Value margin = b.create<arith::SubFOp>(l, v[0], v[2]);
                               Value loss = b.create<arith::AddFOp>(l, margin, b.create<math::LogOp>(l, v[1]));
                               yieldMeanTerm(b, l, v[3], loss, inv);
                             }));
    return success();
  }
};

/// loss = mean(max(z, 0) - z t + log1p(exp(-|z|))).
struct SigmoidBCELowering : KilnPattern<SigmoidBCEOp> {
  using KilnPattern::KilnPattern;
  LogicalResult matchAndRewrite(SigmoidBCEOp op, Adaptor a, ConversionPatternRewriter &rw) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rw.getContext();
    auto t = op.getLogits().getType();
    Type et = t.getElementType();
    int64_t r = t.getRank();
    double inv = 1.0 / static_cast<double>(t.getNumElements());
    AffineMap id = AffineMap::getMultiDimIdentityMap(r, ctx);
    rw.replaceOp(op, generic(rw, loc, {a.getLogits(), a.getTargets()}, filled(rw, loc, op.getType(), 0.0),
                             {id, id, AffineMap::get(r, 0, ctx)},
                             SmallVector<IteratorType>(r, IteratorType::reduction),
                             [&](OpBuilder &b, Location l, ValueRange v) {
                               Value z = v[0], tt = v[1];
                               Value zero = floatConst(b, l, et, 0.0);
                               Value relu = b.create<arith::MaxNumFOp>(l, z, zero);
                               Value soft = b.create<math::Log1pOp>(
                                   l, b.create<math::ExpOp>(l, b.create<arith::NegFOp>(l, b.create<math::AbsFOp>(l, z))));
                               Value li = b.create<arith::AddFOp>(
                                   l, b.create<arith::SubFOp>(l, relu, b.create<arith::MulFOp>(l, z, tt)), soft);
                               yieldMeanTerm(b, l, v[2], li, inv);
                             }));
    return success();
  }
};

/// A fused group becomes one linalg.generic over the group's shape: each
/// input appears once per distinct access (direct or through a broadcast).
struct FusedLowering : KilnPattern<FusedOp> {
  using KilnPattern::KilnPattern;
  LogicalResult matchAndRewrite(FusedOp op, Adaptor a, ConversionPatternRewriter &rw) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rw.getContext();
    Block &body = op.getBody().front();
    auto shape = cast<RankedTensorType>(op.getResult(0).getType());
    int64_t r = shape.getRank();
    AffineMap id = AffineMap::getMultiDimIdentityMap(r, ctx);

    // (input index, map) pairs in first-use order.
    SmallVector<std::pair<unsigned, AffineMap>> accesses;
    DenseMap<Value, unsigned> accessOf; // region value -> access index
    auto access = [&](BlockArgument arg, AffineMap map) {
      auto key = std::make_pair(arg.getArgNumber(), map);
      auto it = llvm::find(accesses, key);
      if (it == accesses.end()) {
        accesses.push_back(key);
        return unsigned(accesses.size() - 1);
      }
      return unsigned(it - accesses.begin());
    };
    // A broadcast chain reads one input: for each of its dims, the dim of the
    // chain's value it lands on (composed through a broadcast of a broadcast).
    DenseMap<Value, std::pair<BlockArgument, SmallVector<int64_t>>> chains;
    DenseSet<Value> splats; // constants and broadcasts of them: scalars in the loop
    for (Operation &inner : body.without_terminator()) {
      if (auto c = dyn_cast<ConstantOp>(inner)) {
        splats.insert(c.getResult());
        continue;
      }
      if (auto bc = dyn_cast<BroadcastOp>(inner)) {
        Value in = bc.getInput();
        ArrayRef<int64_t> dims = bc.getDims();
        if (splats.contains(in)) {
          splats.insert(bc.getResult());
          continue;
        }
        std::pair<BlockArgument, SmallVector<int64_t>> chain;
        if (auto arg = dyn_cast<BlockArgument>(in)) {
          chain = {arg, SmallVector<int64_t>(dims)};
        } else if (auto it = chains.find(in); it != chains.end()) {
          chain.first = it->second.first;
          for (int64_t d : it->second.second)
            chain.second.push_back(dims[d]);
        } else {
          return rw.notifyMatchFailure(op, "broadcast of a computed value inside a group");
        }
        if (bc.getType() == shape)
          accessOf[bc.getResult()] = access(chain.first, dimsMap(ctx, r, chain.second));
        chains[bc.getResult()] = std::move(chain);
        continue;
      }
      for (Value v : inner.getOperands())
        if (auto arg = dyn_cast<BlockArgument>(v)) {
          if (arg.getType() != shape)
            return rw.notifyMatchFailure(op, "input of another shape used directly");
          accessOf[arg] = access(arg, id);
        }
    }

    SmallVector<Value> inputs;
    SmallVector<AffineMap> maps;
    for (auto [idx, map] : accesses) {
      inputs.push_back(a.getInputs()[idx]);
      maps.push_back(map);
    }
    SmallVector<Value> inits;
    for (Type t : op.getResultTypes()) {
      inits.push_back(empty(rw, loc, cast<RankedTensorType>(t)));
      maps.push_back(id);
    }
    LogicalResult status = success();
    auto generic = rw.create<linalg::GenericOp>(
        loc, op.getResultTypes(), inputs, inits, maps,
        SmallVector<IteratorType>(r, IteratorType::parallel),
        [&](OpBuilder &b, Location l, ValueRange args) {
          DenseMap<Value, Value> scalar;
          for (auto [v, i] : accessOf)
            scalar[v] = args[i];
          for (Operation &inner : body.without_terminator()) {
            if (auto c = dyn_cast<ConstantOp>(inner)) {
              scalar[c] = floatConst(b, l, c.getType().getElementType(), c.getValue().convertToDouble());
            } else if (auto bc = dyn_cast<BroadcastOp>(inner)) {
              if (!scalar.count(bc.getResult()))
                scalar[bc.getResult()] = scalar.lookup(bc.getInput());
            } else if (auto ew = dyn_cast<ElementwiseOpInterface>(inner)) {
              SmallVector<Value> operands;
              for (Value v : inner.getOperands())
                operands.push_back(scalar.lookup(v));
              scalar[inner.getResult(0)] = ew.buildScalar(b, l, operands);
            } else {
              status = inner.emitOpError("cannot be lowered inside kiln.fused");
            }
          }
          SmallVector<Value> yielded;
          for (Value v : body.getTerminator()->getOperands())
            yielded.push_back(scalar.lookup(v));
          b.create<linalg::YieldOp>(l, yielded);
        });
    if (failed(status))
      return failure();
    rw.replaceOp(op, generic.getResults());
    return success();
  }
};

/// u[i] = fmix32(i * 0x9E3779B9 + counter * 0x85EBCA6B + salt) >> 8, / 2^24:
/// one generic over the result with the counter as a 0-d input.
struct RandomUniformLowering : KilnPattern<RandomUniformOp> {
  using KilnPattern::KilnPattern;
  LogicalResult matchAndRewrite(RandomUniformOp op, Adaptor a,
                                ConversionPatternRewriter &rw) const override {
    auto t = op.getType();
    int64_t r = t.getRank();
    MLIRContext *ctx = rw.getContext();
    uint32_t salt = static_cast<uint32_t>(op.getSalt());
    Value u = generic(
        rw, op.getLoc(), a.getCounter(), empty(rw, op.getLoc(), t),
        {AffineMap::get(r, 0, {}, ctx), AffineMap::getMultiDimIdentityMap(r, ctx)},
        SmallVector<IteratorType>(r, IteratorType::parallel),
        [&](OpBuilder &b, Location l, ValueRange args) {
          auto i32 = b.getI32Type();
          auto c32 = [&](uint32_t v) {
            return b.create<arith::ConstantOp>(l, b.getIntegerAttr(i32, int64_t(int32_t(v))));
          };
          Value lin = b.create<arith::ConstantIndexOp>(l, 0);
          for (int64_t d = 0; d < r; ++d) {
            Value size = b.create<arith::ConstantIndexOp>(l, t.getDimSize(d));
            lin = b.create<arith::AddIOp>(l, b.create<arith::MulIOp>(l, lin, size),
                                          b.create<linalg::IndexOp>(l, d));
          }
          Value x = b.create<arith::IndexCastOp>(l, i32, lin);
          Value count = b.create<arith::FPToUIOp>(l, i32, args[0]);
          x = b.create<arith::AddIOp>(
              l, b.create<arith::MulIOp>(l, x, c32(0x9E3779B9u)),
              b.create<arith::AddIOp>(l, b.create<arith::MulIOp>(l, count, c32(0x85EBCA6Bu)),
                                      c32(salt)));
          auto xorShift = [&](Value v, uint32_t s) {
            return b.create<arith::XOrIOp>(l, v, b.create<arith::ShRUIOp>(l, v, c32(s)));
          };
          x = xorShift(x, 16);
          x = b.create<arith::MulIOp>(l, x, c32(0x85EBCA6Bu));
          x = xorShift(x, 13);
          x = b.create<arith::MulIOp>(l, x, c32(0xC2B2AE35u));
          x = xorShift(x, 16);
          Type f = t.getElementType();
          Value bits = b.create<arith::UIToFPOp>(l, f, b.create<arith::ShRUIOp>(l, x, c32(8)));
          b.create<linalg::YieldOp>(
              l, ValueRange{b.create<arith::MulFOp>(l, bits, floatConst(b, l, f, 1.0 / 16777216.0))});
        });
    rw.replaceOp(op, u);
    return success();
  }
};

/// Computations in a loop that do not change across its iterations (the
/// transpose of a weight a scan captures and a matmul packs, a bias
/// broadcast, scatter_add's id reads) run once before it. Every loop this
/// pass builds runs at least once, so hoisting never computes something the
/// loop would not; only ops without memory effects move (all
/// of them are on tensors here). Inner loops first, so invariants of a
/// nested loop can travel out of both.
void hoistLoopInvariants(func::FuncOp fn) {
  fn.walk([](scf::ForOp loop) {
    moveLoopInvariantCode(
        {&loop.getRegion()},
        [&](Value v, Region *) { return loop.isDefinedOutsideOfLoop(v); },
        [](Operation *op, Region *) { return isMemoryEffectFree(op); },
        [&](Operation *op, Region *) { loop.moveOutOfLoop(op); });
  });
}

struct ConvertKilnToLinalgPass : kiln::impl::ConvertKilnToLinalgBase<ConvertKilnToLinalgPass> {
  using ConvertKilnToLinalgBase::ConvertKilnToLinalgBase;
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    ConversionTarget target(*ctx);
    target.addLegalDialect<linalg::LinalgDialect, tensor::TensorDialect, arith::ArithDialect,
                           math::MathDialect>();
    target.addIllegalDialect<KilnDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(ctx);
    patterns.add<ElementwiseLowering>(ctx);
    patterns.add<ConstantLowering, BroadcastLowering, ReduceSumLowering, MatmulLowering,
                 SoftmaxLowering, LogSoftmaxLowering, OneHotLowering, SoftmaxCrossEntropyLowering,
                 SigmoidBCELowering, FusedLowering, RandomUniformLowering>(ctx);
    populateSpatialToLinalgPatterns(patterns);
    populateShapeToLinalgPatterns(patterns, scatterPerRow);
    populateScanToSCFPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target, std::move(patterns))))
      return signalPassFailure();
    hoistLoopInvariants(getOperation());
  }
};
} // namespace
