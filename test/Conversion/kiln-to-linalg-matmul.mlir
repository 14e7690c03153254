// RUN: kiln-opt %s --kiln-to-linalg | FileCheck %s

// A product with transposed operands is computed as C = op(A) op(B) or as
// C^T = op(B)^T op(A)^T copied back, whichever copies fewer elements and
// runs its vectors along the longer side (the product's vectors run along
// its result's rows). Either way each element sums k in order.

// A classifier head's weight gradient x^T dy (x: 64 x 784, dy: 64 x 10):
// as written it would copy x^T (50k elements) and run 10-lane rows; as
// dW^T = dy^T x it copies dy^T (640) and dW back (7840), and its rows run
// along the 784 inputs.
// CHECK-LABEL: func.func @head_weight_grad
// CHECK-SAME: (%[[X:.*]]: tensor<64x784xf32>, %[[DY:.*]]: tensor<64x10xf32>)
// CHECK: %[[DYT:.*]] = linalg.generic {{.*}} ins(%[[DY]] : tensor<64x10xf32>) outs(%{{.*}} : tensor<10x64xf32>)
// CHECK: %[[PT:.*]] = linalg.generic {{.*}} ins(%[[DYT]], %[[X]] : tensor<10x64xf32>, tensor<64x784xf32>) outs(%{{.*}} : tensor<10x784xf32>)
// CHECK: %[[P:.*]] = linalg.generic {{.*}} ins(%[[PT]] : tensor<10x784xf32>) outs(%{{.*}} : tensor<784x10xf32>)
// CHECK: return %[[P]]
func.func @head_weight_grad(%x: tensor<64x784xf32>, %dy: tensor<64x10xf32>) -> tensor<784x10xf32> {
  %g = kiln.matmul %x, %dy transpose_a : tensor<64x784xf32>, tensor<64x10xf32> -> tensor<784x10xf32>
  return %g : tensor<784x10xf32>
}

// A hidden layer's weight gradient (dy: 64 x 256) keeps x^T: the product
// is as wide either way, and copying the 784 x 256 result back would cost
// more than x^T.
// CHECK-LABEL: func.func @hidden_weight_grad
// CHECK-SAME: (%[[X:.*]]: tensor<64x784xf32>, %[[DY:.*]]: tensor<64x256xf32>)
// CHECK: %[[XT:.*]] = linalg.generic {{.*}} ins(%[[X]] : tensor<64x784xf32>) outs(%{{.*}} : tensor<784x64xf32>)
// CHECK: %[[P:.*]] = linalg.generic {{.*}} ins(%[[XT]], %[[DY]] : tensor<784x64xf32>, tensor<64x256xf32>) outs(%{{.*}} : tensor<784x256xf32>)
// CHECK: return %[[P]]
func.func @hidden_weight_grad(%x: tensor<64x784xf32>, %dy: tensor<64x256xf32>) -> tensor<784x256xf32> {
  %g = kiln.matmul %x, %dy transpose_a : tensor<64x784xf32>, tensor<64x256xf32> -> tensor<784x256xf32>
  return %g : tensor<784x256xf32>
}

// No transposes, no copies: a plain product stays as it is.
// CHECK-LABEL: func.func @plain
// CHECK-SAME: (%[[A:.*]]: tensor<64x784xf32>, %[[B:.*]]: tensor<784x10xf32>)
// CHECK-NOT: tensor<10x64xf32>
// CHECK: linalg.generic {{.*}} ins(%[[A]], %[[B]] : tensor<64x784xf32>, tensor<784x10xf32>)
func.func @plain(%a: tensor<64x784xf32>, %b: tensor<784x10xf32>) -> tensor<64x10xf32> {
  %c = kiln.matmul %a, %b : tensor<64x784xf32>, tensor<784x10xf32> -> tensor<64x10xf32>
  return %c : tensor<64x10xf32>
}
