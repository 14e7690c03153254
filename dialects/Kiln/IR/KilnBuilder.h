//===- KilnBuilder.h - Terse construction of kiln ops -----------*- C++ -*-===//
//
// VJPs and the optimizer update build long chains of primitives; this keeps
// that code readable. Operands share one tensor type unless noted.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DIALECT_KILN_IR_KILNBUILDER_H
#define KILN_DIALECT_KILN_IR_KILNBUILDER_H

#include "dialects/Kiln/IR/KilnOps.h"

namespace kiln {

struct KilnBuilder {
  mlir::OpBuilder &b;
  mlir::Location loc;

  mlir::Value constant(mlir::Type type, double v) { return b.create<ConstantOp>(loc, type, v); }
  mlir::Value add(mlir::Value x, mlir::Value y) { return b.create<AddOp>(loc, x, y); }
  mlir::Value sub(mlir::Value x, mlir::Value y) { return b.create<SubOp>(loc, x, y); }
  mlir::Value mul(mlir::Value x, mlir::Value y) { return b.create<MulOp>(loc, x, y); }
  mlir::Value div(mlir::Value x, mlir::Value y) { return b.create<DivOp>(loc, x, y); }
  mlir::Value neg(mlir::Value x) { return b.create<NegOp>(loc, x); }
  mlir::Value scale(mlir::Value x, double s) { return mul(x, constant(x.getType(), s)); }
  /// Broadcasts a rank-0 tensor to `type`.
  mlir::Value splat(mlir::Value scalar, mlir::Type type) {
    return b.create<BroadcastOp>(loc, type, scalar, llvm::ArrayRef<int64_t>{});
  }
  /// op(x) * op(y), op transposing where the flag is set.
  mlir::Value matmul(mlir::Value x, mlir::Value y, bool ta, bool tb) {
    auto xt = llvm::cast<mlir::RankedTensorType>(x.getType());
    auto yt = llvm::cast<mlir::RankedTensorType>(y.getType());
    int64_t m = xt.getDimSize(ta ? 1 : 0), n = yt.getDimSize(tb ? 0 : 1);
    auto type = mlir::RankedTensorType::get({m, n}, xt.getElementType());
    auto op = b.create<MatmulOp>(loc, type, x, y);
    op.setTransposeA(ta);
    op.setTransposeB(tb);
    return op;
  }
};

} // namespace kiln

#endif // KILN_DIALECT_KILN_IR_KILNBUILDER_H
