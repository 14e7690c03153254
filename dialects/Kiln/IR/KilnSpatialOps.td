//===- KilnSpatialOps.td - Convolution, pooling, reshape ---*- tablegen -*-===//
//
// Images are NCHW and filters FCHW (out channels, in channels, height,
// width), PyTorch's layout: checkpoints then hold the same arrays as
// torch.nn.Conv2d, and parity needs no transposes.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_SPATIAL_OPS_TD
#define KILN_SPATIAL_OPS_TD

def Kiln_ReshapeOp : Kiln_Op<"reshape", [Pure,
    DeclareOpInterfaceMethods<Kiln_DifferentiableOpInterface>]> {
  let summary = "the same elements in row-major order, in another shape";
  let description = [{
    Only dimensions that merge whole groups of consecutive dimensions, or
    split one into consecutive ones, are supported (a flatten, or the
    window split of average pooling).

    ```mlir
    %f = kiln.reshape %x : tensor<64x16x4x4xf32> -> tensor<64x256xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

class Kiln_ConvOp<string mnemonic, list<Trait> traits = []>
    : Kiln_Op<mnemonic, !listconcat([Pure], traits)> {
  let arguments = (ins Kiln_FloatTensor:$lhs, Kiln_FloatTensor:$rhs,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$padding);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs `strides` `=` $strides `padding` `=` $padding attr-dict `:`
    type($lhs) `,` type($rhs) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Kiln_Conv2DOp : Kiln_ConvOp<"conv2d",
    [DeclareOpInterfaceMethods<Kiln_DifferentiableOpInterface>]> {
  let summary = "2-D cross-correlation (PyTorch's conv2d), NCHW x FCHW";
  let description = [{
    `y[n, f, i, j] = sum over c, a, b of x[n, c, i*sh + a - ph, j*sw + b - pw]
    * w[f, c, a, b]`, zero outside the image. Output size
    `(H + 2 ph - KH) / sh + 1`. Padding is below the kernel size.

    ```mlir
    %y = kiln.conv2d %x, %w strides = [1, 1] padding = [2, 2]
        : tensor<64x1x28x28xf32>, tensor<6x1x5x5xf32> -> tensor<64x6x28x28xf32>
    ```
  }];
}

def Kiln_Conv2DInputGradOp : Kiln_ConvOp<"conv2d_input_grad"> {
  let summary = "the gradient of conv2d with respect to its image";
  let description = [{
    Given the result gradient `dy` (NFHW) and the filter `w`, the image
    gradient: a transposed convolution. Part of conv2d's VJP; not
    differentiated itself.

    ```mlir
    %dx = kiln.conv2d_input_grad %dy, %w strides = [1, 1] padding = [0, 0]
        : tensor<64x6x24x24xf32>, tensor<6x1x5x5xf32> -> tensor<64x1x28x28xf32>
    ```
  }];
}

def Kiln_Conv2DFilterGradOp : Kiln_ConvOp<"conv2d_filter_grad"> {
  let summary = "the gradient of conv2d with respect to its filter";
  let description = [{
    Given the image `x` and the result gradient `dy`, the filter gradient,
    summed over the batch. Part of conv2d's VJP; not differentiated itself.

    ```mlir
    %dw = kiln.conv2d_filter_grad %x, %dy strides = [1, 1] padding = [0, 0]
        : tensor<64x1x28x28xf32>, tensor<64x6x24x24xf32> -> tensor<6x1x5x5xf32>
    ```
  }];
}

def Kiln_MaxPool2DOp : Kiln_Op<"max_pool2d", [Pure,
    DeclareOpInterfaceMethods<Kiln_DifferentiableOpInterface>]> {
  let summary = "2-D max pooling over non-overlapping windows";
  let description = [{
    The maximum of each `kernel` window (stride = kernel, no padding); H and W
    must be multiples of the kernel.

    ```mlir
    %y = kiln.max_pool2d %x kernel = [2, 2] : tensor<64x6x24x24xf32> -> tensor<64x6x12x12xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, DenseI64ArrayAttr:$kernel);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat =
    "$input `kernel` `=` $kernel attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Kiln_MaxPool2DGradOp : Kiln_Op<"max_pool2d_grad", [Pure]> {
  let summary = "the gradient of max_pool2d";
  let description = [{
    Routes each window's gradient to the first element (in row-major window
    order) equal to the window's maximum, as PyTorch does; zero elsewhere.
    Operands: the pooled input, the pooled result, the result gradient.

    ```mlir
    %dx = kiln.max_pool2d_grad %x, %y, %dy kernel = [2, 2]
        : tensor<64x6x24x24xf32>, tensor<64x6x12x12xf32>, tensor<64x6x12x12xf32>
        -> tensor<64x6x24x24xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$pooled,
                       Kiln_FloatTensor:$grad, DenseI64ArrayAttr:$kernel);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $pooled `,` $grad `kernel` `=` $kernel attr-dict `:` type($input) `,`
    type($pooled) `,` type($grad) `->` type($result)
  }];
  let hasVerifier = 1;
}

#endif // KILN_SPATIAL_OPS_TD
