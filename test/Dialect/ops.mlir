// RUN: kiln-opt %s | kiln-opt | FileCheck %s

// CHECK-LABEL: func.func @layer
func.func @layer(%x: tensor<64x784xf32>, %w: tensor<784x256xf32>, %b: tensor<256xf32>) -> tensor<64x256xf32> {
  // CHECK: kiln.matmul %{{.*}}, %{{.*}} : tensor<64x784xf32>, tensor<784x256xf32> -> tensor<64x256xf32>
  %z = kiln.matmul %x, %w : tensor<64x784xf32>, tensor<784x256xf32> -> tensor<64x256xf32>
  // CHECK: kiln.broadcast %{{.*}} dims = [1] : tensor<256xf32> -> tensor<64x256xf32>
  %bb = kiln.broadcast %b dims = [1] : tensor<256xf32> -> tensor<64x256xf32>
  %s = kiln.add %z, %bb : tensor<64x256xf32>
  // CHECK: kiln.relu
  %r = kiln.relu %s : tensor<64x256xf32>
  return %r : tensor<64x256xf32>
}

// CHECK-LABEL: func.func @losses
func.func @losses(%z: tensor<8x3xf32>, %l: tensor<8xi32>, %p: tensor<8x1xf64>, %t: tensor<8x1xf64>) -> (tensor<f32>, tensor<f64>, tensor<3x3xf32>, tensor<8x3xf32>) {
  // CHECK: kiln.softmax_cross_entropy %{{.*}}, %{{.*}} : tensor<8x3xf32>, tensor<8xi32> -> tensor<f32>
  %ce = kiln.softmax_cross_entropy %z, %l : tensor<8x3xf32>, tensor<8xi32> -> tensor<f32>
  // CHECK: kiln.sigmoid_bce %{{.*}}, %{{.*}} : tensor<8x1xf64> -> tensor<f64>
  %bce = kiln.sigmoid_bce %p, %t : tensor<8x1xf64> -> tensor<f64>
  // CHECK: kiln.matmul %{{.*}}, %{{.*}} transpose_a : tensor<8x3xf32>, tensor<8x3xf32> -> tensor<3x3xf32>
  %g = kiln.matmul %z, %z transpose_a : tensor<8x3xf32>, tensor<8x3xf32> -> tensor<3x3xf32>
  // CHECK: kiln.one_hot %{{.*}} : tensor<8xi32> -> tensor<8x3xf32>
  %h = kiln.one_hot %l : tensor<8xi32> -> tensor<8x3xf32>
  return %ce, %bce, %g, %h : tensor<f32>, tensor<f64>, tensor<3x3xf32>, tensor<8x3xf32>
}

// CHECK-LABEL: func.func @fused
func.func @fused(%a: tensor<4x2xf32>, %b: tensor<2xf32>) -> tensor<4x2xf32> {
  // CHECK: kiln.fused(%{{.*}}, %{{.*}} : tensor<4x2xf32>, tensor<2xf32>) -> tensor<4x2xf32> {
  // CHECK: kiln.yield %{{.*}} : tensor<4x2xf32>
  %r = kiln.fused (%a, %b : tensor<4x2xf32>, tensor<2xf32>) -> tensor<4x2xf32> {
  ^bb0(%x: tensor<4x2xf32>, %y: tensor<2xf32>):
    %c = kiln.constant 2.0 : tensor<4x2xf32>
    %yb = kiln.broadcast %y dims = [1] : tensor<2xf32> -> tensor<4x2xf32>
    %s = kiln.add %x, %yb : tensor<4x2xf32>
    %m = kiln.mul %s, %c : tensor<4x2xf32>
    kiln.yield %m : tensor<4x2xf32>
  }
  return %r : tensor<4x2xf32>
}

// CHECK-LABEL: func.func @spatial
func.func @spatial(%x: tensor<8x1x28x28xf32>, %w: tensor<6x1x5x5xf32>) -> tensor<8x864xf32> {
  // CHECK: kiln.conv2d %{{.*}}, %{{.*}} strides = [1, 1] padding = [0, 0] : tensor<8x1x28x28xf32>, tensor<6x1x5x5xf32> -> tensor<8x6x24x24xf32>
  %y = kiln.conv2d %x, %w strides = [1, 1] padding = [0, 0] : tensor<8x1x28x28xf32>, tensor<6x1x5x5xf32> -> tensor<8x6x24x24xf32>
  // CHECK: kiln.max_pool2d %{{.*}} kernel = [2, 2] : tensor<8x6x24x24xf32> -> tensor<8x6x12x12xf32>
  %p = kiln.max_pool2d %y kernel = [2, 2] : tensor<8x6x24x24xf32> -> tensor<8x6x12x12xf32>
  // CHECK: kiln.reshape %{{.*}} : tensor<8x6x12x12xf32> -> tensor<8x864xf32>
  %f = kiln.reshape %p : tensor<8x6x12x12xf32> -> tensor<8x864xf32>
  return %f : tensor<8x864xf32>
}

// CHECK-LABEL: func.func @shape_ops
func.func @shape_ops(%x: tensor<4x2x6xf32>) -> tensor<2x4x6xf32> {
  // CHECK: kiln.transpose %{{.*}} perm = [1, 0, 2] : tensor<4x2x6xf32> -> tensor<2x4x6xf32>
  %t = kiln.transpose %x perm = [1, 0, 2] : tensor<4x2x6xf32> -> tensor<2x4x6xf32>
  // CHECK: kiln.slice %{{.*}} offsets = [0, 0, 3] : tensor<2x4x6xf32> -> tensor<2x4x3xf32>
  %s = kiln.slice %t offsets = [0, 0, 3] : tensor<2x4x6xf32> -> tensor<2x4x3xf32>
  // CHECK: kiln.pad %{{.*}} offsets = [0, 0, 3] : tensor<2x4x3xf32> -> tensor<2x4x6xf32>
  %p = kiln.pad %s offsets = [0, 0, 3] : tensor<2x4x3xf32> -> tensor<2x4x6xf32>
  return %p : tensor<2x4x6xf32>
}

// CHECK-LABEL: func.func @concat
func.func @concat(%a: tensor<2x3xf32>, %b: tensor<2x4xf32>) -> tensor<2x10xf32> {
  // CHECK: kiln.concat %{{.*}}, %{{.*}}, %{{.*}} dim = 1 : tensor<2x3xf32>, tensor<2x4xf32>, tensor<2x3xf32> -> tensor<2x10xf32>
  %c = kiln.concat %a, %b, %a dim = 1 : tensor<2x3xf32>, tensor<2x4xf32>, tensor<2x3xf32> -> tensor<2x10xf32>
  return %c : tensor<2x10xf32>
}

// CHECK-LABEL: func.func @scan
func.func @scan(%h0: tensor<2x3xf32>, %xs: tensor<5x2x3xf32>, %w: tensor<3x3xf32>) -> (tensor<2x3xf32>, tensor<5x2x3xf32>) {
  // CHECK: kiln.scan reverse length = 5 inits(%{{.*}} : tensor<2x3xf32>) sequences(%{{.*}} : tensor<5x2x3xf32>) captures(%{{.*}} : tensor<3x3xf32>) -> carried(tensor<2x3xf32>) stacked(tensor<5x2x3xf32>) {
  // CHECK-NEXT: ^bb0(%{{.*}}: tensor<2x3xf32>, %{{.*}}: tensor<2x3xf32>, %{{.*}}: tensor<3x3xf32>):
  // CHECK: kiln.yield
  %h, %hs = kiln.scan reverse length = 5 inits(%h0 : tensor<2x3xf32>) sequences(%xs : tensor<5x2x3xf32>) captures(%w : tensor<3x3xf32>) -> carried(tensor<2x3xf32>) stacked(tensor<5x2x3xf32>) {
  ^bb0(%c: tensor<2x3xf32>, %x: tensor<2x3xf32>, %ww: tensor<3x3xf32>):
    %z = kiln.matmul %c, %ww : tensor<2x3xf32>, tensor<3x3xf32> -> tensor<2x3xf32>
    %n = kiln.add %z, %x : tensor<2x3xf32>
    kiln.yield %n, %n : tensor<2x3xf32>, tensor<2x3xf32>
  }
  return %h, %hs : tensor<2x3xf32>, tensor<5x2x3xf32>
}

// CHECK-LABEL: func.func @random
func.func @random(%c: tensor<f32>) -> tensor<4x8xf32> {
  // CHECK: kiln.random_uniform %{{.*}} salt = 12345 : tensor<f32> -> tensor<4x8xf32>
  %u = kiln.random_uniform %c salt = 12345 : tensor<f32> -> tensor<4x8xf32>
  return %u : tensor<4x8xf32>
}

// CHECK-LABEL: func.func @embedding
func.func @embedding(%t: tensor<30x16xf32>, %ids: tensor<64x12xi32>) -> tensor<30x16xf32> {
  // CHECK: kiln.gather %{{.*}}[%{{.*}}] : tensor<30x16xf32>, tensor<64x12xi32> -> tensor<64x12x16xf32>
  %e = kiln.gather %t[%ids] : tensor<30x16xf32>, tensor<64x12xi32> -> tensor<64x12x16xf32>
  // CHECK: kiln.scatter_add %{{.*}}[%{{.*}}] : tensor<64x12x16xf32>, tensor<64x12xi32> -> tensor<30x16xf32>
  %g = kiln.scatter_add %e[%ids] : tensor<64x12x16xf32>, tensor<64x12xi32> -> tensor<30x16xf32>
  return %g : tensor<30x16xf32>
}
