// RUN: kiln-opt %s --kiln-fuse | FileCheck %s
// RUN: kiln-opt %s --kiln-linalg | FileCheck %s --check-prefix=UNFUSED
// RUN: kiln-opt %s --kiln-fuse --kiln-linalg | FileCheck %s --check-prefix=FUSED

module attributes {kiln.model = {name = "m"}} {
func.func @predict(%z: tensor<64x256xf32> {kiln.input = "z"}, %b: tensor<256xf32> {kiln.param = "b"}) -> tensor<64x256xf32> {
  %bb = kiln.broadcast %b dims = [1] : tensor<256xf32> -> tensor<64x256xf32>
  %s = kiln.add %z, %bb : tensor<64x256xf32>
  %r = kiln.relu %s : tensor<64x256xf32>
  %c = kiln.constant 2.0 : tensor<64x256xf32>
  %m = kiln.mul %r, %c : tensor<64x256xf32>
  return %m : tensor<64x256xf32>
}
}

// Bias add, activation and scaling become one group; the broadcast and the
// constant move inside it.
// CHECK-LABEL: func.func @predict
// CHECK-NEXT: %[[F:.*]] = kiln.fused(%{{.*}}, %{{.*}} : tensor<64x256xf32>, tensor<256xf32>) -> tensor<64x256xf32> {
// CHECK: kiln.constant
// CHECK: kiln.broadcast
// CHECK: kiln.add
// CHECK: kiln.relu
// CHECK: kiln.mul
// CHECK: kiln.yield
// CHECK-NEXT: }
// CHECK-NEXT: return %[[F]]

// Four loop nests (broadcast, add, relu, mul, plus a fill) without fusion...
// UNFUSED-COUNT-4: linalg.generic
// UNFUSED-NOT: linalg.generic
// ...one with it: the bias is read through an indexing map.
// FUSED: #[[BIAS:.*]] = affine_map<(d0, d1) -> (d1)>
// FUSED: linalg.generic {indexing_maps = [#[[BIAS]], #{{.*}}, #{{.*}}]
// FUSED-NOT: linalg.generic

