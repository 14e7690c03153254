// RUN: kiln-opt %s --canonicalize --split-input-file | FileCheck %s
// A product read only transposed is made transposed: (op(A) op(B))^T is
// op'(B) op'(A) with each flag flipped; no transpose is left.

// CHECK-LABEL: func.func @only_read_transposed
// CHECK-SAME: (%[[H:.*]]: tensor<8x4xf32>, %[[G:.*]]: tensor<8x6xf32>)
// CHECK-NEXT: %[[P:.*]] = kiln.matmul %[[G]], %[[H]] transpose_a : tensor<8x6xf32>, tensor<8x4xf32> -> tensor<6x4xf32>
// CHECK-NEXT: return %[[P]]
func.func @only_read_transposed(%h: tensor<8x4xf32>, %g: tensor<8x6xf32>) -> tensor<6x4xf32> {
  %p = kiln.matmul %h, %g transpose_a : tensor<8x4xf32>, tensor<8x6xf32> -> tensor<4x6xf32>
  %t = kiln.transpose %p perm = [1, 0] : tensor<4x6xf32> -> tensor<6x4xf32>
  return %t : tensor<6x4xf32>
}

// -----

// Both flags flip: (A^T B^T)^T = B A.
// CHECK-LABEL: func.func @both_flags
// CHECK-SAME: (%[[A:.*]]: tensor<3x2xf32>, %[[B:.*]]: tensor<5x3xf32>)
// CHECK-NEXT: %[[P:.*]] = kiln.matmul %[[B]], %[[A]] : tensor<5x3xf32>, tensor<3x2xf32> -> tensor<5x2xf32>
// CHECK-NEXT: return %[[P]]
func.func @both_flags(%a: tensor<3x2xf32>, %b: tensor<5x3xf32>) -> tensor<5x2xf32> {
  %p = kiln.matmul %a, %b transpose_a transpose_b : tensor<3x2xf32>, tensor<5x3xf32> -> tensor<2x5xf32>
  %t = kiln.transpose %p perm = [1, 0] : tensor<2x5xf32> -> tensor<5x2xf32>
  return %t : tensor<5x2xf32>
}

// -----

// The product is also read as it is: made once, transposed once.
// CHECK-LABEL: func.func @also_read
// CHECK: kiln.matmul
// CHECK-NOT: kiln.matmul
// CHECK: kiln.transpose
func.func @also_read(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) -> (tensor<2x4xf32>, tensor<4x2xf32>) {
  %p = kiln.matmul %a, %b : tensor<2x3xf32>, tensor<3x4xf32> -> tensor<2x4xf32>
  %t = kiln.transpose %p perm = [1, 0] : tensor<2x4xf32> -> tensor<4x2xf32>
  return %p, %t : tensor<2x4xf32>, tensor<4x2xf32>
}
