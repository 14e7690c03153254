//===- KilnOps.td - Kiln operations ------------------------*- tablegen -*-===//
#ifndef KILN_OPS_TD
#define KILN_OPS_TD

include "dialects/Kiln/IR/KilnDialect.td"
include "dialects/Kiln/IR/KilnInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/IR/RegionKindInterface.td"

//===----------------------------------------------------------------------===//
// Elementwise ops
//===----------------------------------------------------------------------===//

class Kiln_ElementwiseOp<string mnemonic, list<Trait> traits = []>
    : Kiln_Op<mnemonic, !listconcat(traits, [Pure, SameOperandsAndResultType,
        DeclareOpInterfaceMethods<Kiln_ElementwiseOpInterface>])>;

class Kiln_UnaryOp<string mnemonic, string desc, list<Trait> traits = []>
    : Kiln_ElementwiseOp<mnemonic, traits> {
  let summary = "elementwise " # desc;
  let description = "Applies the " # desc # " to every element.\n\n"
    # "```mlir\n%y = kiln." # mnemonic # " %x : tensor<64x256xf32>\n```";
  let arguments = (ins Kiln_FloatTensor:$input);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

class Kiln_DiffUnaryOp<string mnemonic, string desc>
    : Kiln_UnaryOp<mnemonic, desc,
        [DeclareOpInterfaceMethods<Kiln_DifferentiableOpInterface>]>;

def Kiln_NegOp : Kiln_DiffUnaryOp<"neg", "negation">;
def Kiln_ExpOp : Kiln_DiffUnaryOp<"exp", "exponential">;
def Kiln_LogOp : Kiln_DiffUnaryOp<"log", "natural logarithm">;
def Kiln_SqrtOp : Kiln_DiffUnaryOp<"sqrt", "square root">;
def Kiln_ReluOp : Kiln_DiffUnaryOp<"relu", "rectifier max(x, 0) (NaN propagates)">;
def Kiln_SigmoidOp : Kiln_DiffUnaryOp<"sigmoid", "logistic function 1/(1+exp(-x))">;
def Kiln_TanhOp : Kiln_DiffUnaryOp<"tanh", "hyperbolic tangent">;
def Kiln_ErfOp : Kiln_DiffUnaryOp<"erf", "error function (GELU's Gaussian CDF)">;
// A correction that is 0 but for rounding (batch norm's refinement of its
// mean) has a derivative of 0: the identity, with no gradient to its operand.
def Kiln_StopGradientOp : Kiln_DiffUnaryOp<"stop_gradient",
    "identity, through which no gradient flows">;

// Activations as PyTorch's (torch.nn.functional), their derivatives where
// the input is 0 included.
def Kiln_LeakyReluOp : Kiln_ElementwiseOp<"leaky_relu",
    [DeclareOpInterfaceMethods<Kiln_DifferentiableOpInterface>]> {
  let summary = "elementwise leaky rectifier";
  let description = [{
    `x > 0 ? x : slope * x`; the derivative is `slope` where `x <= 0`
    (PyTorch's `leaky_relu`).

    ```mlir
    %y = kiln.leaky_relu %x slope = 1.000000e-02 : tensor<64x256xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, F64Attr:$slope);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `slope` `=` $slope attr-dict `:` type($result)";
}

def Kiln_EluOp : Kiln_ElementwiseOp<"elu",
    [DeclareOpInterfaceMethods<Kiln_DifferentiableOpInterface>]> {
  let summary = "elementwise exponential linear unit";
  let description = [{
    `x > 0 ? x : alpha * (exp(x) - 1)` (with `expm1`); the derivative is
    `alpha * exp(x)` where `x <= 0` (PyTorch's `elu`).

    ```mlir
    %y = kiln.elu %x alpha = 1.000000e+00 : tensor<64x256xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, F64Attr:$alpha);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `alpha` `=` $alpha attr-dict `:` type($result)";
}

def Kiln_SoftplusOp : Kiln_DiffUnaryOp<"softplus",
    "smooth rectifier log(1 + exp(x)), x itself above 20 (PyTorch's softplus)">;

// The Heaviside step has a zero derivative almost everywhere: it is the mask
// in relu's VJP and is not differentiated itself.
def Kiln_StepOp : Kiln_UnaryOp<"step", "step function (x > 0 ? 1 : 0)">;

class Kiln_BinaryOp<string mnemonic, string desc>
    : Kiln_ElementwiseOp<mnemonic,
        [DeclareOpInterfaceMethods<Kiln_DifferentiableOpInterface>]> {
  let summary = "elementwise " # desc;
  let description = "Computes the " # desc # " of two tensors of the same type; "
    # "broadcasting is explicit (`kiln.broadcast`).\n\n"
    # "```mlir\n%z = kiln." # mnemonic # " %x, %y : tensor<64x10xf32>\n```";
  let arguments = (ins Kiln_FloatTensor:$lhs, Kiln_FloatTensor:$rhs);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}

// Sums of pads placing blocks next to each other become concats.
def Kiln_AddOp : Kiln_BinaryOp<"add", "sum"> {
  let hasCanonicalizer = 1;
}
def Kiln_SubOp : Kiln_BinaryOp<"sub", "difference">;
def Kiln_MulOp : Kiln_BinaryOp<"mul", "product">;
def Kiln_DivOp : Kiln_BinaryOp<"div", "quotient">;

def Kiln_ConstantOp : Kiln_Op<"constant", [Pure]> {
  let summary = "a tensor filled with one value";
  let description = [{
    A splat constant: every element holds `value`.

    ```mlir
    %c = kiln.constant 1.0 : tensor<64x10xf32>
    ```
  }];
  let arguments = (ins F64Attr:$value);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$value attr-dict `:` type($result)";
  let builders = [
    OpBuilder<(ins "::mlir::Type":$type, "double":$value), [{
      build($_builder, $_state, type, $_builder.getF64FloatAttr(value));
    }]>
  ];
}

//===----------------------------------------------------------------------===//
// Shape-changing ops
//===----------------------------------------------------------------------===//

def Kiln_BroadcastOp : Kiln_Op<"broadcast", [Pure,
    DeclareOpInterfaceMethods<Kiln_DifferentiableOpInterface>]> {
  let summary = "broadcast a tensor into new dimensions";
  let description = [{
    Operand dimension `i` becomes result dimension `dims[i]` (same size);
    every other result dimension is new and repeats the operand.

    ```mlir
    %b = kiln.broadcast %bias dims = [1] : tensor<256xf32> -> tensor<64x256xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, DenseI64ArrayAttr:$dims);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat =
    "$input `dims` `=` $dims attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Kiln_ReduceSumOp : Kiln_Op<"reduce_sum", [Pure,
    DeclareOpInterfaceMethods<Kiln_DifferentiableOpInterface>]> {
  let summary = "sum over dimensions";
  let description = [{
    Sums over the listed dimensions, which disappear from the result.

    ```mlir
    %s = kiln.reduce_sum %g dims = [0] : tensor<64x256xf32> -> tensor<256xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, DenseI64ArrayAttr:$dims);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat =
    "$input `dims` `=` $dims attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Kiln_MatmulOp : Kiln_Op<"matmul", [Pure,
    DeclareOpInterfaceMethods<Kiln_DifferentiableOpInterface>]> {
  let summary = "matrix product with optional transposed operands";
  let description = [{
    `op(lhs) x op(rhs)` where `op` transposes when the flag is set.

    ```mlir
    %z = kiln.matmul %x, %w : tensor<64x784xf32>, tensor<784x256xf32> -> tensor<64x256xf32>
    %dw = kiln.matmul %x, %g transpose_a : tensor<64x784xf32>, tensor<64x256xf32> -> tensor<784x256xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$lhs, Kiln_FloatTensor:$rhs,
                       UnitAttr:$transpose_a, UnitAttr:$transpose_b);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs (`transpose_a` $transpose_a^)? (`transpose_b` $transpose_b^)?
    attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)
  }];
  let hasVerifier = 1;
}

include "dialects/Kiln/IR/KilnSpatialOps.td"
include "dialects/Kiln/IR/KilnShapeOps.td"
include "dialects/Kiln/IR/KilnLoopOps.td"
include "dialects/Kiln/IR/KilnRandomOps.td"

//===----------------------------------------------------------------------===//
// Softmax, labels and losses (numerically stable forms)
//===----------------------------------------------------------------------===//

def Kiln_SoftmaxOp : Kiln_Op<"softmax", [Pure, SameOperandsAndResultType,
    DeclareOpInterfaceMethods<Kiln_DifferentiableOpInterface>]> {
  let summary = "softmax over the last dimension";
  let description = [{
    `exp(x - max(x)) / sum(exp(x - max(x)))` along the last dimension.

    ```mlir
    %p = kiln.softmax %logits : tensor<64x10xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Kiln_LogSoftmaxOp : Kiln_Op<"log_softmax", [Pure, SameOperandsAndResultType,
    DeclareOpInterfaceMethods<Kiln_DifferentiableOpInterface>]> {
  let summary = "log-softmax over the last dimension";
  let description = [{
    `x - max(x) - log(sum(exp(x - max(x))))` along the last dimension: finite
    for any finite input, where `log(softmax(x))` underflows to -inf.

    ```mlir
    %lp = kiln.log_softmax %logits : tensor<64x10xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Kiln_OneHotOp : Kiln_Op<"one_hot", [Pure]> {
  let summary = "one-hot encoding of class indices";
  let description = [{
    Result `[i, c]` is 1 where `labels[i] == c`, else 0. Labels outside
    `[0, C)` give an all-zero row; loaders reject such labels.

    ```mlir
    %t = kiln.one_hot %labels : tensor<64xi32> -> tensor<64x10xf32>
    ```
  }];
  let arguments = (ins Kiln_IndexTensor:$labels);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$labels attr-dict `:` type($labels) `->` type($result)";
  let hasVerifier = 1;
}

def Kiln_SoftmaxCrossEntropyOp : Kiln_Op<"softmax_cross_entropy", [Pure,
    DeclareOpInterfaceMethods<Kiln_DifferentiableOpInterface>]> {
  let summary = "mean softmax cross-entropy of logits against class indices";
  let description = [{
    `mean_i(logsumexp(logits[i, :]) - logits[i, labels[i]])`, computed with
    the max-shifted log-sum-exp so that large logits do not overflow.

    ```mlir
    %l = kiln.softmax_cross_entropy %logits, %labels : tensor<64x10xf32>, tensor<64xi32> -> tensor<f32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$logits, Kiln_IndexTensor:$labels);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $logits `,` $labels attr-dict `:` type($logits) `,` type($labels) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Kiln_SigmoidBCEOp : Kiln_Op<"sigmoid_bce", [Pure,
    AllTypesMatch<["logits", "targets"]>,
    DeclareOpInterfaceMethods<Kiln_DifferentiableOpInterface>]> {
  let summary = "mean binary cross-entropy with logits";
  let description = [{
    `mean(max(z, 0) - z * t + log(1 + exp(-|z|)))`: the stable form of
    `-t log(sigmoid(z)) - (1 - t) log(1 - sigmoid(z))`.

    ```mlir
    %l = kiln.sigmoid_bce %z, %t : tensor<64x1xf32> -> tensor<f32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$logits, Kiln_FloatTensor:$targets);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat =
    "$logits `,` $targets attr-dict `:` type($logits) `->` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Fusion
//===----------------------------------------------------------------------===//

def Kiln_FusedOp : Kiln_Op<"fused", [IsolatedFromAbove, SingleBlock,
    RecursiveMemoryEffects]> {
  let summary = "a group of elementwise ops that runs as one loop nest";
  let description = [{
    Built by `kiln-fuse`. The body holds elementwise ops over one iteration
    shape, plus splat constants and broadcasts of the inputs; it yields the
    values used outside the group. It lowers to a single loop nest (one
    `linalg.generic`, one GPU kernel).

    ```mlir
    %r = kiln.fused (%z, %b : tensor<64x256xf32>, tensor<256xf32>) -> tensor<64x256xf32> {
    ^bb0(%a: tensor<64x256xf32>, %c: tensor<256xf32>):
      %0 = kiln.broadcast %c dims = [1] : tensor<256xf32> -> tensor<64x256xf32>
      %1 = kiln.add %a, %0 : tensor<64x256xf32>
      %2 = kiln.relu %1 : tensor<64x256xf32>
      kiln.yield %2 : tensor<64x256xf32>
    }
    ```
  }];
  let arguments = (ins Variadic<AnyRankedTensor>:$inputs);
  let results = (outs Variadic<Kiln_FloatTensor>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    `(` ($inputs^ `:` type($inputs))? `)` `->` type($results) attr-dict-with-keyword $body
  }];
  let hasVerifier = 1;
}

def Kiln_YieldOp : Kiln_Op<"yield", [Pure, Terminator,
    ParentOneOf<["FusedOp", "ScanOp"]>]> {
  let summary = "yields the results of a fused group or of a scan step";
  let description = [{
    ```mlir
    kiln.yield %2 : tensor<64x256xf32>
    ```
  }];
  let arguments = (ins Variadic<Kiln_FloatTensor>:$values);
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
}

#endif // KILN_OPS_TD
