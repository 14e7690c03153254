// RUN: kiln-opt %s --kiln-cpu-vectorize | FileCheck %s
// RUN: kiln-opt %s --kiln-cpu-vectorize=vector-width=16 | FileCheck %s --check-prefix=AVX512

#a = affine_map<(d0, d1, d2) -> (d0, d1)>
#b = affine_map<(d0, d1, d2) -> (d1, d2)>
#c = affine_map<(d0, d1, d2) -> (d0, d2)>
// kiln-to-linalg's i-k-j matmul nest, after bufferization.
func.func @matmul(%A: memref<8x32xf32>, %B: memref<32x64xf32>, %C: memref<8x64xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%A, %B : memref<8x32xf32>, memref<32x64xf32>) outs(%C : memref<8x64xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// 4 x 16 blocks of C (4 rows of two AVX2 vectors) stay in registers across
// the k loop; each k step is one broadcast FMA per row. B (32 x 64) is larger
// than A (8 x 32), so the column loop is outside: each 32 x 16 panel of B is
// read once from memory.
// CHECK-LABEL: func.func @matmul
// CHECK: scf.for %[[J:.*]] = %c0 to %c64 step %c16
// CHECK: scf.for %[[I:.*]] = %c0 to %c8 step %c4
// CHECK: %[[INIT:.*]] = vector.transfer_read {{.*}} : memref<4x16xf32, {{.*}}>, vector<4x16xf32>
// CHECK: %[[ACC:.*]] = scf.for %{{.*}} = %c0 to %c32 step %c1 iter_args(%[[CARRY:.*]] = %[[INIT]]) -> (vector<4x16xf32>)
// CHECK-COUNT-4: vector.fma {{.*}} : vector<16xf32>
// CHECK: scf.yield
// CHECK: vector.transfer_write %[[ACC]]
// CHECK-NOT: linalg.generic

// With AVX-512's 16 lanes the block is 4 x 32.
// AVX512: scf.for %{{.*}} = %c0 to %c64 step %c32
// AVX512: iter_args({{.*}}) -> (vector<4x32xf32>)

// Sizes that divide no block: rows in a block of 5 and a block of 4 (two
// blocks of about the best height; three of 3 would each leave the FMA
// pipes idle half the time), the 37 columns as two 16-lane blocks and the
// last 5 as blocks of 4 and 1 (vector registers' widths: a vector<5x5> block
// is legalized by LLVM into shuffles and spills); nothing is left to the
// scalar loop lowering.
// CHECK-LABEL: func.func @odd
// CHECK-NOT: linalg.generic
// CHECK: scf.for %{{.*}} = %c0 to %c32 step %c16
// CHECK: iter_args({{.*}}) -> (vector<5x16xf32>)
// CHECK: iter_args({{.*}}) -> (vector<5x4xf32>)
// CHECK: iter_args({{.*}}) -> (vector<5x1xf32>)
// CHECK: iter_args({{.*}}) -> (vector<4x16xf32>)
// CHECK: iter_args({{.*}}) -> (vector<4x4xf32>)
// CHECK: iter_args({{.*}}) -> (vector<4x1xf32>)
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @odd(%A: memref<9x32xf32>, %B: memref<32x37xf32>, %C: memref<9x37xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%A, %B : memref<9x32xf32>, memref<32x37xf32>) outs(%C : memref<9x37xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// A B operand larger than L2 (1024 x 1024 floats: 4 MiB) is swept in column
// panels of 64 (1024 x 64 floats: a quarter of a 1 MiB L2), panels
// outermost and marked parallel. Each panel is first packed into a buffer
// (the memory plan places it) as 16-column blocks with unit stride along
// k; then the 6-row blocks of A pass over it, reading B only from the
// pack. The 4 rows left over read B in place.
// CHECK-LABEL: func.func @large
// CHECK: %[[PACK:.*]] = memref.alloc() : memref<64x1024x16xf32>
// CHECK: scf.for %{{.*}} = %c0 to %c64 step %c4 {
// CHECK: %[[ROW:.*]] = vector.load %arg1[{{.*}}] : memref<1024x1024xf32>, vector<8xf32>
// CHECK-NEXT: vector.store %[[ROW]], %[[PACK]]
// CHECK: scf.for %{{.*}} = %c0 to %c1020 step %c6 {
// CHECK: scf.for %{{.*}} = %c0 to %c1024 step %c1 iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>) {
// CHECK-NEXT: vector.load %[[PACK]]
// CHECK-NEXT: vector.load %[[PACK]]
// CHECK-COUNT-12: vector.fma
// CHECK-NEXT: scf.yield
// CHECK: } {kiln.parallel}
// CHECK: iter_args({{.*}}) -> (vector<4x16xf32>)
// AVX512-LABEL: func.func @large
// AVX512: memref.alloc() : memref<32x1024x32xf32>
// AVX512: scf.for %{{.*}} = %c0 to %c32 step %c2 {
func.func @large(%A: memref<1024x1024xf32>, %B: memref<1024x1024xf32>, %C: memref<1024x1024xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%A, %B : memref<1024x1024xf32>, memref<1024x1024xf32>) outs(%C : memref<1024x1024xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// A zero fill just before the matmul is dropped: every block of C starts at
// zero in registers and is never read from memory.
// CHECK-LABEL: func.func @zero_filled
// CHECK-NOT: linalg.fill
// CHECK: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<4x16xf32>
// CHECK-NOT: linalg.fill
// CHECK: scf.for %{{.*}} = %c0 to %c64 step %c16
// CHECK: scf.for %{{.*}} = %c0 to %c8 step %c4
// CHECK-NOT: vector.transfer_read {{.*}} : memref<4x16xf32
// CHECK: scf.for %{{.*}} iter_args(%{{.*}} = %[[ZERO]]) -> (vector<4x16xf32>)
func.func @zero_filled(%A: memref<8x32xf32>, %B: memref<32x64xf32>, %C: memref<8x64xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%C : memref<8x64xf32>)
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%A, %B : memref<8x32xf32>, memref<32x64xf32>) outs(%C : memref<8x64xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// Not when C is read between the fill and the matmul, nor when the fill is
// not zero: C then starts from memory.
// CHECK-LABEL: func.func @fill_read_between
// CHECK: linalg.fill
// CHECK: vector.transfer_read {{.*}} : memref<4x16xf32, {{.*}}>, vector<4x16xf32>
// CHECK-LABEL: func.func @fill_one
// CHECK: linalg.fill
// CHECK: vector.transfer_read {{.*}} : memref<4x16xf32, {{.*}}>, vector<4x16xf32>
func.func @fill_read_between(%A: memref<8x32xf32>, %B: memref<32x64xf32>, %C: memref<8x64xf32>, %D: memref<8x64xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%C : memref<8x64xf32>)
  memref.copy %C, %D : memref<8x64xf32> to memref<8x64xf32>
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%A, %B : memref<8x32xf32>, memref<32x64xf32>) outs(%C : memref<8x64xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
func.func @fill_one(%A: memref<8x32xf32>, %B: memref<32x64xf32>, %C: memref<8x64xf32>) {
  %one = arith.constant 1.0 : f32
  linalg.fill ins(%one : f32) outs(%C : memref<8x64xf32>)
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%A, %B : memref<8x32xf32>, memref<32x64xf32>) outs(%C : memref<8x64xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
