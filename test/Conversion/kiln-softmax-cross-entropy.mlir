// RUN: kiln-opt %s --kiln-linalg | FileCheck %s
// softmax_cross_entropy lowers to mean((max - z[label]) + log(sum(exp(z - max)))),
// PyTorch's order: the margin is exactly 0 where the label's logit is the
// largest, so a confident right answer's small loss is log(sum) alone, not
// max + log(sum) rounded at the logits' scale minus z[label].
module attributes {kiln.model = {name = "m"}} {
func.func @predict(%z: tensor<4x10xf32> {kiln.input = "z"}, %y: tensor<4xi32> {kiln.input = "y"}) -> tensor<f32> {
  %l = kiln.softmax_cross_entropy %z, %y : tensor<4x10xf32>, tensor<4xi32> -> tensor<f32>
  return %l : tensor<f32>
}
}
// The picked logit per row...
// CHECK: linalg.generic
// CHECK: arith.select
// ...then the mean: the margin first, then the log of the sum added.
// CHECK: linalg.generic
// CHECK-NEXT: ^bb0(%[[MAX:.*]]: f32, %[[SUM:.*]]: f32, %[[PICKED:.*]]: f32, %[[ACC:.*]]: f32):
// CHECK-NEXT: %[[MARGIN:.*]] = arith.subf %[[MAX]], %[[PICKED]] : f32
// CHECK-NEXT: %[[LSE:.*]] = math.log %[[SUM]] : f32
// CHECK-NEXT: arith.addf %[[MARGIN]], %[[LSE]] : f32
