// RUN: kiln-opt %s --kiln-autodiff --canonicalize | FileCheck %s
// Which captures' gradients are summed after the reverse scan and which stay
// accumulated in it. A bias (broadcast in the step: a sum over the batch
// rows per step) becomes one sum over steps and rows of the stacked
// pre-activation gradients; a weight that a step also uses elementwise has a
// term that is no product over rows, so it stays a carried accumulator.

module attributes {kiln.model = {name = "cell"}} {
// CHECK-LABEL: func.func @loss_grad
// CHECK: kiln.scan reverse length = 4 inits(%{{.*}}, %{{.*}} : tensor<2x3xf32>, tensor<3x3xf32>) {{.*}} -> carried(tensor<2x3xf32>, tensor<3x3xf32>) stacked(tensor<4x2x3xf32>) {
// CHECK-NEXT: ^bb0(%{{[a-z0-9_]+}}: tensor<2x3xf32>, %[[ACC:[a-z0-9_]+]]: tensor<3x3xf32>,
// CHECK: %[[DW:.*]] = kiln.matmul %{{.*}}, %{{.*}} transpose_a : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<3x3xf32>
// CHECK: kiln.add %[[ACC]], %{{.*}} : tensor<3x3xf32>
// CHECK: kiln.yield
// CHECK-NEXT: }
// CHECK-NOT: kiln.matmul
// CHECK: kiln.reduce_sum %{{.*}} dims = [0, 1] : tensor<4x2x3xf32> -> tensor<3xf32>
// CHECK-NOT: kiln.matmul
// CHECK: return
func.func @loss(%h0: tensor<2x3xf32> {kiln.param = "h0"}, %xs: tensor<4x2x3xf32>,
                %w: tensor<3x3xf32> {kiln.param = "w"}, %b: tensor<3xf32> {kiln.param = "b"}) -> tensor<f32> {
  %h = kiln.scan length = 4 inits(%h0 : tensor<2x3xf32>) sequences(%xs : tensor<4x2x3xf32>) captures(%w, %b : tensor<3x3xf32>, tensor<3xf32>) -> carried(tensor<2x3xf32>) {
  ^bb0(%c: tensor<2x3xf32>, %x: tensor<2x3xf32>, %ww: tensor<3x3xf32>, %bb: tensor<3xf32>):
    %z = kiln.matmul %c, %ww : tensor<2x3xf32>, tensor<3x3xf32> -> tensor<2x3xf32>
    %d = kiln.reduce_sum %ww dims = [0] : tensor<3x3xf32> -> tensor<3xf32>
    %db = kiln.broadcast %d dims = [1] : tensor<3xf32> -> tensor<2x3xf32>
    %e = kiln.mul %z, %db : tensor<2x3xf32>
    %bc = kiln.broadcast %bb dims = [1] : tensor<3xf32> -> tensor<2x3xf32>
    %s = kiln.add %e, %bc : tensor<2x3xf32>
    %a = kiln.add %s, %x : tensor<2x3xf32>
    %t = kiln.tanh %a : tensor<2x3xf32>
    kiln.yield %t : tensor<2x3xf32>
  }
  %r = kiln.reduce_sum %h dims = [0, 1] : tensor<2x3xf32> -> tensor<f32>
  return %r : tensor<f32>
}
}
