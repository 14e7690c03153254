// RUN: kiln-opt %s --kiln-cpu-parallelize="min-work=1000" | FileCheck %s
// RUN: kiln-opt %s --kiln-cpu-vectorize="vector-width=16" --canonicalize --kiln-cpu-parallelize="min-work=1000" | FileCheck %s --check-prefix=MARK

// A marked loop with enough work: its body moves into @scale.par0(lo, hi,
// ctx), its captured values (a memref, an index, a float) travel in a
// struct on the caller's stack, constants are cloned, and the runtime runs
// the iterations. The induction variable is rebuilt from the chunk's
// iteration numbers (lb + it * step).
// CHECK-LABEL: func.func @scale(
// CHECK: %[[CTX:.*]] = llvm.alloca %{{.*}} x !llvm.struct<(i64, struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>, f32)>
// CHECK: %[[N:.*]] = arith.index_cast %{{.*}} : index to i64
// CHECK: llvm.store %[[N]]
// CHECK: %[[DESC:.*]] = builtin.unrealized_conversion_cast %{{.*}} : memref<64x256xf32> to !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>
// CHECK: llvm.store %[[DESC]], %{{.*}}
// CHECK: llvm.store %{{.*}} : f32, !llvm.ptr
// CHECK: %[[FN:.*]] = constant @scale.par0 : (i64, i64, !llvm.ptr) -> ()
// CHECK: call @kiln_parallel_for(%[[FN]], %[[CTX]], %{{.*}}) : ((i64, i64, !llvm.ptr) -> (), !llvm.ptr, i64) -> ()
// CHECK-NOT: scf.for
// CHECK: return
func.func @scale(%y: memref<64x256xf32>, %n: index, %a: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c64 = arith.constant 64 : index
  %c128 = arith.constant 128 : index
  scf.for %i = %c0 to %c64 step %c2 {
    scf.for %j = %c0 to %c128 step %c1 {
      %k = arith.addi %j, %n : index
      %v = memref.load %y[%i, %k] : memref<64x256xf32>
      %w = arith.mulf %v, %a : f32
      memref.store %w, %y[%i, %k] : memref<64x256xf32>
    }
  } {kiln.parallel}
  return
}
// The body: iterations [lo, hi) of the original loop, i = 0 + it * 2.
// CHECK-LABEL: func.func private @scale.par0(
// CHECK-SAME: %{{.*}}: i64, %{{.*}}: i64, %{{.*}}: !llvm.ptr)
// CHECK: %[[K:.*]] = llvm.load %{{.*}} : !llvm.ptr -> i64
// CHECK: %[[D:.*]] = llvm.load %{{.*}} : !llvm.ptr -> !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>
// CHECK: %[[Y:.*]] = builtin.unrealized_conversion_cast %[[D]] : !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)> to memref<64x256xf32>
// CHECK: %[[A:.*]] = llvm.load %{{.*}} : !llvm.ptr -> f32
// CHECK: scf.for %[[IT:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK: %[[OFF:.*]] = arith.muli %[[IT]], %c2
// CHECK: %[[I:.*]] = arith.addi %c0{{.*}}, %[[OFF]]
// CHECK: memref.load %[[Y]][%[[I]], %{{.*}}]
// CHECK: arith.mulf %{{.*}}, %[[A]]

// Too little work (2 x 4 loads and stores), an unmarked loop, and a loop
// capturing a vector (no ctx form) stay serial; the marks are dropped.
// CHECK-LABEL: func.func @serial(
// CHECK-NOT: kiln_parallel_for
// CHECK-NOT: kiln.parallel
// CHECK: return
func.func @serial(%y: memref<8x8xf32>, %v: vector<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  scf.for %i = %c0 to %c2 step %c1 {
    scf.for %j = %c0 to %c4 step %c1 {
      %x = memref.load %y[%i, %j] : memref<8x8xf32>
      memref.store %x, %y[%j, %i] : memref<8x8xf32>
    }
  } {kiln.parallel}
  scf.for %i = %c0 to %c8 step %c1 {
    scf.for %j = %c0 to %c8 step %c1 {
      %x = memref.load %y[%i, %j] : memref<8x8xf32>
      memref.store %x, %y[%j, %i] : memref<8x8xf32>
    }
  }
  scf.for %i = %c0 to %c8 step %c1 {
    scf.for %j = %c0 to %c8 step %c1 {
      scf.for %k = %c0 to %c8 step %c1 {
        vector.store %v, %y[%i, %c0] : memref<8x8xf32>, vector<8xf32>
      }
    }
  } {kiln.parallel}
  return
}

// kiln-cpu-vectorize marks the outer tile loop of each part of a matmul
// (here the rows of a 96x64 by 64x48 product, 16 blocks of 6 rows, for the
// 32 columns of two vectors and for the remaining 16), and the parallelize
// pass shares each: two bodies, nothing left marked.
#a = affine_map<(i, k, j) -> (i, k)>
#b = affine_map<(i, k, j) -> (k, j)>
#c = affine_map<(i, k, j) -> (i, j)>
// MARK-LABEL: func.func @matmul(
// MARK-COUNT-2: call @kiln_parallel_for(
// MARK-NOT: kiln_parallel_for(
// MARK: return
// MARK: func.func private @matmul.par{{[01]}}(
// MARK: vector.fma
// MARK: func.func private @matmul.par{{[01]}}(
// MARK: vector.fma
// MARK-NOT: kiln.parallel
func.func @matmul(%a: memref<96x64xf32>, %b: memref<64x48xf32>, %c: memref<96x48xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<96x64xf32>, memref<64x48xf32>) outs(%c : memref<96x48xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// Inside a sequential loop of 8 or more iterations (a recurrent cell's
// step) a loop needs 4x the work: about 2600 operations run shared under a
// loop of 2 iterations, not under one of 8.
// CHECK-LABEL: func.func @nested(
// CHECK: scf.for %{{.*}} = %c0 to %c2 step %c1 {
// CHECK: call @kiln_parallel_for
// CHECK: scf.for %{{.*}} = %c0 to %c8 step %c1 {
// CHECK-NOT: kiln_parallel_for
// CHECK: return
func.func @nested(%y: memref<8x64xf32>, %a: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c8 = arith.constant 8 : index
  %c64 = arith.constant 64 : index
  scf.for %t = %c0 to %c2 step %c1 {
    scf.for %i = %c0 to %c8 step %c1 {
      scf.for %j = %c0 to %c64 step %c1 {
        %v = memref.load %y[%i, %j] : memref<8x64xf32>
        %w = arith.mulf %v, %a : f32
        memref.store %w, %y[%i, %j] : memref<8x64xf32>
      }
    } {kiln.parallel}
  }
  scf.for %t = %c0 to %c8 step %c1 {
    scf.for %i = %c0 to %c8 step %c1 {
      scf.for %j = %c0 to %c64 step %c1 {
        %v = memref.load %y[%i, %j] : memref<8x64xf32>
        %w = arith.mulf %v, %a : f32
        memref.store %w, %y[%i, %j] : memref<8x64xf32>
      }
    } {kiln.parallel}
  }
  return
}

// The runtime entry, declared once.
// CHECK: func.func private @kiln_parallel_for((i64, i64, !llvm.ptr) -> (), !llvm.ptr, i64)
// CHECK-NOT: @kiln_parallel_for(

