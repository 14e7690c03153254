// RUN: kiln-opt %s --canonicalize | FileCheck %s
// RUN: kiln-opt %s --canonicalize --kiln-to-linalg | FileCheck %s --check-prefix=LINALG
// A sum of pads placing blocks next to each other (the gradient of gates
// sliced from one tensor) becomes one concat, whatever order the blocks were
// added in; blocks that overlap, leave a gap or differ in another dimension
// stay a sum.

// CHECK-LABEL: func.func @gates
// CHECK-SAME: (%[[R:.*]]: tensor<2x3xf32>, %[[Z:.*]]: tensor<2x3xf32>, %[[N:.*]]: tensor<2x3xf32>)
// CHECK-NEXT: %[[C:.*]] = kiln.concat %[[R]], %[[Z]], %[[N]] dim = 1 : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x9xf32>
// CHECK-NEXT: return %[[C]]
// LINALG-LABEL: func.func @gates
// LINALG: %[[E:.*]] = tensor.empty() : tensor<2x9xf32>
// LINALG-NOT: linalg.fill
// LINALG: %[[A:.*]] = tensor.insert_slice %{{.*}} into %[[E]][0, 0] [2, 3] [1, 1]
// LINALG: %[[B:.*]] = tensor.insert_slice %{{.*}} into %[[A]][0, 3] [2, 3] [1, 1]
// LINALG: %[[D:.*]] = tensor.insert_slice %{{.*}} into %[[B]][0, 6] [2, 3] [1, 1]
// LINALG: return %[[D]]
func.func @gates(%r: tensor<2x3xf32>, %z: tensor<2x3xf32>, %n: tensor<2x3xf32>) -> tensor<2x9xf32> {
  %pn = kiln.pad %n offsets = [0, 6] : tensor<2x3xf32> -> tensor<2x9xf32>
  %pz = kiln.pad %z offsets = [0, 3] : tensor<2x3xf32> -> tensor<2x9xf32>
  %pr = kiln.pad %r offsets = [0, 0] : tensor<2x3xf32> -> tensor<2x9xf32>
  %a = kiln.add %pn, %pz : tensor<2x9xf32>
  %b = kiln.add %pr, %a : tensor<2x9xf32>
  return %b : tensor<2x9xf32>
}

// Out of order (the first two far apart): joined once the middle one comes.
// CHECK-LABEL: func.func @out_of_order
// CHECK-SAME: (%[[A:.*]]: tensor<2x3xf32>, %[[B:.*]]: tensor<2x3xf32>, %[[C:.*]]: tensor<2x3xf32>)
// CHECK-NEXT: %[[J:.*]] = kiln.concat %[[A]], %[[B]], %[[C]] dim = 1
// CHECK-NEXT: return %[[J]]
func.func @out_of_order(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>, %c: tensor<2x3xf32>) -> tensor<2x9xf32> {
  %pa = kiln.pad %a offsets = [0, 0] : tensor<2x3xf32> -> tensor<2x9xf32>
  %pc = kiln.pad %c offsets = [0, 6] : tensor<2x3xf32> -> tensor<2x9xf32>
  %pb = kiln.pad %b offsets = [0, 3] : tensor<2x3xf32> -> tensor<2x9xf32>
  %s = kiln.add %pa, %pc : tensor<2x9xf32>
  %t = kiln.add %s, %pb : tensor<2x9xf32>
  return %t : tensor<2x9xf32>
}

// A gradient that also flows in whole (x used sliced and as it is): the
// blocks are joined, the whole term added to them once.
// CHECK-LABEL: func.func @with_whole_term
// CHECK-SAME: (%[[X:.*]]: tensor<4x6xf32>, %[[A:.*]]: tensor<4x2xf32>, %[[B:.*]]: tensor<4x2xf32>)
// CHECK-NEXT: %[[J:.*]] = kiln.concat %[[A]], %[[B]] dim = 1 : tensor<4x2xf32>, tensor<4x2xf32> -> tensor<4x4xf32>
// CHECK-NEXT: %[[P:.*]] = kiln.pad %[[J]] offsets = [0, 1] : tensor<4x4xf32> -> tensor<4x6xf32>
// CHECK-NEXT: %[[S:.*]] = kiln.add %[[X]], %[[P]]
// CHECK-NEXT: return %[[S]]
func.func @with_whole_term(%x: tensor<4x6xf32>, %a: tensor<4x2xf32>, %b: tensor<4x2xf32>) -> tensor<4x6xf32> {
  %pb = kiln.pad %b offsets = [0, 3] : tensor<4x2xf32> -> tensor<4x6xf32>
  %pa = kiln.pad %a offsets = [0, 1] : tensor<4x2xf32> -> tensor<4x6xf32>
  %s = kiln.add %x, %pb : tensor<4x6xf32>
  %t = kiln.add %pa, %s : tensor<4x6xf32>
  return %t : tensor<4x6xf32>
}

// Along the first dimension, in a rank-3 tensor.
// CHECK-LABEL: func.func @rows
// CHECK-NEXT: kiln.concat %{{.*}}, %{{.*}} dim = 0 : tensor<1x2x3xf32>, tensor<2x2x3xf32> -> tensor<3x2x3xf32>
// CHECK-NEXT: return
func.func @rows(%a: tensor<1x2x3xf32>, %b: tensor<2x2x3xf32>) -> tensor<3x2x3xf32> {
  %pa = kiln.pad %a offsets = [0, 0, 0] : tensor<1x2x3xf32> -> tensor<3x2x3xf32>
  %pb = kiln.pad %b offsets = [1, 0, 0] : tensor<2x2x3xf32> -> tensor<3x2x3xf32>
  %s = kiln.add %pb, %pa : tensor<3x2x3xf32>
  return %s : tensor<3x2x3xf32>
}

// Left alone: a gap between the blocks; overlapping blocks; the same block
// twice; blocks next to each other in one dimension but not lined up in
// the other; an inner sum used elsewhere too (joining would compute both).
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: kiln.concat
// CHECK: return
func.func @left_alone(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>, %c: tensor<1x3xf32>, %x: tensor<2x9xf32>)
    -> (tensor<2x9xf32>, tensor<2x9xf32>, tensor<2x9xf32>, tensor<2x9xf32>, tensor<2x9xf32>, tensor<2x9xf32>) {
  %p0 = kiln.pad %a offsets = [0, 0] : tensor<2x3xf32> -> tensor<2x9xf32>
  %p6 = kiln.pad %b offsets = [0, 6] : tensor<2x3xf32> -> tensor<2x9xf32>
  %gap = kiln.add %p0, %p6 : tensor<2x9xf32>
  %p2 = kiln.pad %b offsets = [0, 2] : tensor<2x3xf32> -> tensor<2x9xf32>
  %overlap = kiln.add %p0, %p2 : tensor<2x9xf32>
  %twice = kiln.add %p0, %p0 : tensor<2x9xf32>
  %q = kiln.pad %c offsets = [1, 3] : tensor<1x3xf32> -> tensor<2x9xf32>
  %skew = kiln.add %p0, %q : tensor<2x9xf32>
  %p3 = kiln.pad %b offsets = [0, 3] : tensor<2x3xf32> -> tensor<2x9xf32>
  %inner = kiln.add %x, %p0 : tensor<2x9xf32>
  %shared = kiln.add %inner, %p3 : tensor<2x9xf32>
  return %gap, %overlap, %twice, %skew, %shared, %inner : tensor<2x9xf32>, tensor<2x9xf32>, tensor<2x9xf32>, tensor<2x9xf32>, tensor<2x9xf32>, tensor<2x9xf32>
}

// A pad filling its whole result is its operand; a concat of one operand
// is that operand.
// CHECK-LABEL: func.func @folds
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>)
// CHECK-NEXT: return %[[X]], %[[X]]
func.func @folds(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>) {
  %p = kiln.pad %x offsets = [0, 0] : tensor<2x3xf32> -> tensor<2x3xf32>
  %c = kiln.concat %x dim = 0 : tensor<2x3xf32> -> tensor<2x3xf32>
  return %p, %c : tensor<2x3xf32>, tensor<2x3xf32>
}
