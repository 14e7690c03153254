// RUN: kiln-opt %s -split-input-file -verify-diagnostics

func.func @matmul_k(%a: tensor<4x3xf32>, %b: tensor<4x5xf32>) -> tensor<4x5xf32> {
  // expected-error @+1 {{contracting dimensions differ: 3 vs 4}}
  %0 = kiln.matmul %a, %b : tensor<4x3xf32>, tensor<4x5xf32> -> tensor<4x5xf32>
  return %0 : tensor<4x5xf32>
}

// -----

func.func @matmul_result(%a: tensor<4x3xf32>, %b: tensor<3x5xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{result type 'tensor<4x4xf32>' should be 4x5}}
  %0 = kiln.matmul %a, %b : tensor<4x3xf32>, tensor<3x5xf32> -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

func.func @broadcast_size(%b: tensor<3xf32>) -> tensor<4x5xf32> {
  // expected-error @+1 {{operand dimension 0 (size 3) maps to result dimension 1 of size 5}}
  %0 = kiln.broadcast %b dims = [1] : tensor<3xf32> -> tensor<4x5xf32>
  return %0 : tensor<4x5xf32>
}

// -----

func.func @broadcast_order(%b: tensor<4x5xf32>) -> tensor<4x5x6xf32> {
  // expected-error @+1 {{result dimensions must be strictly increasing}}
  %0 = kiln.broadcast %b dims = [1, 0] : tensor<4x5xf32> -> tensor<4x5x6xf32>
  return %0 : tensor<4x5x6xf32>
}

// -----

func.func @reduce_shape(%x: tensor<4x5xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{does not match the operand shape without the reduced dimensions}}
  %0 = kiln.reduce_sum %x dims = [0] : tensor<4x5xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @reduce_range(%x: tensor<4x5xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{reduced dimension 2 is out of range [0, 2)}}
  %0 = kiln.reduce_sum %x dims = [2] : tensor<4x5xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @ce_labels(%z: tensor<8x3xf32>, %l: tensor<4xi32>) -> tensor<f32> {
  // expected-error @+1 {{expects logits [N, C] and labels [N]}}
  %0 = kiln.softmax_cross_entropy %z, %l : tensor<8x3xf32>, tensor<4xi32> -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

func.func @elementwise_types(%a: tensor<4xf32>, %b: tensor<5xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{requires the same type for all operands and results}}
  %0 = "kiln.add"(%a, %b) : (tensor<4xf32>, tensor<5xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @int_relu(%a: tensor<4xi32>) -> tensor<4xi32> {
  // expected-error @+1 {{must be ranked tensor of 32-bit float or 64-bit float values}}
  %0 = "kiln.relu"(%a) : (tensor<4xi32>) -> tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

func.func @fused_yield(%a: tensor<4xf32>) -> tensor<5xf32> {
  // expected-error @+1 {{yielded types do not match the result types}}
  %0 = kiln.fused (%a : tensor<4xf32>) -> tensor<5xf32> {
  ^bb0(%x: tensor<4xf32>):
    kiln.yield %x : tensor<4xf32>
  }
  return %0 : tensor<5xf32>
}

// -----

func.func @conv_channels(%x: tensor<1x3x8x8xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x4x6x6xf32> {
  // expected-error @+1 {{image has 3 channels, filter expects 2}}
  %0 = kiln.conv2d %x, %w strides = [1, 1] padding = [0, 0] : tensor<1x3x8x8xf32>, tensor<4x2x3x3xf32> -> tensor<1x4x6x6xf32>
  return %0 : tensor<1x4x6x6xf32>
}

// -----

func.func @conv_result(%x: tensor<1x2x8x8xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x4x6x6xf32> {
  // expected-error @+1 {{expects the convolution's result to be 1x4x4x4}}
  %0 = kiln.conv2d %x, %w strides = [2, 2] padding = [1, 1] : tensor<1x2x8x8xf32>, tensor<4x2x3x3xf32> -> tensor<1x4x6x6xf32>
  return %0 : tensor<1x4x6x6xf32>
}

// -----

func.func @conv_padding(%x: tensor<1x2x8x8xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x4x12x12xf32> {
  // expected-error @+1 {{strides must be positive and padding in [0, kernel size)}}
  %0 = kiln.conv2d %x, %w strides = [1, 1] padding = [3, 3] : tensor<1x2x8x8xf32>, tensor<4x2x3x3xf32> -> tensor<1x4x12x12xf32>
  return %0 : tensor<1x4x12x12xf32>
}

// -----

func.func @pool_windows(%x: tensor<1x2x5x4xf32>) -> tensor<1x2x2x2xf32> {
  // expected-error @+1 {{image 5x4 is not a whole number of 2x2 windows}}
  %0 = kiln.max_pool2d %x kernel = [2, 2] : tensor<1x2x5x4xf32> -> tensor<1x2x2x2xf32>
  return %0 : tensor<1x2x2x2xf32>
}

// -----

func.func @reshape_permute(%x: tensor<2x3x4xf32>) -> tensor<4x6xf32> {
  // expected-error @+1 {{neither merges nor splits consecutive dimensions}}
  %0 = kiln.reshape %x : tensor<2x3x4xf32> -> tensor<4x6xf32>
  return %0 : tensor<4x6xf32>
}

// -----

func.func @transpose_not_perm(%x: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{perm is not a permutation of 0..1}}
  %0 = kiln.transpose %x perm = [1, 1] : tensor<2x3xf32> -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @slice_outside(%x: tensor<2x8xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{block of size 4 at offset 5 does not fit dimension 1 of size 8}}
  %0 = kiln.slice %x offsets = [0, 5] : tensor<2x8xf32> -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @concat_sizes(%a: tensor<2x3xf32>, %b: tensor<2x4xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{operands sum to 7 in dimension 1, the result has 8}}
  %0 = kiln.concat %a, %b dim = 1 : tensor<2x3xf32>, tensor<2x4xf32> -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

func.func @concat_other_dim(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) -> tensor<2x7xf32> {
  // expected-error @+1 {{operand 1 has size 3 in dimension 0, the result 2}}
  %0 = kiln.concat %a, %b dim = 1 : tensor<2x3xf32>, tensor<3x4xf32> -> tensor<2x7xf32>
  return %0 : tensor<2x7xf32>
}

// -----

func.func @concat_dim(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{dimension 2 is not one of the result's 2}}
  %0 = kiln.concat %a dim = 2 : tensor<2x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @concat_rank(%a: tensor<2x3xf32>, %b: tensor<2x3x1xf32>) -> tensor<2x6xf32> {
  // expected-error @+1 {{operand 1 differs from the result in rank or element type}}
  %0 = kiln.concat %a, %b dim = 1 : tensor<2x3xf32>, tensor<2x3x1xf32> -> tensor<2x6xf32>
  return %0 : tensor<2x6xf32>
}

// -----

func.func @scan_sequence_length(%h0: tensor<2xf32>, %xs: tensor<4x2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{sequence 'tensor<4x2xf32>' needs a leading dimension of 5}}
  %h = kiln.scan length = 5 inits(%h0 : tensor<2xf32>) sequences(%xs : tensor<4x2xf32>) -> carried(tensor<2xf32>) {
  ^bb0(%c: tensor<2xf32>, %x: tensor<2xf32>):
    kiln.yield %c : tensor<2xf32>
  }
  return %h : tensor<2xf32>
}

// -----

func.func @scan_yield_count(%h0: tensor<2xf32>, %xs: tensor<4x2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{body yields 2 values for 1 carried and 0 stacked results}}
  %h = kiln.scan length = 4 inits(%h0 : tensor<2xf32>) sequences(%xs : tensor<4x2xf32>) -> carried(tensor<2xf32>) {
  ^bb0(%c: tensor<2xf32>, %x: tensor<2xf32>):
    kiln.yield %c, %x : tensor<2xf32>, tensor<2xf32>
  }
  return %h : tensor<2xf32>
}

// -----

func.func @scan_isolated(%h0: tensor<2xf32>, %w: tensor<2xf32>) -> tensor<2xf32> {
  // expected-note @+1 {{required by region isolation constraints}}
  %h = kiln.scan length = 3 inits(%h0 : tensor<2xf32>) -> carried(tensor<2xf32>) {
  ^bb0(%c: tensor<2xf32>):
    // expected-error @+1 {{using value defined outside the region}}
    %n = kiln.mul %c, %w : tensor<2xf32>
    kiln.yield %n : tensor<2xf32>
  }
  return %h : tensor<2xf32>
}

// -----

func.func @random_counter_rank(%c: tensor<2xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{expects a rank-0 counter}}
  %u = kiln.random_uniform %c salt = 1 : tensor<2xf32> -> tensor<4xf32>
  return %u : tensor<4xf32>
}

// -----

func.func @gather_width(%t: tensor<30x16xf32>, %ids: tensor<4xi32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{expects rows of shape ids x 16 and the table's element type}}
  %e = kiln.gather %t[%ids] : tensor<30x16xf32>, tensor<4xi32> -> tensor<4x8xf32>
  return %e : tensor<4x8xf32>
}
