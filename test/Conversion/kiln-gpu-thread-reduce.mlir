// RUN: kiln-opt %s --kiln-gpu-thread-reduce --split-input-file | FileCheck %s

// A row max after a fill (the fill's value starts each thread's running
// max, the fill goes): a parallel loop over the 64 rows around a loop over
// the 10 columns that carries the max as a value, and one store per row.
#row = affine_map<(i, j) -> (i, j)>
#out = affine_map<(i, j) -> (i)>
// CHECK-LABEL: func.func @row_max
// CHECK-SAME: (%[[X:.*]]: memref<64x10xf32>, %[[M:.*]]: memref<64xf32>)
// CHECK: %[[LOW:.*]] = arith.constant -3.40282347E+38 : f32
// CHECK-NOT: linalg.fill
// CHECK: scf.parallel (%[[I:.*]]) =
// CHECK-NOT: memref.load %[[M]]
// CHECK: %[[R:.*]] = scf.for %[[J:[^ ]*]] = %{{.*}} to %c10 step %{{.*}} iter_args(%[[ACC:.*]] = %[[LOW]]) -> (f32)
// CHECK: %[[V:.*]] = memref.load %[[X]][%{{.*}}, %{{.*}}]
// CHECK: %[[N:.*]] = arith.maximumf %[[ACC]], %[[V]]
// CHECK-NOT: memref.store
// CHECK: scf.yield %[[N]]
// CHECK: memref.store %[[R]], %[[M]]
// CHECK-NOT: linalg.generic
func.func @row_max(%x: memref<64x10xf32>, %m: memref<64xf32>) {
  %low = arith.constant -3.40282347E+38 : f32
  linalg.fill ins(%low : f32) outs(%m : memref<64xf32>)
  linalg.generic {indexing_maps = [#row, #out], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<64x10xf32>) outs(%m : memref<64xf32>) {
  ^bb0(%p: f32, %acc: f32):
    %t = arith.maximumf %acc, %p : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// Without a fill the sums start from what the outputs hold (loaded once);
// two outputs, two reduction loops (nested, both carrying the values), and
// linalg.index reads the loop's index.
#in3 = affine_map<(i, j, k) -> (j, i, k)>
#o3 = affine_map<(i, j, k) -> (i)>
// CHECK-LABEL: func.func @two_sums
// CHECK-SAME: (%[[X:.*]]: memref<4x8x16xf32>, %[[S:.*]]: memref<8xf32>, %[[T:.*]]: memref<8xf32>)
// CHECK: scf.parallel (%[[I:.*]]) =
// CHECK-DAG: %[[S0:.*]] = memref.load %[[S]][
// CHECK-DAG: %[[T0:.*]] = memref.load %[[T]][
// CHECK: %[[R:.*]]:2 = scf.for %[[J:[^ ]*]] = {{.*}} iter_args(%{{.*}} = %[[S0]], %{{.*}} = %[[T0]]) -> (f32, f32)
// CHECK: %[[IN:.*]]:2 = scf.for %[[K:[^ ]*]] = {{.*}} -> (f32, f32)
// CHECK: arith.index_cast %[[K]]
// CHECK: scf.yield
// CHECK: scf.yield %[[IN]]#0, %[[IN]]#1
// CHECK-DAG: memref.store %[[R]]#0, %[[S]]
// CHECK-DAG: memref.store %[[R]]#1, %[[T]]
func.func @two_sums(%x: memref<4x8x16xf32>, %s: memref<8xf32>, %t: memref<8xf32>) {
  linalg.generic {indexing_maps = [#in3, #o3, #o3], iterator_types = ["parallel", "reduction", "reduction"]}
      ins(%x : memref<4x8x16xf32>) outs(%s, %t : memref<8xf32>, memref<8xf32>) {
  ^bb0(%p: f32, %a: f32, %b: f32):
    %k = linalg.index 2 : index
    %ki = arith.index_cast %k : index to i32
    %kf = arith.sitofp %ki : i32 to f32
    %w = arith.mulf %p, %kf : f32
    %sa = arith.addf %a, %p : f32
    %sb = arith.addf %b, %w : f32
    linalg.yield %sa, %sb : f32, f32
  }
  return
}

// -----

// Left as they are: outputs indexed by a reduction loop (a transposed
// convolution's scatter, and a plain out[j] over a reduction j: one
// element gets sums from several parallel iterations), and an input that
// is the output (in registers its updates would not be seen).
#cols = affine_map<(h, kh) -> (kh, h)>
#scatter = affine_map<(h, kh) -> (h + kh)>
#self = affine_map<(i, j) -> (j)>
#o = affine_map<(i, j) -> (i)>
// CHECK-LABEL: func.func @untouched
// CHECK-NOT: scf.parallel
// CHECK-COUNT-3: linalg.generic
// CHECK-NOT: scf.parallel
#rd = affine_map<(i, j) -> (i, j)>
#byj = affine_map<(i, j) -> (j)>
func.func @untouched(%c: memref<3x14xf32>, %img: memref<16xf32>, %v: memref<8xf32>, %x: memref<8x4xf32>, %z: memref<4xf32>) {
  linalg.generic {indexing_maps = [#rd, #byj], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<8x4xf32>) outs(%z : memref<4xf32>) {
  ^bb0(%p: f32, %acc: f32):
    %t = arith.addf %acc, %p : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#cols, #scatter], iterator_types = ["parallel", "reduction"]}
      ins(%c : memref<3x14xf32>) outs(%img : memref<16xf32>) {
  ^bb0(%p: f32, %acc: f32):
    %t = arith.addf %acc, %p : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#self, #o], iterator_types = ["parallel", "reduction"]}
      ins(%v : memref<8xf32>) outs(%v : memref<8xf32>) {
  ^bb0(%p: f32, %acc: f32):
    %t = arith.addf %acc, %p : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// Also left: a body that loads the output itself (it would not see the
// outputs' updates held in registers) and two outputs on one buffer. A
// scalar input is used as it is.
#e2 = affine_map<(i, j) -> (i, j)>
#e1 = affine_map<(i, j) -> (i)>
#es = affine_map<(i, j) -> ()>
// CHECK-LABEL: func.func @edges(
// CHECK-SAME: %[[S:[^:]*]]: f32
// CHECK-COUNT-2: linalg.generic
// CHECK: scf.parallel
// CHECK: arith.mulf %{{.*}}, %[[S]] : f32
// CHECK-NOT: linalg.generic
func.func @edges(%x: memref<4x8xf32>, %o: memref<4xf32>, %s: f32) {
  %c0 = arith.constant 0 : index
  linalg.generic {indexing_maps = [#e2, #e1], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<4x8xf32>) outs(%o : memref<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %first = memref.load %o[%c0] : memref<4xf32>
    %t = arith.addf %acc, %first : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#e2, #e1, #e1], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<4x8xf32>) outs(%o, %o : memref<4xf32>, memref<4xf32>) {
  ^bb0(%a: f32, %p: f32, %q: f32):
    %t = arith.addf %p, %a : f32
    %u = arith.maximumf %q, %a : f32
    linalg.yield %t, %u : f32, f32
  }
  linalg.generic {indexing_maps = [#e2, #es, #e1], iterator_types = ["parallel", "reduction"]}
      ins(%x, %s : memref<4x8xf32>, f32) outs(%o : memref<4xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// A body that reads other memory itself (an embedding gradient on the GPU:
// each table element (v, d) sums the updates whose id is v, read only
// where it matches) keeps its sum in registers all the same: nothing it
// reads is the output.
#ids = affine_map<(v, d, i) -> (i)>
#tab = affine_map<(v, d, i) -> (v, d)>
// CHECK-LABEL: func.func @reads_other_memory
// CHECK-SAME: %[[IDS:[^:]*]]: memref<8xi32>, %[[U:[^:]*]]: memref<8x4xf32>, %[[T:[^:]*]]: memref<30x4xf32>
// CHECK: scf.parallel (%[[V:.*]], %[[D:.*]]) =
// CHECK: scf.for %[[I:[^ ]*]] = {{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (f32)
// CHECK: scf.if
// CHECK: memref.load %[[U]][%[[I]], %[[D]]]
// CHECK: memref.store %{{.*}}, %[[T]][%{{.*}}, %{{.*}}]
// CHECK-NOT: linalg.generic
func.func @reads_other_memory(%ids: memref<8xi32>, %u: memref<8x4xf32>, %t: memref<30x4xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%t : memref<30x4xf32>)
  linalg.generic {indexing_maps = [#ids, #tab], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%ids : memref<8xi32>) outs(%t : memref<30x4xf32>) {
  ^bb0(%id: i32, %acc: f32):
    %row = arith.index_cast %id : i32 to index
    %v = linalg.index 0 : index
    %d = linalg.index 1 : index
    %i = linalg.index 2 : index
    %hit = arith.cmpi eq, %row, %v : index
    %x = scf.if %hit -> (f32) {
      %l = memref.load %u[%i, %d] : memref<8x4xf32>
      scf.yield %l : f32
    } else {
      scf.yield %zero : f32
    }
    %s = arith.addf %acc, %x : f32
    linalg.yield %s : f32
  }
  return
}
