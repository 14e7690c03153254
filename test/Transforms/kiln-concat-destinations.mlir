// RUN: kiln-opt %s --kiln-concat-destinations --split-input-file | FileCheck %s
// RUN: kiln-opt %s --kiln-concat-destinations --one-shot-bufferize="bufferize-function-boundaries" --split-input-file | FileCheck %s --check-prefix=BUF

// Two concats sharing their first two pieces (CSE merged the prefix of
// their insert chains): the second gets a chain of its own, from the same
// empty, so bufferization copies the two 2x2 pieces into its buffer
// instead of the whole 2x6 prefix (without the pass: one 2x6 copy).
// CHECK-LABEL: func.func @shared_prefix
// CHECK-SAME: (%[[A:[^:]*]]: tensor<2x2xf32>, %[[B:[^:]*]]: tensor<2x2xf32>, %[[C:[^:]*]]: tensor<2x2xf32>, %[[D:[^:]*]]: tensor<2x2xf32>)
// CHECK: %[[E:.*]] = tensor.empty() : tensor<2x6xf32>
// CHECK: %[[P0:.*]] = tensor.insert_slice %[[A]] into %[[E]][0, 0]
// CHECK: %[[P1:.*]] = tensor.insert_slice %[[B]] into %[[P0]][0, 2]
// CHECK: %[[X:.*]] = tensor.insert_slice %[[C]] into %[[P1]][0, 4]
// CHECK: %[[Q0:.*]] = tensor.insert_slice %[[A]] into %[[E]][0, 0]
// CHECK: %[[Q1:.*]] = tensor.insert_slice %[[B]] into %[[Q0]][0, 2]
// CHECK: %[[Y:.*]] = tensor.insert_slice %[[D]] into %[[Q1]][0, 4]
// CHECK: return %[[X]], %[[Y]]
// BUF-LABEL: func.func @shared_prefix
// BUF-NOT: memref.copy {{.*}} : memref<2x6xf32> to memref<2x6xf32
// BUF-COUNT-6: memref.copy {{.*}} : memref<2x2xf32{{.*}}> to memref<2x2xf32, strided<[6, 1]{{.*}}>>
// BUF-NOT: memref.copy {{.*}} to memref<2x6xf32
// BUF: return
func.func @shared_prefix(%a: tensor<2x2xf32>, %b: tensor<2x2xf32>, %c: tensor<2x2xf32>, %d: tensor<2x2xf32>)
    -> (tensor<2x6xf32>, tensor<2x6xf32>) {
  %e = tensor.empty() : tensor<2x6xf32>
  %0 = tensor.insert_slice %a into %e[0, 0] [2, 2] [1, 1] : tensor<2x2xf32> into tensor<2x6xf32>
  %1 = tensor.insert_slice %b into %0[0, 2] [2, 2] [1, 1] : tensor<2x2xf32> into tensor<2x6xf32>
  %x = tensor.insert_slice %c into %1[0, 4] [2, 2] [1, 1] : tensor<2x2xf32> into tensor<2x6xf32>
  %y = tensor.insert_slice %d into %1[0, 4] [2, 2] [1, 1] : tensor<2x2xf32> into tensor<2x6xf32>
  return %x, %y : tensor<2x6xf32>, tensor<2x6xf32>
}

// -----

// A recurrent step's concat stacked over time steps (a loop's result, at
// the step's index): built in the step's slice of the stacked tensor,
// which a reader before the insert also reads. The loop-invariant empty
// keeps its other use. After bufferization the pieces go straight into the
// stacked buffer; what is left is the insert's copy of the slice onto
// itself (kiln-update-in-place drops it), no copy from another buffer.
// CHECK-LABEL: func.func @stacked
// CHECK: %[[E:.*]] = tensor.empty() : tensor<2x4xf32>
// CHECK: scf.for %[[T:[^ ]*]] = {{.*}} iter_args(%[[S:[^ ]*]] = 
// CHECK: %[[SLICE:.*]] = tensor.extract_slice %[[S]][%[[T]], 0, 0] [1, 2, 4] [1, 1, 1] : tensor<3x2x4xf32> to tensor<2x4xf32>
// CHECK: %[[P0:.*]] = tensor.insert_slice %{{.*}} into %[[SLICE]][0, 0]
// CHECK: %[[P1:.*]] = tensor.insert_slice %{{.*}} into %[[P0]][0, 2]
// CHECK: tensor.extract %[[P1]]
// CHECK: tensor.insert_slice %[[P1]] into %[[S]][%[[T]], 0, 0]
// CHECK: tensor.insert_slice %{{.*}} into %[[E]][0, 0]
// BUF-LABEL: func.func @stacked
// BUF: scf.for
// BUF: %[[SL:.*]] = memref.subview %{{.*}}[%{{.*}}, 0, 0] [1, 2, 4] [1, 1, 1]
// BUF-NOT: memref.alloc
// BUF: memref.subview %[[SL]][0, 0] [2, 2]
// BUF: scf.yield
func.func @stacked(%a: tensor<2x2xf32>, %b: tensor<2x2xf32>, %init: tensor<3x2x4xf32>)
    -> (tensor<3x2x4xf32>, f32, tensor<2x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4xf32>
  %r:2 = scf.for %t = %c0 to %c3 step %c1 iter_args(%s = %init, %sum = %zero) -> (tensor<3x2x4xf32>, f32) {
    %0 = tensor.insert_slice %a into %e[0, 0] [2, 2] [1, 1] : tensor<2x2xf32> into tensor<2x4xf32>
    %1 = tensor.insert_slice %b into %0[0, 2] [2, 2] [1, 1] : tensor<2x2xf32> into tensor<2x4xf32>
    %v = tensor.extract %1[%c1, %c3] : tensor<2x4xf32>
    %next = arith.addf %sum, %v : f32
    %2 = tensor.insert_slice %1 into %s[%t, 0, 0] [1, 2, 4] [1, 1, 1] : tensor<2x4xf32> into tensor<3x2x4xf32>
    scf.yield %2, %next : tensor<3x2x4xf32>, f32
  }
  %other = tensor.insert_slice %b into %e[0, 0] [2, 2] [1, 1] : tensor<2x2xf32> into tensor<2x4xf32>
  return %r#0, %r#1, %other : tensor<3x2x4xf32>, f32, tensor<2x4xf32>
}

// -----

// An op's output stacked the same way (an Elman step's gate gradient, no
// concat): its init becomes the step's slice.
#id = affine_map<(i, j) -> (i, j)>
// CHECK-LABEL: func.func @op_output
// CHECK: scf.for %[[T:[^ ]*]] = {{.*}} iter_args(%[[S:[^ ]*]] = 
// CHECK: %[[SLICE:.*]] = tensor.extract_slice %[[S]][%[[T]], 0, 0] [1, 2, 4] [1, 1, 1]
// CHECK: %[[G:.*]] = linalg.generic {{.*}} outs(%[[SLICE]] : tensor<2x4xf32>)
// CHECK: tensor.insert_slice %[[G]] into %[[S]][%[[T]], 0, 0]
func.func @op_output(%a: tensor<2x4xf32>, %init: tensor<3x2x4xf32>) -> tensor<3x2x4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %r = scf.for %t = %c0 to %c3 step %c1 iter_args(%s = %init) -> (tensor<3x2x4xf32>) {
    %e = tensor.empty() : tensor<2x4xf32>
    %g = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%a : tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) {
    ^bb0(%p: f32, %o: f32):
      %m = arith.mulf %p, %p : f32
      linalg.yield %m : f32
    } -> tensor<2x4xf32>
    %2 = tensor.insert_slice %g into %s[%t, 0, 0] [1, 2, 4] [1, 1, 1] : tensor<2x4xf32> into tensor<3x2x4xf32>
    scf.yield %2 : tensor<3x2x4xf32>
  }
  return %r : tensor<3x2x4xf32>
}

// -----

// Left alone: the value is read after the insert (building it in the slice
// would be no worse, but the reader would then see the slice after the
// insert wrote it: not this pass's call); a piece in between has another
// use; the destination is defined after the value's first op.
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: tensor.extract_slice
// CHECK: return
func.func @left_alone(%a: tensor<2x2xf32>, %b: tensor<2x2xf32>, %big: tensor<4x4xf32>)
    -> (tensor<4x4xf32>, f32, tensor<4x4xf32>, f32, tensor<4x4xf32>) {
  %c0 = arith.constant 0 : index
  %e = tensor.empty() : tensor<2x4xf32>
  %0 = tensor.insert_slice %a into %e[0, 0] [2, 2] [1, 1] : tensor<2x2xf32> into tensor<2x4xf32>
  %1 = tensor.insert_slice %b into %0[0, 2] [2, 2] [1, 1] : tensor<2x2xf32> into tensor<2x4xf32>
  %x = tensor.insert_slice %1 into %big[0, 0] [2, 4] [1, 1] : tensor<2x4xf32> into tensor<4x4xf32>
  %v = tensor.extract %1[%c0, %c0] : tensor<2x4xf32>
  %2 = tensor.insert_slice %a into %e[0, 0] [2, 2] [1, 1] : tensor<2x2xf32> into tensor<2x4xf32>
  %w = tensor.extract %2[%c0, %c0] : tensor<2x4xf32>
  %3 = tensor.insert_slice %b into %2[0, 2] [2, 2] [1, 1] : tensor<2x2xf32> into tensor<2x4xf32>
  %y = tensor.insert_slice %3 into %big[2, 0] [2, 4] [1, 1] : tensor<2x4xf32> into tensor<4x4xf32>
  %4 = tensor.insert_slice %a into %e[0, 0] [2, 2] [1, 1] : tensor<2x2xf32> into tensor<2x4xf32>
  %later = tensor.insert_slice %b into %big[2, 2] [2, 2] [1, 1] : tensor<2x2xf32> into tensor<4x4xf32>
  %z = tensor.insert_slice %4 into %later[0, 0] [2, 4] [1, 1] : tensor<2x4xf32> into tensor<4x4xf32>
  return %x, %v, %y, %w, %z : tensor<4x4xf32>, f32, tensor<4x4xf32>, f32, tensor<4x4xf32>
}
