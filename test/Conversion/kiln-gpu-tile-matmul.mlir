// RUN: kiln-opt %s --kiln-gpu-tile-matmul --split-input-file | FileCheck %s

// A 300x70 by 70x290 product (no size a multiple of a tile): a grid of
// ceil(290/64) x ceil(300/64) blocks of 256 threads, A and B staged in
// 16-deep slices (both padded to 65 columns), zero outside the operands, a
// barrier after staging and after use, 16 sums per thread carried through
// the slices, and each sum added to the output inside its bounds.
#a = affine_map<(i, j, k) -> (i, k)>
#b = affine_map<(i, j, k) -> (k, j)>
#c = affine_map<(i, j, k) -> (i, j)>
// CHECK-LABEL: func.func @matmul
func.func @matmul(%x: memref<300x70xf32>, %w: memref<70x290xf32>, %y: memref<300x290xf32>) {
  // CHECK: gpu.launch blocks({{.*}}) in (%{{[^ ]*}} = %c5{{(_[0-9]+)?}}, %{{[^ ]*}} = %c5{{(_[0-9]+)?}}, %{{[^ ]*}} = %c1{{(_[0-9]+)?}})
  // CHECK-SAME: threads({{.*}}) in (%{{[^ ]*}} = %c256
  // CHECK-SAME: workgroup(%[[A:[^ ]*]] : memref<16x65xf32, #gpu.address_space<workgroup>>, %[[B:[^ ]*]] : memref<16x65xf32, #gpu.address_space<workgroup>>)
  // CHECK: %[[SUMS:.*]]:16 = scf.for %[[K0:.*]] = %{{.*}} to %c70{{.*}} step %c16
  // CHECK-COUNT-4: scf.if %{{.*}} -> (f32)
  // CHECK: memref.load %{{.*}} : memref<300x70xf32>
  // CHECK: memref.store %{{.*}}, %[[A]]
  // CHECK: memref.load %{{.*}} : memref<70x290xf32>
  // CHECK: memref.store %{{.*}}, %[[B]]
  // CHECK: gpu.barrier
  // CHECK: scf.for %{{.*}} = %{{.*}} to %c16
  // CHECK-COUNT-4: memref.load %[[A]]
  // CHECK-COUNT-16: arith.mulf
  // CHECK: gpu.barrier
  // CHECK: scf.yield
  // CHECK-COUNT-16: memref.store %{{.*}} : memref<300x290xf32>
  // CHECK: gpu.terminator
  // CHECK-NOT: linalg.generic
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<300x70xf32>, memref<70x290xf32>) outs(%y : memref<300x290xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// Too few 64x64 tiles to fill a GPU (fewer than 16 blocks): the largest
// tile that gives enough, else 16x16. 128x128 outputs: 4x4 blocks of 32x32,
// each thread 2x2 sums, A and B staged twice per 16-deep slice. 100x30
// outputs: 2x7 blocks of 16x16, one sum per thread, staged once.
#a = affine_map<(i, j, k) -> (i, k)>
#b = affine_map<(i, j, k) -> (k, j)>
#c = affine_map<(i, j, k) -> (i, j)>
// CHECK-LABEL: func.func @small_tiles
// CHECK: gpu.launch blocks({{.*}}) in (%{{[^ ]*}} = %c4{{(_[0-9]+)?}}, %{{[^ ]*}} = %c4{{(_[0-9]+)?}}, %{{[^ ]*}} = %c1{{(_[0-9]+)?}})
// CHECK-SAME: workgroup(%[[A:[^ ]*]] : memref<16x33xf32, #gpu.address_space<workgroup>>, %[[B:[^ ]*]] : memref<16x33xf32, #gpu.address_space<workgroup>>)
// CHECK: %{{.*}}:4 = scf.for
// CHECK-COUNT-2: memref.store %{{.*}}, %[[A]]
// CHECK-COUNT-2: memref.store %{{.*}}, %[[B]]
// CHECK: gpu.barrier
// CHECK-COUNT-4: arith.mulf
// CHECK: gpu.barrier
// CHECK-COUNT-4: memref.store %{{.*}} : memref<128x128xf32>
// CHECK: gpu.terminator
// CHECK: gpu.launch blocks({{.*}}) in (%{{[^ ]*}} = %c2{{(_[0-9]+)?}}, %{{[^ ]*}} = %c7{{(_[0-9]+)?}}, %{{[^ ]*}} = %c1{{(_[0-9]+)?}})
// CHECK-SAME: workgroup(%[[A1:[^ ]*]] : memref<16x17xf32, #gpu.address_space<workgroup>>, %[[B1:[^ ]*]] : memref<16x17xf32, #gpu.address_space<workgroup>>)
// CHECK: %{{.*}} = scf.for %{{.*}} -> (f32)
// CHECK: memref.store %{{.*}}, %[[A1]]
// CHECK-NOT: memref.store %{{.*}}, %[[A1]]
// CHECK: memref.store %{{.*}}, %[[B1]]
// CHECK: gpu.barrier
// CHECK: arith.mulf
// CHECK-NOT: arith.mulf
// CHECK: gpu.barrier
// CHECK: memref.store %{{.*}} : memref<100x30xf32>
// CHECK-NOT: memref.store
// CHECK: gpu.terminator
func.func @small_tiles(%x: memref<128x70xf32>, %w: memref<70x128xf32>, %y: memref<128x128xf32>,
                       %u: memref<100x70xf32>, %v: memref<70x30xf32>, %z: memref<100x30xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<128x70xf32>, memref<70x128xf32>) outs(%y : memref<128x128xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%u, %v : memref<100x70xf32>, memref<70x30xf32>) outs(%z : memref<100x30xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// A transposed operand (the weight gradient x^T dy) and a batch
// dimension: the batch is the grid's z, the indexing maps decide where
// each element is read.
#at = affine_map<(b, i, j, k) -> (b, k, i)>
#bb = affine_map<(b, i, j, k) -> (b, k, j)>
#cb = affine_map<(b, i, j, k) -> (b, i, j)>
// CHECK-LABEL: func.func @batched_transposed
func.func @batched_transposed(%x: memref<3x64x784xf32>, %dy: memref<3x64x128xf32>, %dw: memref<3x784x128xf32>) {
  // CHECK: gpu.launch blocks({{.*}}) in (%{{[^ ]*}} = %c2, %{{[^ ]*}} = %c13, %{{[^ ]*}} = %c3)
  // CHECK: memref.load %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}] : memref<3x64x784xf32>
  linalg.generic {indexing_maps = [#at, #bb, #cb], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %dy : memref<3x64x784xf32>, memref<3x64x128xf32>) outs(%dw : memref<3x784x128xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// Not a product: left for the loop mapping.
#row = affine_map<(i, k) -> (i, k)>
#col = affine_map<(i, k) -> (i)>
// CHECK-LABEL: func.func @not_a_product
// CHECK-NOT: gpu.launch
// CHECK: linalg.generic
func.func @not_a_product(%r: memref<64x10xf32>, %s: memref<64xf32>) {
  linalg.generic {indexing_maps = [#row, #col], iterator_types = ["parallel", "reduction"]}
      ins(%r : memref<64x10xf32>) outs(%s : memref<64xf32>) {
  ^bb0(%p: f32, %acc: f32):
    %t = arith.addf %acc, %p : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// An output filled right before the product: the kernel starts from the
// fill's value instead of reading the output, and the fill (a launch of its
// own) goes. A fill with anything in between stays.
#a = affine_map<(i, j, k) -> (i, k)>
#b = affine_map<(i, j, k) -> (k, j)>
#c = affine_map<(i, j, k) -> (i, j)>
// CHECK-LABEL: func.func @filled
func.func @filled(%x: memref<64x32xf32>, %w: memref<32x16xf32>, %y: memref<64x16xf32>, %z: memref<64x16xf32>) {
  %zero = arith.constant 0.0 : f32
  // CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
  // CHECK-NOT: linalg.fill
  // CHECK: gpu.launch
  // CHECK-NOT: memref.load %{{.*}} : memref<64x16xf32>
  // CHECK: arith.addf %[[ZERO]], %{{.*}} : f32
  // CHECK: gpu.terminator
  linalg.fill ins(%zero : f32) outs(%y : memref<64x16xf32>)
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<64x32xf32>, memref<32x16xf32>) outs(%y : memref<64x16xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  }
  // CHECK: linalg.fill ins(%[[ZERO]] : f32) outs(%{{.*}} : memref<64x16xf32>)
  // CHECK-NEXT: memref.store
  // CHECK: gpu.launch
  // CHECK: memref.load %{{.*}} : memref<64x16xf32>
  %c0 = arith.constant 0 : index
  %one = arith.constant 1.0 : f32
  linalg.fill ins(%zero : f32) outs(%z : memref<64x16xf32>)
  memref.store %one, %z[%c0, %c0] : memref<64x16xf32>
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<64x32xf32>, memref<32x16xf32>) outs(%z : memref<64x16xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// A transpose made only for the product (x^T for a weight gradient) into
// a workspace temporary is read through: the product loads the source, and
// the copy goes. Kept: a copy something else also uses, a copy into a
// caller's buffer (its result is not a temporary), and a copy whose source
// shares bytes with the product's output (the memory plan may reuse a
// source's bytes once the copy has read them).
#id = affine_map<(i, j) -> (i, j)>
#tr = affine_map<(i, j) -> (j, i)>
#a = affine_map<(i, j, k) -> (i, k)>
#b = affine_map<(i, j, k) -> (k, j)>
#c = affine_map<(i, j, k) -> (i, j)>
// CHECK-LABEL: func.func @transposed
func.func @transposed(%x: memref<64x784xf32>, %dy: memref<64x128xf32>, %ws: memref<4000000xi8>,
                      %keep: memref<784x64xf32>, %xt3: memref<784x64xf32>) {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %c400000 = arith.constant 400000 : index
  %c800000 = arith.constant 800000 : index
  %c1200000 = arith.constant 1200000 : index
  %xt = memref.view %ws[%c0][] : memref<4000000xi8> to memref<784x64xf32>
  %dw = memref.view %ws[%c400000][] : memref<4000000xi8> to memref<784x128xf32>
  // CHECK-NOT: linalg
  // CHECK: gpu.launch
  // CHECK: memref.load %{{.*}} : memref<64x784xf32>
  // CHECK-NOT: memref<784x64xf32>
  // CHECK: gpu.terminator
  linalg.generic {indexing_maps = [#id, #tr], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<64x784xf32>) outs(%xt : memref<784x64xf32>) {
  ^bb0(%p: f32, %q: f32):
    linalg.yield %p : f32
  }
  linalg.fill ins(%zero : f32) outs(%dw : memref<784x128xf32>)
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%xt, %dy : memref<784x64xf32>, memref<64x128xf32>) outs(%dw : memref<784x128xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  }
  // CHECK: linalg.generic
  // CHECK-SAME: outs(%{{.*}} : memref<784x64xf32>)
  // CHECK: gpu.launch
  // CHECK: memref.load %{{.*}} : memref<784x64xf32>
  // CHECK: gpu.terminator
  // CHECK: linalg.copy
  %xt2 = memref.view %ws[%c800000][] : memref<4000000xi8> to memref<784x64xf32>
  linalg.generic {indexing_maps = [#id, #tr], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<64x784xf32>) outs(%xt2 : memref<784x64xf32>) {
  ^bb0(%p: f32, %q: f32):
    linalg.yield %p : f32
  }
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%xt2, %dy : memref<784x64xf32>, memref<64x128xf32>) outs(%dw : memref<784x128xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  }
  linalg.copy ins(%xt2 : memref<784x64xf32>) outs(%keep : memref<784x64xf32>)
  // CHECK: linalg.generic
  // CHECK-SAME: outs(%{{.*}} : memref<784x64xf32>)
  // CHECK: gpu.launch
  linalg.generic {indexing_maps = [#id, #tr], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<64x784xf32>) outs(%xt3 : memref<784x64xf32>) {
  ^bb0(%p: f32, %q: f32):
    linalg.yield %p : f32
  }
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%xt3, %dy : memref<784x64xf32>, memref<64x128xf32>) outs(%dw : memref<784x128xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  }
  // The source (a temporary, bytes 1,200,000 to 1,400,704) and the output
  // (from byte 1,300,000 of the same workspace) overlap: kept.
  // CHECK: linalg.generic
  // CHECK-SAME: outs(%{{.*}} : memref<64x784xf32>)
  // CHECK: gpu.launch
  %src = memref.view %ws[%c1200000][] : memref<4000000xi8> to memref<784x64xf32>
  %xt4 = memref.view %ws[%c0][] : memref<4000000xi8> to memref<64x784xf32>
  %c1300000 = arith.constant 1300000 : index
  %out4 = memref.view %ws[%c1300000][] : memref<4000000xi8> to memref<784x784xf32>
  linalg.generic {indexing_maps = [#id, #tr], iterator_types = ["parallel", "parallel"]}
      ins(%src : memref<784x64xf32>) outs(%xt4 : memref<64x784xf32>) {
  ^bb0(%p: f32, %q: f32):
    linalg.yield %p : f32
  }
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%src, %xt4 : memref<784x64xf32>, memref<64x784xf32>) outs(%out4 : memref<784x784xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// Not this kernel: a body with more than a multiply-add (isaContraction-
// OpInterface lets unary operations through), and a loop with no role (an
// output-only dimension b: out[b, i, j] += A[i, k] B[k, j]).
#a = affine_map<(i, j, k) -> (i, k)>
#b = affine_map<(i, j, k) -> (k, j)>
#c = affine_map<(i, j, k) -> (i, j)>
#a4 = affine_map<(b, i, j, k) -> (i, k)>
#b4 = affine_map<(b, i, j, k) -> (k, j)>
#c4 = affine_map<(b, i, j, k) -> (b, i, j)>
// CHECK-LABEL: func.func @not_plain_products
// CHECK-NOT: gpu.launch
// CHECK-COUNT-2: linalg.generic
// CHECK-NOT: gpu.launch
func.func @not_plain_products(%x: memref<64x32xf32>, %w: memref<32x16xf32>, %y: memref<64x16xf32>,
                              %y3: memref<4x64x16xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<64x32xf32>, memref<32x16xf32>) outs(%y : memref<64x16xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %e = math.exp %p : f32
    %m = arith.mulf %e, %q : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#a4, #b4, #c4], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<64x32xf32>, memref<32x16xf32>) outs(%y3 : memref<4x64x16xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// A product one row thin (batch-1 prediction): blocks of 8 columns
// (ceil(250/8) = 32 of them), each of 8 columns x 32 groups splitting K.
// B's fastest index is n, so consecutive threads take consecutive columns.
// A group's loop is unrolled by 4 (25 steps: 6 unrolled and one more),
// every load guarded by k < 784 and column < 250 (neither divides); the
// groups' sums meet in shared memory after a barrier and one thread per
// output adds the 32 in order, starting from the folded fill.
#ga = affine_map<(i, j, k) -> (i, k)>
#gb = affine_map<(i, j, k) -> (k, j)>
#gc = affine_map<(i, j, k) -> (i, j)>
// CHECK-LABEL: func.func @thin_row
func.func @thin_row(%x: memref<1x784xf32>, %w: memref<784x250xf32>, %y: memref<1x250xf32>) {
  // CHECK: %[[FILL:.*]] = arith.constant 5.000000e-01 : f32
  // CHECK-NOT: linalg.fill
  // CHECK: gpu.launch blocks({{.*}}) in (%{{[^ ]*}} = %c32, %{{[^ ]*}} = %c1{{(_[0-9]+)?}}, %{{[^ ]*}} = %c1{{(_[0-9]+)?}})
  // CHECK-SAME: threads(%[[T:[^ ,]*]], {{.*}}) in (%{{[^ ]*}} = %c256
  // CHECK-SAME: workgroup(%[[P:[^ ]*]] : memref<32x8xf32, #gpu.address_space<workgroup>>)
  // CHECK: %[[COL:.*]] = arith.remui %[[T]], %c8
  // CHECK: %[[GROUP:.*]] = arith.divui %[[T]], %c8
  // CHECK: %[[SUM:.*]] = scf.for %{{.*}} = %{{.*}} to %c24 step %c4
  // CHECK-COUNT-4: arith.cmpi ult, %{{.*}}, %c784
  // CHECK: scf.yield
  // CHECK: arith.cmpi ult, %{{.*}}, %c784
  // CHECK: memref.load %{{.*}} : memref<784x250xf32>
  // CHECK: memref.load %{{.*}} : memref<1x784xf32>
  // CHECK: %[[LAST:.*]] = arith.addf %[[SUM]],
  // CHECK: memref.store %[[LAST]], %[[P]][%[[GROUP]], %{{.*}}]
  // CHECK-NEXT: gpu.barrier
  // CHECK: arith.cmpi ult, %[[T]], %c8
  // CHECK: scf.if
  // CHECK: scf.for %[[G:.*]] = %{{.*}} to %c32
  // CHECK: memref.load %[[P]][%[[G]], %[[T]]]
  // CHECK: arith.addf %[[FILL]],
  // CHECK: memref.store %{{.*}} : memref<1x250xf32>
  %half = arith.constant 0.5 : f32
  linalg.fill ins(%half : f32) outs(%y : memref<1x250xf32>)
  linalg.generic {indexing_maps = [#ga, #gb, #gc], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<1x784xf32>, memref<784x250xf32>) outs(%y : memref<1x250xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// Thin in n (a 3-output layer over 100 rows, the weight stored 3x70): the
// 3 columns become the thin side, the 100 rows the columns of the blocks
// (ceil(100/8) = 13). The operand they index, x, is fastest along k, so a
// warp's 32 consecutive threads take consecutive k of one row; 3 sums per
// thread, a 32x24 shared array (3 steps of k: unrolled whole, one guarded
// load of a B and 3 A elements each); the output is read and added to.
#ta = affine_map<(i, j, k) -> (i, k)>
#tb = affine_map<(i, j, k) -> (j, k)>
#tc = affine_map<(i, j, k) -> (i, j)>
// CHECK-LABEL: func.func @thin_columns
func.func @thin_columns(%x: memref<100x70xf32>, %w: memref<3x70xf32>, %y: memref<100x3xf32>) {
  // CHECK: gpu.launch blocks({{.*}}) in (%{{[^ ]*}} = %c13, %{{[^ ]*}} = %c1{{(_[0-9]+)?}}, %{{[^ ]*}} = %c1{{(_[0-9]+)?}})
  // CHECK-SAME: threads(%[[T:[^ ,]*]], {{.*}}) in (%{{[^ ]*}} = %c256
  // CHECK-SAME: workgroup(%[[P:[^ ]*]] : memref<32x24xf32, #gpu.address_space<workgroup>>)
  // CHECK: arith.divui %[[T]], %c32
  // CHECK: arith.remui %[[T]], %c32
  // CHECK-COUNT-3: scf.if %{{.*}} -> (f32, f32, f32, f32)
  // CHECK-NOT: scf.for
  // CHECK: gpu.barrier
  // CHECK: arith.cmpi ult, %[[T]], %c24
  // CHECK: %[[OLD:.*]] = memref.load %{{.*}} : memref<100x3xf32>
  // CHECK: arith.addf %[[OLD]],
  linalg.generic {indexing_maps = [#ta, #tb, #tc], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<100x70xf32>, memref<3x70xf32>) outs(%y : memref<100x3xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// More batches than the grid's z (or, thin, its y) holds: left to the
// loop mapping, which uses x.
#ba = affine_map<(b, i, j, k) -> (b, i, k)>
#bb2 = affine_map<(b, i, j, k) -> (b, k, j)>
#bc = affine_map<(b, i, j, k) -> (b, i, j)>
// CHECK-LABEL: func.func @too_many_batches
// CHECK-NOT: gpu.launch
// CHECK: linalg.generic
func.func @too_many_batches(%x: memref<70000x2x3xf32>, %w: memref<70000x3x2xf32>, %y: memref<70000x2x2xf32>) {
  linalg.generic {indexing_maps = [#ba, #bb2, #bc], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<70000x2x3xf32>, memref<70000x3x2xf32>) outs(%y : memref<70000x2x2xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// A convolution as an implicit product: out[n, f, h, w] over c, kh, kw of
// x[n, c, h + kh, w + kw] * w[f, c, kh, kw]. The groups: rows f (16),
// columns (n, h, w) (64 * 14 * 14 = 12544: the output's fastest index w
// is among them, so they are the columns, ceil(12544/64) = 196 blocks),
// reduction (c, kh, kw) (27). Each staged element delinearizes its k into
// c, kh, kw and its column into n, h, w, then reads through the maps (the
// input at h + kh, w + kw); the filled output is stored without a load.
#cx = affine_map<(n, f, h, w, c, kh, kw) -> (n, c, h + kh, w + kw)>
#cw = affine_map<(n, f, h, w, c, kh, kw) -> (f, c, kh, kw)>
#co = affine_map<(n, f, h, w, c, kh, kw) -> (n, f, h, w)>
// CHECK-LABEL: func.func @convolution
func.func @convolution(%x: memref<64x3x16x16xf32>, %w: memref<16x3x3x3xf32>, %y: memref<64x16x14x14xf32>) {
  // CHECK: gpu.launch blocks({{.*}}) in (%{{[^ ]*}} = %c196, %{{[^ ]*}} = %c1{{(_[0-9]+)?}}, %{{[^ ]*}} = %c1{{(_[0-9]+)?}})
  // CHECK: scf.for %{{.*}} = %{{.*}} to %c27{{.*}} step %c16
  // CHECK: arith.remui %{{.*}}, %c3
  // CHECK: memref.load %{{.*}} : memref<16x3x3x3xf32>
  // CHECK: arith.remui %{{.*}}, %c14
  // CHECK: affine.apply #[[H:map[0-9]*]](
  // CHECK: memref.load %{{.*}} : memref<64x3x16x16xf32>
  // CHECK: gpu.barrier
  // CHECK-NOT: memref.load %{{.*}} : memref<64x16x14x14xf32>
  // CHECK-COUNT-16: memref.store %{{.*}} : memref<64x16x14x14xf32>
  // CHECK-NOT: linalg
  %z = arith.constant 0.0 : f32
  linalg.fill ins(%z : f32) outs(%y : memref<64x16x14x14xf32>)
  linalg.generic {indexing_maps = [#cx, #cw, #co], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %w : memref<64x3x16x16xf32>, memref<16x3x3x3xf32>) outs(%y : memref<64x16x14x14xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// A long reduction into a few tiles' worth of outputs (a 16x150 weight
// gradient summed over 6,400 positions: 3 tiles walking 400 slices) is
// left to kiln-gpu-block-reduce, a block per output element.
#la = affine_map<(i, j, k) -> (i, k)>
#lb = affine_map<(i, j, k) -> (k, j)>
#lc = affine_map<(i, j, k) -> (i, j)>
// CHECK-LABEL: func.func @long_reduction
// CHECK-NOT: gpu.launch
// CHECK: linalg.generic
func.func @long_reduction(%x: memref<16x6400xf32>, %w: memref<6400x150xf32>, %y: memref<16x150xf32>) {
  linalg.generic {indexing_maps = [#la, #lb, #lc], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<16x6400xf32>, memref<6400x150xf32>) outs(%y : memref<16x150xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// The elementwise operation right after a product (a dense layer's bias
// and activation) runs in the product's epilogue: each output element,
// once summed, is stored and fed to the consumer's body, whose result is
// stored where it writes; its launch goes.
#ea = affine_map<(i, j, k) -> (i, k)>
#eb = affine_map<(i, j, k) -> (k, j)>
#ec = affine_map<(i, j, k) -> (i, j)>
#ebias = affine_map<(i, j) -> (j)>
#eid = affine_map<(i, j) -> (i, j)>
// CHECK-LABEL: func.func @epilogue(
// CHECK-SAME: %[[Y:[^:]*]]: memref<100x30xf32>, %[[Z:[^:]*]]: memref<100x30xf32>)
// CHECK: gpu.launch
// CHECK: gpu.barrier
// CHECK: scf.yield
// CHECK: memref.store %{{.*}}, %[[Y]]
// CHECK: memref.load %{{.*}} : memref<30xf32>
// CHECK: arith.maximumf
// CHECK: memref.store %{{.*}}, %[[Z]]
// CHECK: gpu.terminator
// CHECK-NOT: linalg.generic
func.func @epilogue(%x: memref<100x70xf32>, %w: memref<70x30xf32>, %bv: memref<30xf32>, %y: memref<100x30xf32>, %z: memref<100x30xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%y : memref<100x30xf32>)
  linalg.generic {indexing_maps = [#ea, #eb, #ec], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<100x70xf32>, memref<70x30xf32>) outs(%y : memref<100x30xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#ebias, #eid, #eid], iterator_types = ["parallel", "parallel"]}
      ins(%bv, %y : memref<30xf32>, memref<100x30xf32>) outs(%z : memref<100x30xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %s = arith.addf %q, %p : f32
    %r = arith.maximumf %s, %zero : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// In place (the consumer overwrites the product's output): only its
// result is stored, once per element (one per thread of these 16x16
// tiles); a thin product too.
#ia = affine_map<(i, j, k) -> (i, k)>
#ib = affine_map<(i, j, k) -> (k, j)>
#ic = affine_map<(i, j, k) -> (i, j)>
#ibias = affine_map<(i, j) -> (j)>
#iid = affine_map<(i, j) -> (i, j)>
// CHECK-LABEL: func.func @epilogue_in_place(
// CHECK-SAME: %[[Y:[^:]*]]: memref<100x30xf32>, %[[T:[^:]*]]: memref<1x30xf32>)
// CHECK: gpu.launch
// CHECK: memref.store %{{.*}}, %[[Y]]
// CHECK-NOT: memref.store %{{.*}}, %[[Y]]
// CHECK: gpu.launch
// CHECK: arith.maximumf
// CHECK: memref.store %{{.*}}, %[[T]]
// CHECK-NOT: memref.store %{{.*}}, %[[T]]
// CHECK: gpu.terminator
// CHECK-NOT: linalg.generic
func.func @epilogue_in_place(%x: memref<100x70xf32>, %w: memref<70x30xf32>, %bv: memref<30xf32>, %y: memref<100x30xf32>, %t: memref<1x30xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.generic {indexing_maps = [#ia, #ib, #ic], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<100x70xf32>, memref<70x30xf32>) outs(%y : memref<100x30xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#ibias, #iid, #iid], iterator_types = ["parallel", "parallel"]}
      ins(%bv, %y : memref<30xf32>, memref<100x30xf32>) outs(%y : memref<100x30xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %s = arith.addf %q, %p : f32
    %r = arith.maximumf %s, %zero : f32
    linalg.yield %r : f32
  }
  // A one-row product, then the same in place on its output.
  %row = memref.subview %y[0, 0] [1, 30] [1, 1] : memref<100x30xf32> to memref<1x30xf32, strided<[30, 1]>>
  %sq = memref.subview %w[0, 0] [30, 30] [1, 1] : memref<70x30xf32> to memref<30x30xf32, strided<[30, 1]>>
  linalg.generic {indexing_maps = [#ia, #ib, #ic], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%row, %sq : memref<1x30xf32, strided<[30, 1]>>, memref<30x30xf32, strided<[30, 1]>>) outs(%t : memref<1x30xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#ibias, #iid, #iid], iterator_types = ["parallel", "parallel"]}
      ins(%bv, %t : memref<30xf32>, memref<1x30xf32>) outs(%t : memref<1x30xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %s = arith.addf %q, %p : f32
    %r = arith.maximumf %s, %zero : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Not in the epilogue: a consumer that writes one of the product's inputs
// (other blocks may still be reading it), and one that reads the output
// at an element other than its own (y[j][i] beside y[i][j]).
#na = affine_map<(i, j, k) -> (i, k)>
#nb = affine_map<(i, j, k) -> (k, j)>
#nc = affine_map<(i, j, k) -> (i, j)>
#nid = affine_map<(i, j) -> (i, j)>
#ntr = affine_map<(i, j) -> (j, i)>
// CHECK-LABEL: func.func @not_epilogues
// CHECK: gpu.launch
// CHECK: gpu.terminator
// CHECK: linalg.generic
// CHECK: gpu.launch
// CHECK: gpu.terminator
// CHECK: linalg.generic
func.func @not_epilogues(%x: memref<30x30xf32>, %w: memref<30x30xf32>, %y: memref<30x30xf32>, %z: memref<30x30xf32>) {
  linalg.generic {indexing_maps = [#na, #nb, #nc], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<30x30xf32>, memref<30x30xf32>) outs(%y : memref<30x30xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#nid, #nid], iterator_types = ["parallel", "parallel"]}
      ins(%y : memref<30x30xf32>) outs(%x : memref<30x30xf32>) {
  ^bb0(%p: f32, %o: f32):
    %r = arith.addf %p, %p : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#na, #nb, #nc], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<30x30xf32>, memref<30x30xf32>) outs(%y : memref<30x30xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#nid, #ntr, #nid], iterator_types = ["parallel", "parallel"]}
      ins(%y, %y : memref<30x30xf32>, memref<30x30xf32>) outs(%z : memref<30x30xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %r = arith.addf %p, %q : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Not in the epilogue: a consumer whose body loads memory itself (here the
// product's output at a fixed element, which another block may not have
// stored yet). A scalar operand of a consumer is used as it is. An empty
// reduction is left to the loops.
#ca = affine_map<(m, n, k) -> (m, k)>
#cb = affine_map<(m, n, k) -> (k, n)>
#cc = affine_map<(m, n, k) -> (m, n)>
#cid = affine_map<(d0, d1) -> (d0, d1)>
#cs = affine_map<(d0, d1) -> ()>
// CHECK-LABEL: func.func @consumer_edges(
// CHECK-SAME: %[[S:[^:]*]]: f32
// CHECK: gpu.launch
// CHECK: gpu.terminator
// CHECK: linalg.generic
// CHECK: memref.load
// CHECK: gpu.launch
// CHECK: arith.addf %{{.*}}, %[[S]] : f32
// CHECK: gpu.terminator
// CHECK-NOT: gpu.launch
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : memref<4x0xf32>, memref<0x128xf32>)
func.func @consumer_edges(%A: memref<128x64xf32>, %B: memref<64x128xf32>, %C: memref<128x128xf32>, %D: memref<128x128xf32>, %s: f32,
                          %E: memref<4x0xf32>, %F: memref<0x128xf32>, %G: memref<4x128xf32>) {
  %c0 = arith.constant 0 : index
  linalg.generic {indexing_maps = [#ca, #cb, #cc], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%A, %B : memref<128x64xf32>, memref<64x128xf32>) outs(%C : memref<128x128xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %m = arith.mulf %x, %y : f32
    %r = arith.addf %o, %m : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#cid, #cid], iterator_types = ["parallel", "parallel"]}
      ins(%C : memref<128x128xf32>) outs(%D : memref<128x128xf32>) {
  ^bb0(%x: f32, %o: f32):
    %corner = memref.load %C[%c0, %c0] : memref<128x128xf32>
    %r = arith.subf %x, %corner : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#ca, #cb, #cc], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%A, %B : memref<128x64xf32>, memref<64x128xf32>) outs(%C : memref<128x128xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %m = arith.mulf %x, %y : f32
    %r = arith.addf %o, %m : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#cid, #cs, #cid], iterator_types = ["parallel", "parallel"]}
      ins(%C, %s : memref<128x128xf32>, f32) outs(%D : memref<128x128xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %r = arith.addf %x, %y : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#ca, #cb, #cc], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%E, %F : memref<4x0xf32>, memref<0x128xf32>) outs(%G : memref<4x128xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %m = arith.mulf %x, %y : f32
    %r = arith.addf %o, %m : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Workspace views: a reshape covers the bytes of the view it reshapes, so a
// consumer writing other bytes of the workspace runs in the epilogue of a
// product reading that reshape, and one writing the reshaped bytes (which
// other blocks may still be reading) does not.
#wa = affine_map<(i, j, k) -> (i, k)>
#wb = affine_map<(i, j, k) -> (k, j)>
#wc = affine_map<(i, j, k) -> (i, j)>
#wid = affine_map<(i, j) -> (i, j)>
// CHECK-LABEL: func.func @workspace_views
// CHECK: gpu.launch
// CHECK: arith.negf
// CHECK: gpu.terminator
// CHECK-NOT: linalg.generic
// CHECK: gpu.launch
// CHECK-NOT: arith.negf
// CHECK: gpu.terminator
// CHECK: linalg.generic
// CHECK: arith.negf
func.func @workspace_views(%ws: memref<4096xi8>, %w: memref<16x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1024 = arith.constant 1024 : index
  %c2048 = arith.constant 2048 : index
  %a = memref.view %ws[%c0][] : memref<4096xi8> to memref<16x4x4xf32>
  %ac = memref.collapse_shape %a [[0], [1, 2]] : memref<16x4x4xf32> into memref<16x16xf32>
  %y = memref.view %ws[%c1024][] : memref<4096xi8> to memref<16x16xf32>
  %z = memref.view %ws[%c2048][] : memref<4096xi8> to memref<16x16xf32>
  %over = memref.view %ws[%c0][] : memref<4096xi8> to memref<16x16xf32>
  linalg.generic {indexing_maps = [#wa, #wb, #wc], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%ac, %w : memref<16x16xf32>, memref<16x16xf32>) outs(%y : memref<16x16xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#wid, #wid], iterator_types = ["parallel", "parallel"]}
      ins(%y : memref<16x16xf32>) outs(%z : memref<16x16xf32>) {
  ^bb0(%p: f32, %o: f32):
    %n = arith.negf %p : f32
    linalg.yield %n : f32
  }
  linalg.generic {indexing_maps = [#wa, #wb, #wc], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%ac, %w : memref<16x16xf32>, memref<16x16xf32>) outs(%y : memref<16x16xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#wid, #wid], iterator_types = ["parallel", "parallel"]}
      ins(%y : memref<16x16xf32>) outs(%over : memref<16x16xf32>) {
  ^bb0(%p: f32, %o: f32):
    %n = arith.negf %p : f32
    linalg.yield %n : f32
  }
  return
}

// -----

// A subview of a workspace view lies within that view's bytes (an RNN
// step reading its slice of the inputs' projections beside the product's
// output): the consumer runs in the epilogue.
#sa = affine_map<(i, j, k) -> (i, k)>
#sb = affine_map<(i, j, k) -> (k, j)>
#sc = affine_map<(i, j, k) -> (i, j)>
#sid = affine_map<(i, j) -> (i, j)>
// CHECK-LABEL: func.func @subview_of_view
// CHECK: gpu.launch
// CHECK: arith.subf
// CHECK: gpu.terminator
// CHECK-NOT: linalg.generic
func.func @subview_of_view(%ws: memref<8192xi8>, %h: memref<1x64xf32>, %w: memref<64x256xf32>, %t: index) {
  %c0 = arith.constant 0 : index
  %c4096 = arith.constant 4096 : index
  %c5120 = arith.constant 5120 : index
  %proj = memref.view %ws[%c0][] : memref<8192xi8> to memref<4x256xf32>
  %step = memref.subview %proj[%t, 0] [1, 256] [1, 1] : memref<4x256xf32> to memref<1x256xf32, strided<[256, 1], offset: ?>>
  %y = memref.view %ws[%c4096][] : memref<8192xi8> to memref<1x256xf32>
  %z = memref.view %ws[%c5120][] : memref<8192xi8> to memref<1x256xf32>
  linalg.generic {indexing_maps = [#sa, #sb, #sc], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%h, %w : memref<1x64xf32>, memref<64x256xf32>) outs(%y : memref<1x256xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#sid, #sid, #sid], iterator_types = ["parallel", "parallel"]}
      ins(%y, %step : memref<1x256xf32>, memref<1x256xf32, strided<[256, 1], offset: ?>>) outs(%z : memref<1x256xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %d = arith.subf %p, %q : f32
    linalg.yield %d : f32
  }
  return
}

// -----

// The consumer need not follow the product at once: a weight gradient added
// into a running sum (a recurrent step's dW += h^T dY) after another
// product that touches neither its operands nor its output. The product runs
// in the consumer's place, the sum in its epilogue. Not when an op in
// between writes one of the product's inputs (the product would read the
// new values).
#a = affine_map<(i, j, k) -> (i, k)>
#b = affine_map<(i, j, k) -> (k, j)>
#c = affine_map<(i, j, k) -> (i, j)>
#id = affine_map<(i, j) -> (i, j)>
// CHECK-LABEL: func.func @consumer_later
// CHECK-SAME: %[[O:[^:]*]]: memref<32x64xf32>, %[[ACC:[^:]*]]: memref<64x64xf32>)
// CHECK: gpu.launch
// CHECK: memref.store %{{.*}}, %[[O]][
// CHECK: gpu.terminator
// CHECK: gpu.launch
// CHECK: arith.addf
// CHECK: memref.store %{{.*}}, %[[ACC]]
// CHECK: gpu.terminator
// CHECK-NOT: linalg.generic
// CHECK-LABEL: func.func @input_written_between
// CHECK: gpu.launch
// CHECK: gpu.launch
// CHECK: linalg.generic
func.func @consumer_later(%h: memref<32x64xf32>, %dy: memref<32x64xf32>, %tmp: memref<64x64xf32>,
                          %u: memref<64x64xf32>, %o: memref<32x64xf32>, %acc: memref<64x64xf32>) {
  %ht = memref.alloc() : memref<64x32xf32>
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%ht, %dy : memref<64x32xf32>, memref<32x64xf32>) outs(%tmp : memref<64x64xf32>) {
  ^bb0(%p: f32, %q: f32, %s: f32):
    %m = arith.mulf %p, %q : f32
    %t = arith.addf %s, %m : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%dy, %u : memref<32x64xf32>, memref<64x64xf32>) outs(%o : memref<32x64xf32>) {
  ^bb0(%p: f32, %q: f32, %s: f32):
    %m = arith.mulf %p, %q : f32
    %t = arith.addf %s, %m : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%acc, %tmp : memref<64x64xf32>, memref<64x64xf32>) outs(%acc : memref<64x64xf32>) {
  ^bb0(%p: f32, %q: f32, %r: f32):
    %t = arith.addf %p, %q : f32
    linalg.yield %t : f32
  }
  return
}
func.func @input_written_between(%h: memref<32x64xf32>, %dy: memref<32x64xf32>, %tmp: memref<64x64xf32>,
                                 %u: memref<64x64xf32>, %acc: memref<64x64xf32>) {
  %ht = memref.alloc() : memref<64x32xf32>
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%ht, %dy : memref<64x32xf32>, memref<32x64xf32>) outs(%tmp : memref<64x64xf32>) {
  ^bb0(%p: f32, %q: f32, %s: f32):
    %m = arith.mulf %p, %q : f32
    %t = arith.addf %s, %m : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%h, %u : memref<32x64xf32>, memref<64x64xf32>) outs(%dy : memref<32x64xf32>) {
  ^bb0(%p: f32, %q: f32, %s: f32):
    %m = arith.mulf %p, %q : f32
    %t = arith.addf %s, %m : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%acc, %tmp : memref<64x64xf32>, memref<64x64xf32>) outs(%acc : memref<64x64xf32>) {
  ^bb0(%p: f32, %q: f32, %r: f32):
    %t = arith.addf %p, %q : f32
    linalg.yield %t : f32
  }
  return
}
