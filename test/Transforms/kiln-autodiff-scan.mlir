// RUN: kiln-opt %s --kiln-autodiff --canonicalize | FileCheck %s
// A scan is differentiated into a reverse scan: the forward scan also
// stacks the carried value each step starts from and what its product is
// summed into (the pre-activation); the reverse scan carries the state's
// adjoint, reads the saved states, the inputs, the outputs' adjoints and the
// saved sums per step, recomputes the step's elementwise ops from them (not
// its product) and stacks the inputs' gradients. The captured weight's
// gradient, a product over the batch rows at each step, is not accumulated
// in the loop: one product over all steps' rows (the saved states and the
// stacked pre-activation gradients, the same stack as the inputs') follows.

module attributes {kiln.model = {name = "rnn"}} {
// CHECK-LABEL: func.func @loss_grad
// CHECK-SAME: (%[[H0:.*]]: tensor<2x3xf32> {kiln.param = "h0"}, %[[XS:.*]]: tensor<4x2x3xf32> {kiln.param = "xs"}, %[[W:.*]]: tensor<3x3xf32> {kiln.param = "w"})
// CHECK: %[[H:.*]], %[[ST:.*]]:3 = kiln.scan length = 4 inits(%[[H0]] : tensor<2x3xf32>) sequences(%[[XS]] : tensor<4x2x3xf32>) captures(%[[W]] : tensor<3x3xf32>) -> carried(tensor<2x3xf32>) stacked(tensor<4x2x3xf32>, tensor<4x2x3xf32>, tensor<4x2x3xf32>) {
// CHECK-NEXT: ^bb0(%[[C:.*]]: tensor<2x3xf32>, %{{.*}}: tensor<2x3xf32>, %{{.*}}: tensor<3x3xf32>):
// CHECK: %[[S:.*]] = kiln.add
// CHECK: kiln.yield %[[N:.*]], %[[N]], %[[C]], %[[S]]
// CHECK: %[[FIN:.*]], %[[DXS:.*]] = kiln.scan reverse length = 4 inits(%{{.*}} : tensor<2x3xf32>) sequences(%[[ST]]#1, %[[XS]], %{{.*}}, %[[ST]]#2 : tensor<4x2x3xf32>, tensor<4x2x3xf32>, tensor<4x2x3xf32>, tensor<4x2x3xf32>) captures(%[[W]] : tensor<3x3xf32>) -> carried(tensor<2x3xf32>) stacked(tensor<4x2x3xf32>) {
// CHECK-NEXT: ^bb0(%[[DC:.*]]: tensor<2x3xf32>, %[[SAVED:.*]]: tensor<2x3xf32>, %[[X:.*]]: tensor<2x3xf32>, %[[DY:.*]]: tensor<2x3xf32>, %[[PRE:.*]]: tensor<2x3xf32>, %[[WW:.*]]: tensor<3x3xf32>):
// CHECK-NOT: kiln.matmul %[[SAVED]], %[[WW]] :
// CHECK: kiln.tanh %[[PRE]]
// CHECK: %[[G:.*]] = kiln.add %[[DC]], %[[DY]]
// CHECK: %[[DPRE:.*]] = kiln.mul %[[G]], %{{.*}}
// CHECK: %[[DPREV:.*]] = kiln.matmul %[[DPRE]], %[[WW]] transpose_b
// CHECK-NOT: kiln.matmul
// CHECK: kiln.yield %[[DPREV]], %[[DPRE]] :
// CHECK-NEXT: }
// CHECK-NEXT: %[[HS:.*]] = kiln.reshape %[[ST]]#1 : tensor<4x2x3xf32> -> tensor<8x3xf32>
// CHECK-NEXT: %[[DS:.*]] = kiln.reshape %[[DXS]] : tensor<4x2x3xf32> -> tensor<8x3xf32>
// CHECK-NEXT: %[[DW:.*]] = kiln.matmul %[[HS]], %[[DS]] transpose_a : tensor<8x3xf32>, tensor<8x3xf32> -> tensor<3x3xf32>
// CHECK: return %{{.*}}, %[[FIN]], %[[DXS]], %[[DW]]
func.func @loss(%h0: tensor<2x3xf32> {kiln.param = "h0"}, %xs: tensor<4x2x3xf32> {kiln.param = "xs"},
                %w: tensor<3x3xf32> {kiln.param = "w"}) -> tensor<f32> {
  %h, %hs = kiln.scan length = 4 inits(%h0 : tensor<2x3xf32>) sequences(%xs : tensor<4x2x3xf32>) captures(%w : tensor<3x3xf32>) -> carried(tensor<2x3xf32>) stacked(tensor<4x2x3xf32>) {
  ^bb0(%c: tensor<2x3xf32>, %x: tensor<2x3xf32>, %ww: tensor<3x3xf32>):
    %z = kiln.matmul %c, %ww : tensor<2x3xf32>, tensor<3x3xf32> -> tensor<2x3xf32>
    %s = kiln.add %z, %x : tensor<2x3xf32>
    %n = kiln.tanh %s : tensor<2x3xf32>
    kiln.yield %n, %n : tensor<2x3xf32>, tensor<2x3xf32>
  }
  %a = kiln.reduce_sum %h dims = [0, 1] : tensor<2x3xf32> -> tensor<f32>
  %sq = kiln.mul %hs, %hs : tensor<4x2x3xf32>
  %b = kiln.reduce_sum %sq dims = [0, 1, 2] : tensor<4x2x3xf32> -> tensor<f32>
  %r = kiln.add %a, %b : tensor<f32>
  return %r : tensor<f32>
}
}
