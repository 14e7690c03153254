//===- KilnDialect.td - The kiln dialect definition --------*- tablegen -*-===//
#ifndef KILN_DIALECT_TD
#define KILN_DIALECT_TD

include "mlir/IR/OpBase.td"

def Kiln_Dialect : Dialect {
  let name = "kiln";
  let cppNamespace = "::kiln";
  let summary = "Tensor-level primitives for training deep-learning models";
  let description = [{
    The kiln dialect holds the small set of primitive tensor operations that
    model layers expand into: matmul, broadcast, elementwise arithmetic and
    activations, reductions and numerically stable losses. All ops have value
    semantics on ranked tensors with static shapes. Every differentiable op
    implements `DifferentiableOpInterface` (its vector-Jacobian product) and
    every elementwise op implements `ElementwiseOpInterface` (its scalar body),
    so autodiff, fusion and lowering stay uniform.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::tensor::TensorDialect"];
}

class Kiln_Op<string mnemonic, list<Trait> traits = []>
    : Op<Kiln_Dialect, mnemonic, traits>;

def Kiln_FloatTensor : RankedTensorOf<[F32, F64]>;
def Kiln_IndexTensor : RankedTensorOf<[I32]>;

#endif // KILN_DIALECT_TD
