// RUN: kiln-opt %s --kiln-gpu-tile-matmul --split-input-file | FileCheck %s

// A 100x70 by 70x30 product (no size a multiple of a tile): a grid of
// ceil(30/64) x ceil(100/64) blocks of 256 threads, A and B staged in
// 16-deep slices (A padded to 65 columns), zero outside the operands, a
// barrier after staging and after use, 16 sums per thread carried through
// the slices, and each sum added to the output inside its bounds.
#a = affine_map<(i, j, k) -> (i, k)>
#b = affine_map<(i, j, k) -> (k, j)>
#c = affine_map<(i, j, k) -> (i, j)>
// CHECK-LABEL: func.func @matmul
func.func @matmul(%x: memref<100x70xf32>, %w: memref<70x30xf32>, %y: memref<100x30xf32>) {
  // CHECK: gpu.launch blocks({{.*}}) in (%{{[^ ]*}} = %c1{{(_[0-9]+)?}}, %{{[^ ]*}} = %c2, %{{[^ ]*}} = %c1{{(_[0-9]+)?}})
  // CHECK-SAME: threads({{.*}}) in (%{{[^ ]*}} = %c256
  // CHECK-SAME: workgroup(%[[A:[^ ]*]] : memref<16x65xf32, #gpu.address_space<workgroup>>, %[[B:[^ ]*]] : memref<16x64xf32, #gpu.address_space<workgroup>>)
  // CHECK: %[[SUMS:.*]]:16 = scf.for %[[K0:.*]] = %{{.*}} to %c70{{.*}} step %c16
  // CHECK-COUNT-4: scf.if %{{.*}} -> (f32)
  // CHECK: memref.load %{{.*}} : memref<100x70xf32>
  // CHECK: memref.store %{{.*}}, %[[A]]
  // CHECK: memref.load %{{.*}} : memref<70x30xf32>
  // CHECK: memref.store %{{.*}}, %[[B]]
  // CHECK: gpu.barrier
  // CHECK: scf.for %{{.*}} = %{{.*}} to %c16
  // CHECK-COUNT-4: memref.load %[[A]]
  // CHECK-COUNT-16: arith.mulf
  // CHECK: gpu.barrier
  // CHECK: scf.yield
  // CHECK-COUNT-16: memref.store %{{.*}} : memref<100x30xf32>
  // CHECK: gpu.terminator
  // CHECK-NOT: linalg.generic
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<100x70xf32>, memref<70x30xf32>) outs(%y : memref<100x30xf32>) {
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
  // CHECK: arith.addf %[[ZERO]], %{{.*}}#0 : f32
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
