// RUN: kiln-opt %s --kiln-autodiff --canonicalize | FileCheck %s

// A state update after the loss (a buffer's next value) passes through
// undifferentiated, after the gradients, keeping its mark.
// CHECK-LABEL: func.func @loss_grad
// CHECK-SAME: -> (tensor<f32>, tensor<2xf32>, tensor<2xf32> {kiln.state_update = "running"})
// CHECK: %[[NEXT:.*]] = kiln.add %{{.*}}, %{{.*}} : tensor<2xf32>
// CHECK: return %{{.*}}, %{{.*}}, %[[NEXT]]
module attributes {kiln.model = {name = "buffered"}} {
func.func @loss(%w: tensor<2xf32> {kiln.param = "w"}, %r: tensor<2xf32> {kiln.state = "running"})
    -> (tensor<f32>, tensor<2xf32> {kiln.state_update = "running"}) {
  %m = kiln.mul %w, %w : tensor<2xf32>
  %l = kiln.reduce_sum %m dims = [0] : tensor<2xf32> -> tensor<f32>
  %n = kiln.add %r, %w : tensor<2xf32>
  return %l, %n : tensor<f32>, tensor<2xf32>
}
}
