// RUN: kiln-opt %s --kiln-autodiff --kiln-optimizer | FileCheck %s

module attributes {kiln.model = {name = "m", optimizer = {kind = "sgd", momentum = 0.9 : f64}}} {
func.func @loss(%w: tensor<3xf32> {kiln.param = "w"}, %x: tensor<3xf32> {kiln.input = "x"}) -> tensor<f32> {
  %p = kiln.mul %w, %x : tensor<3xf32>
  %s = kiln.reduce_sum %p dims = [0] : tensor<3xf32> -> tensor<f32>
  return %s : tensor<f32>
}
}

// SGD with momentum keeps one buffer per parameter; new values replace args.
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: %[[W:[a-z0-9]+]]: tensor<3xf32> {kiln.param = "w"}
// CHECK-SAME: %[[BUF:[a-z0-9]+]]: tensor<3xf32> {kiln.state = "w.momentum_buffer"}
// CHECK-SAME: %[[LR:[a-z0-9]+]]: tensor<f32> {kiln.hyper = "lr"}
// CHECK-SAME: -> (tensor<f32>, tensor<3xf32> {kiln.update = 0 : i64}, tensor<3xf32> {kiln.update = 1 : i64})
// CHECK-DAG: %[[LRB:.*]] = kiln.broadcast %[[LR]] dims = [] : tensor<f32> -> tensor<3xf32>
// CHECK-DAG: %[[MU:.*]] = kiln.constant 9.000000e-01 : tensor<3xf32>
// CHECK: %[[SCALED:.*]] = kiln.mul %[[BUF]], %[[MU]]
// CHECK: %[[NEWBUF:.*]] = kiln.add %[[SCALED]], %{{.*}} : tensor<3xf32>
// CHECK: %[[STEP:.*]] = kiln.mul %[[LRB]], %[[NEWBUF]]
// CHECK: %[[NEWW:.*]] = kiln.sub %[[W]], %[[STEP]]
// CHECK: return %{{.*}}, %[[NEWW]], %[[NEWBUF]]
