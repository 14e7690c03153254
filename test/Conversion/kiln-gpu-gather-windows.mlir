// RUN: kiln-opt %s --kiln-gpu-gather-windows --canonicalize --split-input-file | FileCheck %s

// A convolution's image gradient (col2im, stride 1): out[n, c, i + a, j + b]
// += cols[c, a, b, n, i, j]. A thread per output element (n, c, y, x) walks
// the offsets a in [max(0, y - 9), min(5, y + 1)) (i = y - a stays in
// [0, 10)) and b likewise, adding in registers from the fill's value (the
// fill goes), and stores once.
#in = affine_map<(n, c, a, b, i, j) -> (c, a, b, n, i, j)>
#out = affine_map<(n, c, a, b, i, j) -> (n, c, i + a, j + b)>
// CHECK-LABEL: func.func @col2im
// CHECK-SAME: %[[COLS:.*]]: memref<6x5x5x2x10x10xf32>, %[[DX:.*]]: memref<2x6x14x14xf32>
// CHECK-DAG: %[[C5:.*]] = arith.constant 5 : index
// CHECK-DAG: %[[C9:.*]] = arith.constant 9 : index
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NOT: linalg
// CHECK: scf.parallel (%[[N:.*]], %[[C:.*]], %[[Y:.*]], %[[X:.*]]) = ({{.*}}) to (%c2, %c6, %c14, %c14)
// CHECK: %[[FIRST:.*]] = arith.subi %[[Y]], %[[C9]] : index
// CHECK: %[[REACHES:.*]] = arith.cmpi sge, %[[Y]], %[[C9]] : index
// CHECK: %[[LO:.*]] = arith.select %[[REACHES]], %[[FIRST]], %c0 : index
// CHECK: %[[NEXT:.*]] = arith.addi %[[Y]], %c1 : index
// CHECK: %[[HI:.*]] = arith.minui %[[NEXT]], %[[C5]] : index
// CHECK: %[[SUM:.*]] = scf.for %[[A:.*]] = %[[LO]] to %[[HI]] step %c1 iter_args(%[[ACC:.*]] = %[[ZERO]]) -> (f32) {
// CHECK: scf.for %[[B:.*]] = %{{.*}} to %{{.*}} step %c1 iter_args(%[[ACC2:.*]] = %[[ACC]]) -> (f32) {
// CHECK: %[[I:.*]] = arith.subi %[[Y]], %[[A]] : index
// CHECK: %[[J:.*]] = arith.subi %[[X]], %[[B]] : index
// CHECK: %[[V:.*]] = memref.load %[[COLS]][%[[C]], %[[A]], %[[B]], %[[N]], %[[I]], %[[J]]]
// CHECK: arith.addf %[[ACC2]], %[[V]] : f32
// CHECK: memref.store %[[SUM]], %[[DX]][%[[N]], %[[C]], %[[Y]], %[[X]]]
func.func @col2im(%cols: memref<6x5x5x2x10x10xf32>, %dx: memref<2x6x14x14xf32>) {
  %z = arith.constant 0.0 : f32
  linalg.fill ins(%z : f32) outs(%dx : memref<2x6x14x14xf32>)
  linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "parallel", "reduction", "reduction", "reduction", "reduction"]}
      ins(%cols : memref<6x5x5x2x10x10xf32>) outs(%dx : memref<2x6x14x14xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %t = arith.addf %acc, %v : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// Stride 2 (out[.., 2i + a, ..]): the offsets that reach y are those of y's
// parity, from max(y - 12, y mod 2) by 2, and i = (y - a) / 2; rows 15 that
// no window reaches keep what the output held (no fill here: each thread
// starts from the output's value).
#in = affine_map<(n, c, a, b, i, j) -> (c, a, b, n, i, j)>
#out = affine_map<(n, c, a, b, i, j) -> (n, c, i * 2 + a, j * 2 + b)>
// CHECK-LABEL: func.func @strided
// CHECK-DAG: %[[C12:.*]] = arith.constant 12 : index
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[C3:.*]] = arith.constant 3 : index
// CHECK: scf.parallel (%[[N:.*]], %[[C:.*]], %[[Y:.*]], %[[X:.*]]) = ({{.*}}) to (%c2, %c4, %c16, %c16)
// CHECK: %[[FIRST:.*]] = arith.subi %[[Y]], %[[C12]] : index
// CHECK: %[[REACHES:.*]] = arith.cmpi sge, %[[Y]], %[[C12]] : index
// CHECK: %[[PARITY:.*]] = arith.remui %[[Y]], %[[C2]] : index
// CHECK: %[[LO:.*]] = arith.select %[[REACHES]], %[[FIRST]], %[[PARITY]] : index
// CHECK: %[[HI:.*]] = arith.minui %{{.*}}, %[[C3]] : index
// CHECK: %[[START:.*]] = memref.load %{{.*}}[%[[N]], %[[C]], %[[Y]], %[[X]]]
// CHECK: scf.for %[[A:.*]] = %[[LO]] to %[[HI]] step %[[C2]] iter_args(%{{.*}} = %[[START]])
// CHECK: scf.for %[[B:.*]] = %{{.*}} to %{{.*}} step %[[C2]]
// CHECK: %[[DY:.*]] = arith.subi %[[Y]], %[[A]] : index
// CHECK: %[[I:.*]] = arith.divui %[[DY]], %[[C2]] : index
// CHECK: %[[DX:.*]] = arith.subi %[[X]], %[[B]] : index
// CHECK: %[[J:.*]] = arith.divui %[[DX]], %[[C2]] : index
// CHECK: memref.load %{{.*}}[%[[C]], %[[A]], %[[B]], %[[N]], %[[I]], %[[J]]]
func.func @strided(%cols: memref<4x3x3x2x7x7xf32>, %dx: memref<2x4x16x16xf32>) {
  linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "parallel", "reduction", "reduction", "reduction", "reduction"]}
      ins(%cols : memref<4x3x3x2x7x7xf32>) outs(%dx : memref<2x4x16x16xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %t = arith.addf %v, %acc : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// A reduction the output does not index (f) is walked inside the offset,
// in the op's loop order: a, then f.
#x = affine_map<(n, a, f, i) -> (n, a, f, i)>
#o = affine_map<(n, a, f, i) -> (n, i + a)>
// CHECK-LABEL: func.func @other_reduction
// CHECK: scf.parallel (%[[N:.*]], %[[Y:.*]]) = ({{.*}}) to (%c2, %c10)
// CHECK: scf.for %[[A:.*]] = %{{.*}} to %{{.*}} step %c1
// CHECK: scf.for %[[F:.*]] = %c0 to %c4 step %c1
// CHECK: %[[I:.*]] = arith.subi %[[Y]], %[[A]] : index
// CHECK: memref.load %{{.*}}[%[[N]], %[[A]], %[[F]], %[[I]]]
func.func @other_reduction(%x: memref<2x3x4x8xf32>, %y: memref<2x10xf32>) {
  linalg.generic {indexing_maps = [#x, #o], iterator_types = ["parallel", "reduction", "reduction", "reduction"]}
      ins(%x : memref<2x3x4x8xf32>) outs(%y : memref<2x10xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %t = arith.addf %acc, %v : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// Left alone: a window index whose other loop is parallel (each output
// element is not one thread's), an input sharing the output's memory (the
// threads would read elements others write), and a body that is not a sum
// into the output.
#in = affine_map<(n, i, a) -> (n, a, i)>
#par = affine_map<(n, i, a) -> (n, i + a)>
#red = affine_map<(n, a, i) -> (n, i + a)>
#in2 = affine_map<(n, a, i) -> (n, i)>
#win = affine_map<(n, a, i) -> (n, a)>
// CHECK-LABEL: func.func @parallel_partner
// CHECK: linalg.generic
// CHECK-LABEL: func.func @reads_output
// CHECK: linalg.generic
// CHECK-LABEL: func.func @not_a_sum
// CHECK: linalg.generic
// CHECK-NOT: scf.parallel
func.func @parallel_partner(%x: memref<2x3x8xf32>, %y: memref<2x10xf32>) {
  linalg.generic {indexing_maps = [#in, #par], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x : memref<2x3x8xf32>) outs(%y : memref<2x10xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %t = arith.addf %acc, %v : f32
    linalg.yield %t : f32
  }
  return
}
func.func @reads_output(%w: memref<2x8xf32>, %y: memref<2x10xf32>) {
  %x = memref.subview %y[0, 0] [2, 3] [1, 1] : memref<2x10xf32> to memref<2x3xf32, strided<[10, 1]>>
  linalg.generic {indexing_maps = [#in2, #win, #red], iterator_types = ["parallel", "reduction", "reduction"]}
      ins(%w, %x : memref<2x8xf32>, memref<2x3xf32, strided<[10, 1]>>) outs(%y : memref<2x10xf32>) {
  ^bb0(%v: f32, %u: f32, %acc: f32):
    %m = arith.mulf %v, %u : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  }
  return
}
func.func @not_a_sum(%x: memref<2x3x8xf32>, %y: memref<2x10xf32>) {
  linalg.generic {indexing_maps = [#in, #red], iterator_types = ["parallel", "reduction", "reduction"]}
      ins(%x : memref<2x3x8xf32>) outs(%y : memref<2x10xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %t = arith.mulf %acc, %v : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// Both loops step by 1 and the output has fewer positions (2) than the
// window (5): the earlier loop, a, is walked all the same (the work is the
// same either way), so each element adds its terms in the op's order, a
// ascending.
#in = affine_map<(n, a, i) -> (n, a, i)>
#out = affine_map<(n, a, i) -> (n, i + a)>
// CHECK-LABEL: func.func @small_map_big_window
// CHECK: scf.parallel (%[[N:.*]], %[[Y:.*]]) =
// CHECK: scf.for %[[A:.*]] = %{{.*}} to %{{.*}} step %c1
// CHECK: %[[I:.*]] = arith.subi %[[Y]], %[[A]] : index
// CHECK: memref.load %{{.*}}[%[[N]], %[[A]], %[[I]]]
func.func @small_map_big_window(%cols: memref<2x5x2xf32>, %dx: memref<2x6xf32>) {
  linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "reduction", "reduction"]}
      ins(%cols : memref<2x5x2xf32>) outs(%dx : memref<2x6xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %t = arith.addf %acc, %v : f32
    linalg.yield %t : f32
  }
  return
}
