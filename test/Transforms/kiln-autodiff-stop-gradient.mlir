// RUN: kiln-opt %s --kiln-autodiff --canonicalize | FileCheck %s

// kiln.stop_gradient passes its operand on and no gradient back: the loss
// w * w + stop_gradient(w * w * w) has the gradient 2w, nothing of 3w^2
// (batch norm's refinement of its mean, 0 but for rounding, is one).
module attributes {kiln.model = {name = "m"}} {
func.func @loss(%w: tensor<3xf32> {kiln.param = "w"}) -> tensor<f32> {
  %sq = kiln.mul %w, %w : tensor<3xf32>
  %cube = kiln.mul %sq, %w : tensor<3xf32>
  %held = kiln.stop_gradient %cube : tensor<3xf32>
  %t = kiln.add %sq, %held : tensor<3xf32>
  %s = kiln.reduce_sum %t dims = [0] : tensor<3xf32> -> tensor<f32>
  return %s : tensor<f32>
}
}
// CHECK-LABEL: func.func @loss_grad
// CHECK-SAME: (%[[W:.*]]: tensor<3xf32> {kiln.param = "w"})
// CHECK: kiln.stop_gradient
// CHECK: %[[ONES:.*]] = kiln.broadcast
// CHECK: %[[A:.*]] = kiln.mul %[[ONES]], %[[W]]
// CHECK: %[[B:.*]] = kiln.mul %[[ONES]], %[[W]]
// CHECK: %[[G:.*]] = kiln.add %[[A]], %[[B]]
// CHECK-NOT: kiln.mul
// CHECK: return %{{.*}}, %[[G]]
