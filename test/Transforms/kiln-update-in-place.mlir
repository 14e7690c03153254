// RUN: kiln-opt %s --kiln-update-in-place -split-input-file | FileCheck %s

#id = affine_map<(d0) -> (d0)>
// A temporary holds the gradient, then (bufferized in place) the new value,
// which is copied into the arena. Only the last write moves to the arena.
// CHECK-LABEL: func.func @sgd
// CHECK: %[[P:.*]] = memref.reinterpret_cast %arg0
// CHECK: %[[TMP:.*]] = memref.alloc
// CHECK: linalg.generic {{.*}} ins(%arg1 : memref<4xf32>) outs(%[[TMP]] : memref<4xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[P]], %[[TMP]] : {{.*}}) outs(%[[P]] : {{.*}})
// CHECK-NOT: memref.copy
func.func @sgd(%arena: memref<16xf32>, %g: memref<4xf32>) {
  %p = memref.reinterpret_cast %arena to offset: [0], sizes: [4], strides: [1] : memref<16xf32> to memref<4xf32, strided<[1]>>
  %tmp = memref.alloc() : memref<4xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%g : memref<4xf32>) outs(%tmp : memref<4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %two = arith.constant 2.0 : f32
    %y = arith.mulf %x, %two : f32
    linalg.yield %y : f32
  }
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]}
      ins(%p, %tmp : memref<4xf32, strided<[1]>>, memref<4xf32>) outs(%tmp : memref<4xf32>) {
  ^bb0(%w: f32, %d: f32, %o: f32):
    %y = arith.subf %w, %d : f32
    linalg.yield %y : f32
  }
  memref.copy %tmp, %p : memref<4xf32> to memref<4xf32, strided<[1]>>
  return
}

// -----

#id = affine_map<(d0) -> (d0)>
// The old value is still read after the last write: the copy stays.
// CHECK-LABEL: func.func @read_after
// CHECK: memref.copy
func.func @read_after(%arena: memref<16xf32>, %out: memref<4xf32>) {
  %p = memref.reinterpret_cast %arena to offset: [0], sizes: [4], strides: [1] : memref<16xf32> to memref<4xf32, strided<[1]>>
  %tmp = memref.alloc() : memref<4xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%p : memref<4xf32, strided<[1]>>) outs(%tmp : memref<4xf32>) {
  ^bb0(%w: f32, %o: f32):
    %y = arith.negf %w : f32
    linalg.yield %y : f32
  }
  linalg.copy ins(%p : memref<4xf32, strided<[1]>>) outs(%out : memref<4xf32>)
  memref.copy %tmp, %p : memref<4xf32> to memref<4xf32, strided<[1]>>
  return
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#t = affine_map<(d0, d1) -> (d1, d0)>
// The writer reads the destination at another index (a transpose): the copy
// stays. A disjoint slice of the same arena does not block the rewrite.
// CHECK-LABEL: func.func @transposed
// CHECK: memref.copy
func.func @transposed(%arena: memref<64xf32>) {
  %p = memref.reinterpret_cast %arena to offset: [0], sizes: [2, 2], strides: [2, 1] : memref<64xf32> to memref<2x2xf32, strided<[2, 1]>>
  %tmp = memref.alloc() : memref<2x2xf32>
  linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]}
      ins(%p : memref<2x2xf32, strided<[2, 1]>>) outs(%tmp : memref<2x2xf32>) {
  ^bb0(%w: f32, %o: f32):
    linalg.yield %w : f32
  }
  memref.copy %tmp, %p : memref<2x2xf32> to memref<2x2xf32, strided<[2, 1]>>
  return
}

// -----

#id = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func.func @disjoint
// CHECK-NOT: memref.copy
func.func @disjoint(%arena: memref<64xf32>, %out: memref<4xf32>) {
  %p = memref.reinterpret_cast %arena to offset: [0], sizes: [4], strides: [1] : memref<64xf32> to memref<4xf32, strided<[1]>>
  %q = memref.reinterpret_cast %arena to offset: [16], sizes: [4], strides: [1] : memref<64xf32> to memref<4xf32, strided<[1], offset: 16>>
  %tmp = memref.alloc() : memref<4xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%p : memref<4xf32, strided<[1]>>) outs(%tmp : memref<4xf32>) {
  ^bb0(%w: f32, %o: f32):
    %y = arith.negf %w : f32
    linalg.yield %y : f32
  }
  linalg.copy ins(%q : memref<4xf32, strided<[1], offset: 16>>) outs(%out : memref<4xf32>)
  memref.copy %tmp, %p : memref<4xf32> to memref<4xf32, strided<[1]>>
  return
}

// -----

// A value built in a time step's slice of a stacked buffer and then
// inserted there: bufferization copies the slice onto itself (two equal
// subviews at the step's offset); the copy goes. A copy between the slices
// of two different steps, or of a column block onto another, stays.
// CHECK-LABEL: func.func @copy_onto_itself
// CHECK-NOT: linalg.copy
// CHECK: return
// CHECK-LABEL: func.func @copies_elsewhere
// CHECK-COUNT-2: linalg.copy
// CHECK: return
func.func @copy_onto_itself(%g: memref<28x32x256xf32>, %t: index) {
  %a = memref.subview %g[%t, 0, 0] [1, 32, 256] [1, 1, 1] : memref<28x32x256xf32> to memref<32x256xf32, strided<[256, 1], offset: ?>>
  %b = memref.subview %g[%t, 0, 0] [1, 32, 256] [1, 1, 1] : memref<28x32x256xf32> to memref<32x256xf32, strided<[256, 1], offset: ?>>
  linalg.copy ins(%a : memref<32x256xf32, strided<[256, 1], offset: ?>>) outs(%b : memref<32x256xf32, strided<[256, 1], offset: ?>>)
  return
}
func.func @copies_elsewhere(%g: memref<28x32x256xf32>, %t: index, %u: index) {
  %a = memref.subview %g[%t, 0, 0] [1, 32, 256] [1, 1, 1] : memref<28x32x256xf32> to memref<32x256xf32, strided<[256, 1], offset: ?>>
  %b = memref.subview %g[%u, 0, 0] [1, 32, 256] [1, 1, 1] : memref<28x32x256xf32> to memref<32x256xf32, strided<[256, 1], offset: ?>>
  linalg.copy ins(%a : memref<32x256xf32, strided<[256, 1], offset: ?>>) outs(%b : memref<32x256xf32, strided<[256, 1], offset: ?>>)
  %c = memref.subview %a[0, 0] [32, 64] [1, 1] : memref<32x256xf32, strided<[256, 1], offset: ?>> to memref<32x64xf32, strided<[256, 1], offset: ?>>
  %d = memref.subview %a[0, 64] [32, 64] [1, 1] : memref<32x256xf32, strided<[256, 1], offset: ?>> to memref<32x64xf32, strided<[256, 1], offset: ?>>
  linalg.copy ins(%c : memref<32x64xf32, strided<[256, 1], offset: ?>>) outs(%d : memref<32x64xf32, strided<[256, 1], offset: ?>>)
  return
}
