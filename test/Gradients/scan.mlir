// RUN: kiln-gradcheck %s | FileCheck %s
// RUN: kiln-gradcheck %s --fuse=false | FileCheck %s
// Finite-difference checks (fp64) of kiln.scan's reverse-mode derivative:
// weights captured by the loop body get their gradients summed over steps,
// carried values are differentiated through time, stacked outputs and
// sequences get per-step gradients. Also the shape ops recurrent layers use.

// Elman cell; the loss reads both the final state and every step's output.
// CHECK: @rnn: max relative error {{.*}}: ok
func.func @rnn(%h0: tensor<2x3xf64>, %xs: tensor<4x2x3xf64>, %w: tensor<3x3xf64>) -> tensor<f64> {
  %h, %hs = kiln.scan length = 4 inits(%h0 : tensor<2x3xf64>) sequences(%xs : tensor<4x2x3xf64>) captures(%w : tensor<3x3xf64>) -> carried(tensor<2x3xf64>) stacked(tensor<4x2x3xf64>) {
  ^bb0(%c: tensor<2x3xf64>, %x: tensor<2x3xf64>, %ww: tensor<3x3xf64>):
    %z = kiln.matmul %c, %ww : tensor<2x3xf64>, tensor<3x3xf64> -> tensor<2x3xf64>
    %s = kiln.add %z, %x : tensor<2x3xf64>
    %n = kiln.tanh %s : tensor<2x3xf64>
    kiln.yield %n, %n : tensor<2x3xf64>, tensor<2x3xf64>
  }
  %a = kiln.reduce_sum %h dims = [0, 1] : tensor<2x3xf64> -> tensor<f64>
  %sq = kiln.mul %hs, %hs : tensor<4x2x3xf64>
  %b = kiln.reduce_sum %sq dims = [0, 1, 2] : tensor<4x2x3xf64> -> tensor<f64>
  %r = kiln.add %a, %b : tensor<f64>
  return %r : tensor<f64>
}

// LSTM cell (gates i, f, g, o sliced from one projection), two carried
// values, a weight used at every step and a reverse scan.
// CHECK: @lstm_reverse: max relative error {{.*}}: ok
func.func @lstm_reverse(%xs: tensor<3x2x8xf64>, %w: tensor<8x2xf64>, %r: tensor<2x2xf64>) -> tensor<f64> {
  %z = kiln.constant 0.0 : tensor<2x2xf64>
  %h, %c = kiln.scan reverse length = 3 inits(%z, %z : tensor<2x2xf64>, tensor<2x2xf64>) sequences(%xs : tensor<3x2x8xf64>) captures(%w : tensor<8x2xf64>) -> carried(tensor<2x2xf64>, tensor<2x2xf64>) {
  ^bb0(%hh: tensor<2x2xf64>, %cc: tensor<2x2xf64>, %x: tensor<2x8xf64>, %ww: tensor<8x2xf64>):
    %p = kiln.matmul %hh, %ww transpose_b : tensor<2x2xf64>, tensor<8x2xf64> -> tensor<2x8xf64>
    %g = kiln.add %p, %x : tensor<2x8xf64>
    %i0 = kiln.slice %g offsets = [0, 0] : tensor<2x8xf64> -> tensor<2x2xf64>
    %f0 = kiln.slice %g offsets = [0, 2] : tensor<2x8xf64> -> tensor<2x2xf64>
    %g0 = kiln.slice %g offsets = [0, 4] : tensor<2x8xf64> -> tensor<2x2xf64>
    %o0 = kiln.slice %g offsets = [0, 6] : tensor<2x8xf64> -> tensor<2x2xf64>
    %i = kiln.sigmoid %i0 : tensor<2x2xf64>
    %f = kiln.sigmoid %f0 : tensor<2x2xf64>
    %gg = kiln.tanh %g0 : tensor<2x2xf64>
    %o = kiln.sigmoid %o0 : tensor<2x2xf64>
    %fc = kiln.mul %f, %cc : tensor<2x2xf64>
    %ig = kiln.mul %i, %gg : tensor<2x2xf64>
    %cn = kiln.add %fc, %ig : tensor<2x2xf64>
    %tc = kiln.tanh %cn : tensor<2x2xf64>
    %hn = kiln.mul %o, %tc : tensor<2x2xf64>
    kiln.yield %hn, %cn : tensor<2x2xf64>, tensor<2x2xf64>
  }
  %hr = kiln.mul %h, %r : tensor<2x2xf64>
  %s = kiln.add %hr, %c : tensor<2x2xf64>
  %l = kiln.reduce_sum %s dims = [0, 1] : tensor<2x2xf64> -> tensor<f64>
  return %l : tensor<f64>
}

// A scan inside a scan's body: the inner loop's captures are the outer
// step's values, so the outer reverse body holds the inner reverse scan.
// CHECK: @nested: max relative error {{.*}}: ok
func.func @nested(%h0: tensor<3xf64>, %xs: tensor<2x4x3xf64>, %w: tensor<3xf64>) -> tensor<f64> {
  %h = kiln.scan length = 2 inits(%h0 : tensor<3xf64>) sequences(%xs : tensor<2x4x3xf64>) captures(%w : tensor<3xf64>) -> carried(tensor<3xf64>) {
  ^bb0(%c: tensor<3xf64>, %x: tensor<4x3xf64>, %ww: tensor<3xf64>):
    %in = kiln.scan length = 4 inits(%c : tensor<3xf64>) sequences(%x : tensor<4x3xf64>) captures(%ww : tensor<3xf64>) -> carried(tensor<3xf64>) {
    ^bb0(%d: tensor<3xf64>, %y: tensor<3xf64>, %v: tensor<3xf64>):
      %m = kiln.mul %d, %v : tensor<3xf64>
      %a = kiln.add %m, %y : tensor<3xf64>
      %t = kiln.tanh %a : tensor<3xf64>
      kiln.yield %t : tensor<3xf64>
    }
    %s = kiln.sigmoid %in : tensor<3xf64>
    kiln.yield %s : tensor<3xf64>
  }
  %l = kiln.reduce_sum %h dims = [0] : tensor<3xf64> -> tensor<f64>
  return %l : tensor<f64>
}

// Carried values passed through unchanged or swapped, a capture yielded
// as a stacked output: adjoints must flow through the yields themselves.
// CHECK: @passthrough: max relative error {{.*}}: ok
func.func @passthrough(%a0: tensor<2xf64>, %b0: tensor<2xf64>, %w: tensor<2xf64>) -> tensor<f64> {
  %a, %b, %ws = kiln.scan length = 3 inits(%a0, %b0 : tensor<2xf64>, tensor<2xf64>) captures(%w : tensor<2xf64>) -> carried(tensor<2xf64>, tensor<2xf64>) stacked(tensor<3x2xf64>) {
  ^bb0(%x: tensor<2xf64>, %y: tensor<2xf64>, %v: tensor<2xf64>):
    %m = kiln.mul %x, %v : tensor<2xf64>
    kiln.yield %y, %m, %v : tensor<2xf64>, tensor<2xf64>, tensor<2xf64>
  }
  %ab = kiln.mul %a, %b : tensor<2xf64>
  %s1 = kiln.reduce_sum %ab dims = [0] : tensor<2xf64> -> tensor<f64>
  %sq = kiln.mul %ws, %ws : tensor<3x2xf64>
  %s2 = kiln.reduce_sum %sq dims = [0, 1] : tensor<3x2xf64> -> tensor<f64>
  %l = kiln.add %s1, %s2 : tensor<f64>
  return %l : tensor<f64>
}

// The gradient of gates sliced from one tensor: the sum of their pads,
// which canonicalization makes a concat (its gradient is slices again).
// CHECK: @slices_summed_as_concat: max relative error {{.*}}: ok
func.func @slices_summed_as_concat(%x: tensor<2x6xf64>, %r: tensor<2x6xf64>) -> tensor<f64> {
  %a = kiln.slice %x offsets = [0, 0] : tensor<2x6xf64> -> tensor<2x2xf64>
  %b = kiln.slice %x offsets = [0, 2] : tensor<2x6xf64> -> tensor<2x2xf64>
  %c = kiln.slice %x offsets = [0, 4] : tensor<2x6xf64> -> tensor<2x2xf64>
  %ea = kiln.exp %a : tensor<2x2xf64>
  %tb = kiln.tanh %b : tensor<2x2xf64>
  %m = kiln.mul %ea, %tb : tensor<2x2xf64>
  %sc = kiln.sigmoid %c : tensor<2x2xf64>
  %n = kiln.mul %m, %sc : tensor<2x2xf64>
  %j = kiln.concat %n, %c, %ea dim = 1 : tensor<2x2xf64>, tensor<2x2xf64>, tensor<2x2xf64> -> tensor<2x6xf64>
  %w = kiln.mul %j, %r : tensor<2x6xf64>
  %l = kiln.reduce_sum %w dims = [0, 1] : tensor<2x6xf64> -> tensor<f64>
  return %l : tensor<f64>
}

// CHECK: @transpose_slice_pad: max relative error {{.*}}: ok
func.func @transpose_slice_pad(%x: tensor<2x3x4xf64>, %r: tensor<3x2x6xf64>) -> tensor<f64> {
  %t = kiln.transpose %x perm = [1, 0, 2] : tensor<2x3x4xf64> -> tensor<3x2x4xf64>
  %s = kiln.slice %t offsets = [0, 0, 1] : tensor<3x2x4xf64> -> tensor<3x2x2xf64>
  %e = kiln.exp %s : tensor<3x2x2xf64>
  %p = kiln.pad %e offsets = [0, 0, 3] : tensor<3x2x2xf64> -> tensor<3x2x6xf64>
  %m = kiln.mul %p, %r : tensor<3x2x6xf64>
  %l = kiln.reduce_sum %m dims = [0, 1, 2] : tensor<3x2x6xf64> -> tensor<f64>
  return %l : tensor<f64>
}

// A step whose reverse reads saved values back (kiln-autodiff): two
// products summed with a bias (the sum is saved once), and a product that
// a mul reads (saved as it is, its reverse reading it).
// CHECK: @saved_products: max relative error {{.*}}: ok
func.func @saved_products(%h0: tensor<2x3xf64>, %xs: tensor<4x2x3xf64>, %a: tensor<3x3xf64>, %w: tensor<3x3xf64>, %b: tensor<3xf64>) -> tensor<f64> {
  %h, %hs = kiln.scan length = 4 inits(%h0 : tensor<2x3xf64>) sequences(%xs : tensor<4x2x3xf64>) captures(%a, %w, %b : tensor<3x3xf64>, tensor<3x3xf64>, tensor<3xf64>) -> carried(tensor<2x3xf64>) stacked(tensor<4x2x3xf64>) {
  ^bb0(%c: tensor<2x3xf64>, %x: tensor<2x3xf64>, %aa: tensor<3x3xf64>, %ww: tensor<3x3xf64>, %bb: tensor<3xf64>):
    %p = kiln.matmul %x, %aa : tensor<2x3xf64>, tensor<3x3xf64> -> tensor<2x3xf64>
    %q = kiln.matmul %c, %ww : tensor<2x3xf64>, tensor<3x3xf64> -> tensor<2x3xf64>
    %s = kiln.add %p, %q : tensor<2x3xf64>
    %bc = kiln.broadcast %bb dims = [1] : tensor<3xf64> -> tensor<2x3xf64>
    %t = kiln.add %s, %bc : tensor<2x3xf64>
    %g = kiln.sigmoid %t : tensor<2x3xf64>
    %m = kiln.matmul %g, %ww : tensor<2x3xf64>, tensor<3x3xf64> -> tensor<2x3xf64>
    %k = kiln.mul %m, %c : tensor<2x3xf64>
    %n = kiln.tanh %k : tensor<2x3xf64>
    kiln.yield %n, %t : tensor<2x3xf64>, tensor<2x3xf64>
  }
  %a1 = kiln.reduce_sum %h dims = [0, 1] : tensor<2x3xf64> -> tensor<f64>
  %sq = kiln.mul %hs, %hs : tensor<4x2x3xf64>
  %a2 = kiln.reduce_sum %sq dims = [0, 1, 2] : tensor<4x2x3xf64> -> tensor<f64>
  %l = kiln.add %a1, %a2 : tensor<f64>
  return %l : tensor<f64>
}

// A weight used by a product and elementwise in one step: its gradient's
// product term could be summed after the loop, its elementwise term not, so
// the whole stays accumulated in the reverse loop (no term is lost).
// CHECK: @mixed_capture: max relative error {{.*}}: ok
func.func @mixed_capture(%c0: tensor<3x3xf64>, %xs: tensor<4x3x3xf64>, %w: tensor<3x3xf64>) -> tensor<f64> {
  %h = kiln.scan reverse length = 4 inits(%c0 : tensor<3x3xf64>) sequences(%xs : tensor<4x3x3xf64>) captures(%w : tensor<3x3xf64>) -> carried(tensor<3x3xf64>) {
  ^bb0(%c: tensor<3x3xf64>, %x: tensor<3x3xf64>, %ww: tensor<3x3xf64>):
    %z = kiln.matmul %c, %ww : tensor<3x3xf64>, tensor<3x3xf64> -> tensor<3x3xf64>
    %e = kiln.mul %z, %ww : tensor<3x3xf64>
    %a = kiln.add %e, %x : tensor<3x3xf64>
    %t = kiln.tanh %a : tensor<3x3xf64>
    kiln.yield %t : tensor<3x3xf64>
  }
  %l = kiln.reduce_sum %h dims = [0, 1] : tensor<3x3xf64> -> tensor<f64>
  return %l : tensor<f64>
}
