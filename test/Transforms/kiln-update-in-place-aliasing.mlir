// RUN: kiln-opt %s --kiln-update-in-place -split-input-file | FileCheck %s

// Where kiln::Place (compiler/Analysis/Aliasing.cpp) decides what may share
// bytes with the arena slice a copy writes: each case reads that slice's old
// bytes through another name between the last write of the temporary and the
// copy, so the write may move into the slice only if the two are apart.

#id = affine_map<(d0) -> (d0)>
// A strided slice covers from its offset to its farthest element (0..6 for
// 4 elements 2 apart), not as many elements as it holds: element 5, read
// after the last write, is inside it. The copy stays.
// CHECK-LABEL: func.func @strided_extent
// CHECK: memref.copy
func.func @strided_extent(%arena: memref<16xf32>, %g: memref<4xf32>, %out: memref<1xf32>) {
  %p = memref.reinterpret_cast %arena to offset: [0], sizes: [4], strides: [2] : memref<16xf32> to memref<4xf32, strided<[2]>>
  %e = memref.reinterpret_cast %arena to offset: [5], sizes: [1], strides: [1] : memref<16xf32> to memref<1xf32, strided<[1], offset: 5>>
  %tmp = memref.alloc() : memref<4xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%g : memref<4xf32>) outs(%tmp : memref<4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.negf %x : f32
    linalg.yield %y : f32
  }
  linalg.copy ins(%e : memref<1xf32, strided<[1], offset: 5>>) outs(%out : memref<1xf32>)
  memref.copy %tmp, %p : memref<4xf32> to memref<4xf32, strided<[2]>>
  return
}

// -----

#id = affine_map<(d0) -> (d0)>
// Element 7 lies past the strided slice's last element (6): the write moves.
// CHECK-LABEL: func.func @strided_apart
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : memref<4xf32, strided<[2]>>)
// CHECK-NOT: memref.copy
func.func @strided_apart(%arena: memref<16xf32>, %g: memref<4xf32>, %out: memref<1xf32>) {
  %p = memref.reinterpret_cast %arena to offset: [0], sizes: [4], strides: [2] : memref<16xf32> to memref<4xf32, strided<[2]>>
  %e = memref.reinterpret_cast %arena to offset: [7], sizes: [1], strides: [1] : memref<16xf32> to memref<1xf32, strided<[1], offset: 7>>
  %tmp = memref.alloc() : memref<4xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%g : memref<4xf32>) outs(%tmp : memref<4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.negf %x : f32
    linalg.yield %y : f32
  }
  linalg.copy ins(%e : memref<1xf32, strided<[1], offset: 7>>) outs(%out : memref<1xf32>)
  memref.copy %tmp, %p : memref<4xf32> to memref<4xf32, strided<[2]>>
  return
}

// -----

#id = affine_map<(d0) -> (d0)>
// A loop that hands its buffer back unchanged (an RNN's hidden state) keeps
// it one buffer: its iteration argument is the allocation, apart from the
// arena the loop reads. The write moves into it.
// CHECK-LABEL: func.func @threaded
// CHECK: scf.for
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : memref<4xf32>)
// CHECK-NOT: memref.copy
func.func @threaded(%arena: memref<16xf32>, %out: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %h0 = memref.alloc() : memref<4xf32>
  %p = memref.reinterpret_cast %arena to offset: [0], sizes: [4], strides: [1] : memref<16xf32> to memref<4xf32, strided<[1]>>
  %tmp = memref.alloc() : memref<4xf32>
  %r = scf.for %i = %c0 to %c3 step %c1 iter_args(%h = %h0) -> (memref<4xf32>) {
    linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]}
        ins(%h, %p : memref<4xf32>, memref<4xf32, strided<[1]>>) outs(%tmp : memref<4xf32>) {
    ^bb0(%x: f32, %w: f32, %o: f32):
      %y = arith.addf %x, %w : f32
      linalg.yield %y : f32
    }
    linalg.copy ins(%p : memref<4xf32, strided<[1]>>) outs(%out : memref<4xf32>)
    memref.copy %tmp, %h : memref<4xf32> to memref<4xf32>
    scf.yield %h : memref<4xf32>
  }
  return
}

// -----

#id = affine_map<(d0) -> (d0)>
// A loop that swaps two buffers: its argument is %a in one iteration and %b in
// the next, so reading %a between the write and the copy may read the
// destination. The copy stays.
// CHECK-LABEL: func.func @swapped
// CHECK: scf.for
// CHECK: memref.copy
func.func @swapped(%out: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %a = memref.alloc() : memref<4xf32>
  %b = memref.alloc() : memref<4xf32>
  %tmp = memref.alloc() : memref<4xf32>
  %r:2 = scf.for %i = %c0 to %c3 step %c1 iter_args(%x = %a, %y = %b) -> (memref<4xf32>, memref<4xf32>) {
    linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
        ins(%y : memref<4xf32>) outs(%tmp : memref<4xf32>) {
    ^bb0(%v: f32, %o: f32):
      %n = arith.negf %v : f32
      linalg.yield %n : f32
    }
    linalg.copy ins(%a : memref<4xf32>) outs(%out : memref<4xf32>)
    memref.copy %tmp, %x : memref<4xf32> to memref<4xf32>
    scf.yield %y, %x : memref<4xf32>, memref<4xf32>
  }
  return
}

// -----

#id = affine_map<(d0) -> (d0)>
// The slice is made only after the last write of the temporary: that write
// cannot name it, so the copy stays (with only memory effects asked, a view
// in between touches nothing, and the write moved above the slice's
// definition: invalid IR).
// CHECK-LABEL: func.func @slice_made_after
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : memref<4xf32>)
// CHECK: memref.reinterpret_cast
// CHECK: memref.copy
func.func @slice_made_after(%arena: memref<16xf32>, %g: memref<4xf32>) {
  %tmp = memref.alloc() : memref<4xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%g : memref<4xf32>) outs(%tmp : memref<4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.negf %x : f32
    linalg.yield %y : f32
  }
  %p = memref.reinterpret_cast %arena to offset: [4], sizes: [4], strides: [1] : memref<16xf32> to memref<4xf32, strided<[1], offset: 4>>
  memref.copy %tmp, %p : memref<4xf32> to memref<4xf32, strided<[1], offset: 4>>
  return
}
