//===- Passes.td - Kiln conversion passes ------------------*- tablegen -*-===//
#ifndef KILN_CONVERSION_PASSES_TD
#define KILN_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertKilnToLinalg : Pass<"kiln-to-linalg", "mlir::func::FuncOp"> {
  let summary = "Lower kiln ops to linalg on tensors";
  let description = [{
    Each kiln op becomes linalg.generic ops on tensors (destination style),
    and each kiln.fused group exactly one linalg.generic whose body is the
    scalar form of the group. Matmuls iterate i-k-j so the innermost loop runs
    along contiguous rows of both the right operand and the result.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect"];
}

#endif // KILN_CONVERSION_PASSES_TD
