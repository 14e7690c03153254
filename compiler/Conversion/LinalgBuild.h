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
/// Adds the lowerings of transpose, slice and pad (ShapeToLinalg.cpp).
void populateShapeToLinalgPatterns(mlir::RewritePatternSet &patterns);
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

} // namespace linalg_build
} // namespace kiln

#endif // KILN_COMPILER_CONVERSION_LINALGBUILD_H
