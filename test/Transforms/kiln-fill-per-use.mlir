// RUN: kiln-opt %s --kiln-fill-per-use | FileCheck %s
// RUN: kiln-opt %s --kiln-fill-per-use --one-shot-bufferize="bufferize-function-boundaries" | FileCheck %s --check-prefix=BUF

// One zero-filled tensor feeding two unrelated sums: each gets a fill of
// its own right before it, so bufferization fills each destination in
// place (without the pass it fills one buffer and copies it for the second).
#in = affine_map<(i, j) -> (i, j)>
#out = affine_map<(i, j) -> (i)>
// CHECK-LABEL: func.func @two_sums
// CHECK: %[[E:.*]] = tensor.empty
// CHECK: %[[F1:.*]] = linalg.fill ins(%{{.*}}) outs(%[[E]]
// CHECK: linalg.generic {{.*}} outs(%[[F1]]
// CHECK: %[[F2:.*]] = linalg.fill ins(%{{.*}}) outs(%[[E]]
// CHECK: linalg.generic {{.*}} outs(%[[F2]]
// BUF-LABEL: func.func @two_sums
// BUF-NOT: memref.copy
// BUF-NOT: linalg.copy
// BUF: return
func.func @two_sums(%x: tensor<8x4xf32>, %y: tensor<8x4xf32>) -> (tensor<8xf32>, tensor<8xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<8xf32>) -> tensor<8xf32>
  %a = linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<8x4xf32>) outs(%f : tensor<8xf32>) {
  ^bb0(%p: f32, %acc: f32):
    %t = arith.addf %acc, %p : f32
    linalg.yield %t : f32
  } -> tensor<8xf32>
  %b = linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "reduction"]}
      ins(%y : tensor<8x4xf32>) outs(%f : tensor<8xf32>) {
  ^bb0(%p: f32, %acc: f32):
    %t = arith.maximumf %acc, %p : f32
    linalg.yield %t : f32
  } -> tensor<8xf32>
  return %a, %b : tensor<8xf32>, tensor<8xf32>
}
