// RUN: kiln-opt %s --kiln-gpu-check-host --split-input-file --verify-diagnostics | FileCheck %s

// Views, index arithmetic and loops over them are host work: they compute
// device addresses without touching device memory.
// CHECK-LABEL: func.func @addresses
func.func @addresses(%ws: memref<256xi8>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %t = %c0 to %c4 step %c1 {
    %off = arith.muli %t, %c4 : index
    %v = memref.view %ws[%off][] : memref<256xi8> to memref<f32>
  }
  return
}

// -----

// Reading or computing on data is not.
func.func @reads(%x: memref<4xf32>, %out: memref<f32>) {
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{'memref.load' op would run on the host against device memory (kiln-gpu-device-only left it outside a kernel)}}
  %v = memref.load %x[%c0] : memref<4xf32>
  // expected-error @+1 {{'arith.addf' op would run on the host against device memory}}
  %w = arith.addf %v, %v : f32
  // expected-error @+1 {{'memref.store' op would run on the host against device memory}}
  memref.store %w, %out[] : memref<f32>
  return
}
