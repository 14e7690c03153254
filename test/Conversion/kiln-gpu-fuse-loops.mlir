// RUN: kiln-opt %s --kiln-gpu-fuse-loops --split-input-file | FileCheck %s

// A classifier's loss over 64 rows: each row's max, its sum of exponentials
// (reading that row's max), its label's logit. One loop; the bodies keep
// their order.
// CHECK-LABEL: func.func @rows
// CHECK:      scf.parallel
// CHECK:        arith.maxnumf
// CHECK:        memref.store {{.*}} %[[MAX:.*]][%{{.*}}] : memref<64xf32>
// CHECK:        math.exp
// CHECK:        memref.store
// CHECK:        arith.select
// CHECK:        memref.store
// CHECK-NOT:  scf.parallel
func.func @rows(%ws: memref<4096xi8>, %labels: memref<64xi32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c10 = arith.constant 10 : index
  %c64 = arith.constant 64 : index
  %c2560 = arith.constant 2560 : index
  %c2816 = arith.constant 2816 : index
  %c3072 = arith.constant 3072 : index
  %zero = arith.constant 0.0 : f32
  %logits = memref.view %ws[%c0][] : memref<4096xi8> to memref<64x10xf32>
  %max = memref.view %ws[%c2560][] : memref<4096xi8> to memref<64xf32>
  scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
    %m = scf.for %j = %c0 to %c10 step %c1 iter_args(%acc = %zero) -> (f32) {
      %x = memref.load %logits[%i, %j] : memref<64x10xf32>
      %y = arith.maxnumf %x, %acc : f32
      scf.yield %y : f32
    }
    memref.store %m, %max[%i] : memref<64xf32>
    scf.reduce
  }
  %sum = memref.view %ws[%c2816][] : memref<4096xi8> to memref<64xf32>
  scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
    %s = scf.for %j = %c0 to %c10 step %c1 iter_args(%acc = %zero) -> (f32) {
      %x = memref.load %logits[%i, %j] : memref<64x10xf32>
      %m = memref.load %max[%i] : memref<64xf32>
      %d = arith.subf %x, %m : f32
      %e = math.exp %d : f32
      %y = arith.addf %e, %acc : f32
      scf.yield %y : f32
    }
    memref.store %s, %sum[%i] : memref<64xf32>
    scf.reduce
  }
  %picked = memref.view %ws[%c3072][] : memref<4096xi8> to memref<64xf32>
  scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
    %p = scf.for %j = %c0 to %c10 step %c1 iter_args(%acc = %zero) -> (f32) {
      %x = memref.load %logits[%i, %j] : memref<64x10xf32>
      %l = memref.load %labels[%i] : memref<64xi32>
      %jj = arith.index_cast %j : index to i32
      %is = arith.cmpi eq, %jj, %l : i32
      %v = arith.select %is, %x, %zero : f32
      %y = arith.addf %acc, %v : f32
      scf.yield %y : f32
    }
    memref.store %p, %picked[%i] : memref<64xf32>
    scf.reduce
  }
  return
}

// -----

// A scalar store between the loops touches nothing the first loop does: it
// moves above it and the loops fuse. An element overwritten in place (read
// by the first loop, written by the second, at the same index) is fine.
// CHECK-LABEL: func.func @hoist_and_overwrite
// CHECK:      memref.store %{{.*}}, %[[S:.*]][] : memref<f32>
// CHECK-NEXT: scf.parallel
// CHECK:        memref.load %[[S]][]
// CHECK-NOT:  scf.parallel
func.func @hoist_and_overwrite(%x: memref<64x10xf32>, %y: memref<64x10xf32>, %s: memref<f32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c10 = arith.constant 10 : index
  %c64 = arith.constant 64 : index
  %half = arith.constant 0.5 : f32
  scf.parallel (%i, %j) = (%c0, %c0) to (%c64, %c10) step (%c1, %c1) {
    %v = memref.load %x[%i, %j] : memref<64x10xf32>
    %e = math.exp %v : f32
    memref.store %e, %y[%i, %j] : memref<64x10xf32>
    scf.reduce
  }
  memref.store %half, %s[] : memref<f32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%c64, %c10) step (%c1, %c1) {
    %k = memref.load %s[] : memref<f32>
    %v = memref.load %y[%i, %j] : memref<64x10xf32>
    %w = arith.mulf %v, %k : f32
    memref.store %w, %x[%i, %j] : memref<64x10xf32>
    scf.reduce
  }
  return
}

// -----

// The second loop reads the next row's value: another iteration's. Apart.
// CHECK-LABEL: func.func @neighbour
// CHECK: scf.parallel
// CHECK: scf.parallel
func.func @neighbour(%x: memref<65xf32>, %y: memref<65xf32>, %z: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
    %v = memref.load %x[%i] : memref<65xf32>
    memref.store %v, %y[%i] : memref<65xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
    %n = arith.addi %i, %c1 : index
    %v = memref.load %y[%n] : memref<65xf32>
    memref.store %v, %z[%i] : memref<64xf32>
    scf.reduce
  }
  return
}

// -----

// Every j writes row i's element: not one iteration's. Apart.
// CHECK-LABEL: func.func @shared_element
// CHECK: scf.parallel
// CHECK: scf.parallel
func.func @shared_element(%x: memref<64x10xf32>, %y: memref<64xf32>, %z: memref<64x10xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c10 = arith.constant 10 : index
  %c64 = arith.constant 64 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c64, %c10) step (%c1, %c1) {
    %v = memref.load %x[%i, %j] : memref<64x10xf32>
    memref.store %v, %y[%i] : memref<64xf32>
    scf.reduce
  }
  scf.parallel (%i, %j) = (%c0, %c0) to (%c64, %c10) step (%c1, %c1) {
    %v = memref.load %y[%i] : memref<64xf32>
    memref.store %v, %z[%i, %j] : memref<64x10xf32>
    scf.reduce
  }
  return
}

// -----

// A transpose: element (i, j) written, (j, i) read. Apart.
// CHECK-LABEL: func.func @transposed
// CHECK: scf.parallel
// CHECK: scf.parallel
func.func @transposed(%x: memref<16x16xf32>, %y: memref<16x16xf32>, %z: memref<16x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c16, %c16) step (%c1, %c1) {
    %v = memref.load %x[%i, %j] : memref<16x16xf32>
    memref.store %v, %y[%i, %j] : memref<16x16xf32>
    scf.reduce
  }
  scf.parallel (%i, %j) = (%c0, %c0) to (%c16, %c16) step (%c1, %c1) {
    %v = memref.load %y[%j, %i] : memref<16x16xf32>
    memref.store %v, %z[%i, %j] : memref<16x16xf32>
    scf.reduce
  }
  return
}

// -----

// Two views of the workspace sharing bytes under different names: what is
// written through one cannot be matched to what is read through the other.
// Apart. Views whose bytes do not meet fuse.
// CHECK-LABEL: func.func @overlapping_views
// CHECK: scf.parallel
// CHECK: scf.parallel
// CHECK-LABEL: func.func @separate_views
// CHECK: scf.parallel
// CHECK-NOT: scf.parallel
func.func @overlapping_views(%ws: memref<1024xi8>, %x: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c128 = arith.constant 128 : index
  %a = memref.view %ws[%c0][] : memref<1024xi8> to memref<64xf32>
  %b = memref.view %ws[%c128][] : memref<1024xi8> to memref<64xf32>
  scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
    %v = memref.load %x[%i] : memref<64xf32>
    memref.store %v, %a[%i] : memref<64xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
    %v = memref.load %b[%i] : memref<64xf32>
    memref.store %v, %x[%i] : memref<64xf32>
    scf.reduce
  }
  return
}
func.func @separate_views(%ws: memref<1024xi8>, %x: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c256 = arith.constant 256 : index
  %a = memref.view %ws[%c0][] : memref<1024xi8> to memref<64xf32>
  %b = memref.view %ws[%c256][] : memref<1024xi8> to memref<64xf32>
  scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
    %v = memref.load %x[%i] : memref<64xf32>
    memref.store %v, %a[%i] : memref<64xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
    %v = memref.load %b[%i] : memref<64xf32>
    memref.store %v, %x[%i] : memref<64xf32>
    scf.reduce
  }
  return
}

// -----

// Column blocks of one row-major buffer (a concat of gate gradients, the
// gates it overwrites): their byte ranges interleave, but with rows wider
// than two blocks no element is in two of them (kiln::Place's grid), so a
// loop writing one block and a loop reading another fuse. Blocks that share
// columns (0..63 and 60..123), or the same columns a row apart, stay apart.
// CHECK-LABEL: func.func @column_blocks
// CHECK: scf.parallel
// CHECK-NOT: scf.parallel
// CHECK-LABEL: func.func @column_blocks_meeting
// CHECK: scf.parallel
// CHECK: scf.parallel
// CHECK-LABEL: func.func @row_shifted_block
// CHECK: scf.parallel
// CHECK: scf.parallel
func.func @column_blocks(%g: memref<32x256xf32>, %t: memref<32x64xf32>, %o: memref<32x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  %f = memref.subview %g[0, 64] [32, 64] [1, 1] : memref<32x256xf32> to memref<32x64xf32, strided<[256, 1], offset: 64>>
  %i = memref.subview %g[0, 0] [32, 64] [1, 1] : memref<32x256xf32> to memref<32x64xf32, strided<[256, 1]>>
  scf.parallel (%r, %c) = (%c0, %c0) to (%c32, %c64) step (%c1, %c1) {
    %v = memref.load %f[%r, %c] : memref<32x64xf32, strided<[256, 1], offset: 64>>
    memref.store %v, %o[%r, %c] : memref<32x64xf32>
    scf.reduce
  }
  scf.parallel (%r, %c) = (%c0, %c0) to (%c32, %c64) step (%c1, %c1) {
    %v = memref.load %t[%r, %c] : memref<32x64xf32>
    memref.store %v, %i[%r, %c] : memref<32x64xf32, strided<[256, 1]>>
    scf.reduce
  }
  return
}
func.func @column_blocks_meeting(%g: memref<32x256xf32>, %t: memref<32x64xf32>, %o: memref<32x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  %f = memref.subview %g[0, 60] [32, 64] [1, 1] : memref<32x256xf32> to memref<32x64xf32, strided<[256, 1], offset: 60>>
  %i = memref.subview %g[0, 0] [32, 64] [1, 1] : memref<32x256xf32> to memref<32x64xf32, strided<[256, 1]>>
  scf.parallel (%r, %c) = (%c0, %c0) to (%c32, %c64) step (%c1, %c1) {
    %v = memref.load %f[%r, %c] : memref<32x64xf32, strided<[256, 1], offset: 60>>
    memref.store %v, %o[%r, %c] : memref<32x64xf32>
    scf.reduce
  }
  scf.parallel (%r, %c) = (%c0, %c0) to (%c32, %c64) step (%c1, %c1) {
    %v = memref.load %t[%r, %c] : memref<32x64xf32>
    memref.store %v, %i[%r, %c] : memref<32x64xf32, strided<[256, 1]>>
    scf.reduce
  }
  return
}
func.func @row_shifted_block(%g: memref<33x256xf32>, %t: memref<32x64xf32>, %o: memref<32x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  %f = memref.subview %g[1, 0] [32, 64] [1, 1] : memref<33x256xf32> to memref<32x64xf32, strided<[256, 1], offset: 256>>
  %i = memref.subview %g[0, 0] [32, 64] [1, 1] : memref<33x256xf32> to memref<32x64xf32, strided<[256, 1]>>
  scf.parallel (%r, %c) = (%c0, %c0) to (%c32, %c64) step (%c1, %c1) {
    %v = memref.load %f[%r, %c] : memref<32x64xf32, strided<[256, 1], offset: 256>>
    memref.store %v, %o[%r, %c] : memref<32x64xf32>
    scf.reduce
  }
  scf.parallel (%r, %c) = (%c0, %c0) to (%c32, %c64) step (%c1, %c1) {
    %v = memref.load %t[%r, %c] : memref<32x64xf32>
    memref.store %v, %i[%r, %c] : memref<32x64xf32, strided<[256, 1]>>
    scf.reduce
  }
  return
}


// -----

// The same inside a time step's slice of a stacked tensor (its offset the
// step's index, so no byte range is known): column blocks of that slice are
// told apart by their grids relative to it, and a block read through two
// equal views of the slice is the same elements (a loop writing it and one
// reading it fuse). Blocks sharing columns stay apart.
// CHECK-LABEL: func.func @column_blocks_of_step
// CHECK: scf.parallel
// CHECK-NOT: scf.parallel
// CHECK-LABEL: func.func @same_block_of_step
// CHECK: scf.parallel
// CHECK-NOT: scf.parallel
// CHECK-LABEL: func.func @meeting_blocks_of_step
// CHECK: scf.parallel
// CHECK: scf.parallel
func.func @column_blocks_of_step(%g: memref<28x32x256xf32>, %step: index, %t: memref<32x64xf32>, %o: memref<32x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  %s = memref.subview %g[%step, 0, 0] [1, 32, 256] [1, 1, 1] : memref<28x32x256xf32> to memref<32x256xf32, strided<[256, 1], offset: ?>>
  %f = memref.subview %s[0, 64] [32, 64] [1, 1] : memref<32x256xf32, strided<[256, 1], offset: ?>> to memref<32x64xf32, strided<[256, 1], offset: ?>>
  %i = memref.subview %s[0, 0] [32, 64] [1, 1] : memref<32x256xf32, strided<[256, 1], offset: ?>> to memref<32x64xf32, strided<[256, 1], offset: ?>>
  scf.parallel (%r, %c) = (%c0, %c0) to (%c32, %c64) step (%c1, %c1) {
    %v = memref.load %f[%r, %c] : memref<32x64xf32, strided<[256, 1], offset: ?>>
    memref.store %v, %o[%r, %c] : memref<32x64xf32>
    scf.reduce
  }
  scf.parallel (%r, %c) = (%c0, %c0) to (%c32, %c64) step (%c1, %c1) {
    %v = memref.load %t[%r, %c] : memref<32x64xf32>
    memref.store %v, %i[%r, %c] : memref<32x64xf32, strided<[256, 1], offset: ?>>
    scf.reduce
  }
  return
}
func.func @same_block_of_step(%g: memref<28x32x256xf32>, %step: index, %t: memref<32x64xf32>, %o: memref<32x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  %s = memref.subview %g[%step, 0, 0] [1, 32, 256] [1, 1, 1] : memref<28x32x256xf32> to memref<32x256xf32, strided<[256, 1], offset: ?>>
  %w = memref.subview %s[0, 64] [32, 64] [1, 1] : memref<32x256xf32, strided<[256, 1], offset: ?>> to memref<32x64xf32, strided<[256, 1], offset: ?>>
  %s2 = memref.subview %g[%step, 0, 0] [1, 32, 256] [1, 1, 1] : memref<28x32x256xf32> to memref<32x256xf32, strided<[256, 1], offset: ?>>
  %r2 = memref.subview %s2[0, 64] [32, 64] [1, 1] : memref<32x256xf32, strided<[256, 1], offset: ?>> to memref<32x64xf32, strided<[256, 1], offset: ?>>
  scf.parallel (%r, %c) = (%c0, %c0) to (%c32, %c64) step (%c1, %c1) {
    %v = memref.load %t[%r, %c] : memref<32x64xf32>
    memref.store %v, %w[%r, %c] : memref<32x64xf32, strided<[256, 1], offset: ?>>
    scf.reduce
  }
  scf.parallel (%r, %c) = (%c0, %c0) to (%c32, %c64) step (%c1, %c1) {
    %v = memref.load %r2[%r, %c] : memref<32x64xf32, strided<[256, 1], offset: ?>>
    memref.store %v, %o[%r, %c] : memref<32x64xf32>
    scf.reduce
  }
  return
}
func.func @meeting_blocks_of_step(%g: memref<28x32x256xf32>, %step: index, %t: memref<32x64xf32>, %o: memref<32x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  %s = memref.subview %g[%step, 0, 0] [1, 32, 256] [1, 1, 1] : memref<28x32x256xf32> to memref<32x256xf32, strided<[256, 1], offset: ?>>
  %f = memref.subview %s[0, 60] [32, 64] [1, 1] : memref<32x256xf32, strided<[256, 1], offset: ?>> to memref<32x64xf32, strided<[256, 1], offset: ?>>
  %i = memref.subview %s[0, 0] [32, 64] [1, 1] : memref<32x256xf32, strided<[256, 1], offset: ?>> to memref<32x64xf32, strided<[256, 1], offset: ?>>
  scf.parallel (%r, %c) = (%c0, %c0) to (%c32, %c64) step (%c1, %c1) {
    %v = memref.load %f[%r, %c] : memref<32x64xf32, strided<[256, 1], offset: ?>>
    memref.store %v, %o[%r, %c] : memref<32x64xf32>
    scf.reduce
  }
  scf.parallel (%r, %c) = (%c0, %c0) to (%c32, %c64) step (%c1, %c1) {
    %v = memref.load %t[%r, %c] : memref<32x64xf32>
    memref.store %v, %i[%r, %c] : memref<32x64xf32, strided<[256, 1], offset: ?>>
    scf.reduce
  }
  return
}

// -----

// Between the loops a store to what the first loop reads: it cannot move
// above it, but the second loop, which does not touch it, moves up over it
// (fused, the store after). With the second loop reading it too, neither
// moves: apart. Loops over different spaces, or with a body doing more
// than loads and stores (a copy), stay apart too.
// CHECK-LABEL: func.func @blocked_both
// CHECK: scf.parallel
// CHECK: memref.store %{{.*}}, %{{.*}}[] : memref<f32>
// CHECK: scf.parallel
// CHECK-LABEL: func.func @blocked(
// CHECK: scf.parallel
// CHECK: memref.load %{{.*}}[] : memref<f32>
// CHECK: arith.mulf
// CHECK-NOT: scf.parallel
// CHECK: memref.store %{{.*}}, %arg0[%{{.*}}] : memref<64xf32>
// CHECK-NEXT: scf.reduce
// CHECK: memref.store %{{.*}}, %{{.*}}[] : memref<f32>
// CHECK: scf.parallel
// CHECK: scf.parallel
// CHECK: memref.copy
// CHECK: scf.parallel
func.func @blocked_both(%x: memref<64xf32>, %y: memref<64xf32>, %s: memref<f32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
    %k = memref.load %s[] : memref<f32>
    %v = memref.load %x[%i] : memref<64xf32>
    %w = arith.mulf %v, %k : f32
    memref.store %w, %y[%i] : memref<64xf32>
    scf.reduce
  }
  memref.store %one, %s[] : memref<f32>
  scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
    %k = memref.load %s[] : memref<f32>
    %v = memref.load %y[%i] : memref<64xf32>
    %w = arith.mulf %v, %k : f32
    memref.store %w, %x[%i] : memref<64xf32>
    scf.reduce
  }
  return
}
func.func @blocked(%x: memref<64xf32>, %y: memref<64xf32>, %z: memref<32xf32>, %s: memref<f32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
    %k = memref.load %s[] : memref<f32>
    %v = memref.load %x[%i] : memref<64xf32>
    %w = arith.mulf %v, %k : f32
    memref.store %w, %y[%i] : memref<64xf32>
    scf.reduce
  }
  memref.store %one, %s[] : memref<f32>
  scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
    %v = memref.load %y[%i] : memref<64xf32>
    memref.store %v, %x[%i] : memref<64xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c32) step (%c1) {
    %v = memref.load %x[%i] : memref<64xf32>
    memref.store %v, %z[%i] : memref<32xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c32) step (%c1) {
    memref.copy %x, %y : memref<64xf32> to memref<64xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c32) step (%c1) {
    %v = memref.load %x[%i] : memref<64xf32>
    memref.store %v, %z[%i] : memref<32xf32>
    scf.reduce
  }
  return
}

// -----

// Element (i, i) is written by every j: named by the induction variables,
// but not each once. Apart.
// CHECK-LABEL: func.func @diagonal
// CHECK: scf.parallel
// CHECK: scf.parallel
func.func @diagonal(%x: memref<16x16xf32>, %y: memref<16x16xf32>, %z: memref<16x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c16, %c16) step (%c1, %c1) {
    %v = memref.load %x[%i, %j] : memref<16x16xf32>
    memref.store %v, %y[%i, %i] : memref<16x16xf32>
    scf.reduce
  }
  scf.parallel (%i, %j) = (%c0, %c0) to (%c16, %c16) step (%c1, %c1) {
    %v = memref.load %y[%i, %i] : memref<16x16xf32>
    memref.store %v, %z[%i, %j] : memref<16x16xf32>
    scf.reduce
  }
  return
}

// -----

// The memory plan gave the second loop's output the bytes of the first
// loop's input (a split product's partials, dead after the sum): two names,
// the same elements (one root, the same first byte, shape and strides), so
// each iteration still touches only its own. Fused. The same with the
// output one element further on: iteration i would overwrite what
// iteration i + 1 of the first loop reads. Apart.
// CHECK-LABEL: func.func @same_bytes_other_name
// CHECK: scf.parallel
// CHECK: memref.load %[[PIECE:.*]][%{{.*}}] : memref<64xf32, strided<[1], offset: 64>>
// CHECK: memref.store %{{.*}}, %[[VIEW:.*]][%{{.*}}] : memref<64xf32>
// CHECK-NOT: scf.parallel
// CHECK-LABEL: func.func @shifted_by_one
// CHECK: scf.parallel
// CHECK: scf.parallel
func.func @same_bytes_other_name(%ws: memref<1024xi8>, %out: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c256 = arith.constant 256 : index
  %c512 = arith.constant 512 : index
  %partial = memref.view %ws[%c0][] : memref<1024xi8> to memref<2x64xf32>
  %piece = memref.subview %partial[1, 0] [1, 64] [1, 1] : memref<2x64xf32> to memref<64xf32, strided<[1], offset: 64>>
  scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
    %x = memref.load %piece[%i] : memref<64xf32, strided<[1], offset: 64>>
    memref.store %x, %out[%i] : memref<64xf32>
    scf.reduce
  }
  %reused = memref.view %ws[%c256][] : memref<1024xi8> to memref<64xf32>
  scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
    %x = memref.load %out[%i] : memref<64xf32>
    %y = arith.addf %x, %x : f32
    memref.store %y, %reused[%i] : memref<64xf32>
    scf.reduce
  }
  return
}
func.func @shifted_by_one(%ws: memref<1024xi8>, %out: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c252 = arith.constant 252 : index
  %partial = memref.view %ws[%c0][] : memref<1024xi8> to memref<2x64xf32>
  %piece = memref.subview %partial[1, 0] [1, 64] [1, 1] : memref<2x64xf32> to memref<64xf32, strided<[1], offset: 64>>
  scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
    %x = memref.load %piece[%i] : memref<64xf32, strided<[1], offset: 64>>
    memref.store %x, %out[%i] : memref<64xf32>
    scf.reduce
  }
  %reused = memref.view %ws[%c252][] : memref<1024xi8> to memref<64xf32>
  scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
    %x = memref.load %out[%i] : memref<64xf32>
    %y = arith.addf %x, %x : f32
    memref.store %y, %reused[%i] : memref<64xf32>
    scf.reduce
  }
  return
}

// -----

// Slices of dynamic size at offsets 2 and 5 of one buffer: the same root,
// shape and strides, but no static layout says where each starts (their
// ranges fall back to the buffer's). Apart.
// CHECK-LABEL: func.func @dynamic_slices
// CHECK: scf.parallel
// CHECK: scf.parallel
func.func @dynamic_slices(%buf: memref<128xf32>, %out: memref<128xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %a = memref.subview %buf[2] [%n] [1] : memref<128xf32> to memref<?xf32, strided<[1], offset: 2>>
  %b = memref.subview %buf[5] [%n] [1] : memref<128xf32> to memref<?xf32, strided<[1], offset: 5>>
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %x = memref.load %a[%i] : memref<?xf32, strided<[1], offset: 2>>
    memref.store %x, %out[%i] : memref<128xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %x = memref.load %out[%i] : memref<128xf32>
    memref.store %x, %b[%i] : memref<?xf32, strided<[1], offset: 5>>
    scf.reduce
  }
  return
}

// -----

// A recurrent step's bias gradient: a sum over the batch, then products
// (kernels of their own, with shared memory and barriers) and another loop,
// then the sum added into the accumulated gradient. The last loop touches
// nothing they do (shared memory is no other buffer's, a barrier touches
// nothing), so it moves up to the sum and the two are one kernel. If a
// product wrote the accumulated gradient, it would stay apart.
// CHECK-LABEL: func.func @over_a_launch
// CHECK: scf.parallel
// CHECK: memref.store %{{.*}}, %arg4[
// CHECK-NOT: gpu.launch
// CHECK: memref.store %{{.*}}, %arg5[
// CHECK: gpu.launch
// CHECK: scf.parallel
// CHECK-NOT: scf.parallel
// CHECK-LABEL: func.func @launch_writes_it
// CHECK: scf.parallel
// CHECK: gpu.launch
// CHECK: scf.parallel
func.func @over_a_launch(%g: memref<32x8xf32>, %a: memref<16xf32>, %b: memref<16xf32>, %c: memref<16xf32>,
                         %tmp: memref<8xf32>, %acc: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%j) = (%c0) to (%c8) step (%c1) {
    %s = scf.for %i = %c0 to %c32 step %c1 iter_args(%t = %zero) -> (f32) {
      %v = memref.load %g[%i, %j] : memref<32x8xf32>
      %n = arith.addf %t, %v : f32
      scf.yield %n : f32
    }
    memref.store %s, %tmp[%j] : memref<8xf32>
    scf.reduce
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c16, %sy = %c1, %sz = %c1)
             workgroup(%shared : memref<16xf32, #gpu.address_space<workgroup>>) {
    %v = memref.load %a[%tx] : memref<16xf32>
    memref.store %v, %shared[%tx] : memref<16xf32, #gpu.address_space<workgroup>>
    gpu.barrier
    %w = memref.load %shared[%tx] : memref<16xf32, #gpu.address_space<workgroup>>
    memref.store %w, %b[%tx] : memref<16xf32>
    gpu.terminator
  }
  scf.parallel (%i) = (%c0) to (%c16) step (%c1) {
    %v = memref.load %b[%i] : memref<16xf32>
    memref.store %v, %c[%i] : memref<16xf32>
    scf.reduce
  }
  scf.parallel (%j) = (%c0) to (%c8) step (%c1) {
    %x = memref.load %acc[%j] : memref<8xf32>
    %y = memref.load %tmp[%j] : memref<8xf32>
    %z = arith.addf %x, %y : f32
    memref.store %z, %acc[%j] : memref<8xf32>
    scf.reduce
  }
  return
}
func.func @launch_writes_it(%g: memref<32x8xf32>, %a: memref<16xf32>, %tmp: memref<8xf32>, %acc: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%j) = (%c0) to (%c8) step (%c1) {
    %s = scf.for %i = %c0 to %c32 step %c1 iter_args(%t = %zero) -> (f32) {
      %v = memref.load %g[%i, %j] : memref<32x8xf32>
      %n = arith.addf %t, %v : f32
      scf.yield %n : f32
    }
    memref.store %s, %tmp[%j] : memref<8xf32>
    scf.reduce
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c8, %sy = %c1, %sz = %c1) {
    %v = memref.load %a[%tx] : memref<16xf32>
    memref.store %v, %acc[%tx] : memref<8xf32>
    gpu.terminator
  }
  scf.parallel (%j) = (%c0) to (%c8) step (%c1) {
    %x = memref.load %acc[%j] : memref<8xf32>
    %y = memref.load %tmp[%j] : memref<8xf32>
    %z = arith.addf %x, %y : f32
    memref.store %z, %acc[%j] : memref<8xf32>
    scf.reduce
  }
  return
}

// -----

// Over different spaces, sharing no written memory (two parameters'
// optimizer updates, each its own slice of the arenas, both reading one
// scalar): one loop over 32 + 6 iterations, the first 32 the 4x8 loop's
// (i = l / 8, j = l % 8), the rest the other's (l - 32).
// CHECK-LABEL: func.func @side_by_side
// CHECK: %[[C38:.*]] = arith.constant 38 : index
// CHECK: scf.parallel (%[[L:.*]]) = (%{{.*}}) to (%[[C38]])
// CHECK-NEXT: %[[C32:.*]] = arith.constant 32 : index
// CHECK-NEXT: %[[FIRST:.*]] = arith.cmpi ult, %[[L]], %[[C32]]
// CHECK-NEXT: scf.if %[[FIRST]] {
// CHECK: %[[J:.*]] = arith.remui %[[L]], %[[C8:.*]] : index
// CHECK: %[[I:.*]] = arith.divui %[[L]], %[[C8]] : index
// CHECK: memref.load %{{.*}}[%[[I]], %[[J]]] : memref<4x8xf32>
// CHECK: memref.store {{.*}}[%[[I]], %[[J]]] : memref<4x8xf32, strided<[8, 1]>>
// CHECK: } else {
// CHECK: %[[K:.*]] = arith.subi %[[L]], %[[C32]] : index
// CHECK: memref.load %{{.*}}[%[[K]]] : memref<6xf32>
// CHECK: memref.store {{.*}}[%[[K]]] : memref<6xf32, strided<[1], offset: 32>>
// CHECK-NOT: scf.parallel
// CHECK: return
func.func @side_by_side(%params: memref<38xf32>, %grads: memref<512xi8>, %lr: memref<f32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c6 = arith.constant 6 : index
  %c8 = arith.constant 8 : index
  %c256 = arith.constant 256 : index
  %w2 = memref.reinterpret_cast %params to offset: [0], sizes: [4, 8], strides: [8, 1] : memref<38xf32> to memref<4x8xf32, strided<[8, 1]>>
  %b = memref.reinterpret_cast %params to offset: [32], sizes: [6], strides: [1] : memref<38xf32> to memref<6xf32, strided<[1], offset: 32>>
  %gw = memref.view %grads[%c0][] : memref<512xi8> to memref<4x8xf32>
  %gb = memref.view %grads[%c256][] : memref<512xi8> to memref<6xf32>
  %r = memref.load %lr[] : memref<f32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%c4, %c8) step (%c1, %c1) {
    %g = memref.load %gw[%i, %j] : memref<4x8xf32>
    %p = memref.load %w2[%i, %j] : memref<4x8xf32, strided<[8, 1]>>
    %s = arith.mulf %g, %r : f32
    %n = arith.subf %p, %s : f32
    memref.store %n, %w2[%i, %j] : memref<4x8xf32, strided<[8, 1]>>
    scf.reduce
  }
  scf.parallel (%k) = (%c0) to (%c6) step (%c1) {
    %g = memref.load %gb[%k] : memref<6xf32>
    %p = memref.load %b[%k] : memref<6xf32, strided<[1], offset: 32>>
    %s = arith.mulf %g, %r : f32
    %n = arith.subf %p, %s : f32
    memref.store %n, %b[%k] : memref<6xf32, strided<[1], offset: 32>>
    scf.reduce
  }
  return
}

// -----

// Over different spaces, the second reading what the first writes: apart
// (side by side, its iterations could run before the writes they read).
// CHECK-LABEL: func.func @reads_the_other
// CHECK: scf.parallel
// CHECK: scf.parallel
func.func @reads_the_other(%x: memref<4x8xf32>, %y: memref<4x8xf32>, %z: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c4, %c8) step (%c1, %c1) {
    %v = memref.load %x[%i, %j] : memref<4x8xf32>
    memref.store %v, %y[%i, %j] : memref<4x8xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    %v = memref.load %y[%i, %c0] : memref<4x8xf32>
    memref.store %v, %z[%i] : memref<4xf32>
    scf.reduce
  }
  return
}
