// RUN: kiln-opt %s --kiln-gpu-split-k --split-input-file | FileCheck %s

// A dense layer at batch 64: 64x256 outputs are 4 tiles of 64x64, each
// block would walk all 784 of K. Split into 8 chunks of 98 (the largest
// divisor of 784 up to 16 leaving at least 64): the operands viewed with K
// as (chunk, index), a batched product into 8x64x256 partials (their own
// zero fill, which kiln-gpu-tile-matmul folds), then the partials summed in
// chunk order element by element into the output, from its fill's value
// (the fill goes).
#a = affine_map<(i, j, k) -> (i, k)>
#b = affine_map<(i, j, k) -> (k, j)>
#c = affine_map<(i, j, k) -> (i, j)>
// CHECK-DAG: #[[A:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d3, d2)>
// CHECK-DAG: #[[B:.*]] = affine_map<(d0, d1, d2, d3) -> (d3, d2, d1)>
// CHECK-DAG: #[[P:.*]] = affine_map<(d0, d1, d2, d3) -> (d3, d0, d1)>
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @few_tiles
// CHECK-SAME: %[[X:.*]]: memref<64x784xf32>, %[[W:.*]]: memref<784x256xf32>, %[[Y:.*]]: memref<64x256xf32>
// CHECK: %[[START:.*]] = arith.constant 5.000000e-01 : f32
// CHECK-NOT: linalg.fill {{.*}} outs(%[[Y]]
// CHECK-DAG: %[[XS:.*]] = memref.expand_shape %[[X]] {{\[}}[0], [1, 2]] output_shape [64, 8, 98]
// CHECK-DAG: %[[WS:.*]] = memref.expand_shape %[[W]] {{\[}}[0, 1], [2]] output_shape [8, 98, 256]
// CHECK: %[[PART:.*]] = memref.alloc() : memref<8x64x256xf32>
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[PART]] : memref<8x64x256xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[A]], #[[B]], #[[P]]], iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
// CHECK-SAME: ins(%[[XS]], %[[WS]] : memref<64x8x98xf32>, memref<8x98x256xf32>) outs(%[[PART]] : memref<8x64x256xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: %[[P0:.*]] = memref.subview %[[PART]][0, 0, 0] [1, 64, 256] [1, 1, 1]
// CHECK: %[[P7:.*]] = memref.subview %[[PART]][7, 0, 0] [1, 64, 256] [1, 1, 1]
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[ID]], #[[ID]], #[[ID]], #[[ID]], #[[ID]], #[[ID]], #[[ID]], #[[ID]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME: outs(%[[Y]] : memref<64x256xf32>)
// CHECK: ^bb0(%[[I0:[^:]*]]: f32, %[[I1:[^:]*]]: f32, {{.*}}, %[[I7:[^:]*]]: f32, %{{[^:]*}}: f32):
// CHECK: %[[S0:.*]] = arith.addf %[[START]], %[[I0]] : f32
// CHECK: %[[S1:.*]] = arith.addf %[[S0]], %[[I1]] : f32
// CHECK-COUNT-5: arith.addf
// CHECK: %[[S7:.*]] = arith.addf %{{.*}}, %[[I7]] : f32
// CHECK: linalg.yield %[[S7]] : f32
func.func @few_tiles(%x: memref<64x784xf32>, %w: memref<784x256xf32>, %y: memref<64x256xf32>) {
  %z = arith.constant 0.5 : f32
  linalg.fill ins(%z : f32) outs(%y : memref<64x256xf32>)
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<64x784xf32>, memref<784x256xf32>) outs(%y : memref<64x256xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// No fill before the product (it adds to the output, a gradient
// accumulating): the sum starts from the output's old value. K = 256 splits
// into 4 chunks of 64.
#a = affine_map<(i, j, k) -> (i, k)>
#b = affine_map<(i, j, k) -> (k, j)>
#c = affine_map<(i, j, k) -> (i, j)>
// CHECK-LABEL: func.func @accumulates
// CHECK: memref.alloc() : memref<4x64x128xf32>
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : memref<64x128xf32>)
// CHECK: ^bb0(%[[I0:[^:]*]]: f32, %{{[^:]*}}: f32, %{{[^:]*}}: f32, %{{[^:]*}}: f32, %[[OLD:[^:]*]]: f32):
// CHECK: arith.addf %[[OLD]], %[[I0]] : f32
func.func @accumulates(%x: memref<64x256xf32>, %w: memref<256x128xf32>, %y: memref<64x128xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<64x256xf32>, memref<256x128xf32>) outs(%y : memref<64x128xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// Left alone: 16 tiles (enough blocks), a reduction of 128 (too short), a
// side of 8 (the thin kernel splits K itself), a K of 257 (no divisor
// leaves chunks of 64).
#a = affine_map<(i, j, k) -> (i, k)>
#b = affine_map<(i, j, k) -> (k, j)>
#c = affine_map<(i, j, k) -> (i, j)>
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: memref.expand_shape
// CHECK-NOT: memref.alloc
// CHECK-COUNT-4: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-NOT: linalg.generic
func.func @left_alone(%x: memref<256x784xf32>, %w: memref<784x256xf32>, %y: memref<256x256xf32>,
                      %x2: memref<64x128xf32>, %w2: memref<128x256xf32>, %y2: memref<64x256xf32>,
                      %w3: memref<784x8xf32>, %y3: memref<64x8xf32>, %x4: memref<64x784xf32>,
                      %x5: memref<64x257xf32>, %w5: memref<257x256xf32>, %y5: memref<64x256xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<256x784xf32>, memref<784x256xf32>) outs(%y : memref<256x256xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x2, %w2 : memref<64x128xf32>, memref<128x256xf32>) outs(%y2 : memref<64x256xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x4, %w3 : memref<64x784xf32>, memref<784x8xf32>) outs(%y3 : memref<64x8xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x5, %w5 : memref<64x257xf32>, memref<257x256xf32>) outs(%y5 : memref<64x256xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// K also inside another index of A (a sliding window, A[i + k, k]): split,
// that index would count k within a chunk only. Left alone.
#a = affine_map<(i, j, k) -> (i + k, k)>
#b = affine_map<(i, j, k) -> (k, j)>
#c = affine_map<(i, j, k) -> (i, j)>
// CHECK-LABEL: func.func @k_inside_an_index
// CHECK-NOT: memref.expand_shape
// CHECK-NOT: memref.alloc
func.func @k_inside_an_index(%x: memref<847x784xf32>, %w: memref<784x256xf32>, %y: memref<64x256xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<847x784xf32>, memref<784x256xf32>) outs(%y : memref<64x256xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  }
  return
}
