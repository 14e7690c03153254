//===- VectorizeConv.cpp - Direct convolution micro-kernels for the CPU ---===//
//
// A convolution and its filter gradient read the image through windows,
// x[n, c, i*sh + a, j*sw + b]: for a fixed (n, c, i, a, b) that is one row
// segment of the image, contiguous over j at stride 1. So neither needs the
// patches as a matrix (im2col: K*K copies of the image written and read):
// - the convolution keeps MR output channels x one vector of output pixels
//   in registers and, for each (c, a, b) in order, adds the filter tap
//   (broadcast) times the image row segment: the same sums, in the same
//   order, as the patches matrix times the filter;
// - the filter gradient keeps MR channels x the row's vectors of partial
//   dot products of dy's rows with the image's, over every (n, i), and sums
//   the lanes at the end.
// Strided windows load the segment under all lanes and pick every sw-th
// element with a shuffle.
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/Passes.h"
#include "compiler/Conversion/VectorizeLoops.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace {

/// Static buffers whose rows are contiguous (parameters are strided views
/// of the arena, with an offset): vector loads and stores take them.
bool staticRowBuffers(linalg::GenericOp op) {
  return op.hasPureBufferSemantics() && llvm::all_of(op->getOperands(), [](Value v) {
           auto t = dyn_cast<MemRefType>(v.getType());
           return t && t.hasStaticShape() && kiln::unitInnerStride(t);
         });
}

/// out + in0 * in1, in any operand order.
bool mulAddBody(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  if (body.getOperations().size() != 3)
    return false;
  auto add = body.getTerminator()->getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add)
    return false;
  Value acc = body.getArgument(2);
  Value other = add.getLhs() == acc ? add.getRhs() : add.getRhs() == acc ? add.getLhs() : Value();
  auto mul = other ? other.getDefiningOp<arith::MulFOp>() : arith::MulFOp();
  if (!mul)
    return false;
  Value x = body.getArgument(0), y = body.getArgument(1);
  return (mul.getLhs() == x && mul.getRhs() == y) || (mul.getLhs() == y && mul.getRhs() == x);
}

/// The stride s with e == d(out) * s + d(win), if any.
std::optional<int64_t> windowStride(AffineExpr e, unsigned out, unsigned win) {
  MLIRContext *ctx = e.getContext();
  for (int64_t s = 1; s <= 16; ++s)
    if (e == getAffineDimExpr(out, ctx) * s + getAffineDimExpr(win, ctx))
      return s;
  return std::nullopt;
}

/// The image map (n, c, i*sh + a, j*sw + b) over the given loop dimensions,
/// or no strides.
std::optional<std::pair<int64_t, int64_t>> imageStrides(AffineMap map, unsigned n, unsigned c,
                                                        unsigned i, unsigned j, unsigned a,
                                                        unsigned b) {
  MLIRContext *ctx = map.getContext();
  if (map.getNumResults() != 4 || map.getResult(0) != getAffineDimExpr(n, ctx) ||
      map.getResult(1) != getAffineDimExpr(c, ctx))
    return std::nullopt;
  auto sh = windowStride(map.getResult(2), i, a), sw = windowStride(map.getResult(3), j, b);
  if (!sh || !sw)
    return std::nullopt;
  return std::make_pair(*sh, *sw);
}

bool mapIs(AffineMap map, ArrayRef<unsigned> dims) {
  if (map.getNumResults() != dims.size())
    return false;
  for (auto [e, d] : llvm::zip(map.getResults(), dims))
    if (e != getAffineDimExpr(d, map.getContext()))
      return false;
  return true;
}

bool iteratorsAre(linalg::GenericOp op, unsigned parallel) {
  auto iters = op.getIteratorTypesArray();
  for (auto [i, t] : llvm::enumerate(iters))
    if ((i < parallel) != (t == utils::IteratorType::parallel))
      return false;
  return true;
}

/// The window strides of a 7-loop mul-add generic (4 parallel loops, then 3
/// reductions) over static row buffers whose image operand is read at
/// (n, c, i*sh + a, j*sw + b) over the loop dimensions `image` lists in that
/// order, whose other input is read at `other` and whose output at (0, 1, 2, 3).
std::optional<std::pair<int64_t, int64_t>> convNestStrides(linalg::GenericOp op, unsigned imageOperand,
                                                           std::array<unsigned, 6> image,
                                                           ArrayRef<unsigned> other) {
  if (op.getNumLoops() != 7 || op.getNumDpsInputs() != 2 || !staticRowBuffers(op) ||
      !iteratorsAre(op, 4) || !mulAddBody(op))
    return std::nullopt;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  auto [n, c, i, j, a, b] = image;
  auto strides = imageStrides(maps[imageOperand], n, c, i, j, a, b);
  if (!strides || !mapIs(maps[1 - imageOperand], other) || !mapIs(maps[2], {0, 1, 2, 3}))
    return std::nullopt;
  return strides;
}

struct Emit {
  OpBuilder &b;
  Location loc;
  Value idx(int64_t v) { return b.create<arith::ConstantIndexOp>(loc, v); }
  Value add(Value x, Value y) { return b.create<arith::AddIOp>(loc, x, y); }
  Value mul(Value x, int64_t v) { return v == 1 ? x : b.create<arith::MulIOp>(loc, x, idx(v)).getResult(); }
  /// The image row segment under `lanes` output pixels from column `col0`
  /// at stride `sw`: one contiguous load, every sw-th element kept.
  Value segment(Value image, ValueRange at, int64_t lanes, int64_t sw) {
    Type elem = cast<MemRefType>(image.getType()).getElementType();
    int64_t span = (lanes - 1) * sw + 1;
    Value row = b.create<vector::LoadOp>(loc, VectorType::get({span}, elem), image, at);
    if (sw == 1)
      return row;
    SmallVector<int64_t> mask;
    for (int64_t l = 0; l < lanes; ++l)
      mask.push_back(l * sw);
    return b.create<vector::ShuffleOp>(loc, row, row, mask);
  }
  Value zeros(int64_t lanes, Type elem) {
    auto vt = VectorType::get({lanes}, elem);
    return b.create<arith::ConstantOp>(loc, DenseElementsAttr::get(vt, b.getZeroAttr(elem)));
  }
};

/// Nested loops over [0, sizes[k]) carrying `init` through all of them.
SmallVector<Value> carriedNest(OpBuilder &b, Location loc, ArrayRef<int64_t> sizes, ValueRange init,
                               function_ref<SmallVector<Value>(OpBuilder &, ValueRange, ValueRange)> body) {
  SmallVector<Value> ivs;
  std::function<SmallVector<Value>(OpBuilder &, unsigned, ValueRange)> level =
      [&](OpBuilder &lb, unsigned k, ValueRange carried) -> SmallVector<Value> {
    if (k == sizes.size())
      return body(lb, ivs, carried);
    return kiln::stepLoop(lb, loc, 0, sizes[k], 1, carried, [&](OpBuilder &ib, Value iv, ValueRange c) {
      ivs.push_back(iv);
      SmallVector<Value> r = level(ib, k + 1, c);
      ivs.pop_back();
      return r;
    });
  };
  return level(b, 0, init);
}

} // namespace

// Loops (n, f, i, j | c, a, b): y[n, f, i, j] += x[n, c, i*sh + a, j*sw + b] * w[f, c, a, b].
bool kiln::vectorizeDirectConv(RewriterBase &rewriter, linalg::GenericOp op, int64_t width) {
  auto strides = convNestStrides(op, 0, {0, 4, 2, 3, 5, 6}, {1, 4, 5, 6});
  if (!strides)
    return false;
  int64_t sh = strides->first, sw = strides->second;
  SmallVector<int64_t> r = op.getStaticLoopRanges();
  int64_t nN = r[0], nF = r[1], nOH = r[2], nOW = r[3], nC = r[4], nKH = r[5], nKW = r[6];
  Value x = op.getDpsInputs()[0], w = op.getDpsInputs()[1], y = op.getDpsInits()[0];
  Type elem = cast<MemRefType>(y.getType()).getElementType();
  Location loc = op.getLoc();
  linalg::FillOp zeroFill = kiln::zeroFillBefore(op);
  if (zeroFill)
    rewriter.eraseOp(zeroFill);
  // Register blocks of MR channels x RB output rows x one vector of pixels:
  // a filter tap broadcast serves RB rows, an image segment MR channels.
  int64_t budget = width >= 16 ? 24 : 12;
  int64_t rb = std::min<int64_t>(nOH, 2);
  int64_t most = rowBlock(nF, budget / rb);
  rewriter.setInsertionPoint(op);
  Emit h{rewriter, loc};
  auto batch = rewriter.create<scf::ForOp>(loc, h.idx(0), h.idx(nN), h.idx(1));
  batch->setAttr(kParallelAttr, rewriter.getUnitAttr()); // each n writes its own planes
  OpBuilder b = OpBuilder::atBlockBegin(batch.getBody());
  Value n = batch.getInductionVar();
  for (const Piece &ip : pieces(nOH, rb))
    stepLoop(b, loc, ip.offset, ip.size, ip.block, {}, [&](OpBuilder &ib, Value i0, ValueRange) {
      for (const Piece &fp : pieces(nF, most))
        stepLoop(ib, loc, fp.offset, fp.size, fp.block, {}, [&](OpBuilder &fb, Value f0, ValueRange) {
          for (const Piece &jp : pieces(nOW, width)) {
            int64_t lanes = jp.block;
            stepLoop(fb, loc, jp.offset, jp.size, jp.block, {}, [&](OpBuilder &jb, Value j0, ValueRange) {
              Emit g{jb, loc};
              auto vt = VectorType::get({lanes}, elem);
              SmallVector<Value> fs, is, init; // acc[q * MR + f]
              for (int64_t k = 0; k < fp.block; ++k)
                fs.push_back(g.add(f0, g.idx(k)));
              for (int64_t q = 0; q < ip.block; ++q)
                is.push_back(g.add(i0, g.idx(q)));
              for (Value i : is)
                for (Value f : fs)
                  init.push_back(zeroFill ? g.zeros(lanes, elem)
                                          : jb.create<vector::LoadOp>(loc, vt, y, ValueRange{n, f, i, j0})
                                                .getResult());
              Value col0 = g.mul(j0, sw);
              SmallVector<Value> acc = carriedNest(
                  jb, loc, {nC, nKH, nKW}, init,
                  [&](OpBuilder &kb, ValueRange cab, ValueRange carried) {
                    Emit k{kb, loc};
                    SmallVector<Value> segs;
                    for (Value i : is)
                      segs.push_back(k.segment(
                          x, {n, cab[0], k.add(k.mul(i, sh), cab[1]), k.add(col0, cab[2])}, lanes, sw));
                    SmallVector<Value> out(carried);
                    for (size_t f = 0; f < fs.size(); ++f) {
                      Value tap = kb.create<memref::LoadOp>(loc, w, ValueRange{fs[f], cab[0], cab[1], cab[2]});
                      Value splat = kb.create<vector::BroadcastOp>(loc, vt, tap);
                      for (size_t q = 0; q < is.size(); ++q)
                        out[q * fs.size() + f] =
                            kb.create<vector::FMAOp>(loc, splat, segs[q], carried[q * fs.size() + f]);
                    }
                    return out;
                  });
              for (size_t q = 0; q < is.size(); ++q)
                for (size_t f = 0; f < fs.size(); ++f)
                  jb.create<vector::StoreOp>(loc, acc[q * fs.size() + f], y, ValueRange{n, fs[f], is[q], j0});
              return SmallVector<Value>{};
            });
          }
          return SmallVector<Value>{};
        });
      return SmallVector<Value>{};
    });
  rewriter.eraseOp(op);
  return true;
}

// Loops (f, c, a, b | n, i, j): dw[f, c, a, b] += dy[n, f, i, j] * x[n, c, i*sh + a, j*sw + b].
// The batch is taken in chunks whose dy and image planes fit half of L2; within a chunk,
// units of (MR channels, c, a, BB window columns) run in parallel, each keeping MR x BB x
// (column blocks) vectors of partial dot products over the chunk's (n, i) rows, so that
// a dy row load serves BB taps and an image segment MR channels; each unit then adds
// its lane sums to dw. The order of every sum is fixed by the shapes, not the threads.
bool kiln::vectorizeConvFilterGrad(RewriterBase &rewriter, linalg::GenericOp op, int64_t width) {
  auto strides = convNestStrides(op, 1, {4, 1, 5, 6, 2, 3}, {4, 0, 5, 6});
  if (!strides)
    return false;
  int64_t sh = strides->first, sw = strides->second;
  SmallVector<int64_t> r = op.getStaticLoopRanges();
  int64_t nF = r[0], nC = r[1], nKH = r[2], nKW = r[3], nN = r[4], nOH = r[5], nOW = r[6];
  Value dy = op.getDpsInputs()[0], x = op.getDpsInputs()[1], dw = op.getDpsInits()[0];
  auto xType = cast<MemRefType>(x.getType());
  Type elem = xType.getElementType();
  Location loc = op.getLoc();

  SmallVector<Piece, 2> cols = pieces(nOW, width);
  int64_t budget = width >= 16 ? 24 : 12; // accumulator registers
  int64_t bb = std::max<int64_t>(1, std::min<int64_t>(nKW, budget / int64_t(cols.size())));
  int64_t mr = rowBlock(nF, std::max<int64_t>(1, budget / (bb * int64_t(cols.size()))));
  SmallVector<Piece, 2> fPieces = pieces(nF, mr), bPieces = pieces(nKW, bb);
  // Units: (channel block, c, a, column block), channel and column blocks by piece.
  struct Unit {
    int64_t f0, mr, b0, bb;
  };
  SmallVector<Unit> shapes;
  for (const Piece &fp : fPieces)
    for (int64_t f0 = fp.offset; f0 < fp.offset + fp.size; f0 += fp.block)
      for (const Piece &bp : bPieces)
        for (int64_t b0 = bp.offset; b0 < bp.offset + bp.size; b0 += bp.block)
          shapes.push_back({f0, fp.block, b0, bp.block});
  int64_t perSample = (nF * nOH * nOW + xType.getNumElements() / nN) * 4;
  int64_t chunk = std::clamp<int64_t>((1 << 19) / std::max<int64_t>(perSample, 1), 1, nN);

  rewriter.setInsertionPoint(op);
  for (const Piece &np : pieces(nN, chunk)) {
    stepLoop(rewriter, loc, np.offset, np.size, np.block, {}, [&](OpBuilder &cb, Value n0, ValueRange) {
      Emit e{cb, loc};
      // Unit u = ((shape, c), a): shapes of differing sizes are separate loops.
      for (const Unit &shape : shapes) {
        auto units = cb.create<scf::ForOp>(loc, e.idx(0), e.idx(nC * nKH), e.idx(1));
        units->setAttr(kParallelAttr, cb.getUnitAttr()); // each writes its own dw taps
        OpBuilder ub = OpBuilder::atBlockBegin(units.getBody());
        Emit g{ub, loc};
        Value c = ub.create<arith::DivUIOp>(loc, units.getInductionVar(), g.idx(nKH));
        Value a = ub.create<arith::RemUIOp>(loc, units.getInductionVar(), g.idx(nKH));
        SmallVector<Value> init;
        for (const Piece &jp : cols)
          for (int64_t k = 0; k < shape.mr * shape.bb; ++k)
            init.push_back(g.zeros(jp.block, elem));
        // acc[(p * mr + f) * bb + b]
        auto slot = [&](size_t p, int64_t f, int64_t b) { return (p * shape.mr + f) * shape.bb + b; };
        SmallVector<Value> acc = carriedNest(
            ub, loc, {np.block, nOH}, init, [&](OpBuilder &kb, ValueRange ni, ValueRange carried) {
              SmallVector<Value> out(carried);
              Emit k{kb, loc};
              Value n = k.add(n0, ni[0]);
              Value row = k.add(k.mul(ni[1], sh), a);
              for (size_t p = 0; p < cols.size(); ++p) {
                const Piece &jp = cols[p];
                SmallVector<Value> mine;
                for (int64_t f = 0; f < shape.mr; ++f)
                  for (int64_t b = 0; b < shape.bb; ++b)
                    mine.push_back(out[slot(p, f, b)]);
                SmallVector<Value> next = stepLoop(
                    kb, loc, jp.offset, jp.size, jp.block, mine,
                    [&](OpBuilder &jb, Value j0, ValueRange part) {
                      Emit q{jb, loc};
                      auto vt = VectorType::get({jp.block}, elem);
                      SmallVector<Value> g, seg;
                      for (int64_t f = 0; f < shape.mr; ++f)
                        g.push_back(jb.create<vector::LoadOp>(
                            loc, vt, dy, ValueRange{n, q.idx(shape.f0 + f), ni[1], j0}));
                      for (int64_t b = 0; b < shape.bb; ++b)
                        seg.push_back(q.segment(x, {n, c, row, q.add(q.mul(j0, sw), q.idx(shape.b0 + b))},
                                                jp.block, sw));
                      SmallVector<Value> res;
                      for (int64_t f = 0; f < shape.mr; ++f)
                        for (int64_t b = 0; b < shape.bb; ++b)
                          res.push_back(
                              jb.create<vector::FMAOp>(loc, g[f], seg[b], part[f * shape.bb + b]));
                      return res;
                    });
                for (int64_t f = 0; f < shape.mr; ++f)
                  for (int64_t b = 0; b < shape.bb; ++b)
                    out[slot(p, f, b)] = next[f * shape.bb + b];
              }
              return out;
            });
        for (int64_t f = 0; f < shape.mr; ++f)
          for (int64_t b = 0; b < shape.bb; ++b) {
            Value total;
            for (size_t p = 0; p < cols.size(); ++p) {
              Value lanes = ub.create<vector::ReductionOp>(loc, vector::CombiningKind::ADD, acc[slot(p, f, b)]);
              total = total ? ub.create<arith::AddFOp>(loc, total, lanes).getResult() : lanes;
            }
            SmallVector<Value> at{g.idx(shape.f0 + f), c, a, g.idx(shape.b0 + b)};
            Value old = ub.create<memref::LoadOp>(loc, dw, at);
            ub.create<memref::StoreOp>(loc, ub.create<arith::AddFOp>(loc, old, total), dw, at);
          }
      }
      return SmallVector<Value>{};
    });
  }
  rewriter.eraseOp(op);
  return true;
}
