// RUN: kiln-opt %s --kiln-gpu-fuse-into-reductions --split-input-file | FileCheck %s

// A gradient's norm (clipping): its squares, read only by their sum, are
// made in the sum, from one input (x * x reads x once); the copy through a
// transpose before them goes in too, its map composed into the input's.
#id = affine_map<(i, j) -> (i, j)>
#t = affine_map<(i, j) -> (j, i)>
#all = affine_map<(i, j) -> ()>
// CHECK-DAG: #[[T:.*]] = affine_map<(d0, d1) -> (d1, d0)>
// CHECK-DAG: #[[ALL:.*]] = affine_map<(d0, d1) -> ()>
// CHECK-LABEL: func.func @norm_of_transposed
// CHECK-SAME: (%[[G:.*]]: tensor<28x192xf32>, %[[ACC:.*]]: tensor<f32>)
// CHECK-NOT: linalg.generic
// CHECK: %[[S:.*]] = linalg.generic {indexing_maps = [#[[T]], #[[ALL]]], iterator_types = ["reduction", "reduction"]} ins(%[[G]] : tensor<28x192xf32>) outs(%[[ACC]] : tensor<f32>)
// CHECK-NEXT: ^bb0(%[[IN:.*]]: f32, %[[OUT:.*]]: f32):
// CHECK-NEXT: %[[SQ:.*]] = arith.mulf %[[IN]], %[[IN]]
// CHECK-NEXT: %[[SUM:.*]] = arith.addf %[[SQ]], %[[OUT]]
// CHECK-NEXT: linalg.yield %[[SUM]]
// CHECK-NOT: linalg.generic
// CHECK: return %[[S]]
func.func @norm_of_transposed(%g: tensor<28x192xf32>, %acc: tensor<f32>) -> tensor<f32> {
  %e = tensor.empty() : tensor<192x28xf32>
  %gt = linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g : tensor<28x192xf32>) outs(%e : tensor<192x28xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<192x28xf32>
  %sq = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%gt, %gt : tensor<192x28xf32>, tensor<192x28xf32>) outs(%e : tensor<192x28xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<192x28xf32>
  %s = linalg.generic {indexing_maps = [#id, #all], iterator_types = ["reduction", "reduction"]}
      ins(%sq : tensor<192x28xf32>) outs(%acc : tensor<f32>) {
  ^bb0(%in: f32, %out: f32):
    %a = arith.addf %in, %out : f32
    linalg.yield %a : f32
  } -> tensor<f32>
  return %s : tensor<f32>
}

// -----

// Left alone: the squares are read by something else too (fusing would
// make them twice); a product of two tensors (the sum would read two
// tensors where it read one); a matrix product's operand (read once per
// output column, so it would be made that many times).
#id = affine_map<(i, j) -> (i, j)>
#row = affine_map<(i, j) -> (i)>
#a = affine_map<(i, j, k) -> (i, k)>
#b = affine_map<(i, j, k) -> (k, j)>
#c = affine_map<(i, j, k) -> (i, j)>
// CHECK-LABEL: func.func @left_alone
// CHECK-COUNT-6: linalg.generic
// CHECK-NOT: linalg.generic
func.func @left_alone(%x: tensor<8x16xf32>, %y: tensor<8x16xf32>, %w: tensor<16x4xf32>,
                      %r: tensor<8xf32>, %o: tensor<8x4xf32>)
    -> (tensor<8xf32>, tensor<8x16xf32>, tensor<8xf32>, tensor<8x4xf32>) {
  %e = tensor.empty() : tensor<8x16xf32>
  %sq = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<8x16xf32>) outs(%e : tensor<8x16xf32>) {
  ^bb0(%a: f32, %out: f32):
    %m = arith.mulf %a, %a : f32
    linalg.yield %m : f32
  } -> tensor<8x16xf32>
  %s1 = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%sq : tensor<8x16xf32>) outs(%r : tensor<8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %a = arith.addf %in, %out : f32
    linalg.yield %a : f32
  } -> tensor<8xf32>
  %xy = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %y : tensor<8x16xf32>, tensor<8x16xf32>) outs(%e : tensor<8x16xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<8x16xf32>
  %s2 = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%xy : tensor<8x16xf32>) outs(%r : tensor<8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %a = arith.addf %in, %out : f32
    linalg.yield %a : f32
  } -> tensor<8xf32>
  %ey = tensor.empty() : tensor<8x16xf32>
  %ny = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y : tensor<8x16xf32>) outs(%ey : tensor<8x16xf32>) {
  ^bb0(%a: f32, %out: f32):
    %m = arith.negf %a : f32
    linalg.yield %m : f32
  } -> tensor<8x16xf32>
  %p = linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%ny, %w : tensor<8x16xf32>, tensor<16x4xf32>) outs(%o : tensor<8x4xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %m, %out : f32
    linalg.yield %s : f32
  } -> tensor<8x4xf32>
  return %s1, %sq, %s2, %p : tensor<8xf32>, tensor<8x16xf32>, tensor<8xf32>, tensor<8x4xf32>
}
