// RUN: kiln-opt %s --kiln-gpu-fold-transposes --split-input-file | FileCheck %s

#t = affine_map<(d0, d1) -> (d1, d0)>
#id = affine_map<(d0, d1) -> (d0, d1)>
#a = affine_map<(i, j, k) -> (i, k)>
#b = affine_map<(i, j, k) -> (k, j)>
#c = affine_map<(i, j, k) -> (i, j)>

// dX = dY W^T: the product reads W at (j, k) instead of W^T at (k, j); the
// transpose, workspace scratch nothing else reads, goes.
// CHECK-DAG: #[[WT:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-LABEL: func.func @dense_grad
// CHECK-SAME: (%[[WS:.*]]: memref<4096xi8>, %[[DY:.*]]: memref<8x10xf32>, %[[W:.*]]: memref<16x10xf32>, %[[DX:.*]]: memref<8x16xf32>)
// CHECK-NOT: linalg.generic {{.*}} ins(%[[W]] : memref<16x10xf32>) outs
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[WT]], #{{.*}}]{{.*}} ins(%[[DY]], %[[W]] : memref<8x10xf32>, memref<16x10xf32>) outs(%[[DX]]
// CHECK-NOT: linalg.generic
func.func @dense_grad(%ws: memref<4096xi8>, %dy: memref<8x10xf32>, %w: memref<16x10xf32>, %dx: memref<8x16xf32>) {
  %c0 = arith.constant 0 : index
  %wt = memref.view %ws[%c0][] : memref<4096xi8> to memref<10x16xf32>
  linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]}
      ins(%w : memref<16x10xf32>) outs(%wt : memref<10x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%dy, %wt : memref<8x10xf32>, memref<10x16xf32>) outs(%dx : memref<8x16xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#t = affine_map<(d0, d1) -> (d1, d0)>
#id = affine_map<(d0, d1) -> (d0, d1)>
#a = affine_map<(i, j, k) -> (i, k)>
#b = affine_map<(i, j, k) -> (k, j)>
#c = affine_map<(i, j, k) -> (i, j)>

// The transpose of a transpose: the product reads the original as it is,
// and both copies go.
// CHECK-LABEL: func.func @double
// CHECK-SAME: (%[[WS:.*]]: memref<4096xi8>, %[[X:.*]]: memref<8x10xf32>, %[[W:.*]]: memref<10x16xf32>, %[[Y:.*]]: memref<8x16xf32>)
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[B:.*]], #{{.*}}]{{.*}} ins(%[[X]], %[[W]] : memref<8x10xf32>, memref<10x16xf32>)
// CHECK-NOT: linalg.generic
func.func @double(%ws: memref<4096xi8>, %x: memref<8x10xf32>, %w: memref<10x16xf32>, %y: memref<8x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1024 = arith.constant 1024 : index
  %wt = memref.view %ws[%c0][] : memref<4096xi8> to memref<16x10xf32>
  %wtt = memref.view %ws[%c1024][] : memref<4096xi8> to memref<10x16xf32>
  linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]}
      ins(%w : memref<10x16xf32>) outs(%wt : memref<16x10xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]}
      ins(%wt : memref<16x10xf32>) outs(%wtt : memref<10x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %wtt : memref<8x10xf32>, memref<10x16xf32>) outs(%y : memref<8x16xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#t = affine_map<(d0, d1) -> (d1, d0)>
#id = affine_map<(d0, d1) -> (d0, d1)>

// The source is written between the copy and the reader: the reader must
// see the old values, so it keeps reading the copy. Another reader of the
// copy that is no linalg.generic keeps the copy too (the first reader, before
// the write, reads the source).
// CHECK-LABEL: func.func @blocked
// CHECK-SAME: (%[[WS:.*]]: memref<4096xi8>, %[[W:.*]]: memref<4x4xf32>, %[[Y:.*]]: memref<4x4xf32>, %[[Z:.*]]: memref<4x4xf32>)
// CHECK: %[[T:.*]] = memref.view
// CHECK: linalg.generic {{.*}} ins(%[[W]] : memref<4x4xf32>) outs(%[[T]] : memref<4x4xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[W]] : memref<4x4xf32>) outs(%[[Y]] : memref<4x4xf32>)
// CHECK: linalg.fill {{.*}} outs(%[[W]]
// CHECK: linalg.generic {{.*}} ins(%[[T]] : memref<4x4xf32>) outs(%[[Z]] : memref<4x4xf32>)
// CHECK: memref.copy %[[T]], %[[Y]]
func.func @blocked(%ws: memref<4096xi8>, %w: memref<4x4xf32>, %y: memref<4x4xf32>, %z: memref<4x4xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %wt = memref.view %ws[%c0][] : memref<4096xi8> to memref<4x4xf32>
  linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]}
      ins(%w : memref<4x4xf32>) outs(%wt : memref<4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%wt : memref<4x4xf32>) outs(%y : memref<4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.negf %in : f32
    linalg.yield %n : f32
  }
  linalg.fill ins(%zero : f32) outs(%w : memref<4x4xf32>)
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%wt : memref<4x4xf32>) outs(%z : memref<4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.negf %in : f32
    linalg.yield %n : f32
  }
  memref.copy %wt, %y : memref<4x4xf32> to memref<4x4xf32>
  return
}

// -----

#t = affine_map<(d0, d1) -> (d1, d0)>
#id = affine_map<(d0, d1) -> (d0, d1)>

// A transpose into an argument (an arena slice or output the caller sees)
// stays, though its reader reads the source.
// CHECK-LABEL: func.func @observable
// CHECK-SAME: (%[[W:.*]]: memref<4x4xf32>, %[[T:.*]]: memref<4x4xf32>, %[[Y:.*]]: memref<4x4xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[W]] : memref<4x4xf32>) outs(%[[T]] : memref<4x4xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[W]] : memref<4x4xf32>) outs(%[[Y]] : memref<4x4xf32>)
func.func @observable(%w: memref<4x4xf32>, %wt: memref<4x4xf32>, %y: memref<4x4xf32>) {
  linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]}
      ins(%w : memref<4x4xf32>) outs(%wt : memref<4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%wt : memref<4x4xf32>) outs(%y : memref<4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.negf %in : f32
    linalg.yield %n : f32
  }
  return
}

// -----

#t = affine_map<(d0, d1) -> (d1, d0)>
#id = affine_map<(d0, d1) -> (d0, d1)>

// A reader that overwrites the copy in place (a relu gradient) reads the
// source; the readers after it read what it wrote, not the transpose, and
// keep reading the buffer. The copy is then dead: overwritten whole before
// anything else reads it.
// CHECK-LABEL: func.func @in_place
// CHECK-SAME: (%[[W:.*]]: memref<4x8xf32>, %[[M:.*]]: memref<8x4xf32>, %[[Y:.*]]: memref<8x4xf32>)
// CHECK: %[[T:.*]] = memref.alloc
// CHECK-NEXT: linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}]{{.*}} ins(%[[M]], %[[W]] : memref<8x4xf32>, memref<4x8xf32>) outs(%[[T]] : memref<8x4xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[T]] : memref<8x4xf32>) outs(%[[Y]] : memref<8x4xf32>)
func.func @in_place(%w: memref<4x8xf32>, %m: memref<8x4xf32>, %y: memref<8x4xf32>) {
  %wt = memref.alloc() : memref<8x4xf32>
  linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]}
      ins(%w : memref<4x8xf32>) outs(%wt : memref<8x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%m, %wt : memref<8x4xf32>, memref<8x4xf32>) outs(%wt : memref<8x4xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %p = arith.mulf %a, %b : f32
    linalg.yield %p : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%wt : memref<8x4xf32>) outs(%y : memref<8x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.negf %in : f32
    linalg.yield %n : f32
  }
  return
}

// -----

#t = affine_map<(d0, d1) -> (d1, d0)>
#id = affine_map<(d0, d1) -> (d0, d1)>

// A transpose the function returns (through a view) is seen by the caller:
// it stays, though its reader reads the source.
// CHECK-LABEL: func.func @returned
// CHECK-SAME: (%[[W:.*]]: memref<4x4xf32>, %[[Y:.*]]: memref<4x4xf32>)
// CHECK: %[[T:.*]] = memref.alloc
// CHECK: linalg.generic {{.*}} ins(%[[W]] : memref<4x4xf32>) outs(%[[T]] : memref<4x4xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[W]] : memref<4x4xf32>) outs(%[[Y]] : memref<4x4xf32>)
// CHECK: return
func.func @returned(%w: memref<4x4xf32>, %y: memref<4x4xf32>) -> memref<16xf32> {
  %wt = memref.alloc() : memref<4x4xf32>
  linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]}
      ins(%w : memref<4x4xf32>) outs(%wt : memref<4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%wt : memref<4x4xf32>) outs(%y : memref<4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.negf %in : f32
    linalg.yield %n : f32
  }
  %flat = memref.collapse_shape %wt [[0, 1]] : memref<4x4xf32> into memref<16xf32>
  return %flat : memref<16xf32>
}

// -----

#t = affine_map<(d0, d1) -> (d1, d0)>
#id = affine_map<(d0, d1) -> (d0, d1)>
#a = affine_map<(i, j, k) -> (i, k)>
#b = affine_map<(i, j, k) -> (k, j)>
#c = affine_map<(i, j, k) -> (i, j)>

// In a loop's body (a recurrent step's weight gradient, h^T dY): the
// transpose goes when its value is unread on the way round to the next
// iteration's copy (a fill overwrites it first) and out of the loop.
// CHECK-LABEL: func.func @in_loop
// CHECK: scf.for
// CHECK-NEXT: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : memref<8x4xf32>, memref<8x16xf32>)
// CHECK-NEXT: ^bb0
// CHECK: linalg.fill
// CHECK-NEXT: }
// CHECK-NEXT: return
func.func @in_loop(%ws: memref<4096xi8>, %h: memref<8x4xf32>, %dy: memref<8x16xf32>, %dw: memref<4x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c5 = arith.constant 5 : index
  %zero = arith.constant 0.0 : f32
  %ht = memref.view %ws[%c0][] : memref<4096xi8> to memref<4x8xf32>
  scf.for %i = %c0 to %c5 step %c1 {
    linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]}
        ins(%h : memref<8x4xf32>) outs(%ht : memref<4x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    }
    linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%ht, %dy : memref<4x8xf32>, memref<8x16xf32>) outs(%dw : memref<4x16xf32>) {
    ^bb0(%p: f32, %q: f32, %acc: f32):
      %m = arith.mulf %p, %q : f32
      %s = arith.addf %acc, %m : f32
      linalg.yield %s : f32
    }
    linalg.fill ins(%zero : f32) outs(%ht : memref<4x8xf32>)
  }
  return
}

// -----

#t = affine_map<(d0, d1) -> (d1, d0)>
#id = affine_map<(d0, d1) -> (d0, d1)>
#a = affine_map<(i, j, k) -> (i, k)>
#b = affine_map<(i, j, k) -> (k, j)>
#c = affine_map<(i, j, k) -> (i, j)>

// The next iteration reads the transpose before its copy (at the loop's
// start), or the code after the loop does: the copies stay.
// CHECK-LABEL: func.func @in_loop_read_next_iteration
// CHECK: scf.for
// CHECK: ins(%{{.*}} : memref<4x8xf32>) outs(%{{.*}} : memref<4x8xf32>)
// CHECK: ins(%{{.*}} : memref<8x4xf32>) outs(%{{.*}} : memref<4x8xf32>)
// CHECK-LABEL: func.func @in_loop_read_after
// CHECK: scf.for
// CHECK: ins(%{{.*}} : memref<8x4xf32>) outs(%{{.*}} : memref<4x8xf32>)
func.func @in_loop_read_next_iteration(%ws: memref<4096xi8>, %h: memref<8x4xf32>, %dy: memref<8x16xf32>, %dw: memref<4x16xf32>, %o: memref<4x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c5 = arith.constant 5 : index
  %ht = memref.view %ws[%c0][] : memref<4096xi8> to memref<4x8xf32>
  scf.for %i = %c0 to %c5 step %c1 {
    linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%ht : memref<4x8xf32>) outs(%o : memref<4x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    }
    linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]}
        ins(%h : memref<8x4xf32>) outs(%ht : memref<4x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    }
    linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%ht, %dy : memref<4x8xf32>, memref<8x16xf32>) outs(%dw : memref<4x16xf32>) {
    ^bb0(%p: f32, %q: f32, %acc: f32):
      %m = arith.mulf %p, %q : f32
      %s = arith.addf %acc, %m : f32
      linalg.yield %s : f32
    }
  }
  return
}
func.func @in_loop_read_after(%ws: memref<4096xi8>, %h: memref<8x4xf32>, %dy: memref<8x16xf32>, %dw: memref<4x16xf32>, %o: memref<4x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c5 = arith.constant 5 : index
  %ht = memref.view %ws[%c0][] : memref<4096xi8> to memref<4x8xf32>
  scf.for %i = %c0 to %c5 step %c1 {
    linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]}
        ins(%h : memref<8x4xf32>) outs(%ht : memref<4x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    }
    linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%ht, %dy : memref<4x8xf32>, memref<8x16xf32>) outs(%dw : memref<4x16xf32>) {
    ^bb0(%p: f32, %q: f32, %acc: f32):
      %m = arith.mulf %p, %q : f32
      %s = arith.addf %acc, %m : f32
      linalg.yield %s : f32
    }
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%ht : memref<4x8xf32>) outs(%o : memref<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  return
}

// -----

#t = affine_map<(d0, d1) -> (d1, d0)>
#a = affine_map<(i, j, k) -> (i, k)>
#bt = affine_map<(i, j, k) -> (j, k)>
#c = affine_map<(i, j, k) -> (i, j)>

// The copy's reader is out of reach (a recurrent step's dh, read by the next
// time step), but its source is scratch that a product just wrote whole
// after a fill, and nothing reads it after the copy: the fill and the
// product write the copy's output, the product through the transposed map,
// and the copy goes (an LSTM's backward step, a launch per time step).
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2) -> (d1, d0)>
// CHECK-LABEL: func.func @into_producer
// CHECK-SAME: (%[[WS:.*]]: memref<4096xi8>, %[[W:.*]]: memref<4x16xf32>, %[[DY:.*]]: memref<8x16xf32>, %[[DH:.*]]: memref<8x4xf32>)
// CHECK: linalg.fill {{.*}} outs(%[[DH]] : memref<8x4xf32>)
// CHECK-NEXT: linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}, #[[OUT]]]{{.*}} ins(%[[W]], %[[DY]] : memref<4x16xf32>, memref<8x16xf32>) outs(%[[DH]] : memref<8x4xf32>)
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @into_producer(%ws: memref<4096xi8>, %w: memref<4x16xf32>, %dy: memref<8x16xf32>, %dh: memref<8x4xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %s = memref.view %ws[%c0][] : memref<4096xi8> to memref<4x8xf32>
  linalg.fill ins(%zero : f32) outs(%s : memref<4x8xf32>)
  linalg.generic {indexing_maps = [#a, #bt, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w, %dy : memref<4x16xf32>, memref<8x16xf32>) outs(%s : memref<4x8xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#t, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%s : memref<4x8xf32>) outs(%dh : memref<8x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  return
}

// -----

#t = affine_map<(d0, d1) -> (d1, d0)>
#id = affine_map<(d0, d1) -> (d0, d1)>

// An elementwise producer (no fill needed) writes the copy's output, a view
// made after it and read by an op the readers' fold cannot change: the
// view moves up before the producer.
// CHECK-LABEL: func.func @elementwise_view_moved
// CHECK-SAME: (%[[WS:.*]]: memref<4096xi8>, %[[X:.*]]: memref<4x8xf32>, %[[Y:.*]]: memref<4x8xf32>, %[[O:.*]]: memref<8x4xf32>)
// CHECK: %[[T:.*]] = memref.view %[[WS]]{{.*}} to memref<8x4xf32>
// CHECK-NEXT: linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}, #[[TR:.*]]]{{.*}} ins(%[[X]], %[[Y]] : memref<4x8xf32>, memref<4x8xf32>) outs(%[[T]] : memref<8x4xf32>)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: arith.addf
// CHECK-NEXT: linalg.yield
// CHECK-NEXT: }
// CHECK-NEXT: memref.copy %[[T]], %[[O]]
func.func @elementwise_view_moved(%ws: memref<4096xi8>, %x: memref<4x8xf32>, %y: memref<4x8xf32>, %o: memref<8x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1024 = arith.constant 1024 : index
  %s = memref.view %ws[%c0][] : memref<4096xi8> to memref<4x8xf32>
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %y : memref<4x8xf32>, memref<4x8xf32>) outs(%s : memref<4x8xf32>) {
  ^bb0(%p: f32, %q: f32, %out: f32):
    %r = arith.addf %p, %q : f32
    linalg.yield %r : f32
  }
  %tv = memref.view %ws[%c1024][] : memref<4096xi8> to memref<8x4xf32>
  linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]}
      ins(%s : memref<4x8xf32>) outs(%tv : memref<8x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  memref.copy %tv, %o : memref<8x4xf32> to memref<8x4xf32>
  return
}

// -----

#t = affine_map<(d0, d1) -> (d1, d0)>
#id = affine_map<(d0, d1) -> (d0, d1)>

// Left alone: the source is read after the copy (@source_read_after); the
// copy's output is read between the producer and the copy (@output_read_between);
// an accumulating producer whose start is not a fill of the whole source
// (@accumulator_not_filled).
// CHECK-LABEL: func.func @source_read_after
// CHECK: linalg.generic {{.*}} outs(%[[S:.*]] : memref<4x8xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[S]] : memref<4x8xf32>) outs(%{{.*}} : memref<8x4xf32>)
// CHECK: memref.copy %[[S]]
func.func @source_read_after(%ws: memref<4096xi8>, %x: memref<4x8xf32>, %dh: memref<8x4xf32>, %o: memref<4x8xf32>) {
  %c0 = arith.constant 0 : index
  %s = memref.view %ws[%c0][] : memref<4096xi8> to memref<4x8xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<4x8xf32>) outs(%s : memref<4x8xf32>) {
  ^bb0(%p: f32, %out: f32):
    %r = arith.negf %p : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]}
      ins(%s : memref<4x8xf32>) outs(%dh : memref<8x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  memref.copy %s, %o : memref<4x8xf32> to memref<4x8xf32>
  return
}

// CHECK-LABEL: func.func @output_read_between
// CHECK-SAME: (%[[WS:.*]]: memref<4096xi8>, %[[X:.*]]: memref<4x8xf32>, %[[DH:.*]]: memref<8x4xf32>, %[[O:.*]]: memref<8x4xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[X]] : memref<4x8xf32>) outs(%[[S:.*]] : memref<4x8xf32>)
// CHECK: memref.copy %[[DH]], %[[O]]
// CHECK: linalg.generic {{.*}} ins(%[[S]] : memref<4x8xf32>) outs(%[[DH]] : memref<8x4xf32>)
func.func @output_read_between(%ws: memref<4096xi8>, %x: memref<4x8xf32>, %dh: memref<8x4xf32>, %o: memref<8x4xf32>) {
  %c0 = arith.constant 0 : index
  %s = memref.view %ws[%c0][] : memref<4096xi8> to memref<4x8xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<4x8xf32>) outs(%s : memref<4x8xf32>) {
  ^bb0(%p: f32, %out: f32):
    %r = arith.negf %p : f32
    linalg.yield %r : f32
  }
  memref.copy %dh, %o : memref<8x4xf32> to memref<8x4xf32>
  linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]}
      ins(%s : memref<4x8xf32>) outs(%dh : memref<8x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  return
}

// CHECK-LABEL: func.func @accumulator_not_filled
// CHECK-SAME: (%[[WS:.*]]: memref<4096xi8>, %[[X:.*]]: memref<4x8xf32>, %[[DH:.*]]: memref<8x4xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[X]] : memref<4x8xf32>) outs(%[[S:.*]] : memref<4x8xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[X]] : memref<4x8xf32>) outs(%[[S]] : memref<4x8xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[S]] : memref<4x8xf32>) outs(%[[DH]] : memref<8x4xf32>)
func.func @accumulator_not_filled(%ws: memref<4096xi8>, %x: memref<4x8xf32>, %dh: memref<8x4xf32>) {
  %c0 = arith.constant 0 : index
  %s = memref.view %ws[%c0][] : memref<4096xi8> to memref<4x8xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<4x8xf32>) outs(%s : memref<4x8xf32>) {
  ^bb0(%p: f32, %out: f32):
    %r = arith.negf %p : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<4x8xf32>) outs(%s : memref<4x8xf32>) {
  ^bb0(%p: f32, %out: f32):
    %r = arith.addf %p, %out : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]}
      ins(%s : memref<4x8xf32>) outs(%dh : memref<8x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  return
}
