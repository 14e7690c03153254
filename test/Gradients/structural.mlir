// RUN: kiln-gradcheck %s | FileCheck %s

// CHECK: @matmul: max relative error {{.*}}: ok
func.func @matmul(%a: tensor<3x4xf64>, %b: tensor<4x2xf64>, %w: tensor<3x2xf64>) -> tensor<f64> {
  %c = kiln.matmul %a, %b : tensor<3x4xf64>, tensor<4x2xf64> -> tensor<3x2xf64>
  %p = kiln.mul %c, %w : tensor<3x2xf64>
  %s = kiln.reduce_sum %p dims = [0, 1] : tensor<3x2xf64> -> tensor<f64>
  return %s : tensor<f64>
}

// CHECK: @matmul_ta: max relative error {{.*}}: ok
func.func @matmul_ta(%a: tensor<4x3xf64>, %b: tensor<4x2xf64>, %w: tensor<3x2xf64>) -> tensor<f64> {
  %c = kiln.matmul %a, %b transpose_a : tensor<4x3xf64>, tensor<4x2xf64> -> tensor<3x2xf64>
  %p = kiln.mul %c, %w : tensor<3x2xf64>
  %s = kiln.reduce_sum %p dims = [0, 1] : tensor<3x2xf64> -> tensor<f64>
  return %s : tensor<f64>
}

// CHECK: @matmul_tb: max relative error {{.*}}: ok
func.func @matmul_tb(%a: tensor<3x4xf64>, %b: tensor<2x4xf64>, %w: tensor<3x2xf64>) -> tensor<f64> {
  %c = kiln.matmul %a, %b transpose_b : tensor<3x4xf64>, tensor<2x4xf64> -> tensor<3x2xf64>
  %p = kiln.mul %c, %w : tensor<3x2xf64>
  %s = kiln.reduce_sum %p dims = [0, 1] : tensor<3x2xf64> -> tensor<f64>
  return %s : tensor<f64>
}

// CHECK: @matmul_tab: max relative error {{.*}}: ok
func.func @matmul_tab(%a: tensor<4x3xf64>, %b: tensor<2x4xf64>, %w: tensor<3x2xf64>) -> tensor<f64> {
  %c = kiln.matmul %a, %b transpose_a transpose_b : tensor<4x3xf64>, tensor<2x4xf64> -> tensor<3x2xf64>
  %p = kiln.mul %c, %w : tensor<3x2xf64>
  %s = kiln.reduce_sum %p dims = [0, 1] : tensor<3x2xf64> -> tensor<f64>
  return %s : tensor<f64>
}

// CHECK: @broadcast_reduce: max relative error {{.*}}: ok
func.func @broadcast_reduce(%b: tensor<3xf64>, %w: tensor<2x3x4xf64>) -> tensor<f64> {
  %bb = kiln.broadcast %b dims = [1] : tensor<3xf64> -> tensor<2x3x4xf64>
  %p = kiln.mul %bb, %w : tensor<2x3x4xf64>
  %r = kiln.reduce_sum %p dims = [0, 2] : tensor<2x3x4xf64> -> tensor<3xf64>
  %q = kiln.mul %r, %b : tensor<3xf64>
  %s = kiln.reduce_sum %q dims = [0] : tensor<3xf64> -> tensor<f64>
  return %s : tensor<f64>
}

// CHECK: @softmax: max relative error {{.*}}: ok
func.func @softmax(%x: tensor<3x5xf64>, %w: tensor<3x5xf64>) -> tensor<f64> {
  %y = kiln.softmax %x : tensor<3x5xf64>
  %p = kiln.mul %y, %w : tensor<3x5xf64>
  %s = kiln.reduce_sum %p dims = [0, 1] : tensor<3x5xf64> -> tensor<f64>
  return %s : tensor<f64>
}

// CHECK: @log_softmax: max relative error {{.*}}: ok
func.func @log_softmax(%x: tensor<3x5xf64>, %w: tensor<3x5xf64>) -> tensor<f64> {
  %y = kiln.log_softmax %x : tensor<3x5xf64>
  %p = kiln.mul %y, %w : tensor<3x5xf64>
  %s = kiln.reduce_sum %p dims = [0, 1] : tensor<3x5xf64> -> tensor<f64>
  return %s : tensor<f64>
}

// CHECK: @softmax_cross_entropy: max relative error {{.*}}: ok
func.func @softmax_cross_entropy(%z: tensor<4x3xf64>) -> tensor<f64> {
  %labels = arith.constant dense<[2, 0, 1, 2]> : tensor<4xi32>
  %l = kiln.softmax_cross_entropy %z, %labels : tensor<4x3xf64>, tensor<4xi32> -> tensor<f64>
  return %l : tensor<f64>
}

// Both the logits and the targets gradients of the stable BCE form.
// CHECK: @sigmoid_bce: max relative error {{.*}}: ok
func.func @sigmoid_bce(%z: tensor<5x1xf64>, %t: tensor<5x1xf64>) -> tensor<f64> {
  %l = kiln.sigmoid_bce %z, %t : tensor<5x1xf64> -> tensor<f64>
  return %l : tensor<f64>
}

// A dense layer, bias, ReLU and softmax cross-entropy together, as MLIRGen
// emits them; fusion groups the bias add with the activation.
// CHECK: @dense_relu_ce: max relative error {{.*}}: ok
func.func @dense_relu_ce(%x: tensor<4x3xf64>, %w: tensor<3x5xf64>, %b: tensor<5xf64>) -> tensor<f64> {
  %labels = arith.constant dense<[4, 0, 1, 3]> : tensor<4xi32>
  %z = kiln.matmul %x, %w : tensor<4x3xf64>, tensor<3x5xf64> -> tensor<4x5xf64>
  %bb = kiln.broadcast %b dims = [1] : tensor<5xf64> -> tensor<4x5xf64>
  %s = kiln.add %z, %bb : tensor<4x5xf64>
  %r = kiln.relu %s : tensor<4x5xf64>
  %l = kiln.softmax_cross_entropy %r, %labels : tensor<4x5xf64>, tensor<4xi32> -> tensor<f64>
  return %l : tensor<f64>
}

// Sizes that take kiln-cpu-vectorize's register-blocked path (M = 4, N = 16).
// CHECK: @matmul_vectorized: max relative error {{.*}}: ok
func.func @matmul_vectorized(%a: tensor<4x8xf64>, %b: tensor<8x16xf64>, %w: tensor<4x16xf64>) -> tensor<f64> {
  %c = kiln.matmul %a, %b : tensor<4x8xf64>, tensor<8x16xf64> -> tensor<4x16xf64>
  %p = kiln.mul %c, %w : tensor<4x16xf64>
  %s = kiln.reduce_sum %p dims = [0, 1] : tensor<4x16xf64> -> tensor<f64>
  return %s : tensor<f64>
}

// Sizes that divide no register block (M = 9, N = 37): bulk blocks plus row
// and column remainder blocks of their own sizes, in each of the three
// products (forward, and the two gradients).
// CHECK: @matmul_remainders: max relative error {{.*}}: ok
func.func @matmul_remainders(%a: tensor<9x5xf64>, %b: tensor<5x37xf64>, %w: tensor<9x37xf64>) -> tensor<f64> {
  %c = kiln.matmul %a, %b : tensor<9x5xf64>, tensor<5x37xf64> -> tensor<9x37xf64>
  %p = kiln.mul %c, %w : tensor<9x37xf64>
  %s = kiln.reduce_sum %p dims = [0, 1] : tensor<9x37xf64> -> tensor<f64>
  return %s : tensor<f64>
}

// The gradient of a reduction of a reduction is a broadcast of a broadcast;
// fusion clones the whole chain into the group (it once cloned the outer
// broadcast without the inner one's operand).
// CHECK: @reduce_reduce: max relative error {{.*}}: ok
func.func @reduce_reduce(%x: tensor<3x4xf64>, %w: tensor<3x4xf64>) -> tensor<f64> {
  %p = kiln.mul %x, %w : tensor<3x4xf64>
  %r = kiln.reduce_sum %p dims = [1] : tensor<3x4xf64> -> tensor<3xf64>
  %s = kiln.reduce_sum %r dims = [0] : tensor<3xf64> -> tensor<f64>
  return %s : tensor<f64>
}

// A broadcast of a broadcast of a parameter in the forward pass too.
// CHECK: @broadcast_broadcast: max relative error {{.*}}: ok
func.func @broadcast_broadcast(%b: tensor<3xf64>, %w: tensor<2x3x4xf64>) -> tensor<f64> {
  %b1 = kiln.broadcast %b dims = [0] : tensor<3xf64> -> tensor<3x4xf64>
  %b2 = kiln.broadcast %b1 dims = [1, 2] : tensor<3x4xf64> -> tensor<2x3x4xf64>
  %p = kiln.mul %b2, %w : tensor<2x3x4xf64>
  %q = kiln.mul %p, %w : tensor<2x3x4xf64>
  %s = kiln.reduce_sum %q dims = [0, 1, 2] : tensor<2x3x4xf64> -> tensor<f64>
  return %s : tensor<f64>
}
