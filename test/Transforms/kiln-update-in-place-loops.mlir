// RUN: kiln-opt %s --kiln-update-in-place -split-input-file | FileCheck %s
// A loop's carried buffer is bufferized as a scratch buffer written each
// iteration and copied into the carried one at its end. The write goes to
// the carried buffer itself when nothing else can see the scratch buffer's
// value: uses of it outside the loop come before the loop, or after it past
// a whole overwrite.

#id = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func.func @carried
// CHECK: %[[INIT:.*]] = memref.alloc
// CHECK: %[[TMP:.*]] = memref.alloc
// CHECK: linalg.generic {{.*}} outs(%[[TMP]] : memref<4xf32>)
// CHECK: scf.for {{.*}} iter_args(%[[H:.*]] = %[[INIT]]) ->
// CHECK: linalg.generic {{.*}} ins(%[[H]], %[[TMP]] : memref<4xf32>, memref<4xf32>) outs(%[[H]] : memref<4xf32>)
// CHECK-NOT: linalg.copy
// CHECK: scf.yield %[[H]]
// CHECK: linalg.generic {{.*}} outs(%[[TMP]] : memref<4xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[TMP]]
func.func @carried(%x: memref<4xf32>, %out: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %init = memref.alloc() : memref<4xf32>
  %tmp = memref.alloc() : memref<4xf32>
  // Before the loop: the scratch buffer holds another value.
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : memref<4xf32>) outs(%tmp : memref<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%tmp : memref<4xf32>) outs(%init : memref<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  }
  %h = scf.for %i = %c0 to %c3 step %c1 iter_args(%hi = %init) -> (memref<4xf32>) {
    linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
        ins(%hi : memref<4xf32>) outs(%tmp : memref<4xf32>) {
    ^bb0(%a: f32, %o: f32):
      %y = arith.mulf %a, %a : f32
      linalg.yield %y : f32
    }
    linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]}
        ins(%hi, %tmp : memref<4xf32>, memref<4xf32>) outs(%tmp : memref<4xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %y = arith.addf %a, %b : f32
      linalg.yield %y : f32
    }
    linalg.copy ins(%tmp : memref<4xf32>) outs(%hi : memref<4xf32>)
    scf.yield %hi : memref<4xf32>
  }
  // After the loop: overwritten whole before it is read.
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%h : memref<4xf32>) outs(%tmp : memref<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %y = arith.negf %a : f32
    linalg.yield %y : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%tmp : memref<4xf32>) outs(%out : memref<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  }
  return
}

// -----

#id = affine_map<(d0) -> (d0)>
// After the loop the scratch buffer is read first: it holds the last
// iteration's value there, so the copy stays.
// CHECK-LABEL: func.func @read_after_loop
// CHECK: scf.for
// CHECK: linalg.copy
// CHECK: scf.yield
func.func @read_after_loop(%x: memref<4xf32>, %out: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %init = memref.alloc() : memref<4xf32>
  %tmp = memref.alloc() : memref<4xf32>
  %h = scf.for %i = %c0 to %c3 step %c1 iter_args(%hi = %init) -> (memref<4xf32>) {
    linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
        ins(%hi : memref<4xf32>) outs(%tmp : memref<4xf32>) {
    ^bb0(%a: f32, %o: f32):
      %y = arith.mulf %a, %a : f32
      linalg.yield %y : f32
    }
    linalg.copy ins(%tmp : memref<4xf32>) outs(%hi : memref<4xf32>)
    scf.yield %hi : memref<4xf32>
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%tmp : memref<4xf32>) outs(%out : memref<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  }
  return
}

// -----

#id = affine_map<(d0) -> (d0)>
// A later loop reads it (its first op does not overwrite it whole): the
// copy stays.
// CHECK-LABEL: func.func @read_by_later_loop
// CHECK: scf.for
// CHECK: linalg.copy
// CHECK: scf.yield
func.func @read_by_later_loop(%x: memref<4xf32>, %out: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %init = memref.alloc() : memref<4xf32>
  %tmp = memref.alloc() : memref<4xf32>
  %h = scf.for %i = %c0 to %c3 step %c1 iter_args(%hi = %init) -> (memref<4xf32>) {
    linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
        ins(%hi : memref<4xf32>) outs(%tmp : memref<4xf32>) {
    ^bb0(%a: f32, %o: f32):
      %y = arith.mulf %a, %a : f32
      linalg.yield %y : f32
    }
    linalg.copy ins(%tmp : memref<4xf32>) outs(%hi : memref<4xf32>)
    scf.yield %hi : memref<4xf32>
  }
  scf.for %i = %c0 to %c3 step %c1 {
    linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
        ins(%tmp : memref<4xf32>) outs(%out : memref<4xf32>) {
    ^bb0(%a: f32, %o: f32):
      linalg.yield %a : f32
    }
  }
  return
}

// -----

#id = affine_map<(d0) -> (d0)>
// A view of the scratch buffer made before the loop and read after it sees
// the last iteration's value: the copy stays (the view's reader, not a user
// of the buffer itself, is found by what it accesses).
// CHECK-LABEL: func.func @view_read_after_loop
// CHECK: scf.for
// CHECK: linalg.copy
// CHECK: scf.yield
func.func @view_read_after_loop(%x: memref<4xf32>, %out: memref<2xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %init = memref.alloc() : memref<4xf32>
  %tmp = memref.alloc() : memref<4xf32>
  %half = memref.subview %tmp[0] [2] [1] : memref<4xf32> to memref<2xf32, strided<[1]>>
  %h = scf.for %i = %c0 to %c3 step %c1 iter_args(%hi = %init) -> (memref<4xf32>) {
    linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
        ins(%hi : memref<4xf32>) outs(%tmp : memref<4xf32>) {
    ^bb0(%a: f32, %o: f32):
      %y = arith.mulf %a, %a : f32
      linalg.yield %y : f32
    }
    linalg.copy ins(%tmp : memref<4xf32>) outs(%hi : memref<4xf32>)
    scf.yield %hi : memref<4xf32>
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%half : memref<2xf32, strided<[1]>>) outs(%out : memref<2xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  }
  return
}
