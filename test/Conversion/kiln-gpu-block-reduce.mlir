// RUN: kiln-opt %s --kiln-gpu-block-reduce --split-input-file | FileCheck %s

// A full reduction (a loss summed over the batch, its elements squared on
// the way): one block of 256 threads, each folding a strided slice from
// the identity -0 (-0 + x is x for every x), the partials combined in
// shared memory as a tree of 8 levels with a barrier after each, and
// thread 0 adding the total to the
// output's initial value.
#id = affine_map<(d0) -> (d0)>
#scalar = affine_map<(d0) -> ()>
// CHECK-LABEL: func.func @loss
func.func @loss(%x: memref<1000xf32>, %out: memref<f32>) {
  // CHECK:      gpu.launch blocks(%{{[^,]*}}, %{{[^,]*}}, %{{[^)]*}}) in (%{{[^ ]*}} = %c1{{(_[0-9]+)?}}, %{{[^ ]*}} = %c1{{(_[0-9]+)?}}, %{{[^ ]*}} = %c1{{(_[0-9]+)?}})
  // CHECK-SAME: threads(%[[T:[^,]*]], %{{[^,]*}}, %{{[^)]*}}) in (%{{[^ ]*}} = %c256{{(_[0-9]+)?}}, %{{[^ ]*}} = %c1{{(_[0-9]+)?}}, %{{[^ ]*}} = %c1{{(_[0-9]+)?}})
  // CHECK-SAME: workgroup(%[[SH:[^ ]*]] : memref<256xf32, #gpu.address_space<workgroup>>)
  // CHECK:        %[[ZERO:.*]] = arith.constant -0.000000e+00 : f32
  // CHECK:        %[[PART:.*]] = scf.for %[[J:.*]] = %[[T]] to %c1000{{.*}} step %c256{{.*}} iter_args(%[[ACC:.*]] = %[[ZERO]])
  // CHECK:          %[[V:.*]] = memref.load %{{.*}}[%{{.*}}] : memref<1000xf32>
  // CHECK:          %[[SQ:.*]] = arith.mulf %[[V]], %[[V]]
  // CHECK:          %[[NEXT:.*]] = arith.addf %[[SQ]], %[[ACC]]
  // CHECK:          scf.yield %[[NEXT]]
  // CHECK:        memref.store %[[PART]], %[[SH]][%[[T]]]
  // CHECK-NEXT:   gpu.barrier
  // CHECK:        arith.cmpi ult, %[[T]], %c128
  // CHECK-NEXT:   scf.if
  // CHECK:        gpu.barrier
  // CHECK-COUNT-6: gpu.barrier
  // CHECK:        arith.cmpi ult, %[[T]], %c1
  // CHECK-NEXT:   scf.if
  // CHECK:        gpu.barrier
  // CHECK-NOT:    gpu.barrier
  // CHECK:        %[[FIRST:.*]] = arith.cmpi eq, %[[T]], %c0
  // CHECK-NEXT:   scf.if %[[FIRST]] {
  // CHECK-NEXT:     %[[OLD:.*]] = memref.load %{{.*}}[] : memref<f32>
  // CHECK:          %[[TOTAL:.*]] = memref.load %[[SH]][%c0
  // CHECK-NEXT:     %[[SUM:.*]] = arith.addf %[[TOTAL]], %[[OLD]]
  // CHECK-NEXT:     memref.store %[[SUM]], %{{.*}}[] : memref<f32>
  // CHECK:        gpu.terminator
  // CHECK-NOT:  linalg.generic
  linalg.generic {indexing_maps = [#id, #scalar], iterator_types = ["reduction"]}
      ins(%x : memref<1000xf32>) outs(%out : memref<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %sq = arith.mulf %a, %a : f32
    %s = arith.addf %sq, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Per-channel statistics (batch norm over N, H, W): one block per channel,
// the block's index the channel's, and a maximum's identity -inf.
#in = affine_map<(n, c, h, w) -> (n, c, h, w)>
#chan = affine_map<(n, c, h, w) -> (c)>
// CHECK-LABEL: func.func @channel_max
func.func @channel_max(%x: memref<64x8x28x28xf32>, %out: memref<8xf32>) {
  // CHECK: gpu.launch blocks(%{{[^,]*}}, %{{[^,]*}}, %{{[^)]*}}) in (%{{[^ ]*}} = %c8, %{{[^ ]*}} = %c1{{(_[0-9]+)?}}, %{{[^ ]*}} = %c1{{(_[0-9]+)?}}) threads
  // CHECK: arith.constant 0xFF800000 : f32
  // CHECK: scf.for %{{.*}} = %{{.*}} to %c50176
  // CHECK:   arith.maximumf
  // CHECK: gpu.barrier
  // CHECK: scf.if
  // CHECK:   memref.load %{{.*}}[%{{.*}}] : memref<8xf32>
  // CHECK:   arith.maximumf
  linalg.generic {indexing_maps = [#in, #chan],
                  iterator_types = ["reduction", "parallel", "reduction", "reduction"]}
      ins(%x : memref<64x8x28x28xf32>) outs(%out : memref<8xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %m = arith.maximumf %acc, %a : f32
    linalg.yield %m : f32
  }
  return
}

// -----

// Left as they are: a short reduction into many outputs (one thread each
// is enough), a body that is not a fold of the output, and a scatter (a
// convolution's input gradient, whose output is indexed by reduction
// dimensions).
#row = affine_map<(i, k) -> (i, k)>
#col = affine_map<(i, k) -> (i)>
// CHECK-LABEL: func.func @untouched
// CHECK-NOT: gpu.launch
// CHECK-COUNT-3: linalg.generic
// CHECK-NOT: gpu.launch
#cols = affine_map<(n, c, kh, kw, h, w) -> (c, kh, kw, n, h, w)>
#scatter = affine_map<(n, c, kh, kw, h, w) -> (n, c, h + kh, w + kw)>
func.func @untouched(%r: memref<64x10xf32>, %s: memref<64xf32>,
                     %cols: memref<16x3x3x64x14x14xf32>, %img: memref<64x16x16x16xf32>) {
  linalg.generic {indexing_maps = [#cols, #scatter],
                  iterator_types = ["parallel", "parallel", "reduction", "reduction", "reduction", "reduction"]}
      ins(%cols : memref<16x3x3x64x14x14xf32>) outs(%img : memref<64x16x16x16xf32>) {
  ^bb0(%p: f32, %acc: f32):
    %t = arith.addf %acc, %p : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#row, #col], iterator_types = ["parallel", "reduction"]}
      ins(%r : memref<64x10xf32>) outs(%s : memref<64xf32>) {
  ^bb0(%p: f32, %acc: f32):
    %t = arith.addf %acc, %p : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#row, #col], iterator_types = ["parallel", "reduction"]}
      ins(%r : memref<64x10xf32>) outs(%s : memref<64xf32>) {
  ^bb0(%p: f32, %acc: f32):
    %t = arith.mulf %acc, %p : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// A contribution defined outside the body (folded from a constant) is used
// as it is; an output that two parallel dimensions map onto one element
// (out[i] over i, j both parallel) is left alone: blocks would race on it.
#in = affine_map<(i) -> (i)>
#scalar = affine_map<(i) -> ()>
#two = affine_map<(i, j, k) -> (i, j, k)>
#first = affine_map<(i, j, k) -> (i)>
// CHECK-LABEL: func.func @edges
func.func @edges(%x: memref<1000xf32>, %out: memref<f32>, %y: memref<8x8x512xf32>, %o: memref<8xf32>) {
  %c = arith.constant 2.0 : f32
  // CHECK: %[[C:.*]] = arith.constant 2.000000e+00 : f32
  // CHECK: gpu.launch
  // CHECK: scf.for
  // CHECK: arith.maximumf %{{.*}}, %[[C]] : f32
  // CHECK: gpu.terminator
  linalg.generic {indexing_maps = [#in, #scalar], iterator_types = ["reduction"]}
      ins(%x : memref<1000xf32>) outs(%out : memref<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %m = arith.maximumf %acc, %c : f32
    linalg.yield %m : f32
  }
  // CHECK-NOT: gpu.launch
  // CHECK: linalg.generic
  linalg.generic {indexing_maps = [#two, #first], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%y : memref<8x8x512xf32>) outs(%o : memref<8xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %acc, %a : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A product with a long reduction into few outputs (a 16x150 convolution
// weight gradient over 6,400 positions, which kiln-gpu-tile-matmul leaves
// here): a block per output element.
#pa = affine_map<(i, j, k) -> (i, k)>
#pb = affine_map<(i, j, k) -> (k, j)>
#pc = affine_map<(i, j, k) -> (i, j)>
// CHECK-LABEL: func.func @long_product
// CHECK: gpu.launch blocks({{.*}}) in (%{{[^ ]*}} = %c2400
// CHECK: arith.mulf
// CHECK: gpu.barrier
// CHECK-NOT: linalg.generic
func.func @long_product(%x: memref<16x6400xf32>, %w: memref<6400x150xf32>, %y: memref<16x150xf32>) {
  linalg.generic {indexing_maps = [#pa, #pb, #pc], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<16x6400xf32>, memref<6400x150xf32>) outs(%y : memref<16x150xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// An embedding gradient per table element (30 rows of 4, over 512 ids): a
// block per element, whose body reads the updates where the id matches.
// Left alone: the same with a body that reads the output itself (another
// block writes it, only at its end: a stale value), and an input sharing
// the output's memory.
#ids = affine_map<(v, d, i) -> (i)>
#tab = affine_map<(v, d, i) -> (v, d)>
#all = affine_map<(v, d, i) -> (v, i)>
// CHECK-LABEL: func.func @scatter_rows
// CHECK: gpu.launch blocks({{.*}}) in (%{{[^ ]*}} = %c120
// CHECK: scf.if
// CHECK: memref.load %{{.*}} : memref<512x4xf32>
// CHECK-LABEL: func.func @reads_output
// CHECK-NOT: gpu.launch
// CHECK: linalg.generic
// CHECK-NOT: gpu.launch
// CHECK: linalg.generic
// CHECK-NOT: gpu.launch
func.func @scatter_rows(%ids: memref<512xi32>, %u: memref<512x4xf32>, %t: memref<30x4xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.generic {indexing_maps = [#ids, #tab], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%ids : memref<512xi32>) outs(%t : memref<30x4xf32>) {
  ^bb0(%id: i32, %acc: f32):
    %row = arith.index_cast %id : i32 to index
    %v = linalg.index 0 : index
    %d = linalg.index 1 : index
    %i = linalg.index 2 : index
    %hit = arith.cmpi eq, %row, %v : index
    %x = scf.if %hit -> (f32) {
      %l = memref.load %u[%i, %d] : memref<512x4xf32>
      scf.yield %l : f32
    } else {
      scf.yield %zero : f32
    }
    %s = arith.addf %acc, %x : f32
    linalg.yield %s : f32
  }
  return
}
func.func @reads_output(%ids: memref<512xi32>, %t: memref<4x2xf32>, %big: memref<4x512xf32>) {
  linalg.generic {indexing_maps = [#ids, #tab], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%ids : memref<512xi32>) outs(%t : memref<4x2xf32>) {
  ^bb0(%id: i32, %acc: f32):
    %v = linalg.index 0 : index
    %d = linalg.index 1 : index
    %l = memref.load %t[%v, %d] : memref<4x2xf32>
    %s = arith.addf %acc, %l : f32
    linalg.yield %s : f32
  }
  %col = memref.subview %big[0, 0] [4, 2] [1, 1] : memref<4x512xf32> to memref<4x2xf32, strided<[512, 1]>>
  linalg.generic {indexing_maps = [#all, #tab], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%big : memref<4x512xf32>) outs(%col : memref<4x2xf32, strided<[512, 1]>>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %acc, %a : f32
    linalg.yield %s : f32
  }
  return
}
