//===- KilnRandomOps.td - Counter-based random numbers -----*- tablegen -*-===//
#ifndef KILN_RANDOM_OPS_TD
#define KILN_RANDOM_OPS_TD

def Kiln_RandomUniformOp : Kiln_Op<"random_uniform", [Pure]> {
  let summary = "uniform random numbers in [0, 1) from a counter";
  let description = [{
    Element `i` is a hash of (`counter`, `salt`, `i`) scaled to [0, 1) with
    24 random bits: a counter-based generator, so the numbers depend only on
    its inputs (a training step's dropout mask is reproducible, and the
    same on any target). `counter` is a rank-0 f32 holding a whole number
    below 2^24 (dropout keeps it in a state buffer, one more per step);
    `salt` tells apart the layers that share a counter. The hash is
    murmur3's 32-bit finalizer of `i * 0x9E3779B9 + counter * 0x85EBCA6B
    + salt` (mod 2^32). Not differentiated.

    ```mlir
    %u = kiln.random_uniform %step salt = 7 : tensor<f32> -> tensor<64x256xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$counter, I64Attr:$salt);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat =
    "$counter `salt` `=` $salt attr-dict `:` type($counter) `->` type($result)";
  let hasVerifier = 1;
}

#endif // KILN_RANDOM_OPS_TD
