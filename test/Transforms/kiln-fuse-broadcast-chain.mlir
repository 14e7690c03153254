// RUN: kiln-opt %s --kiln-fuse | FileCheck %s
// RUN: kiln-opt %s --kiln-fuse --kiln-linalg | FileCheck %s --check-prefix=LINALG

// A broadcast of a broadcast moves into the group whole, inner one first, and
// its source becomes the group's input.
module attributes {kiln.model = {name = "m"}} {
func.func @predict(%z: tensor<2x3x4xf32> {kiln.input = "z"}, %b: tensor<3xf32> {kiln.param = "b"}) -> tensor<2x3x4xf32> {
  %b1 = kiln.broadcast %b dims = [0] : tensor<3xf32> -> tensor<3x4xf32>
  %b2 = kiln.broadcast %b1 dims = [1, 2] : tensor<3x4xf32> -> tensor<2x3x4xf32>
  %s = kiln.add %z, %b2 : tensor<2x3x4xf32>
  %r = kiln.relu %s : tensor<2x3x4xf32>
  return %r : tensor<2x3x4xf32>
}
}

// CHECK-LABEL: func.func @predict
// CHECK-SAME:    %[[Z:[^:]+]]: tensor<2x3x4xf32> {kiln.input = "z"}, %[[B:[^:]+]]: tensor<3xf32>
// CHECK-NEXT: %[[F:.*]] = kiln.fused(%[[Z]], %[[B]] : tensor<2x3x4xf32>, tensor<3xf32>) -> tensor<2x3x4xf32> {
// CHECK-NEXT: ^bb0(%[[IZ:.*]]: tensor<2x3x4xf32>, %[[IB:.*]]: tensor<3xf32>):
// CHECK-NEXT:   %[[I1:.*]] = kiln.broadcast %[[IB]] dims = [0]
// CHECK-NEXT:   %[[I2:.*]] = kiln.broadcast %[[I1]] dims = [1, 2]
// CHECK-NEXT:   %[[S:.*]] = kiln.add %[[IZ]], %[[I2]]
// CHECK-NEXT:   %[[R:.*]] = kiln.relu %[[S]]
// CHECK-NEXT:   kiln.yield %[[R]]
// CHECK-NEXT: }
// CHECK-NEXT: return %[[F]]

// One loop nest; the bias is read at the composed index (d1).
// LINALG: #[[BIAS:.*]] = affine_map<(d0, d1, d2) -> (d1)>
// LINALG: linalg.generic {indexing_maps = [#[[BIAS]], #{{.*}}, #{{.*}}]
// LINALG-NOT: linalg.generic
