// RUN: kiln-opt %s --kiln-autodiff --canonicalize | FileCheck %s

module attributes {kiln.model = {name = "tiny"}} {
func.func @loss(%w: tensor<4x3xf32> {kiln.param = "fc.weight"}, %b: tensor<3xf32> {kiln.param = "fc.bias"},
                %x: tensor<2x4xf32> {kiln.input = "x"}, %y: tensor<2xi32> {kiln.label = "y"}) -> tensor<f32> {
  %z = kiln.matmul %x, %w : tensor<2x4xf32>, tensor<4x3xf32> -> tensor<2x3xf32>
  %bb = kiln.broadcast %b dims = [1] : tensor<3xf32> -> tensor<2x3xf32>
  %s = kiln.add %z, %bb : tensor<2x3xf32>
  %r = kiln.relu %s : tensor<2x3xf32>
  %l = kiln.softmax_cross_entropy %r, %y : tensor<2x3xf32>, tensor<2xi32> -> tensor<f32>
  return %l : tensor<f32>
}
}

// The gradient function returns the loss, then one gradient per parameter.
// CHECK-LABEL: func.func @loss_grad
// CHECK-SAME: (%[[W:.*]]: tensor<4x3xf32> {kiln.param = "fc.weight"}, %[[B:.*]]: tensor<3xf32> {kiln.param = "fc.bias"}, %[[X:.*]]: tensor<2x4xf32> {kiln.input = "x"}, %[[Y:.*]]: tensor<2xi32> {kiln.label = "y"})
// CHECK-SAME: -> (tensor<f32>, tensor<4x3xf32>, tensor<3xf32>)
// CHECK: %[[Z:.*]] = kiln.matmul %[[X]], %[[W]]
// CHECK: %[[S:.*]] = kiln.add %[[Z]], %{{.*}}
// CHECK: %[[R:.*]] = kiln.relu %[[S]]
// CHECK: %[[L:.*]] = kiln.softmax_cross_entropy %[[R]], %[[Y]]
// d loss / d logits = (softmax - onehot) / N, then through relu's mask.
// CHECK: %[[P:.*]] = kiln.softmax %[[R]]
// CHECK: %[[H:.*]] = kiln.one_hot %[[Y]]
// CHECK: %[[D:.*]] = kiln.sub %[[P]], %[[H]]
// CHECK: %[[G:.*]] = kiln.mul %[[D]], %{{.*}}
// CHECK: %[[M:.*]] = kiln.step %[[S]]
// CHECK: %[[GS:.*]] = kiln.mul %[[G]], %[[M]]
// The bias gradient sums over the broadcast dimension; no gradient flows to x.
// CHECK: %[[GB:.*]] = kiln.reduce_sum %[[GS]] dims = [0] : tensor<2x3xf32> -> tensor<3xf32>
// CHECK-NOT: transpose_b
// CHECK: %[[GW:.*]] = kiln.matmul %[[X]], %[[GS]] transpose_a
// CHECK: return %[[L]], %[[GW]], %[[GB]]
