// RUN: kiln-opt %s --kiln-to-linalg | FileCheck %s --check-prefix=CPU
// RUN: kiln-opt %s "--kiln-to-linalg=scatter-per-row=true" | FileCheck %s --check-prefix=GPU

// An embedding's gradient, rows of a 30x4 table summed from 2x5 updates at
// their ids. For the CPU, one loop over the updates (2, 5, then the 4 of a
// row), each added into its clamped id's row: work linear in the updates.
// For the GPU (scatter-per-row), a reduction per table element (v, d) over
// the ids, which reads an update only where the clamped id is v: each
// element its own parallel iteration instead of one thread for them all.
// CPU-LABEL: func.func @grad
// CPU-SAME: %[[D:.*]]: tensor<2x5x4xf32>, %[[IDS:.*]]: tensor<2x5xi32>
// CPU: %[[ZERO:.*]] = linalg.fill {{.*}} -> tensor<30x4xf32>
// CPU: scf.for %[[I:.*]] = %c0 to %c2 {{.*}} iter_args(%{{.*}} = %[[ZERO]])
// CPU: scf.for %[[J:.*]] = %c0 to %c5
// CPU: %[[ID:.*]] = tensor.extract %[[IDS]][%[[I]], %[[J]]]
// CPU: scf.for %[[K:.*]] = %c0 to %c4
// CPU: %[[V:.*]] = tensor.extract %[[D]][%[[I]], %[[J]], %[[K]]]
// CPU: %[[OLD:.*]] = tensor.extract %{{.*}}[%[[ROW:.*]], %[[K]]]
// CPU: %[[SUM:.*]] = arith.addf %[[OLD]], %[[V]]
// CPU: tensor.insert %[[SUM]] into %{{.*}}[%[[ROW]], %[[K]]]
// CPU-NOT: linalg.generic
// GPU-DAG: #[[IDMAP:.*]] = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
// GPU-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1)>
// GPU-LABEL: func.func @grad
// GPU-SAME: %[[D:.*]]: tensor<2x5x4xf32>, %[[IDS:.*]]: tensor<2x5xi32>
// GPU: %[[ZERO:.*]] = linalg.fill {{.*}} -> tensor<30x4xf32>
// GPU: linalg.generic {indexing_maps = [#[[IDMAP]], #[[OUT]]], iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
// GPU-SAME: ins(%[[IDS]] : tensor<2x5xi32>) outs(%[[ZERO]] : tensor<30x4xf32>)
// GPU: ^bb0(%[[ID:.*]]: i32, %[[ACC:.*]]: f32):
// GPU: %[[ROW:.*]] = arith.maxsi
// GPU: %[[V:.*]] = linalg.index 0 : index
// GPU: %[[HIT:.*]] = arith.cmpi eq, %[[ROW]], %[[V]] : index
// GPU: %[[I:.*]] = linalg.index 2 : index
// GPU: %[[J:.*]] = linalg.index 3 : index
// GPU: %[[K:.*]] = linalg.index 1 : index
// GPU: %[[PICK:.*]] = scf.if %[[HIT]] -> (f32) {
// GPU: %[[X:.*]] = tensor.extract %[[D]][%[[I]], %[[J]], %[[K]]]
// GPU: scf.yield %[[X]] : f32
// GPU: } else {
// GPU: scf.yield %{{.*}} : f32
// GPU: %[[SUM:.*]] = arith.addf %[[ACC]], %[[PICK]] : f32
// GPU: linalg.yield %[[SUM]] : f32
// GPU-NOT: scf.for
// GPU: return
func.func @grad(%d: tensor<2x5x4xf32>, %ids: tensor<2x5xi32>) -> tensor<30x4xf32> {
  %g = kiln.scatter_add %d[%ids] : tensor<2x5x4xf32>, tensor<2x5xi32> -> tensor<30x4xf32>
  return %g : tensor<30x4xf32>
}
