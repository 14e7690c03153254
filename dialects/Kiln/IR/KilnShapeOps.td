//===- KilnShapeOps.td - Transpose, slice, pad -------------*- tablegen -*-===//
//
// Data movement without arithmetic. Slice and pad are each other's
// gradients; recurrent layers use them to split gates, concat is a sum of
// pads.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_SHAPE_OPS_TD
#define KILN_SHAPE_OPS_TD

def Kiln_TransposeOp : Kiln_Op<"transpose", [Pure,
    DeclareOpInterfaceMethods<Kiln_DifferentiableOpInterface>]> {
  let summary = "permute dimensions";
  let description = [{
    Result dimension `i` is operand dimension `perm[i]`. Its gradient is the
    inverse permutation.

    ```mlir
    %t = kiln.transpose %x perm = [1, 0, 2] : tensor<64x28x28xf32> -> tensor<28x64x28xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, DenseI64ArrayAttr:$perm);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat =
    "$input `perm` `=` $perm attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Kiln_SliceOp : Kiln_Op<"slice", [Pure,
    DeclareOpInterfaceMethods<Kiln_DifferentiableOpInterface>]> {
  let summary = "a contiguous block of a tensor";
  let description = [{
    The block of the result's shape starting at `offsets` (unit strides,
    same rank). Its gradient is `kiln.pad` back into zeros.

    ```mlir
    %i = kiln.slice %gates offsets = [0, 64] : tensor<64x256xf32> -> tensor<64x64xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, DenseI64ArrayAttr:$offsets);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat =
    "$input `offsets` `=` $offsets attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Kiln_PadOp : Kiln_Op<"pad", [Pure,
    DeclareOpInterfaceMethods<Kiln_DifferentiableOpInterface>]> {
  let summary = "place a tensor inside a larger one of zeros";
  let description = [{
    The result is zero except for the block starting at `offsets`, which
    holds the operand: the inverse of `kiln.slice` and its gradient.

    ```mlir
    %g = kiln.pad %di offsets = [0, 64] : tensor<64x64xf32> -> tensor<64x256xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, DenseI64ArrayAttr:$offsets);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat =
    "$input `offsets` `=` $offsets attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

#endif // KILN_SHAPE_OPS_TD
