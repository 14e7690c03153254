//===- KilnLoopOps.td - Loops over sequences ---------------*- tablegen -*-===//
//
// Recurrence is a loop in the IR, not an unrolled chain: the IR of a
// recurrent model has the same size for any sequence length, and autodiff
// differentiates the loop into a reverse loop (see docs/architecture.md).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_LOOP_OPS_TD
#define KILN_LOOP_OPS_TD

def Kiln_ScanOp : Kiln_Op<"scan", [IsolatedFromAbove, SingleBlock,
    RecursiveMemoryEffects, AttrSizedOperandSegments, AttrSizedResultSegments]> {
  let summary = "a loop over the leading dimension of sequences, with carried values";
  let description = [{
    Runs its body `length` times. Step `t` receives the carried values (the
    `inits` at the first step), slice `t` of each `sequences` operand (its
    leading dimension is the step) and the `captures` (weights used at every
    step), in that order. The body yields the next carried values, then one
    value per step that the scan stacks into a result whose leading
    dimension is the step. Results: the final carried values, then the
    stacked values. With `reverse`, steps run from `length - 1` down to 0
    (slice and stack index are still `t`); autodiff builds such a reverse
    scan for the gradient.

    The body is isolated from above: every value it uses from outside is a
    capture, so autodiff sees it and accumulates its gradient over steps
    instead of leaving it at zero.

    ```mlir
    %h, %hs = kiln.scan length = 28 inits(%h0 : tensor<64x32xf32>)
        sequences(%xs : tensor<28x64x32xf32>) captures(%w : tensor<32x32xf32>)
        -> carried(tensor<64x32xf32>) stacked(tensor<28x64x32xf32>) {
    ^bb0(%h: tensor<64x32xf32>, %x: tensor<64x32xf32>, %w: tensor<32x32xf32>):
      %z = kiln.matmul %h, %w : tensor<64x32xf32>, tensor<32x32xf32> -> tensor<64x32xf32>
      %s = kiln.add %z, %x : tensor<64x32xf32>
      %n = kiln.tanh %s : tensor<64x32xf32>
      kiln.yield %n, %n : tensor<64x32xf32>, tensor<64x32xf32>
    }
    ```
  }];
  let arguments = (ins I64Attr:$length, Variadic<Kiln_FloatTensor>:$inits,
                       Variadic<Kiln_FloatTensor>:$sequences,
                       Variadic<Kiln_FloatTensor>:$captures, UnitAttr:$reverse);
  let results = (outs Variadic<Kiln_FloatTensor>:$finals,
                      Variadic<Kiln_FloatTensor>:$stacked);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    (`reverse` $reverse^)? `length` `=` $length
    (`inits` `(` $inits^ `:` type($inits) `)`)?
    (`sequences` `(` $sequences^ `:` type($sequences) `)`)?
    (`captures` `(` $captures^ `:` type($captures) `)`)?
    `->` (`carried` `(` type($finals)^ `)`)? (`stacked` `(` type($stacked)^ `)`)?
    attr-dict-with-keyword $body
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The body's block arguments for each operand group.
    ::mlir::Block &getStep() { return getBody().front(); }
    /// The type of one step of a sequence or stacked result: `t` without
    /// its leading dimension.
    static ::mlir::RankedTensorType stepType(::mlir::Type t) {
      auto r = ::llvm::cast<::mlir::RankedTensorType>(t);
      return ::mlir::RankedTensorType::get(r.getShape().drop_front(), r.getElementType());
    }
    ::mlir::Block::BlockArgListType getCarryArgs() {
      return getStep().getArguments().take_front(getInits().size());
    }
    ::mlir::Block::BlockArgListType getSliceArgs() {
      return getStep().getArguments().slice(getInits().size(), getSequences().size());
    }
    ::mlir::Block::BlockArgListType getCaptureArgs() {
      return getStep().getArguments().take_back(getCaptures().size());
    }
  }];
}

#endif // KILN_LOOP_OPS_TD
