// RUN: kiln-opt %s --kiln-autodiff -split-input-file -verify-diagnostics

module {
// expected-error @+1 {{the loss must be a rank-0 float tensor, got 'tensor<2xf32>'}}
func.func @loss(%w: tensor<2xf32> {kiln.param = "w"}) -> tensor<2xf32> {
  return %w : tensor<2xf32>
}
}

// -----

// expected-error @+1 {{kiln-autodiff: no function named 'loss'}}
module {
func.func @other(%w: tensor<f32>) -> tensor<f32> {
  return %w : tensor<f32>
}
}

// -----

// An op without a VJP inside a loop body, on the path from a weight to the
// loss, is an error, never a zero gradient.
module {
func.func @loss(%w: tensor<2xf32> {kiln.param = "w"}) -> tensor<f32> {
  %z = kiln.constant 1.0 : tensor<2xf32>
  %h = kiln.scan length = 3 inits(%z : tensor<2xf32>) captures(%w : tensor<2xf32>) -> carried(tensor<2xf32>) {
  ^bb0(%c: tensor<2xf32>, %v: tensor<2xf32>):
    %m = kiln.mul %c, %v : tensor<2xf32>
    // expected-error @+1 {{'kiln.step' op is on the path from a parameter to the loss but is not differentiable}}
    %s = kiln.step %m : tensor<2xf32>
    kiln.yield %s : tensor<2xf32>
  }
  %l = kiln.reduce_sum %h dims = [0] : tensor<2xf32> -> tensor<f32>
  return %l : tensor<f32>
}
}

// -----

// Results after the loss must be state updates.
module {
// expected-error @+1 {{a differentiated function returns one loss value, then only state updates (kiln.state_update)}}
func.func @loss(%w: tensor<2xf32> {kiln.param = "w"}) -> (tensor<f32>, tensor<2xf32>) {
  %l = kiln.reduce_sum %w dims = [0] : tensor<2xf32> -> tensor<f32>
  return %l, %w : tensor<f32>, tensor<2xf32>
}
}
