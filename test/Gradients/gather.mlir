// RUN: kiln-gradcheck %s | FileCheck %s
// RUN: kiln-gradcheck %s --fuse=false | FileCheck %s
// Finite-difference checks (fp64) of the embedding lookup: gather's table
// gradient is a scatter-add, repeated ids accumulate, unused rows get zero,
// and an out-of-range id reads (and gets the gradient of) the clamped row.

// CHECK: @embedding: max relative error {{.*}}: ok
func.func @embedding(%table: tensor<5x3xf64>, %r: tensor<2x4x3xf64>) -> tensor<f64> {
  %ids = arith.constant dense<[[0, 3, 3, 1], [4, 3, 0, 0]]> : tensor<2x4xi32>
  %e = kiln.gather %table[%ids] : tensor<5x3xf64>, tensor<2x4xi32> -> tensor<2x4x3xf64>
  %t = kiln.tanh %e : tensor<2x4x3xf64>
  %m = kiln.mul %t, %r : tensor<2x4x3xf64>
  %l = kiln.reduce_sum %m dims = [0, 1, 2] : tensor<2x4x3xf64> -> tensor<f64>
  return %l : tensor<f64>
}

// CHECK: @clamped: max relative error {{.*}}: ok
func.func @clamped(%table: tensor<4x2xf64>) -> tensor<f64> {
  %ids = arith.constant dense<[-7, 2, 9]> : tensor<3xi32>
  %e = kiln.gather %table[%ids] : tensor<4x2xf64>, tensor<3xi32> -> tensor<3x2xf64>
  %s = kiln.mul %e, %e : tensor<3x2xf64>
  %l = kiln.reduce_sum %s dims = [0, 1] : tensor<3x2xf64> -> tensor<f64>
  return %l : tensor<f64>
}
