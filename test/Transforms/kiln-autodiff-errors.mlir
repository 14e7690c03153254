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
