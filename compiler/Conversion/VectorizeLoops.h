//===- VectorizeLoops.h - Vector code for kiln's non-matmul loop nests -*- C++ -*-===//
//
// kiln-cpu-vectorize's second half: after the matmuls, the elementwise
// nests (bias, activations, their gradients, optimizer updates, transposes)
// the row copies of im2col and the row sums of col2im become explicit vector code. LLVM cannot do
// it for them: the memory plan puts every buffer in one arena, so it cannot
// prove a loop's loads and stores apart, and it fully unrolls the short
// rows of image tensors (28 pixels) into scalar moves before it would try.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPILER_CONVERSION_VECTORIZELOOPS_H
#define KILN_COMPILER_CONVERSION_VECTORIZELOOPS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"

namespace kiln {

/// [offset, size, block] pieces of [0, n) for blocks of up to `block`: the
/// bulk in whole blocks, the remainder as one block of its own static size.
struct Piece {
  int64_t offset, size, block;
};
llvm::SmallVector<Piece, 2> pieces(int64_t n, int64_t block);

/// pieces(), with a remainder that is not a power of two split into
/// power-of-two blocks (10 -> 8 + 2): the widths of vector registers. A
/// block of C kept in registers as vector<10xf32> is legalized by LLVM into
/// shuffles and stack spills (a 784x10 classifier head ran at a fifth of
/// the speed of its 8 + 2 form).
llvm::SmallVector<Piece, 4> registerPieces(int64_t n, int64_t block);

/// Loops over [0, sizes[k]) in steps of 1, outermost first, around `body`.
mlir::scf::LoopNest staticLoopNest(mlir::OpBuilder &b, mlir::Location loc, llvm::ArrayRef<int64_t> sizes,
                                   llvm::function_ref<void(mlir::OpBuilder &, mlir::Location, mlir::ValueRange)> body);

/// Loops [lo, lo + size) in steps of `step` carrying `init`, or the body
/// once when one step covers it; returns the carried values after it.
llvm::SmallVector<mlir::Value>
stepLoop(mlir::OpBuilder &b, mlir::Location loc, int64_t lo, int64_t size, int64_t step, mlir::ValueRange init,
         llvm::function_ref<llvm::SmallVector<mlir::Value>(mlir::OpBuilder &, mlir::Value, mlir::ValueRange)> body);

/// Whether the innermost dimension of `t` has unit stride: an identity
/// layout, or a strided view (of the arena) whose rows are contiguous.
bool unitInnerStride(mlir::MemRefType t);

/// Rows per register block: the largest divisor of m up to `most` (one pass
/// over the other operand for the whole height), or `most` and a remainder
/// block when m's divisors are all small.
int64_t rowBlock(int64_t m, int64_t most);

/// The zero fill of `op`'s output just before it in its block, when nothing
/// between reads or writes it: a contraction that overwrites every element
/// can start its register blocks at zero instead (the fill is then dead).
mlir::linalg::FillOp zeroFillBefore(mlir::linalg::GenericOp op);

/// An all-parallel nest over static buffers whose operands are indexed by
/// projected permutations, with a body the vectorizer takes.
bool isElementwiseNest(mlir::linalg::GenericOp op);
/// Such a nest's trailing dimensions contiguous in every operand are merged,
/// then each row is processed `width` lanes at a time. False when tiling or
/// vectorization failed on the way (the nest is then partly rewritten).
bool vectorizeElementwise(mlir::RewriterBase &rewriter, mlir::linalg::GenericOp op, int64_t width);

/// out[..., j] = in[f(...), g(...) + j]: a copy whose innermost loop walks
/// both buffers with unit stride (im2col at stride 1, shifted windows)
/// becomes vector loads and stores. Returns false for anything else.
bool vectorizeRowCopy(mlir::RewriterBase &rewriter, mlir::linalg::GenericOp op, int64_t width);

/// out[f(...), g(...) + j] += in[h(...), k(...) + j] with a reduction over
/// the other loops (col2im: patch gradients added back into the image):
/// the loops run in order, each row of j as vector loads, adds and stores,
/// so the sums are the scalar loops' own. Returns false for anything else.
bool vectorizeRowAccumulate(mlir::RewriterBase &rewriter, mlir::linalg::GenericOp op,
                            int64_t width);

/// out[i...] = combine(out[i...], in[i..., r...]) over trailing reduction
/// dimensions (a sum or maximum of image planes or rows): the reduced
/// dimensions merged into rows, each row combined lane-wise one vector at a
/// time and the lanes then combined by a tree (a fixed order, not the scalar
/// loops' sequence). Returns false (and changes nothing) for anything else.
bool vectorizeRowReduce(mlir::RewriterBase &rewriter, mlir::linalg::GenericOp op, int64_t width);

/// One rectangle of a matmul's C: rows [i0, i0 + m), columns [j0, j0 + n),
/// tiled into mr x nr register blocks that divide it exactly.
struct MatmulPart {
  int64_t i0, m, mr, j0, n, nr;
};

/// Kiln's matmul `op` (C[i, j] += A[i, k] * B[k, j] over static buffers with
/// contiguous rows) on `part`, B swept in panels of `nc` columns that are
/// first packed into a workspace buffer in register-block order
/// (PackedMatmul.cpp); blocks start at zero when `zeroStart`. Returns false
/// (and changes nothing) when the operands or sizes do not allow it.
bool packedMatmul(mlir::RewriterBase &rewriter, mlir::linalg::GenericOp op, const MatmulPart &part,
                  int64_t nc, int64_t width, bool zeroStart);

/// A convolution as kiln-to-linalg writes it, loops (n, f, i, j | c, a, b)
/// reading x[n, c, i*sh + a, j*sw + b] and w[f, c, a, b]: register blocks of
/// output channels x pixels summed over (c, a, b) in order, straight from
/// the image (VectorizeConv.cpp). Returns false (and changes nothing) for
/// any other nest.
bool vectorizeDirectConv(mlir::RewriterBase &rewriter, mlir::linalg::GenericOp op, int64_t width);

/// A convolution's filter gradient, loops (f, c, a, b | n, i, j) reading
/// dy[n, f, i, j] and x[n, c, i*sh + a, j*sw + b]: lane-wise partial dot
/// products of dy's and the image's rows, summed across lanes at the end.
bool vectorizeConvFilterGrad(mlir::RewriterBase &rewriter, mlir::linalg::GenericOp op,
                             int64_t width);

/// A pooling window nest (VectorizeWindows.cpp): loops (n, c, i, j, a, b),
/// operands read or written at the image (n, c, i*KH + a, j*KW + b) or the
/// pooled (n, c, i, j), and an elementwise body: each image row segment is
/// one vector load split by window column (or interleaved back and stored),
/// the body runs on `width` pooled pixels at once, the window in order.
/// Returns false (and changes nothing) for nests of any other form.
bool vectorizeWindowNest(mlir::RewriterBase &rewriter, mlir::linalg::GenericOp op, int64_t width);

/// A nest none of the above takes (pooling, its gradient, sums over image
/// planes) still runs on every core: its first loop, when parallel and
/// picking the first index of every output (so its iterations write apart),
/// becomes an scf.for marked kiln.parallel around the rest of the nest.
bool parallelizeOuterLoop(mlir::RewriterBase &rewriter, mlir::linalg::GenericOp op);

} // namespace kiln

#endif // KILN_COMPILER_CONVERSION_VECTORIZELOOPS_H
