//===- KilnShapeOps.td - Transpose, slice, pad -------------*- tablegen -*-===//
//
// Data movement without arithmetic. Slice and pad are each other's
// gradients; recurrent layers use slices to split gates, so their gradients
// are sums of pads, which canonicalization joins into concats (a concat's
// gradient is slices again). Gather (embedding lookup) and scatter_add are a
// pair in the same way.
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
  let hasCanonicalizer = 1;
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
  let hasFolder = 1;
}

def Kiln_ConcatOp : Kiln_Op<"concat", [Pure,
    DeclareOpInterfaceMethods<Kiln_DifferentiableOpInterface>]> {
  let summary = "tensors joined along one dimension";
  let description = [{
    The operands, in order, side by side along dimension `dim`; every other
    dimension is the same in all of them. Its gradient is a slice per
    operand. The sum of pads that place blocks next to each other (a
    gradient of gates sliced from one tensor) is canonicalized into one, so
    it is written once, piece by piece, instead of zero-filled per pad and
    added up.

    ```mlir
    %d = kiln.concat %dr, %dz, %dn dim = 1 : tensor<32x64xf32>, tensor<32x64xf32>, tensor<32x64xf32> -> tensor<32x192xf32>
    ```
  }];
  let arguments = (ins Variadic<Kiln_FloatTensor>:$inputs, I64Attr:$dim);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat =
    "$inputs `dim` `=` $dim attr-dict `:` type($inputs) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Kiln_GatherOp : Kiln_Op<"gather", [Pure,
    DeclareOpInterfaceMethods<Kiln_DifferentiableOpInterface>]> {
  let summary = "rows of a table picked by integer ids (embedding lookup)";
  let description = [{
    `result[i..., :] = table[ids[i...], :]` for a table `[V, D]` and ids of
    any shape, giving `ids.shape x D`. An id outside `[0, V)` reads row 0 or
    V - 1 (clamped; loaders reject such ids). The table's gradient is
    `kiln.scatter_add`; the ids get none.

    ```mlir
    %e = kiln.gather %table[%ids] : tensor<30x16xf32>, tensor<64x12xi32> -> tensor<64x12x16xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$table, Kiln_IndexTensor:$ids);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $table `[` $ids `]` attr-dict `:` type($table) `,` type($ids) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Kiln_ScatterAddOp : Kiln_Op<"scatter_add", [Pure]> {
  let summary = "sums rows into a zero table at integer ids (gather's gradient)";
  let description = [{
    `result[v, :] = sum over i... with ids[i...] == v of updates[i..., :]`,
    a zero row where no id is `v`. Ids are clamped as in `kiln.gather`.
    Lowers to a loop over the ids, so its cost does not grow with V. Not
    differentiated itself.

    ```mlir
    %g = kiln.scatter_add %d[%ids] : tensor<64x12x16xf32>, tensor<64x12xi32> -> tensor<30x16xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$updates, Kiln_IndexTensor:$ids);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $updates `[` $ids `]` attr-dict `:` type($updates) `,` type($ids) `->` type($result)
  }];
  let hasVerifier = 1;
}

#endif // KILN_SHAPE_OPS_TD
