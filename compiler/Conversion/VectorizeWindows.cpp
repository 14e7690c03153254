//===- VectorizeWindows.cpp - Vector code for pooling window nests --------===//
//
// Pooling and its gradient are nests over (n, c, i, j, a, b): output pixel
// (i, j), window offset (a, b), reading or writing the image at
// (n, c, i*KH + a, j*KW + b) and the pooled tensors at (n, c, i, j). The
// image's innermost index has stride KW in j, so no lane-by-lane vector form
// exists; instead each image row segment under L pooled pixels is one
// contiguous load of L*KW lanes, split into KW vectors (one per b) by
// shuffles, and the written rows are interleaved back the same way. The
// nest's scalar body then runs on L lanes at once for each (a, b) in order,
// so reductions combine exactly as the scalar loops do.
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/Passes.h"
#include "compiler/Conversion/VectorizeLoops.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"

using namespace mlir;

namespace {

/// How a window nest reads or writes one operand.
enum class Access { Image, Pooled, Shape };

struct WindowNest {
  int64_t kh = 0, kw = 0;
  SmallVector<Access> access; // per operand, inputs then the output
  bool reduction = false;     // the output is pooled and accumulates
};

/// The body ops that have a lane-wise form: elementwise arith and math ops.
bool laneWise(Operation &op) {
  if (isa<linalg::IndexOp, linalg::YieldOp>(op))
    return true;
  return op.hasTrait<OpTrait::Elementwise>() && op.getNumRegions() == 0 &&
         isa<arith::ArithDialect, math::MathDialect>(op.getDialect());
}

std::optional<WindowNest> matchWindowNest(linalg::GenericOp op) {
  if (op.getNumLoops() != 6 || op.getNumDpsInits() != 1 || !op.hasPureBufferSemantics())
    return std::nullopt;
  for (Value v : op->getOperands()) {
    auto t = dyn_cast<MemRefType>(v.getType());
    if (!t || !t.hasStaticShape() || !kiln::unitInnerStride(t))
      return std::nullopt;
  }
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  MLIRContext *ctx = op.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  WindowNest w;
  w.kh = ranges[4];
  w.kw = ranges[5];
  if (w.kh * w.kw > 64) // the window is unrolled
    return std::nullopt;
  AffineMap image = AffineMap::get(6, 0, {d(0), d(1), d(2) * w.kh + d(4), d(3) * w.kw + d(5)}, ctx);
  AffineMap pooled = AffineMap::get(6, 0, {d(0), d(1), d(2), d(3)}, ctx);
  AffineMap shape = AffineMap::get(6, 0, {d(4), d(5)}, ctx);
  Block &body = op.getRegion().front();
  for (OpOperand &operand : op->getOpOperands()) {
    AffineMap map = op.getMatchingIndexingMap(&operand);
    bool used = !op.getMatchingBlockArgument(&operand).use_empty();
    if (map == image)
      w.access.push_back(Access::Image);
    else if (map == pooled)
      w.access.push_back(Access::Pooled);
    else if (map == shape && !used)
      w.access.push_back(Access::Shape);
    else
      return std::nullopt;
  }
  auto iters = op.getIteratorTypesArray();
  for (unsigned i = 0; i < 4; ++i)
    if (iters[i] != utils::IteratorType::parallel)
      return std::nullopt;
  w.reduction = w.access.back() == Access::Pooled;
  bool windowParallel = iters[4] == utils::IteratorType::parallel &&
                        iters[5] == utils::IteratorType::parallel;
  // A pooled output accumulates over the window; an image output is written
  // once per element (windows do not overlap) and not read.
  if (w.access.back() == Access::Shape ||
      (w.reduction ? windowParallel
                   : !windowParallel || !op.getMatchingBlockArgument(op.getDpsInitOperand(0)).use_empty()))
    return std::nullopt;
  if (!llvm::all_of(body.without_terminator(), laneWise) ||
      !llvm::all_of(body.getArgumentTypes(), [](Type t) { return t.isIntOrIndexOrFloat(); }))
    return std::nullopt;
  return w;
}

/// Lanes [b, b + kw, b + 2kw, ...] of `row`: the window column b.
Value column(OpBuilder &b, Location loc, Value row, int64_t kw, int64_t col, int64_t lanes) {
  if (kw == 1)
    return row;
  SmallVector<int64_t> mask;
  for (int64_t j = 0; j < lanes; ++j)
    mask.push_back(col + j * kw);
  return b.create<vector::ShuffleOp>(loc, row, row, mask);
}

/// The columns' lanes interleaved back into one row: the inverse of column().
Value interleave(OpBuilder &b, Location loc, ArrayRef<Value> columns, int64_t lanes) {
  Value all = columns.front();
  for (size_t c = 1; c < columns.size(); ++c) {
    SmallVector<int64_t> concat;
    for (int64_t i = 0; i < int64_t(c + 1) * lanes; ++i)
      concat.push_back(i);
    all = b.create<vector::ShuffleOp>(loc, all, columns[c], concat);
  }
  if (columns.size() == 1)
    return all;
  SmallVector<int64_t> mask;
  for (int64_t j = 0; j < lanes; ++j)
    for (size_t c = 0; c < columns.size(); ++c)
      mask.push_back(int64_t(c) * lanes + j);
  return b.create<vector::ShuffleOp>(loc, all, all, mask);
}

/// Clones `body` with each block argument replaced by `args` (scalars are
/// the same for every lane, vectors hold one value per lane) and linalg.index
/// by `indices`; ops with any vector operand become their vector form.
/// Returns the yielded values.
SmallVector<Value> cloneLaneWise(OpBuilder &b, Location loc, Block &body, ArrayRef<Value> args,
                                 ArrayRef<Value> indices, int64_t lanes) {
  IRMapping map;
  for (auto [arg, v] : llvm::zip(body.getArguments(), args))
    map.map(arg, v);
  for (Operation &op : body.without_terminator()) {
    if (auto index = dyn_cast<linalg::IndexOp>(op)) {
      map.map(index.getResult(), indices[index.getDim()]);
      continue;
    }
    SmallVector<Value> operands;
    bool vector = false;
    for (Value v : op.getOperands()) {
      operands.push_back(map.lookupOrDefault(v));
      vector |= isa<VectorType>(operands.back().getType());
    }
    if (!vector) {
      map.map(op.getResults(), b.clone(op, map)->getResults());
      continue;
    }
    for (Value &v : operands)
      if (!isa<VectorType>(v.getType()))
        v = b.create<vector::BroadcastOp>(loc, VectorType::get({lanes}, v.getType()), v);
    OperationState state(loc, op.getName());
    state.addOperands(operands);
    state.propertiesAttr = op.getPropertiesAsAttribute();
    state.addAttributes(llvm::to_vector(op.getDiscardableAttrs()));
    for (Type t : op.getResultTypes())
      state.addTypes(VectorType::get({lanes}, t));
    map.map(op.getResults(), b.create(state)->getResults());
  }
  SmallVector<Value> out;
  for (Value v : body.getTerminator()->getOperands())
    out.push_back(map.lookupOrDefault(v));
  return out;
}

} // namespace

bool kiln::vectorizeWindowNest(RewriterBase &rewriter, linalg::GenericOp op, int64_t width) {
  std::optional<WindowNest> w = matchWindowNest(op);
  if (!w)
    return false;
  Location loc = op.getLoc();
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  SmallVector<Value> operands(op->getOperands());
  Block &body = op.getRegion().front();
  unsigned out = operands.size() - 1;
  rewriter.setInsertionPoint(op);
  auto cst = [&](OpBuilder &b, int64_t v) { return b.create<arith::ConstantIndexOp>(loc, v).getResult(); };
  auto nest = staticLoopNest(rewriter, loc, ArrayRef(ranges).take_front(3), [&](OpBuilder &b, Location, ValueRange nci) {
    for (const Piece &p : pieces(ranges[3], width)) {
      int64_t lanes = p.block;
      auto block = [&](OpBuilder &bb, Location, Value j) {
        SmallVector<Value> at{nci[0], nci[1], nci[2], j}; // pooled (n, c, i, j)
        Value col0 = bb.create<arith::MulIOp>(loc, j, cst(bb, w->kw));
        auto imageRow = [&](int64_t a) {
          Value h = bb.create<arith::AddIOp>(loc, bb.create<arith::MulIOp>(loc, nci[2], cst(bb, w->kh)),
                                             cst(bb, a));
          return SmallVector<Value>{nci[0], nci[1], h, col0};
        };
        auto load = [&](Value buf, ArrayRef<Value> idx, int64_t n) {
          Type elem = cast<MemRefType>(buf.getType()).getElementType();
          return bb.create<vector::LoadOp>(loc, VectorType::get({n}, elem), buf, idx).getResult();
        };
        // Pooled operands once per block; the accumulator through the window.
        SmallVector<Value> pooled(operands.size());
        for (unsigned k = 0; k < operands.size(); ++k)
          if (w->access[k] == Access::Pooled)
            pooled[k] = load(operands[k], at, lanes);
        Value acc = w->reduction ? pooled[out] : Value();
        Value laneIds;
        for (int64_t a = 0; a < w->kh; ++a) {
          SmallVector<Value> rowIdx = imageRow(a);
          SmallVector<Value> rows(operands.size());
          for (unsigned k = 0; k < out; ++k)
            if (w->access[k] == Access::Image)
              rows[k] = load(operands[k], rowIdx, lanes * w->kw);
          SmallVector<Value> written;
          for (int64_t c = 0; c < w->kw; ++c) {
            SmallVector<Value> args;
            for (unsigned k = 0; k < operands.size(); ++k) {
              Type elem = cast<MemRefType>(operands[k].getType()).getElementType();
              if (k == out && w->reduction)
                args.push_back(acc);
              else if (w->access[k] == Access::Image && k != out)
                args.push_back(column(bb, loc, rows[k], w->kw, c, lanes));
              else if (w->access[k] == Access::Pooled)
                args.push_back(pooled[k]);
              else // unread: the window shape, or the image being written
                args.push_back(bb.create<arith::ConstantOp>(loc, elem, bb.getZeroAttr(elem)));
            }
            if (!laneIds) {
              SmallVector<int64_t> ids;
              for (int64_t l = 0; l < lanes; ++l)
                ids.push_back(l);
              auto vt = VectorType::get({lanes}, bb.getIndexType());
              Value base = bb.create<vector::BroadcastOp>(loc, vt, j);
              laneIds = bb.create<arith::AddIOp>(
                  loc, base, bb.create<arith::ConstantOp>(loc, vt, bb.getIndexVectorAttr(ids)));
            }
            SmallVector<Value> indices{nci[0], nci[1], nci[2], laneIds, cst(bb, a), cst(bb, c)};
            Value result = cloneLaneWise(bb, loc, body, args, indices, lanes).front();
            if (!isa<VectorType>(result.getType())) // the same for every lane
              result = bb.create<vector::BroadcastOp>(
                  loc, VectorType::get({lanes}, result.getType()), result);
            if (w->reduction)
              acc = result;
            else
              written.push_back(result);
          }
          if (!w->reduction)
            bb.create<vector::StoreOp>(loc, interleave(bb, loc, written, lanes), operands[out], rowIdx);
        }
        if (w->reduction)
          bb.create<vector::StoreOp>(loc, acc, operands[out], at);
      };
      if (p.size == p.block) {
        block(b, loc, cst(b, p.offset));
        continue;
      }
      b.create<scf::ForOp>(loc, cst(b, p.offset), cst(b, p.offset + p.size), cst(b, p.block),
                           std::nullopt, [&](OpBuilder &fb, Location, Value j, ValueRange) {
                             block(fb, loc, j);
                             fb.create<scf::YieldOp>(loc);
                           });
    }
  });
  // Every n writes its own planes.
  nest.loops.front()->setAttr(kiln::kParallelAttr, rewriter.getUnitAttr());
  rewriter.eraseOp(op);
  return true;
}
