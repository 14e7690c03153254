// RUN: kiln-opt %s --kiln-gpu-device-only --split-input-file --verify-diagnostics | FileCheck %s

// A full reduction (the loss summed over the batch) and the scalar work
// after it run in one-iteration parallel loops, which become kernels; the
// parallel loop stays as it is, and the view between the scalar operations
// is computed on the host before the kernel.
// CHECK-LABEL: func.func @loss
func.func @loss(%x: memref<64xf32>, %out: memref<f32>, %ws: memref<64xi8>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  // CHECK: scf.parallel (%{{.*}}) = (%c0) to (%c64)
  scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
    %v = memref.load %x[%i] : memref<64xf32>
    %w = arith.mulf %v, %half : f32
    memref.store %w, %x[%i] : memref<64xf32>
    scf.reduce
  }
  // CHECK: %[[SUM:.*]] = memref.view %{{.*}}[%c0][] : memref<64xi8> to memref<f32>
  // CHECK-NEXT: %[[Z:.*]] = arith.constant 0 : index
  // CHECK-NEXT: %[[O:.*]] = arith.constant 1 : index
  // CHECK-NEXT: scf.parallel (%{{.*}}) = (%[[Z]]) to (%[[O]]) step (%[[O]]) {
  // CHECK-NEXT:   memref.store %{{.*}}, %[[SUM]][]
  // CHECK-NEXT:   scf.for
  // CHECK:        }
  // CHECK-NEXT:   %[[TOTAL:.*]] = memref.load %[[SUM]][]
  // CHECK-NEXT:   memref.store %[[TOTAL]], %{{.*}}[] : memref<f32>
  // CHECK-NEXT:   scf.reduce
  // CHECK-NEXT: }
  // CHECK-NEXT: return
  %sum = memref.view %ws[%c0][] : memref<64xi8> to memref<f32>
  memref.store %zero, %sum[] : memref<f32>
  scf.for %i = %c0 to %c64 step %c1 {
    %v = memref.load %x[%i] : memref<64xf32>
    %s = memref.load %sum[] : memref<f32>
    %t = arith.addf %s, %v : f32
    memref.store %t, %sum[] : memref<f32>
  }
  %total = memref.load %sum[] : memref<f32>
  memref.store %total, %out[] : memref<f32>
  return
}

// -----

// A loop of parallel loops (a recurrent scan) stays on the host as a loop of
// launches; the scalar work inside its body becomes a kernel of its own.
// CHECK-LABEL: func.func @scan
func.func @scan(%h: memref<8x4xf32>, %c: memref<f32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  // CHECK: scf.for %[[T:.*]] =
  scf.for %t = %c0 to %c8 step %c1 {
    // CHECK-NEXT: scf.parallel (%{{.*}}) = (%c0) to (%c4)
    scf.parallel (%j) = (%c0) to (%c4) step (%c1) {
      %v = memref.load %h[%t, %j] : memref<8x4xf32>
      %w = arith.addf %v, %v : f32
      memref.store %w, %h[%t, %j] : memref<8x4xf32>
      scf.reduce
    }
    // CHECK: scf.parallel
    // CHECK-NEXT: memref.load %{{.*}}[%[[T]], %c0]
    // CHECK-NEXT: memref.store
    // CHECK-NEXT: scf.reduce
    %first = memref.load %h[%t, %c0] : memref<8x4xf32>
    memref.store %first, %c[] : memref<f32>
  }
  return
}

// -----

// A value the host would need after a kernel cannot come back from it.
func.func @escapes(%x: memref<4xf32>, %i: memref<index>) -> index {
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{'memref.load' op computes a value the host needs after it; a GPU kernel cannot return it}}
  %n = memref.load %i[] : memref<index>
  %v = memref.load %x[%c0] : memref<4xf32>
  memref.store %v, %x[%n] : memref<4xf32>
  return %n : index
}
