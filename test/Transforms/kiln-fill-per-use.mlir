// RUN: kiln-opt %s --kiln-fill-per-use --split-input-file | FileCheck %s
// RUN: kiln-opt %s --kiln-fill-per-use --one-shot-bufferize="bufferize-function-boundaries" --split-input-file | FileCheck %s --check-prefix=BUF

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

// -----

// Only linalg ops that fill their output from it get a copy: an insert in a
// parallel loop's terminator keeps the original (a fill cannot go there);
// the sum gets its own fill.
// CHECK-LABEL: func.func @other_users
// CHECK: %[[F:.*]] = linalg.fill
// CHECK: scf.forall
// CHECK: tensor.parallel_insert_slice %[[F]]
// CHECK: %[[G:.*]] = linalg.fill
// CHECK: linalg.generic {{.*}} outs(%[[G]]
// BUF-LABEL: func.func @other_users
#pin = affine_map<(i, j) -> (j, i)>
#pout = affine_map<(i, j) -> (i)>
func.func @other_users(%out: tensor<8x4xf32>, %x: tensor<8x4xf32>) -> (tensor<8x4xf32>, tensor<4xf32>) {
  %cst = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4xf32>
  %z = linalg.fill ins(%cst : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %r = scf.forall (%i) in (8) shared_outs(%o = %out) -> tensor<8x4xf32> {
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %z into %o[%i, 0] [1, 4] [1, 1] : tensor<4xf32> into tensor<8x4xf32>
    }
  }
  %s = linalg.generic {indexing_maps = [#pin, #pout], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<8x4xf32>) outs(%z : tensor<4xf32>) {
  ^bb0(%p: f32, %acc: f32):
    %t = arith.addf %acc, %p : f32
    linalg.yield %t : f32
  } -> tensor<4xf32>
  return %r, %s : tensor<8x4xf32>, tensor<4xf32>
}

// -----

// A fill outside a loop whose one user is inside it: the user gets a fill
// of its own in the loop (the original goes), so the loop fills its
// destination instead of copying a filled buffer into it every iteration.
// CHECK-LABEL: func.func @in_loop
// CHECK-NOT: linalg.fill
// CHECK: scf.for
// CHECK: %[[F:.*]] = linalg.fill
// CHECK: linalg.generic {{.*}} outs(%[[F]]
// BUF-LABEL: func.func @in_loop
// BUF-NOT: memref.copy
// BUF-NOT: linalg.copy
// BUF: return
#lin = affine_map<(i, j) -> (i, j)>
#lout = affine_map<(i, j) -> (i)>
#lone = affine_map<(i) -> (i)>
func.func @in_loop(%x: tensor<8x4xf32>, %acc: tensor<8xf32>) -> tensor<8xf32> {
  %cst = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %e = tensor.empty() : tensor<8xf32>
  %z = linalg.fill ins(%cst : f32) outs(%e : tensor<8xf32>) -> tensor<8xf32>
  %r = scf.for %i = %c0 to %c3 step %c1 iter_args(%a = %acc) -> tensor<8xf32> {
    %s = linalg.generic {indexing_maps = [#lin, #lout], iterator_types = ["parallel", "reduction"]}
        ins(%x : tensor<8x4xf32>) outs(%z : tensor<8xf32>) {
    ^bb0(%p: f32, %o: f32):
      %t = arith.addf %o, %p : f32
      linalg.yield %t : f32
    } -> tensor<8xf32>
    %u = linalg.generic {indexing_maps = [#lone, #lone], iterator_types = ["parallel"]}
        ins(%s : tensor<8xf32>) outs(%a : tensor<8xf32>) {
    ^bb0(%p: f32, %o: f32):
      %t = arith.addf %o, %p : f32
      linalg.yield %t : f32
    } -> tensor<8xf32>
    scf.yield %u : tensor<8xf32>
  }
  return %r : tensor<8xf32>
}
