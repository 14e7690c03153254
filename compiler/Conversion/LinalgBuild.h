//===- LinalgBuild.h - Helpers for lowering kiln ops to linalg --*- C++ -*-===//
#ifndef KILN_COMPILER_CONVERSION_LINALGBUILD_H
#define KILN_COMPILER_CONVERSION_LINALGBUILD_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

namespace kiln {

/// Adds the lowerings of convolution, pooling and reshape (SpatialToLinalg.cpp).
void populateSpatialToLinalgPatterns(mlir::RewritePatternSet &patterns);
/// Adds the lowerings of transpose, slice, pad, gather and scatter_add
/// (ShapeToLinalg.cpp); `scatterPerRow`: see ConvertKilnToLinalg's option.
void populateShapeToLinalgPatterns(mlir::RewritePatternSet &patterns, bool scatterPerRow);
/// Adds the lowering of kiln.scan to scf.for (ScanToSCF.cpp).
void populateScanToSCFPatterns(mlir::RewritePatternSet &patterns);

namespace linalg_build {
using mlir::utils::IteratorType;

/// The base of every kiln op's lowering pattern.
template <typename Op>
struct KilnPattern : mlir::OpConversionPattern<Op> {
  using mlir::OpConversionPattern<Op>::OpConversionPattern;
  using Adaptor = typename Op::Adaptor;
};
using BodyFn = llvm::function_ref<void(mlir::OpBuilder &, mlir::Location, mlir::ValueRange)>;

inline mlir::Value floatConst(mlir::OpBuilder &b, mlir::Location loc, mlir::Type t, double v) {
  return b.create<mlir::arith::ConstantOp>(loc, t, b.getFloatAttr(t, v));
}

inline mlir::Value empty(mlir::OpBuilder &b, mlir::Location loc, mlir::RankedTensorType t) {
  return b.create<mlir::tensor::EmptyOp>(loc, t.getShape(), t.getElementType());
}

inline mlir::Value filled(mlir::OpBuilder &b, mlir::Location loc, mlir::RankedTensorType t,
                          double v) {
  mlir::Value c = floatConst(b, loc, t.getElementType(), v);
  return b.create<mlir::linalg::FillOp>(loc, c, empty(b, loc, t)).getResult(0);
}

/// The map (d0..dn) -> (d[dims[0]], d[dims[1]], ...).
inline mlir::AffineMap dimsMap(mlir::MLIRContext *ctx, unsigned numDims,
                               llvm::ArrayRef<int64_t> dims) {
  llvm::SmallVector<mlir::AffineExpr> exprs;
  for (int64_t d : dims)
    exprs.push_back(mlir::getAffineDimExpr(d, ctx));
  return mlir::AffineMap::get(numDims, 0, exprs, ctx);
}

/// One linalg.generic with a single result.
inline mlir::Value generic(mlir::OpBuilder &b, mlir::Location loc, mlir::ValueRange inputs,
                           mlir::Value init, llvm::ArrayRef<mlir::AffineMap> maps,
                           llvm::ArrayRef<IteratorType> iters, BodyFn body) {
  return b
      .create<mlir::linalg::GenericOp>(loc, mlir::TypeRange{init.getType()}, inputs,
                                       mlir::ValueRange{init}, maps, iters, body)
      .getResult(0);
}

/// out[d0, ..., dn] = x[read(d0, ..., dn)] for every index of t: the copy
/// behind broadcasts, transposes and im2col.
inline mlir::Value readThrough(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                               mlir::AffineMap read, mlir::RankedTensorType t) {
  unsigned r = t.getRank();
  return generic(b, loc, x, empty(b, loc, t),
                 {read, mlir::AffineMap::getMultiDimIdentityMap(r, b.getContext())},
                 llvm::SmallVector<IteratorType>(r, IteratorType::parallel),
                 [](mlir::OpBuilder &nb, mlir::Location l, mlir::ValueRange v) {
                   nb.create<mlir::linalg::YieldOp>(l, v[0]);
                 });
}

/// A copy of x whose dimension i is x's dimension perm[i].
inline mlir::Value transposed(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                              llvm::ArrayRef<int64_t> perm) {
  auto t = llvm::cast<mlir::RankedTensorType>(x.getType());
  llvm::SmallVector<int64_t> shape, inverse(perm.size());
  for (auto [i, p] : llvm::enumerate(perm)) {
    shape.push_back(t.getDimSize(p));
    inverse[p] = i;
  }
  return readThrough(b, loc, x, dimsMap(b.getContext(), perm.size(), inverse),
                     mlir::RankedTensorType::get(shape, t.getElementType()));
}

/// lhs[M, K] x rhs[K, N] as the i-k-j loop nest (d0 = i, d1 = k, d2 = j)
/// that kiln-cpu-vectorize turns into register-blocked micro-kernels.
inline mlir::Value matmul(mlir::OpBuilder &b, mlir::Location loc, mlir::Value lhs, mlir::Value rhs) {
  auto lt = llvm::cast<mlir::RankedTensorType>(lhs.getType());
  auto rt = llvm::cast<mlir::RankedTensorType>(rhs.getType());
  auto out = mlir::RankedTensorType::get({lt.getDimSize(0), rt.getDimSize(1)}, lt.getElementType());
  mlir::MLIRContext *ctx = b.getContext();
  return generic(b, loc, {lhs, rhs}, filled(b, loc, out, 0.0),
                 {dimsMap(ctx, 3, {0, 1}), dimsMap(ctx, 3, {1, 2}), dimsMap(ctx, 3, {0, 2})},
                 {IteratorType::parallel, IteratorType::reduction, IteratorType::parallel},
                 [](mlir::OpBuilder &nb, mlir::Location l, mlir::ValueRange v) {
                   mlir::Value p = nb.create<mlir::arith::MulFOp>(l, v[0], v[1]);
                   nb.create<mlir::linalg::YieldOp>(
                       l, mlir::ValueRange{nb.create<mlir::arith::AddFOp>(l, v[2], p)});
                 });
}

} // namespace linalg_build
} // namespace kiln

#endif // KILN_COMPILER_CONVERSION_LINALGBUILD_H
