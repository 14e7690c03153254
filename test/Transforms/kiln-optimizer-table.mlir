// RUN: kiln-opt %s --split-input-file --kiln-autodiff --kiln-optimizer | FileCheck %s

// RMSprop, centered with momentum: three state slots per parameter, in the
// table's order, and no step counter.
module attributes {kiln.model = {name = "m", optimizer = {kind = "rmsprop", momentum = 0.5 : f64, centered = 1.0 : f64}}} {
func.func @loss(%w: tensor<3xf32> {kiln.param = "w"}, %b: tensor<2xf32> {kiln.param = "b"}, %x: tensor<3xf32> {kiln.input = "x"}) -> tensor<f32> {
  %p = kiln.mul %w, %x : tensor<3xf32>
  %s = kiln.reduce_sum %p dims = [0] : tensor<3xf32> -> tensor<f32>
  %q = kiln.reduce_sum %b dims = [0] : tensor<2xf32> -> tensor<f32>
  %r = kiln.add %s, %q : tensor<f32>
  return %r : tensor<f32>
}
}
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: {kiln.param = "w"}, %{{[a-z0-9]+}}: tensor<2xf32> {kiln.param = "b"}
// CHECK-SAME: {kiln.state = "w.square_avg"}, %{{[a-z0-9]+}}: tensor<2xf32> {kiln.state = "b.square_avg"}
// CHECK-SAME: {kiln.state = "w.momentum_buffer"}, %{{[a-z0-9]+}}: tensor<2xf32> {kiln.state = "b.momentum_buffer"}
// CHECK-SAME: {kiln.state = "w.grad_avg"}, %{{[a-z0-9]+}}: tensor<2xf32> {kiln.state = "b.grad_avg"}
// CHECK-SAME: {kiln.input = "x"}
// CHECK-NOT: kiln.state = "step"
// CHECK: kiln.sqrt

// -----

// AdamW: the parameter decays by (1 - lr * wd), computed once for all
// parameters, before the Adam step; clip_norm scales every gradient by one
// factor from the global norm.
module attributes {kiln.model = {name = "m", optimizer = {kind = "adamw", weight_decay = 0.1 : f64, clip_norm = 1.0 : f64}}} {
func.func @loss(%w: tensor<3xf32> {kiln.param = "w"}, %b: tensor<2xf32> {kiln.param = "b"}, %x: tensor<3xf32> {kiln.input = "x"}) -> tensor<f32> {
  %p = kiln.mul %w, %x : tensor<3xf32>
  %s = kiln.reduce_sum %p dims = [0] : tensor<3xf32> -> tensor<f32>
  %q = kiln.reduce_sum %b dims = [0] : tensor<2xf32> -> tensor<f32>
  %r = kiln.add %s, %q : tensor<f32>
  return %r : tensor<f32>
}
}
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: {kiln.state = "w.exp_avg"}
// CHECK-SAME: {kiln.state = "b.exp_avg_sq"}, %[[T:[a-z0-9]+]]: tensor<f32> {kiln.state = "step"}
// CHECK-SAME: %[[LR:[a-z0-9]+]]: tensor<f32> {kiln.hyper = "lr"}
// Global norm: one sqrt per gradient, one for the total, then min(coef, 1).
// CHECK-COUNT-3: kiln.sqrt
// CHECK: %[[OVER:.*]] = kiln.step
// CHECK: %[[WD:.*]] = kiln.constant 1.000000e-01 : tensor<f32>
// CHECK: %[[LRWD:.*]] = kiln.mul %[[LR]], %[[WD]]
// CHECK: %[[KEEP:.*]] = kiln.sub %{{.*}}, %[[LRWD]] : tensor<f32>
// CHECK: kiln.broadcast %[[KEEP]] dims = [] : tensor<f32> -> tensor<3xf32>
// CHECK: kiln.broadcast %[[KEEP]] dims = [] : tensor<f32> -> tensor<2xf32>
// CHECK-NOT: kiln.mul %[[LR]], %[[WD]]
// CHECK: return

// -----

// Adagrad: one `sum` slot per parameter and the step counter; with
// lr_decay, the step's rate lr / ((step - 1) * decay + 1) is made once for
// every parameter; sum += g^2, p -= rate * g / (sqrt(sum) + eps).
module attributes {kiln.model = {name = "m", optimizer = {kind = "adagrad", lr_decay = 0.5 : f64}}} {
func.func @loss(%w: tensor<3xf32> {kiln.param = "w"}, %b: tensor<2xf32> {kiln.param = "b"}, %x: tensor<3xf32> {kiln.input = "x"}) -> tensor<f32> {
  %p = kiln.mul %w, %x : tensor<3xf32>
  %s = kiln.reduce_sum %p dims = [0] : tensor<3xf32> -> tensor<f32>
  %q = kiln.reduce_sum %b dims = [0] : tensor<2xf32> -> tensor<f32>
  %r = kiln.add %s, %q : tensor<f32>
  return %r : tensor<f32>
}
}
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: %[[W:[a-z0-9]+]]: tensor<3xf32> {kiln.param = "w"}
// CHECK-SAME: %[[SUM:[a-z0-9]+]]: tensor<3xf32> {kiln.state = "w.sum"}, %{{[a-z0-9]+}}: tensor<2xf32> {kiln.state = "b.sum"}
// CHECK-SAME: %[[T:[a-z0-9]+]]: tensor<f32> {kiln.state = "step"}
// CHECK-SAME: %[[LR:[a-z0-9]+]]: tensor<f32> {kiln.hyper = "lr"}
// CHECK: %[[STEP:.*]] = kiln.add %[[T]]
// CHECK: %[[ONE:.*]] = kiln.constant 1.000000e+00 : tensor<f32>
// CHECK: %[[PAST:.*]] = kiln.sub %[[STEP]], %[[ONE]]
// CHECK: %[[DECAY:.*]] = kiln.constant 5.000000e-01
// CHECK: %[[D:.*]] = kiln.mul %[[PAST]], %[[DECAY]]
// CHECK: %[[DEN:.*]] = kiln.add %[[D]], %[[ONE]]
// CHECK: %[[RATE:.*]] = kiln.div %[[LR]], %[[DEN]]
// CHECK: %[[G2:.*]] = kiln.mul %[[G:.*]], %[[G]] : tensor<3xf32>
// CHECK: %[[NEWSUM:.*]] = kiln.add %[[SUM]], %[[G2]]
// CHECK: %[[ROOT:.*]] = kiln.sqrt %[[NEWSUM]]
// CHECK: %[[EPS:.*]] = kiln.constant 1.000000e-10 : tensor<3xf32>
// CHECK: %[[STD:.*]] = kiln.add %[[ROOT]], %[[EPS]]
// CHECK: %[[R3:.*]] = kiln.broadcast %[[RATE]] dims = [] : tensor<f32> -> tensor<3xf32>
// CHECK: %[[Q:.*]] = kiln.div %[[G]], %[[STD]]
// CHECK: %[[DW:.*]] = kiln.mul %[[R3]], %[[Q]]
// CHECK: %[[NEWW:.*]] = kiln.sub %[[W]], %[[DW]]
// CHECK-NOT: kiln.div %[[LR]]
// CHECK: return %{{.*}}, %[[NEWW]], %{{.*}}, %[[NEWSUM]], %{{.*}}, %[[STEP]]
