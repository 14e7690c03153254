// RUN: kiln-opt %s --kiln-linalg | FileCheck %s
// log_softmax lowers to the stable form x - max - log(sum(exp(x - max))):
// finite wherever x is, unlike log(softmax(x)).
module attributes {kiln.model = {name = "m"}} {
func.func @predict(%x: tensor<4x10xf32> {kiln.input = "x"}) -> tensor<4x10xf32> {
  %y = kiln.log_softmax %x : tensor<4x10xf32>
  return %y : tensor<4x10xf32>
}
}
// Row maxima, then row sums of exp(x - max)...
// CHECK: linalg.generic
// CHECK: arith.maxnumf
// CHECK: linalg.generic
// CHECK: arith.subf
// CHECK-NEXT: math.exp
// CHECK-NEXT: arith.addf
// ...then one pass: (x - max) - log(sum), no exp of the result.
// CHECK: linalg.generic
// CHECK: %[[SHIFTED:.*]] = arith.subf %{{.*}}, %{{.*}} : f32
// CHECK-NEXT: %[[LSE:.*]] = math.log %{{.*}} : f32
// CHECK-NEXT: %[[R:.*]] = arith.subf %[[SHIFTED]], %[[LSE]] : f32
// CHECK-NEXT: linalg.yield %[[R]]
