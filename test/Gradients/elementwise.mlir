// RUN: kiln-gradcheck %s | FileCheck %s
// RUN: kiln-gradcheck %s --fuse=false | FileCheck %s

// Each function weights an op's output with a second argument and sums it,
// so every output element's gradient is checked.

// CHECK: @relu: max relative error {{.*}}: ok
func.func @relu(%x: tensor<3x4xf64>, %w: tensor<3x4xf64>) -> tensor<f64> {
  %y = kiln.relu %x : tensor<3x4xf64>
  %p = kiln.mul %y, %w : tensor<3x4xf64>
  %s = kiln.reduce_sum %p dims = [0, 1] : tensor<3x4xf64> -> tensor<f64>
  return %s : tensor<f64>
}

// CHECK: @sigmoid_tanh: max relative error {{.*}}: ok
func.func @sigmoid_tanh(%x: tensor<5xf64>, %w: tensor<5xf64>) -> tensor<f64> {
  %a = kiln.sigmoid %x : tensor<5xf64>
  %b = kiln.tanh %a : tensor<5xf64>
  %p = kiln.mul %b, %w : tensor<5xf64>
  %s = kiln.reduce_sum %p dims = [0] : tensor<5xf64> -> tensor<f64>
  return %s : tensor<f64>
}

// exp keeps log and sqrt on positive inputs.
// CHECK: @exp_log_sqrt: max relative error {{.*}}: ok
func.func @exp_log_sqrt(%x: tensor<2x3xf64>, %w: tensor<2x3xf64>) -> tensor<f64> {
  %e = kiln.exp %x : tensor<2x3xf64>
  %l = kiln.log %e : tensor<2x3xf64>
  %r = kiln.sqrt %e : tensor<2x3xf64>
  %t = kiln.add %l, %r : tensor<2x3xf64>
  %n = kiln.neg %t : tensor<2x3xf64>
  %p = kiln.mul %n, %w : tensor<2x3xf64>
  %s = kiln.reduce_sum %p dims = [0, 1] : tensor<2x3xf64> -> tensor<f64>
  return %s : tensor<f64>
}

// CHECK: @arith: max relative error {{.*}}: ok
func.func @arith(%x: tensor<4xf64>, %y: tensor<4xf64>) -> tensor<f64> {
  %c = kiln.constant 3.0 : tensor<4xf64>
  %d = kiln.add %y, %c : tensor<4xf64>
  %q = kiln.div %x, %d : tensor<4xf64>
  %m = kiln.sub %q, %y : tensor<4xf64>
  %p = kiln.mul %m, %x : tensor<4xf64>
  %s = kiln.reduce_sum %p dims = [0] : tensor<4xf64> -> tensor<f64>
  return %s : tensor<f64>
}

// The activations with a select: the scaled inputs fall on both sides of 0
// (and, for softplus, of its threshold 20).
// CHECK: @leaky_relu_elu: max relative error {{.*}}: ok
func.func @leaky_relu_elu(%x: tensor<3x4xf64>, %w: tensor<3x4xf64>) -> tensor<f64> {
  %a = kiln.leaky_relu %x slope = 2.000000e-01 : tensor<3x4xf64>
  %b = kiln.elu %x alpha = 5.000000e-01 : tensor<3x4xf64>
  %c = kiln.mul %a, %b : tensor<3x4xf64>
  %p = kiln.mul %c, %w : tensor<3x4xf64>
  %s = kiln.reduce_sum %p dims = [0, 1] : tensor<3x4xf64> -> tensor<f64>
  return %s : tensor<f64>
}

// CHECK: @erf_softplus: max relative error {{.*}}: ok
func.func @erf_softplus(%x: tensor<8xf64>, %w: tensor<8xf64>) -> tensor<f64> {
  %k = kiln.constant 3.000000e+01 : tensor<8xf64>
  %big = kiln.mul %x, %k : tensor<8xf64>
  %a = kiln.softplus %big : tensor<8xf64>
  %e = kiln.erf %x : tensor<8xf64>
  %c = kiln.add %a, %e : tensor<8xf64>
  %p = kiln.mul %c, %w : tensor<8xf64>
  %s = kiln.reduce_sum %p dims = [0] : tensor<8xf64> -> tensor<f64>
  return %s : tensor<f64>
}
