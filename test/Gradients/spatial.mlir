// RUN: kiln-gradcheck %s | FileCheck %s
// RUN: kiln-gradcheck %s --fuse=false | FileCheck %s
// Finite-difference checks of convolution, pooling and reshape VJPs (fp64),
// through the real lowering: both operands of conv2d, with and without
// stride and padding (including a stride that leaves rows unreached).

// CHECK: @conv: max relative error {{.*}}: ok
func.func @conv(%x: tensor<2x2x5x5xf64>, %w: tensor<3x2x3x3xf64>, %r: tensor<2x3x3x3xf64>) -> tensor<f64> {
  %y = kiln.conv2d %x, %w strides = [1, 1] padding = [0, 0] : tensor<2x2x5x5xf64>, tensor<3x2x3x3xf64> -> tensor<2x3x3x3xf64>
  %p = kiln.mul %y, %r : tensor<2x3x3x3xf64>
  %s = kiln.reduce_sum %p dims = [0, 1, 2, 3] : tensor<2x3x3x3xf64> -> tensor<f64>
  return %s : tensor<f64>
}

// CHECK: @conv_strided_padded: max relative error {{.*}}: ok
func.func @conv_strided_padded(%x: tensor<1x2x6x5xf64>, %w: tensor<2x2x3x3xf64>, %r: tensor<1x2x3x3xf64>) -> tensor<f64> {
  %y = kiln.conv2d %x, %w strides = [2, 2] padding = [1, 1] : tensor<1x2x6x5xf64>, tensor<2x2x3x3xf64> -> tensor<1x2x3x3xf64>
  %t = kiln.tanh %y : tensor<1x2x3x3xf64>
  %p = kiln.mul %t, %r : tensor<1x2x3x3xf64>
  %s = kiln.reduce_sum %p dims = [0, 1, 2, 3] : tensor<1x2x3x3xf64> -> tensor<f64>
  return %s : tensor<f64>
}

// CHECK: @conv_rect: max relative error {{.*}}: ok
func.func @conv_rect(%x: tensor<1x1x7x6xf64>, %w: tensor<2x1x2x3xf64>, %r: tensor<1x2x3x4xf64>) -> tensor<f64> {
  %y = kiln.conv2d %x, %w strides = [3, 1] padding = [1, 0] : tensor<1x1x7x6xf64>, tensor<2x1x2x3xf64> -> tensor<1x2x3x4xf64>
  %p = kiln.mul %y, %r : tensor<1x2x3x4xf64>
  %s = kiln.reduce_sum %p dims = [0, 1, 2, 3] : tensor<1x2x3x4xf64> -> tensor<f64>
  return %s : tensor<f64>
}

// CHECK: @max_pool: max relative error {{.*}}: ok
func.func @max_pool(%x: tensor<2x2x4x6xf64>, %r: tensor<2x2x2x3xf64>) -> tensor<f64> {
  %y = kiln.max_pool2d %x kernel = [2, 2] : tensor<2x2x4x6xf64> -> tensor<2x2x2x3xf64>
  %p = kiln.mul %y, %r : tensor<2x2x2x3xf64>
  %s = kiln.reduce_sum %p dims = [0, 1, 2, 3] : tensor<2x2x2x3xf64> -> tensor<f64>
  return %s : tensor<f64>
}

// CHECK: @reshape: max relative error {{.*}}: ok
func.func @reshape(%x: tensor<2x3x4xf64>, %r: tensor<2x12xf64>) -> tensor<f64> {
  %f = kiln.reshape %x : tensor<2x3x4xf64> -> tensor<2x12xf64>
  %p = kiln.mul %f, %r : tensor<2x12xf64>
  %e = kiln.reshape %p : tensor<2x12xf64> -> tensor<2x3x4xf64>
  %q = kiln.mul %e, %x : tensor<2x3x4xf64>
  %s = kiln.reduce_sum %q dims = [0, 1, 2] : tensor<2x3x4xf64> -> tensor<f64>
  return %s : tensor<f64>
}
