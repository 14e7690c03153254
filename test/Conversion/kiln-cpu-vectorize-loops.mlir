// RUN: kiln-opt %s --kiln-cpu-vectorize | FileCheck %s

// Bias + ReLU over an NCHW image: the two trailing dimensions are contiguous
// in every operand and merge into rows of 28 * 28 = 784 = 49 vectors of 16
// lanes (AVX2 here: 98 of 8); the bias is broadcast, not reloaded per lane.
#nchw = affine_map<(n, c, h, w) -> (n, c, h, w)>
#chan = affine_map<(n, c, h, w) -> (c)>
// CHECK-LABEL: func.func @bias_relu
// CHECK-NOT: linalg.generic
// CHECK: memref.collapse_shape
// CHECK: scf.for %{{.*}} = %c0 to %c784 step %c8
// CHECK: vector.transfer_read {{.*}} vector<1x1x8xf32>
// CHECK: arith.addf {{.*}} : vector<1x1x8xf32>
// CHECK: arith.maximumf {{.*}} : vector<1x1x8xf32>
// CHECK: vector.transfer_write
func.func @bias_relu(%x: memref<2x6x28x28xf32>, %b: memref<6xf32>, %y: memref<2x6x28x28xf32>) {
  linalg.generic {indexing_maps = [#nchw, #chan, #nchw],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %b : memref<2x6x28x28xf32>, memref<6xf32>) outs(%y : memref<2x6x28x28xf32>) {
  ^bb0(%v: f32, %c: f32, %o: f32):
    %s = arith.addf %v, %c : f32
    %z = arith.constant 0.0 : f32
    %r = arith.maximumf %s, %z : f32
    linalg.yield %r : f32
  }
  return
}

// Sizes that no vector width divides: 4 x 19 merges into one row of 76,
// nine 8-lane blocks and one block of the last 4 lanes.
// CHECK-LABEL: func.func @remainder
// CHECK: memref.collapse_shape {{.*}} into memref<76xf32>
// CHECK: scf.for %{{.*}} = %c0 to %c72 step %c8
// CHECK: arith.mulf {{.*}} : vector<8xf32>
// CHECK: arith.mulf {{.*}} : vector<4xf32>
// CHECK-NOT: linalg.generic
#id2 = affine_map<(i, j) -> (i, j)>
func.func @remainder(%x: memref<4x19xf32>, %y: memref<4x19xf32>) {
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<4x19xf32>) outs(%y : memref<4x19xf32>) {
  ^bb0(%v: f32, %o: f32):
    %s = arith.mulf %v, %v : f32
    linalg.yield %s : f32
  }
  return
}

// im2col at stride 1: out[c, a, b, n, i, j] = x[n, c, i + a, j + b]. Each
// output row is a contiguous run of an input row: vector loads and stores,
// 8 lanes and then the last 2 of each 10-pixel row.
// CHECK-LABEL: func.func @im2col
// CHECK-NOT: linalg.generic
// CHECK: vector.load %{{.*}} : memref<2x3x12x12xf32>, vector<8xf32>
// CHECK: vector.store %{{.*}} : memref<3x3x3x2x10x10xf32>, vector<8xf32>
// CHECK: vector.load %{{.*}} : memref<2x3x12x12xf32>, vector<2xf32>
// CHECK: vector.store %{{.*}} : memref<3x3x3x2x10x10xf32>, vector<2xf32>
#patch = affine_map<(c, a, b, n, i, j) -> (n, c, i + a, j + b)>
#cols = affine_map<(c, a, b, n, i, j) -> (c, a, b, n, i, j)>
func.func @im2col(%x: memref<2x3x12x12xf32>, %y: memref<3x3x3x2x10x10xf32>) {
  linalg.generic {indexing_maps = [#patch, #cols],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%x : memref<2x3x12x12xf32>) outs(%y : memref<3x3x3x2x10x10xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  }
  return
}

// At stride 2 the rows are not contiguous: left to the loop lowering.
// CHECK-LABEL: func.func @im2col_strided
// CHECK: linalg.generic
#patch2 = affine_map<(c, a, b, n, i, j) -> (n, c, i * 2 + a, j * 2 + b)>
func.func @im2col_strided(%x: memref<2x3x12x12xf32>, %y: memref<3x3x3x2x5x5xf32>) {
  linalg.generic {indexing_maps = [#patch2, #cols],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%x : memref<2x3x12x12xf32>) outs(%y : memref<3x3x3x2x5x5xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  }
  return
}

// col2im at stride 1: xpad[n, c, i + a, j + b] += cols[c, a, b, n, i, j].
// The loops keep their order (the same sums as the scalar loops), each row
// of j loaded, added into the image row it came from and stored back; the
// batch loop is parallel (each n writes its own planes), the window and
// position loops are not.
// CHECK-LABEL: func.func @col2im
// CHECK-NOT: linalg.generic
// CHECK: scf.for {{.*}} {
// CHECK: vector.load %{{.*}} : memref<3x3x3x2x10x10xf32>, vector<8xf32>
// CHECK: vector.load %{{.*}} : memref<2x3x12x12xf32>, vector<8xf32>
// CHECK: arith.addf {{.*}} : vector<8xf32>
// CHECK: vector.store %{{.*}} : memref<2x3x12x12xf32>, vector<8xf32>
// CHECK: vector.load %{{.*}} : memref<3x3x3x2x10x10xf32>, vector<2xf32>
// CHECK: vector.store %{{.*}} : memref<2x3x12x12xf32>, vector<2xf32>
// CHECK: } {kiln.parallel}
// CHECK-NEXT: return
#c2i_cols = affine_map<(n, c, a, b, i, j) -> (c, a, b, n, i, j)>
#c2i_img = affine_map<(n, c, a, b, i, j) -> (n, c, i + a, j + b)>
func.func @col2im(%x: memref<3x3x3x2x10x10xf32>, %y: memref<2x3x12x12xf32>) {
  linalg.generic {indexing_maps = [#c2i_cols, #c2i_img],
                  iterator_types = ["parallel", "parallel", "reduction", "reduction", "reduction", "reduction"]}
      ins(%x : memref<3x3x3x2x10x10xf32>) outs(%y : memref<2x3x12x12xf32>) {
  ^bb0(%v: f32, %o: f32):
    %s = arith.addf %o, %v : f32
    linalg.yield %s : f32
  }
  return
}

// A column sum (a bias gradient): out[j] += in[k, j] over rows k in order,
// one vector of j at a time; nothing runs in parallel (k is a reduction).
// CHECK-LABEL: func.func @column_sum
// CHECK-NOT: linalg.generic
// CHECK: scf.for
// CHECK: vector.load %{{.*}} : memref<64x10xf32>, vector<8xf32>
// CHECK: vector.load %{{.*}} : memref<64x10xf32>, vector<2xf32>
// CHECK-NOT: kiln.parallel
#rows = affine_map<(k, j) -> (k, j)>
#cols1 = affine_map<(k, j) -> (j)>
func.func @column_sum(%x: memref<64x10xf32>, %y: memref<10xf32>) {
  linalg.generic {indexing_maps = [#rows, #cols1], iterator_types = ["reduction", "parallel"]}
      ins(%x : memref<64x10xf32>) outs(%y : memref<10xf32>) {
  ^bb0(%v: f32, %o: f32):
    %s = arith.addf %v, %o : f32
    linalg.yield %s : f32
  }
  return
}

// At stride 2 the image rows are not contiguous: left to the loop lowering.
// CHECK-LABEL: func.func @col2im_strided
// CHECK: linalg.generic
#c2i_img2 = affine_map<(n, c, a, b, i, j) -> (n, c, i * 2 + a, j * 2 + b)>
func.func @col2im_strided(%x: memref<3x3x3x2x5x5xf32>, %y: memref<2x3x12x12xf32>) {
  linalg.generic {indexing_maps = [#c2i_cols, #c2i_img2],
                  iterator_types = ["parallel", "parallel", "reduction", "reduction", "reduction", "reduction"]}
      ins(%x : memref<3x3x3x2x5x5xf32>) outs(%y : memref<2x3x12x12xf32>) {
  ^bb0(%v: f32, %o: f32):
    %s = arith.addf %o, %v : f32
    linalg.yield %s : f32
  }
  return
}

// Max pooling, 2x2 windows: loops (n, c, i, j | a, b). Each image row under
// 4 pooled pixels is one 8-lane load, split into the window's two columns
// by shuffles; the maximum runs over the window in order, 4 pixels at once.
// CHECK-LABEL: func.func @max_pool
// CHECK-NOT: linalg.generic
// CHECK: %[[ACC:.*]] = vector.load %{{.*}} : memref<2x3x4x4xf32>, vector<4xf32>
// CHECK: %[[ROW0:.*]] = vector.load %{{.*}} : memref<2x3x8x9xf32>, vector<8xf32>
// CHECK: %[[B0:.*]] = vector.shuffle %[[ROW0]], %[[ROW0]] [0, 2, 4, 6]
// CHECK: %[[M0:.*]] = arith.maximumf %[[B0]], %[[ACC]] : vector<4xf32>
// CHECK: %[[B1:.*]] = vector.shuffle %[[ROW0]], %[[ROW0]] [1, 3, 5, 7]
// CHECK: %[[M1:.*]] = arith.maximumf %[[B1]], %[[M0]] : vector<4xf32>
// CHECK: vector.load %{{.*}} : memref<2x3x8x9xf32>, vector<8xf32>
// CHECK-COUNT-2: arith.maximumf
// CHECK: vector.store %{{.*}} : memref<2x3x4x4xf32>, vector<4xf32>
// CHECK: } {kiln.parallel}
#pool_img = affine_map<(n, c, i, j, a, b) -> (n, c, i * 2 + a, j * 2 + b)>
#pool_win = affine_map<(n, c, i, j, a, b) -> (a, b)>
#pool_out = affine_map<(n, c, i, j, a, b) -> (n, c, i, j)>
func.func @max_pool(%x: memref<2x3x8x9xf32>, %w: memref<2x2xf32>, %y: memref<2x3x4x4xf32>) {
  linalg.generic {indexing_maps = [#pool_img, #pool_win, #pool_out],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %w : memref<2x3x8x9xf32>, memref<2x2xf32>) outs(%y : memref<2x3x4x4xf32>) {
  ^bb0(%v: f32, %s: f32, %o: f32):
    %m = arith.maximumf %v, %o : f32
    linalg.yield %m : f32
  }
  return
}

// Its gradient's routing: each window writes its gradient where the window
// offset matches the recorded position and zeros elsewhere; the two window
// columns are interleaved back into one 8-lane row store per window row.
// CHECK-LABEL: func.func @max_pool_route
// CHECK-NOT: linalg.generic
// CHECK: vector.load %{{.*}} : memref<2x3x4x4xi32>, vector<4xi32>
// CHECK: vector.load %{{.*}} : memref<2x3x4x4xf32>, vector<4xf32>
// CHECK: arith.cmpi eq, {{.*}} : vector<4xi32>
// CHECK: arith.select {{.*}} : vector<4xi1>, vector<4xf32>
// CHECK: %[[CAT:.*]] = vector.shuffle %{{.*}}, %{{.*}} [0, 1, 2, 3, 4, 5, 6, 7] : vector<4xf32>, vector<4xf32>
// CHECK: %[[ROW:.*]] = vector.shuffle %[[CAT]], %[[CAT]] [0, 4, 1, 5, 2, 6, 3, 7]
// CHECK: vector.store %[[ROW]], %{{.*}} : memref<2x3x8x8xf32>, vector<8xf32>
func.func @max_pool_route(%first: memref<2x3x4x4xi32>, %g: memref<2x3x4x4xf32>, %w: memref<2x2xf32>,
                          %dx: memref<2x3x8x8xf32>) {
  linalg.generic {indexing_maps = [#pool_out, #pool_out, #pool_win, #pool_img],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%first, %g, %w : memref<2x3x4x4xi32>, memref<2x3x4x4xf32>, memref<2x2xf32>)
      outs(%dx : memref<2x3x8x8xf32>) {
  ^bb0(%f: i32, %v: f32, %s: f32, %o: f32):
    %a = linalg.index 4 : index
    %b = linalg.index 5 : index
    %c2 = arith.constant 2 : index
    %p = arith.muli %a, %c2 : index
    %q = arith.addi %p, %b : index
    %pos = arith.index_cast %q : index to i32
    %hit = arith.cmpi eq, %pos, %f : i32
    %zero = arith.constant 0.0 : f32
    %r = arith.select %hit, %v, %zero : f32
    linalg.yield %r : f32
  }
  return
}

// Sums of image planes (a convolution's bias gradient, batch norm's
// statistics): out[n, c] += x[n, c, h, w] over (h, w). The plane (5 x 4 = 20
// values) is one row: 8-lane partial sums over the bulk, the 4-lane rest on
// its own, each reduced across lanes, then added to the output; the batch
// loop is parallel.
// CHECK-LABEL: func.func @plane_sums
// CHECK-NOT: linalg.generic
// CHECK: memref.collapse_shape {{.*}} into memref<2x3x20xf32>
// CHECK: %[[FIRST:.*]] = vector.load %{{.*}} : memref<2x3x20xf32>, vector<8xf32>
// CHECK: %[[BULK:.*]] = scf.for {{.*}} iter_args(%[[ACC:.*]] = %[[FIRST]]) -> (vector<8xf32>)
// CHECK: vector.load %{{.*}} : memref<2x3x20xf32>, vector<8xf32>
// CHECK: arith.addf {{.*}} : vector<8xf32>
// CHECK: vector.reduction <add>, %[[BULK]] : vector<8xf32> into f32
// CHECK: %[[REST:.*]] = vector.load %{{.*}} : memref<2x3x20xf32>, vector<4xf32>
// CHECK: vector.reduction <add>, %[[REST]] : vector<4xf32> into f32
// CHECK: memref.load %{{.*}} : memref<2x3xf32>
// CHECK: memref.store %{{.*}} : memref<2x3xf32>
// CHECK: } {kiln.parallel}
#plane_in = affine_map<(n, c, h, w) -> (n, c, h, w)>
#plane_out = affine_map<(n, c, h, w) -> (n, c)>
func.func @plane_sums(%x: memref<2x3x5x4xf32>, %y: memref<2x3xf32>) {
  linalg.generic {indexing_maps = [#plane_in, #plane_out],
                  iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
      ins(%x : memref<2x3x5x4xf32>) outs(%y : memref<2x3xf32>) {
  ^bb0(%v: f32, %o: f32):
    %s = arith.addf %v, %o : f32
    linalg.yield %s : f32
  }
  return
}

// A row maximum (softmax's) the same way, with a maximum across lanes.
// CHECK-LABEL: func.func @row_max
// CHECK: arith.maximumf {{.*}} : vector<8xf32>
// CHECK: vector.reduction <maximumf>
// CHECK-NOT: linalg.generic
#rm_in = affine_map<(i, j) -> (i, j)>
#rm_out = affine_map<(i, j) -> (i)>
func.func @row_max(%x: memref<4x24xf32>, %y: memref<4xf32>) {
  linalg.generic {indexing_maps = [#rm_in, #rm_out], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<4x24xf32>) outs(%y : memref<4xf32>) {
  ^bb0(%v: f32, %o: f32):
    %m = arith.maximumf %o, %v : f32
    linalg.yield %m : f32
  }
  return
}
