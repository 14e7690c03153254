// RUN: kiln-opt %s --kiln-abi -split-input-file -verify-diagnostics | FileCheck %s
// kiln-abi wraps train_step and predict into flat-arena entry points whose
// parameters it lists in kiln.roles, and checks them against the lists the
// runtime's typedefs state (runtime/include/kiln/model.h). predict reads the
// state arena at the training step's offsets: the buffer "bn.mean" sits after
// the momentum buffer in both.

// CHECK-LABEL: func.func @kiln_tiny_train_step(
// CHECK-SAME: %{{.*}}: memref<16xf32>, %{{.*}}: memref<32xf32>, %{{.*}}: memref<2x4xf32>, %{{.*}}: memref<2xi32>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<f32>)
// CHECK-SAME: kiln.roles = ["params", "state", "input", "label", "hyper", "loss", "workspace"]
// CHECK-LABEL: func.func @kiln_tiny_predict(
// CHECK-SAME: %{{.*}}: memref<16xf32>, %[[STATE:.*]]: memref<32xf32>, %{{.*}}: memref<2x4xf32>, %{{.*}}: memref<2x4xf32>)
// CHECK-SAME: kiln.roles = ["params", "state", "input", "output", "workspace"]
// CHECK: memref.reinterpret_cast %[[STATE]] to offset: [16], sizes: [4]
module attributes {kiln.model = {name = "tiny"}} {
func.func @train_step(%w: tensor<4xf32> {kiln.param = "w"}, %m: tensor<4xf32> {kiln.state = "w.momentum_buffer"},
                      %b: tensor<4xf32> {kiln.state = "bn.mean"}, %x: tensor<2x4xf32> {kiln.input = "x"},
                      %y: tensor<2xi32> {kiln.label = "y"}, %lr: tensor<f32> {kiln.hyper = "lr"})
    -> (tensor<f32>, tensor<4xf32> {kiln.update = 0 : i64}, tensor<4xf32> {kiln.update = 1 : i64},
        tensor<4xf32> {kiln.update = 2 : i64}) {
  %l = kiln.reduce_sum %w dims = [0] : tensor<4xf32> -> tensor<f32>
  return %l, %w, %m, %b : tensor<f32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}
func.func @predict(%w: tensor<4xf32> {kiln.param = "w"}, %b: tensor<4xf32> {kiln.state = "bn.mean"},
                   %x: tensor<2x4xf32> {kiln.input = "x"}) -> tensor<2x4xf32> {
  %bb = kiln.broadcast %b dims = [1] : tensor<4xf32> -> tensor<2x4xf32>
  %r = kiln.add %x, %bb : tensor<2x4xf32>
  return %r : tensor<2x4xf32>
}
}

// -----

// Several inputs: one parameter each, in order. The runtime passes them as
// one array (unpacked in the object), so they match the typedef's "inputs".
// CHECK-LABEL: func.func @kiln_two_train_step(
// CHECK-SAME: %{{.*}}: memref<16xf32>, %{{.*}}: memref<0xf32>, %{{.*}}: memref<2x4xf32>, %{{.*}}: memref<2x3xi32>, %{{.*}}: memref<2xi32>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<f32>)
// CHECK-SAME: kiln.roles = ["params", "state", "input", "input", "label", "hyper", "loss", "workspace"]
module attributes {kiln.model = {name = "two"}} {
func.func @train_step(%w: tensor<4xf32> {kiln.param = "w"}, %x: tensor<2x4xf32> {kiln.input = "x"},
                      %c: tensor<2x3xi32> {kiln.input = "c"}, %y: tensor<2xi32> {kiln.label = "y"},
                      %lr: tensor<f32> {kiln.hyper = "lr"}) -> (tensor<f32>, tensor<4xf32> {kiln.update = 0 : i64}) {
  %l = kiln.reduce_sum %w dims = [0] : tensor<4xf32> -> tensor<f32>
  return %l, %w : tensor<f32>, tensor<4xf32>
}
}

// -----

// A training step without labels would be called with one pointer more than
// it takes: an internal error, not a mismatched call.
module attributes {kiln.model = {name = "nolabel"}} {
// expected-error @+1 {{internal error: kiln_nolabel_train_step takes (params, state, inputs, hyper, loss, workspace) but the runtime calls it with (params, state, inputs, label, hyper, loss, workspace)}}
func.func @train_step(%w: tensor<4xf32> {kiln.param = "w"}, %x: tensor<2x4xf32> {kiln.input = "x"},
                      %lr: tensor<f32> {kiln.hyper = "lr"}) -> (tensor<f32>, tensor<4xf32> {kiln.update = 0 : i64}) {
  %l = kiln.reduce_sum %w dims = [0] : tensor<4xf32> -> tensor<f32>
  return %l, %w : tensor<f32>, tensor<4xf32>
}
}
