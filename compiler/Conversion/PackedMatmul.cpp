//===- PackedMatmul.cpp - Matmul micro-kernels over packed B panels -------===//
//
// A B operand larger than L2 is swept in column panels (CPUVectorize.cpp).
// Read in place, each k step of a register block loads NR columns of one
// row of B, rows a whole row of B apart: for a power-of-two row length
// every one of them maps to the same few L1 sets, and the prefetchers see
// one line per page. So each panel is first copied into a packed buffer
// in micro-panel order [column block][k][NR] (unit stride along k), then
// every row block of A passes over it:
//
//   for panel (parallel):                       // its own part of the buffer
//     pack[jb, k, :] = B[k, jb*NR : jb*NR + NR]  for the panel's blocks jb
//     for each MR-row block of A, for each jb in the panel:
//       acc = C[block] (or zeros)
//       for k: acc[r] = fma(broadcast(A[i + r, k]), pack[jb, k, :], acc[r])
//       C[block] = acc
//
// Every element of C still sums k in order from its initial value, so the
// results are bitwise those of the unpacked kernel. The buffer is a
// memref.alloc: the memory plan gives it workspace bytes like any
// temporary (the training step allocates nothing).
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/Passes.h"
#include "compiler/Conversion/VectorizeLoops.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

bool kiln::packedMatmul(RewriterBase &rewriter, linalg::GenericOp op, const MatmulPart &p, int64_t nc,
                        int64_t width, bool zeroStart) {
  Value a = op.getDpsInputs()[0], bm = op.getDpsInputs()[1], c = op.getDpsInits()[0];
  for (Value v : {a, bm, c}) {
    auto t = dyn_cast<MemRefType>(v.getType());
    if (!t || !t.hasStaticShape() || !unitInnerStride(t))
      return false;
  }
  if (p.nr % width != 0 || nc % p.nr != 0 || p.n % nc != 0 || p.m % p.mr != 0)
    return false;
  int64_t k = cast<MemRefType>(a.getType()).getShape()[1];
  Type elem = cast<MemRefType>(c.getType()).getElementType();
  auto vt = VectorType::get({width}, elem);
  int64_t lanesPerBlock = p.nr / width, blocksPerPanel = nc / p.nr;
  Location loc = op.getLoc();
  auto idx = [&](OpBuilder &b, int64_t v) { return b.create<arith::ConstantIndexOp>(loc, v).getResult(); };
  auto add = [&](OpBuilder &b, Value x, Value y) { return b.create<arith::AddIOp>(loc, x, y).getResult(); };
  auto mul = [&](OpBuilder &b, Value x, int64_t y) {
    return b.create<arith::MulIOp>(loc, x, idx(b, y)).getResult();
  };

  Value pack =
      rewriter.create<memref::AllocOp>(loc, MemRefType::get({p.n / p.nr, k, p.nr}, elem)).getResult();
  auto panels = rewriter.create<scf::ForOp>(loc, idx(rewriter, 0), idx(rewriter, p.n / p.nr),
                                            idx(rewriter, blocksPerPanel));
  panels->setAttr(kParallelAttr, rewriter.getUnitAttr()); // each packs and writes its own columns
  OpBuilder b = OpBuilder::atBlockBegin(panels.getBody());
  Value jb0 = panels.getInductionVar(); // the panel's first column block

  // Pack: the panel's column blocks, k rows each, NR lanes per row.
  stepLoop(b, loc, 0, blocksPerPanel, 1, {}, [&](OpBuilder &qb, Value q, ValueRange) {
    Value jb = add(qb, jb0, q);
    Value col = add(qb, idx(qb, p.j0), mul(qb, jb, p.nr));
    stepLoop(qb, loc, 0, k, 1, {}, [&](OpBuilder &kb, Value kk, ValueRange) {
      for (int64_t v = 0; v < lanesPerBlock; ++v) {
        Value row = kb.create<vector::LoadOp>(loc, vt, bm, ValueRange{kk, add(kb, col, idx(kb, v * width))});
        kb.create<vector::StoreOp>(loc, row, pack, ValueRange{jb, kk, idx(kb, v * width)});
      }
      return SmallVector<Value>{};
    });
    return SmallVector<Value>{};
  });

  // Row blocks outermost: an MR x k block of A stays in L1 across the
  // panel's column blocks.
  stepLoop(b, loc, p.i0, p.m, p.mr, {}, [&](OpBuilder &ib, Value i0, ValueRange) {
    SmallVector<Value> rows;
    for (int64_t r = 0; r < p.mr; ++r)
      rows.push_back(add(ib, i0, idx(ib, r)));
    stepLoop(ib, loc, 0, blocksPerPanel, 1, {}, [&](OpBuilder &qb, Value q, ValueRange) {
      Value jb = add(qb, jb0, q);
      Value col = add(qb, idx(qb, p.j0), mul(qb, jb, p.nr));
      SmallVector<Value> cols, init; // acc[r * lanesPerBlock + v]
      for (int64_t v = 0; v < lanesPerBlock; ++v)
        cols.push_back(add(qb, col, idx(qb, v * width)));
      for (Value row : rows)
        for (Value cv : cols)
          init.push_back(zeroStart ? qb.create<arith::ConstantOp>(
                                           loc, DenseElementsAttr::get(vt, qb.getZeroAttr(elem)))
                                         .getResult()
                                   : qb.create<vector::LoadOp>(loc, vt, c, ValueRange{row, cv}).getResult());
      SmallVector<Value> acc =
          stepLoop(qb, loc, 0, k, 1, init, [&](OpBuilder &kb, Value kk, ValueRange carried) {
            SmallVector<Value> bv, out(carried);
            for (int64_t v = 0; v < lanesPerBlock; ++v)
              bv.push_back(kb.create<vector::LoadOp>(loc, vt, pack, ValueRange{jb, kk, idx(kb, v * width)}));
            for (int64_t r = 0; r < p.mr; ++r) {
              Value x = kb.create<memref::LoadOp>(loc, a, ValueRange{rows[r], kk});
              Value splat = kb.create<vector::BroadcastOp>(loc, vt, x);
              for (int64_t v = 0; v < lanesPerBlock; ++v) {
                int64_t s = r * lanesPerBlock + v;
                out[s] = kb.create<vector::FMAOp>(loc, splat, bv[v], carried[s]);
              }
            }
            return out;
          });
      for (int64_t r = 0; r < p.mr; ++r)
        for (int64_t v = 0; v < lanesPerBlock; ++v)
          qb.create<vector::StoreOp>(loc, acc[r * lanesPerBlock + v], c, ValueRange{rows[r], cols[v]});
      return SmallVector<Value>{};
    });
    return SmallVector<Value>{};
  });
  return true;
}
