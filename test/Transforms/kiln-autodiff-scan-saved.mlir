// RUN: kiln-opt %s --kiln-autodiff --canonicalize | FileCheck %s
// What a scan's reverse reads back instead of recomputing: of each product
// of the step, the sum it is added into (each add its only use, on through
// a bias), stacked once where two products meet in one sum; a product read
// by anything else (here a mul, whose reverse reads it) as it is. The
// reverse body makes neither product again: its only products are the
// reverse's own dX; the weights' gradients (dW of each product, two terms
// for the weight used twice) are products over all steps after it.

module attributes {kiln.model = {name = "cell"}} {
// CHECK-LABEL: func.func @loss_grad
// CHECK: %{{.*}}, %[[ST:.*]]:3 = kiln.scan length = 4 {{.*}} stacked(tensor<4x2x3xf32>, tensor<4x2x3xf32>, tensor<4x2x3xf32>) {
// CHECK-NEXT: ^bb0(%[[C:.*]]: tensor<2x3xf32>, %[[X:.*]]: tensor<2x3xf32>, %[[A:.*]]: tensor<3x3xf32>, %[[W:.*]]: tensor<3x3xf32>, %{{.*}}: tensor<3xf32>):
// CHECK: %[[P:.*]] = kiln.matmul %[[X]], %[[A]]
// CHECK: %[[Q:.*]] = kiln.matmul %[[C]], %[[W]]
// CHECK: %[[S:.*]] = kiln.add %[[P]], %[[Q]]
// CHECK: %[[T:.*]] = kiln.add %[[S]], %{{.*}}
// CHECK: %[[G:.*]] = kiln.sigmoid %[[T]]
// CHECK: %[[M:.*]] = kiln.matmul %[[G]], %[[W]]
// CHECK: kiln.yield %{{.*}}, %[[C]], %[[T]], %[[M]]
// CHECK: kiln.scan reverse length = 4 {{.*}} sequences(%[[ST]]#0, %{{.*}}, %[[ST]]#1, %[[ST]]#2 :
// CHECK-NEXT: ^bb0(%{{.*}}: tensor<2x3xf32>, %[[SC:.*]]: tensor<2x3xf32>, %[[SX:.*]]: tensor<2x3xf32>, %[[ST2:.*]]: tensor<2x3xf32>, %[[SM:.*]]: tensor<2x3xf32>,
// CHECK-NOT: kiln.matmul %[[SX]], %{{[a-z0-9_]+}} :
// CHECK-NOT: kiln.matmul %[[SC]], %{{[a-z0-9_]+}} :
// CHECK: %[[SG:.*]] = kiln.sigmoid %[[ST2]]
// CHECK-NOT: kiln.matmul %[[SG]], %{{[a-z0-9_]+}} :
// CHECK: kiln.mul %[[SM]], %[[SC]]
// CHECK: kiln.yield
// CHECK-NEXT: }
// CHECK-COUNT-3: kiln.matmul %{{.*}}, %{{.*}} transpose_a : tensor<8x3xf32>, tensor<8x3xf32> -> tensor<3x3xf32>
// CHECK: kiln.reduce_sum %{{.*}} dims = [0, 1] : tensor<4x2x3xf32> -> tensor<3xf32>
func.func @loss(%h0: tensor<2x3xf32> {kiln.param = "h0"}, %xs: tensor<4x2x3xf32> {kiln.param = "xs"},
                %a: tensor<3x3xf32> {kiln.param = "a"}, %w: tensor<3x3xf32> {kiln.param = "w"},
                %b: tensor<3xf32> {kiln.param = "b"}) -> tensor<f32> {
  %h = kiln.scan length = 4 inits(%h0 : tensor<2x3xf32>) sequences(%xs : tensor<4x2x3xf32>) captures(%a, %w, %b : tensor<3x3xf32>, tensor<3x3xf32>, tensor<3xf32>) -> carried(tensor<2x3xf32>) {
  ^bb0(%c: tensor<2x3xf32>, %x: tensor<2x3xf32>, %aa: tensor<3x3xf32>, %ww: tensor<3x3xf32>, %bb: tensor<3xf32>):
    %p = kiln.matmul %x, %aa : tensor<2x3xf32>, tensor<3x3xf32> -> tensor<2x3xf32>
    %q = kiln.matmul %c, %ww : tensor<2x3xf32>, tensor<3x3xf32> -> tensor<2x3xf32>
    %s = kiln.add %p, %q : tensor<2x3xf32>
    %bc = kiln.broadcast %bb dims = [1] : tensor<3xf32> -> tensor<2x3xf32>
    %t = kiln.add %s, %bc : tensor<2x3xf32>
    %g = kiln.sigmoid %t : tensor<2x3xf32>
    %m = kiln.matmul %g, %ww : tensor<2x3xf32>, tensor<3x3xf32> -> tensor<2x3xf32>
    %k = kiln.mul %m, %c : tensor<2x3xf32>
    %n = kiln.tanh %k : tensor<2x3xf32>
    kiln.yield %n : tensor<2x3xf32>
  }
  %r = kiln.reduce_sum %h dims = [0, 1] : tensor<2x3xf32> -> tensor<f32>
  return %r : tensor<f32>
}
}
