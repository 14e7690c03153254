// RUN: kiln-opt %s --kiln-fuse | FileCheck %s

// A broadcast of a value computed by another group (batch norm's per-channel
// scale, sqrt(var+eps)*gamma) moves into the group that reads it, even when
// that group starts before the scale is computed and is materialized first: it
// is an index map there, never a buffer. (Groups were once materialized in
// pointer order and the broadcast absorbed only when its source's group came
// first: a release build and a sanitizer build gave resnet_small's step 218
// and 215 launches.)
module attributes {kiln.model = {name = "m"}} {
func.func @predict(%x: tensor<2x3xf32> {kiln.input = "x"}, %v: tensor<3xf32> {kiln.param = "v"}, %g: tensor<3xf32> {kiln.param = "g"}) -> (tensor<2x3xf32>, tensor<2x3xf32>) {
  %q = kiln.mul %x, %x : tensor<2x3xf32>
  %e = kiln.constant 1.0e-05 : tensor<3xf32>
  %s0 = kiln.add %v, %e : tensor<3xf32>
  %s1 = kiln.sqrt %s0 : tensor<3xf32>
  %s2 = kiln.mul %s1, %g : tensor<3xf32>
  %sb = kiln.broadcast %s2 dims = [1] : tensor<3xf32> -> tensor<2x3xf32>
  %y = kiln.mul %q, %sb : tensor<2x3xf32>
  %r = kiln.relu %y : tensor<2x3xf32>
  %w = kiln.exp %r : tensor<2x3xf32>
  %z = kiln.sub %w, %sb : tensor<2x3xf32>
  return %r, %z : tensor<2x3xf32>, tensor<2x3xf32>
}
}

// CHECK-LABEL: func.func @predict
// CHECK-SAME:    %[[X:[^:]+]]: tensor<2x3xf32> {kiln.input = "x"}
// CHECK-NEXT: %[[S:.*]] = kiln.fused
// CHECK:        kiln.sqrt
// CHECK:        kiln.yield
// CHECK-NEXT: }
// CHECK-NOT:  kiln.broadcast
// CHECK:      %[[F:.*]]:2 = kiln.fused(%[[X]], %[[S]] : tensor<2x3xf32>, tensor<3xf32>)
// CHECK:        kiln.broadcast
// CHECK:        kiln.mul
// CHECK:        kiln.mul
// CHECK:        kiln.relu
// CHECK:        kiln.exp
// CHECK:        kiln.sub
// CHECK:        kiln.yield
// CHECK-NEXT: }
// CHECK-NEXT: return %[[F]]#0, %[[F]]#1
