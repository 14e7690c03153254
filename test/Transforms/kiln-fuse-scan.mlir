// RUN: kiln-opt %s --pass-pipeline='builtin.module(func.func(kiln-fuse))' | FileCheck %s
// Fusion groups each scan body on its own (bodies are isolated from above):
// the cell's bias add and tanh become one kiln.fused inside the body, and
// the body's yield reads the group's result.

// CHECK-LABEL: func.func @rnn
// CHECK: kiln.scan length = 5
// CHECK: ^bb0(%[[H:.*]]: tensor<2x3xf32>, %[[X:.*]]: tensor<2x3xf32>, %[[W:.*]]: tensor<3x3xf32>, %[[B:.*]]: tensor<3xf32>):
// CHECK: %[[Z:.*]] = kiln.matmul %[[H]], %[[W]]
// CHECK: %[[F:.*]] = kiln.fused(%[[Z]], %[[B]], %[[X]] : tensor<2x3xf32>, tensor<3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32> {
// CHECK: kiln.broadcast
// CHECK: kiln.add
// CHECK: kiln.add
// CHECK: kiln.tanh
// CHECK: kiln.yield %[[F]] : tensor<2x3xf32>
func.func @rnn(%h0: tensor<2x3xf32>, %xs: tensor<5x2x3xf32>, %w: tensor<3x3xf32>, %b: tensor<3xf32>) -> tensor<2x3xf32> {
  %h = kiln.scan length = 5 inits(%h0 : tensor<2x3xf32>) sequences(%xs : tensor<5x2x3xf32>) captures(%w, %b : tensor<3x3xf32>, tensor<3xf32>) -> carried(tensor<2x3xf32>) {
  ^bb0(%c: tensor<2x3xf32>, %x: tensor<2x3xf32>, %ww: tensor<3x3xf32>, %bb: tensor<3xf32>):
    %z = kiln.matmul %c, %ww : tensor<2x3xf32>, tensor<3x3xf32> -> tensor<2x3xf32>
    %bc = kiln.broadcast %bb dims = [1] : tensor<3xf32> -> tensor<2x3xf32>
    %s = kiln.add %z, %bc : tensor<2x3xf32>
    %t = kiln.add %s, %x : tensor<2x3xf32>
    %n = kiln.tanh %t : tensor<2x3xf32>
    kiln.yield %n : tensor<2x3xf32>
  }
  return %h : tensor<2x3xf32>
}
