//===- GPUGatherWindows.cpp - Scatter-adds through windows as gathers ----===//
//
// A convolution's image gradient adds each patch element's gradient back
// where the forward read it: out[n, c, i*s + a, j*s + b] += cols[c, a, b, n,
// i, j]. Windows overlap, so only n and c are parallel loops; lowered as it
// is, each of the N*C threads walks every (a, b, i, j) (LeNet's second
// convolution: 384 threads of 7,500 accesses each, the step's longest
// kernel by far). Here such a reduction becomes a gather: a thread per
// output element, which walks the window offsets that reach it (a from
// max(0, Y - (I-1)*s) or Y mod s, up to min(A - 1, Y), by s; i = (Y - a) / s)
// and the reductions the output does not index, adding in registers and
// storing once. Each element's terms are added in the original loop order
// when the walked loop comes before its partner (always when both step by
// 1; the convolution's lowering has the offsets first at any stride); an
// element no window reaches keeps its starting value.
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/GPUKernels.h"
#include "compiler/Conversion/Passes.h"

namespace kiln {
#define GEN_PASS_DEF_KILNGPUGATHERWINDOWS
#include "compiler/Conversion/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// One output index `partner * stride + offset` of two reduction loops: a
/// thread per output index walks `offset` and computes `partner`.
struct Window {
  unsigned result;  // position in the output's indexing map
  unsigned offset;  // the loop walked (coefficient 1)
  unsigned partner; // the loop computed from the output index and offset
  int64_t stride;
};

/// `e` as dim * coefficient (coefficient 1 for a plain dim), or nothing.
static std::optional<std::pair<unsigned, int64_t>> scaledDim(AffineExpr e) {
  if (auto dim = dyn_cast<AffineDimExpr>(e))
    return std::make_pair(dim.getPosition(), int64_t(1));
  auto mul = dyn_cast<AffineBinaryOpExpr>(e);
  if (!mul || mul.getKind() != AffineExprKind::Mul)
    return std::nullopt;
  auto dim = dyn_cast<AffineDimExpr>(mul.getLHS());
  auto c = dyn_cast<AffineConstantExpr>(mul.getRHS());
  if (!dim || !c || c.getValue() < 1)
    return std::nullopt;
  return std::make_pair(dim.getPosition(), c.getValue());
}

/// The windows of `op`'s output map if `op` is a scatter-add this pass
/// rewrites: one output written with `out + f(inputs)` (the output read
/// nowhere else), a body that touches no memory, static loops, inputs that
/// cannot share the output's memory, every output index either one
/// parallel loop (each parallel loop exactly once) or the sum of two
/// reduction loops (`p * s + r`) used nowhere else in it.
static std::optional<SmallVector<Window>> windowsOf(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 || !op.getNumParallelLoops() ||
      !kiln::bodyIsMemoryFree(op) ||
      llvm::any_of(op.getStaticLoopRanges(), ShapedType::isDynamic))
    return std::nullopt;
  OpOperand *init = op.getDpsInitOperand(0);
  auto outType = dyn_cast<MemRefType>(init->get().getType());
  if (!outType || !outType.hasStaticShape())
    return std::nullopt;
  for (OpOperand *input : op.getDpsInputOperands())
    if (isa<MemRefType>(input->get().getType()) && !kiln::disjoint(input->get(), init->get()))
      return std::nullopt;
  // The body: yield addf(out, x) with out used only there.
  Block &body = op.getRegion().front();
  BlockArgument out = op.getMatchingBlockArgument(init);
  auto add = body.getTerminator()->getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add || !out.hasOneUse() || (add.getLhs() != out && add.getRhs() != out))
    return std::nullopt;

  AffineMap map = op.getMatchingIndexingMap(init);
  auto iters = op.getIteratorTypesArray();
  SmallVector<int64_t> sizes = op.getStaticLoopRanges();
  SmallVector<unsigned> seen(op.getNumLoops(), 0);
  SmallVector<Window> windows;
  for (unsigned r = 0; r < map.getNumResults(); ++r) {
    AffineExpr e = map.getResult(r);
    if (auto dim = dyn_cast<AffineDimExpr>(e)) {
      if (!linalg::isParallelIterator(iters[dim.getPosition()]) ||
          sizes[dim.getPosition()] != outType.getDimSize(r))
        return std::nullopt;
      ++seen[dim.getPosition()];
      continue;
    }
    auto sum = dyn_cast<AffineBinaryOpExpr>(e);
    if (!sum || sum.getKind() != AffineExprKind::Add)
      return std::nullopt;
    auto lhs = scaledDim(sum.getLHS()), rhs = scaledDim(sum.getRHS());
    if (!lhs || !rhs || lhs->first == rhs->first)
      return std::nullopt;
    // The walked loop has coefficient 1; of two such, the earlier one (the
    // work is the same, and each element's terms keep the op's order).
    if (rhs->second != 1 || (lhs->second == 1 && lhs->first < rhs->first))
      std::swap(lhs, rhs);
    if (rhs->second != 1)
      return std::nullopt;
    for (unsigned d : {lhs->first, rhs->first}) {
      if (!linalg::isReductionIterator(iters[d]))
        return std::nullopt;
      ++seen[d];
    }
    windows.push_back({r, rhs->first, lhs->first, lhs->second});
  }
  if (windows.empty())
    return std::nullopt;
  for (unsigned d = 0; d < op.getNumLoops(); ++d)
    if (seen[d] > 1 || (linalg::isParallelIterator(iters[d]) && seen[d] != 1))
      return std::nullopt;
  return windows;
}

struct KilnGPUGatherWindowsPass : kiln::impl::KilnGPUGatherWindowsBase<KilnGPUGatherWindowsPass> {
  void runOnOperation() override {
    SmallVector<std::pair<linalg::GenericOp, SmallVector<Window>>> found;
    getOperation().walk([&](linalg::GenericOp op) {
      if (auto windows = windowsOf(op))
        found.emplace_back(op, *windows);
    });
    for (auto &[op, windows] : found)
      rewrite(op, windows);
  }

  void rewrite(linalg::GenericOp op, ArrayRef<Window> windows) {
    Location loc = op.getLoc();
    SmallVector<int64_t> sizes = op.getStaticLoopRanges();
    OpOperand *init = op.getDpsInitOperand(0);
    AffineMap map = op.getMatchingIndexingMap(init);
    auto outType = cast<MemRefType>(init->get().getType());
    // Every output element is written once: a fill right before can go.
    Value filled = kiln::takeFill(op);

    // The loops each thread walks, in the op's order: the window offsets
    // and the reductions the output does not index.
    SmallVector<unsigned> walked;
    for (unsigned d = 0; d < op.getNumLoops(); ++d) {
      bool indexes = llvm::any_of(map.getResults(), [&](AffineExpr e) { return e.isFunctionOfDim(d); });
      bool offset = llvm::any_of(windows, [&](const Window &w) { return w.offset == d; });
      if (offset || (!indexes && linalg::isReductionIterator(op.getIteratorTypesArray()[d])))
        walked.push_back(d);
    }

    OpBuilder b(op);
    auto cst = [&](OpBuilder &at, int64_t v) {
      return at.create<arith::ConstantIndexOp>(loc, v).getResult();
    };
    SmallVector<Value> lbs, ubs, steps;
    for (int64_t size : outType.getShape()) {
      lbs.push_back(cst(b, 0));
      ubs.push_back(cst(b, size));
      steps.push_back(cst(b, 1));
    }
    b.create<scf::ParallelOp>(loc, lbs, ubs, steps, [&](OpBuilder &pb, Location, ValueRange at) {
      SmallVector<Value> dims(sizes.size(), cst(pb, 0));
      for (unsigned r = 0; r < map.getNumResults(); ++r)
        if (auto dim = dyn_cast<AffineDimExpr>(map.getResult(r)))
          dims[dim.getPosition()] = at[r];
      // Offsets o with p = (Y - o) / s a whole index in [0, P): o in
      // [max(0, Y - (P-1)*s) or Y mod s, min(O, Y + 1)), step s.
      SmallVector<Value> wlbs, wubs, wsteps;
      for (unsigned d : walked) {
        const Window *w = llvm::find_if(windows, [&](const Window &w) { return w.offset == d; });
        if (w == windows.end()) {
          wlbs.push_back(cst(pb, 0));
          wubs.push_back(cst(pb, sizes[d]));
          wsteps.push_back(cst(pb, 1));
          continue;
        }
        Value y = at[w->result];
        Value last = cst(pb, (sizes[w->partner] - 1) * w->stride);
        Value first = pb.create<arith::SubIOp>(loc, y, last);
        Value reaches = pb.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sge, y, last);
        Value low = w->stride == 1 ? cst(pb, 0)
                                   : pb.create<arith::RemUIOp>(loc, y, cst(pb, w->stride)).getResult();
        wlbs.push_back(pb.create<arith::SelectOp>(loc, reaches, first, low));
        wubs.push_back(pb.create<arith::MinUIOp>(
            loc, cst(pb, sizes[d]), pb.create<arith::AddIOp>(loc, y, cst(pb, 1))));
        wsteps.push_back(cst(pb, w->stride));
      }
      Value start = filled ? filled : pb.create<memref::LoadOp>(loc, init->get(), at).getResult();
      scf::LoopNest nest = scf::buildLoopNest(
          pb, loc, wlbs, wubs, wsteps, ValueRange{start},
          [&](OpBuilder &ib, Location, ValueRange ivs, ValueRange acc) -> scf::ValueVector {
            SmallVector<Value> all(dims);
            for (auto [d, iv] : llvm::zip(walked, ivs))
              all[d] = iv;
            for (const Window &w : windows) {
              Value rest = ib.create<arith::SubIOp>(loc, at[w.result], all[w.offset]);
              all[w.partner] = w.stride == 1
                                   ? rest
                                   : ib.create<arith::DivUIOp>(loc, rest, cst(ib, w.stride)).getResult();
            }
            IRMapping values;
            kiln::mapOperandsAt(ib, loc, op, op.getDpsInputOperands(), all, values);
            values.map(op.getMatchingBlockArgument(init), acc[0]);
            return kiln::cloneBody(ib, op, all, values);
          });
      pb.create<memref::StoreOp>(loc, nest.results[0], init->get(), at);
    });
    op.erase();
  }
};

} // namespace
