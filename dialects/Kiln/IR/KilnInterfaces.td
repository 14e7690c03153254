//===- KilnInterfaces.td - Kiln op interfaces --------------*- tablegen -*-===//
#ifndef KILN_INTERFACES_TD
#define KILN_INTERFACES_TD

include "mlir/IR/OpBase.td"

def Kiln_DifferentiableOpInterface : OpInterface<"DifferentiableOpInterface"> {
  let cppNamespace = "::kiln";
  let description = [{
    An op that can be differentiated in reverse mode. It builds its
    vector-Jacobian product: given the gradients of its results (a null Value
    for a result whose gradient is zero), it appends one gradient per operand,
    or a null Value for an operand that is not differentiable (labels, say).
  }];
  let methods = [
    InterfaceMethod<
      "Builds the gradients of the operands at the builder's insertion point.",
      "::mlir::LogicalResult", "buildVJP",
      (ins "::mlir::OpBuilder &":$builder,
           "::mlir::ValueRange":$resultGrads,
           "::llvm::SmallVectorImpl<::mlir::Value> &":$operandGrads)>
  ];
}

def Kiln_ElementwiseOpInterface : OpInterface<"ElementwiseOpInterface"> {
  let cppNamespace = "::kiln";
  let description = [{
    An op that applies the same scalar function at every element. Lowering and
    fusion use its scalar body to build a single loop nest for a whole group.
  }];
  let methods = [
    InterfaceMethod<
      "Builds the scalar computation from scalar operands.",
      "::mlir::Value", "buildScalar",
      (ins "::mlir::OpBuilder &":$builder, "::mlir::Location":$loc,
           "::mlir::ValueRange":$operands)>
  ];
}

#endif // KILN_INTERFACES_TD
