// RUN: kiln-opt %s --kiln-cpu-vectorize --canonicalize | FileCheck %s

// A direct convolution, loops (n, f, i, j | c, a, b), 3x3 over a 12x12
// image with 3 channels into 4 channels of 10x10. Register blocks of the 4
// channels x 2 output rows x 8 pixels (then the last 2) start at zero (the
// fill is dropped); for each (c, a, b) in order, one image segment per row
// and one filter tap broadcast per channel feed 2 FMAs. No im2col.
#cx = affine_map<(n, f, i, j, c, a, b) -> (n, c, i + a, j + b)>
#cw = affine_map<(n, f, i, j, c, a, b) -> (f, c, a, b)>
#cy = affine_map<(n, f, i, j, c, a, b) -> (n, f, i, j)>
// CHECK-LABEL: func.func @conv
// CHECK-NOT: linalg.fill
// CHECK: scf.for %[[N:.*]] = %c0 to %c2 step %c1 {
// CHECK: scf.for %[[I:.*]] = %c0 to %c10 step %c2 {
// CHECK: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK: %[[ROW0:.*]] = vector.load %arg0{{.*}} : memref<2x3x12x12xf32>, vector<8xf32>
// CHECK: %[[ROW1:.*]] = vector.load %arg0{{.*}} : memref<2x3x12x12xf32>, vector<8xf32>
// CHECK: %[[TAP:.*]] = memref.load %arg1[%c0, {{.*}}] : memref<4x3x3x3xf32>
// CHECK: %[[SPLAT:.*]] = vector.splat %[[TAP]] : vector<8xf32>
// CHECK: vector.fma %[[SPLAT]], %[[ROW0]], {{.*}} : vector<8xf32>
// CHECK: vector.fma %[[SPLAT]], %[[ROW1]], {{.*}} : vector<8xf32>
// CHECK-COUNT-8: vector.store {{.*}} : memref<2x4x10x10xf32>, vector<8xf32>
// CHECK: vector.load %arg0{{.*}} : memref<2x3x12x12xf32>, vector<2xf32>
// CHECK-COUNT-8: vector.store {{.*}} : memref<2x4x10x10xf32>, vector<2xf32>
// CHECK: } {kiln.parallel}
// CHECK-NOT: linalg.generic
func.func @conv(%x: memref<2x3x12x12xf32>, %w: memref<4x3x3x3xf32>, %y: memref<2x4x10x10xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%y : memref<2x4x10x10xf32>)
  linalg.generic {indexing_maps = [#cx, #cw, #cy],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %w : memref<2x3x12x12xf32>, memref<4x3x3x3xf32>) outs(%y : memref<2x4x10x10xf32>) {
  ^bb0(%v: f32, %k: f32, %o: f32):
    %p = arith.mulf %v, %k : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  return
}

// At stride 2 each output segment of 4 pixels is one load of 7 image
// elements, every second kept by a shuffle.
#sx = affine_map<(n, f, i, j, c, a, b) -> (n, c, i * 2 + a, j * 2 + b)>
// CHECK-LABEL: func.func @conv_strided
// CHECK: %[[SEG:.*]] = vector.load %arg0{{.*}} : memref<1x1x9x9xf32>, vector<7xf32>
// CHECK: vector.shuffle %[[SEG]], %[[SEG]] [0, 2, 4, 6] : vector<7xf32>, vector<7xf32>
// CHECK-NOT: linalg.generic
func.func @conv_strided(%x: memref<1x1x9x9xf32>, %w: memref<2x1x3x3xf32>, %y: memref<1x2x4x4xf32>) {
  linalg.generic {indexing_maps = [#sx, #cw, #cy],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %w : memref<1x1x9x9xf32>, memref<2x1x3x3xf32>) outs(%y : memref<1x2x4x4xf32>) {
  ^bb0(%v: f32, %k: f32, %o: f32):
    %p = arith.mulf %v, %k : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  return
}

// The filter gradient, loops (f, c, a, b | n, i, j): per (channel block, c, a)
// unit (a parallel loop of 3 x 3), partial dot products of dy's rows with the
// image's shifted segments, one vector per (channel, window column, column
// block): 2 channels x 3 columns x (8 + 2 lanes) = 12 accumulators, carried
// over the batch and the rows; then each is summed across lanes, added to dw.
#gdy = affine_map<(f, c, a, b, n, i, j) -> (n, f, i, j)>
#gx = affine_map<(f, c, a, b, n, i, j) -> (n, c, i + a, j + b)>
#gdw = affine_map<(f, c, a, b, n, i, j) -> (f, c, a, b)>
// CHECK-LABEL: func.func @filter_grad
// CHECK: scf.for %[[U:.*]] = %c0 to %c9 step %c1 {
// CHECK: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<2xf32>, vector<2xf32>, vector<2xf32>, vector<2xf32>, vector<2xf32>, vector<2xf32>)
// CHECK: %[[G:.*]] = vector.load %arg0{{.*}} : memref<2x4x10x10xf32>, vector<8xf32>
// CHECK: %[[S:.*]] = vector.load %arg1{{.*}} : memref<2x3x12x12xf32>, vector<8xf32>
// CHECK: vector.fma %[[G]], %[[S]], {{.*}} : vector<8xf32>
// CHECK: vector.reduction <add>, {{.*}} : vector<8xf32> into f32
// CHECK: vector.reduction <add>, {{.*}} : vector<2xf32> into f32
// CHECK: memref.store {{.*}} : memref<4x3x3x3xf32>
// CHECK: } {kiln.parallel}
// CHECK-NOT: linalg.generic
func.func @filter_grad(%dy: memref<2x4x10x10xf32>, %x: memref<2x3x12x12xf32>, %dw: memref<4x3x3x3xf32>) {
  linalg.generic {indexing_maps = [#gdy, #gx, #gdw],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%dy, %x : memref<2x4x10x10xf32>, memref<2x3x12x12xf32>) outs(%dw : memref<4x3x3x3xf32>) {
  ^bb0(%g: f32, %v: f32, %o: f32):
    %p = arith.mulf %g, %v : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  return
}
