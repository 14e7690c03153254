// RUN: kiln-opt %s --kiln-plan-memory | FileCheck %s

#id = affine_map<(d0) -> (d0)>
// %a dies when %b is written, so %c can reuse %a's bytes; %b is live with both.
// Three 64-byte temporaries would take 192 bytes unshared.
// CHECK-LABEL: func.func @reuse
// CHECK-SAME: %{{.*}}: memref<16xf32>, %[[WS:.*]]: memref<128xi8>)
// CHECK-SAME: kiln.temporaries_bytes = 192 : i64, kiln.workspace_bytes = 128
// CHECK: %[[A:.*]] = arith.constant 0 : index
// CHECK: memref.view %[[WS]][%[[A]]][] : memref<128xi8> to memref<16xf32>
// CHECK: %[[B:.*]] = arith.constant 64 : index
// CHECK: memref.view %[[WS]][%[[B]]][] : memref<128xi8> to memref<16xf32>
// CHECK: %[[C:.*]] = arith.constant 0 : index
// CHECK: memref.view %[[WS]][%[[C]]][] : memref<128xi8> to memref<16xf32>
// CHECK-NOT: memref.alloc
func.func @reuse(%out: memref<16xf32>) {
  %a = memref.alloc() : memref<16xf32>
  %cst = arith.constant 1.0 : f32
  linalg.fill ins(%cst : f32) outs(%a : memref<16xf32>)
  %b = memref.alloc() : memref<16xf32>
  linalg.copy ins(%a : memref<16xf32>) outs(%b : memref<16xf32>)
  %c = memref.alloc() : memref<16xf32>
  linalg.copy ins(%b : memref<16xf32>) outs(%c : memref<16xf32>)
  linalg.copy ins(%c : memref<16xf32>) outs(%out : memref<16xf32>)
  return
}

// A view keeps its buffer alive: %a is used through %v after %b is born.
// CHECK-LABEL: func.func @views
// CHECK-SAME: kiln.workspace_bytes = 128
func.func @views(%out: memref<4xf32>) {
  %a = memref.alloc() : memref<16xf32>
  %cst = arith.constant 1.0 : f32
  linalg.fill ins(%cst : f32) outs(%a : memref<16xf32>)
  %v = memref.subview %a[0] [4] [1] : memref<16xf32> to memref<4xf32, strided<[1]>>
  %b = memref.alloc() : memref<4xf32>
  linalg.fill ins(%cst : f32) outs(%b : memref<4xf32>)
  linalg.copy ins(%v : memref<4xf32, strided<[1]>>) outs(%out : memref<4xf32>)
  linalg.copy ins(%b : memref<4xf32>) outs(%out : memref<4xf32>)
  return
}

// A loop's result is the buffer passed as its iter_arg: %a is read through
// %r after the loop, so %b (born after the loop) must not take its bytes.
// CHECK-LABEL: func.func @loop_result
// CHECK-SAME: kiln.workspace_bytes = 128
func.func @loop_result(%out: memref<16xf32>) {
  %a = memref.alloc() : memref<16xf32>
  %cst = arith.constant 1.0 : f32
  linalg.fill ins(%cst : f32) outs(%a : memref<16xf32>)
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c1 = arith.constant 1 : index
  %r = scf.for %i = %c0 to %c2 step %c1 iter_args(%acc = %a) -> (memref<16xf32>) {
    linalg.copy ins(%acc : memref<16xf32>) outs(%acc : memref<16xf32>)
    scf.yield %acc : memref<16xf32>
  }
  %b = memref.alloc() : memref<16xf32>
  linalg.fill ins(%cst : f32) outs(%b : memref<16xf32>)
  linalg.copy ins(%r : memref<16xf32>) outs(%out : memref<16xf32>)
  linalg.copy ins(%b : memref<16xf32>) outs(%out : memref<16xf32>)
  return
}
