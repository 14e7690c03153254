//===- Passes.td - Kiln transformation passes --------------*- tablegen -*-===//
#ifndef KILN_TRANSFORMS_PASSES_TD
#define KILN_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def KilnAutodiff : Pass<"kiln-autodiff", "mlir::ModuleOp"> {
  let summary = "Reverse-mode differentiation of a loss function";
  let description = [{
    For the function named by `function` (default `loss`), whose single result
    is a rank-0 loss, builds `<function>_grad` returning the loss followed by
    the gradient of every argument marked `kiln.param`. Forward values are used
    directly (they are SSA values of the same function): no run-time tape.
    Only ops on a path from a parameter to the loss are differentiated.
  }];
  let options = [
    Option<"functionName", "function", "std::string", "\"loss\"",
           "Name of the function to differentiate">
  ];
  let dependentDialects = ["::kiln::KilnDialect", "::mlir::func::FuncDialect"];
}

def KilnOptimizer : Pass<"kiln-optimizer", "mlir::ModuleOp"> {
  let summary = "Build the training step from the gradient function";
  let description = [{
    Turns `loss_grad` into `train_step(params, state, inputs, labels, lr) ->
    (loss, new params, new state)` using the optimizer described by the
    module's `kiln.model` attribute: one entry of the optimizer table
    (compiler/Transforms/Optimizers.cpp: SGD, Adam, AdamW, RMSprop with
    PyTorch's update rules), after optional global-norm clipping. The update
    is plain kiln elementwise IR, so fusion turns it into one loop per
    parameter.
  }];
  let dependentDialects = ["::kiln::KilnDialect", "::mlir::func::FuncDialect"];
}

def KilnFuse : Pass<"kiln-fuse", "mlir::func::FuncOp"> {
  let summary = "Fuse chains of elementwise kiln ops into kiln.fused groups";
  let description = [{
    Groups elementwise ops of the same shape that feed each other (bias add and
    activation, activation gradients, optimizer updates) into one `kiln.fused`
    op each, pulling in splat constants and broadcasts of group inputs. Each
    group later becomes a single loop nest.
  }];
  let dependentDialects = ["::kiln::KilnDialect"];
}

def KilnABI : Pass<"kiln-abi", "mlir::ModuleOp"> {
  let summary = "Wrap train_step and predict in flat-buffer C entry points";
  let description = [{
    Builds `kiln_<model>_train_step` and `kiln_<model>_predict`, which take
    the parameters and the optimizer state as flat f32 arenas and write new
    values in place (`bufferization.to_tensor restrict writable` +
    `materialize_in_destination`). Records every tensor's offset in the
    module's `kiln.layout` attribute, from which the model descriptor is made.
  }];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect",
                           "::mlir::memref::MemRefDialect"];
}

def KilnFillPerUse : Pass<"kiln-fill-per-use", "mlir::func::FuncOp"> {
  let summary = "Give every use of a filled tensor a linalg.fill of its own";
  let description = [{
    Before bufferization: a `linalg.fill` on tensors with several uses is
    cloned before each further user, so that bufferization fills each
    destination in place instead of filling one buffer and copying it into
    every destination (CSE merges equal fills of unrelated ops).
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def KilnConcatDestinations : Pass<"kiln-concat-destinations", "mlir::func::FuncOp"> {
  let summary = "Build each concatenation's insert_slice chain on its own and where it goes";
  let description = [{
    Before bufferization. When several `tensor.insert_slice` ops in one
    block insert into the result of the same insert_slice (two
    concatenations sharing their first pieces, merged by CSE), each but the
    first gets a copy of that insert, and so, in turn, of the chain before
    it: bufferization then copies the shared pieces into the second
    destination instead of the whole tensor built so far. Then a value
    built from a `tensor.empty` (through insert_slices and ops writing their
    outputs, each the only use of the one before) and inserted into a
    larger tensor, read otherwise only before that insert, is built in that
    slice of the larger tensor instead (that use of the empty only), so it
    is written in place there: a recurrent step's gate gradients stacked
    over time steps.
  }];
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
}

def KilnUpdateInPlace : Pass<"kiln-update-in-place", "mlir::func::FuncOp"> {
  let summary = "Write new parameters and state straight into their arenas";
  let description = [{
    After bufferization, a result is computed into a temporary buffer and
    copied into its destination (an arena slice or an output argument). When
    nothing else touches the destination between the first write of the
    temporary and the copy, and every op that reads the destination while
    writing the temporary does so at the same index, the ops write the
    destination directly and the copy and temporary disappear.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def KilnPlanMemory : Pass<"kiln-plan-memory", "mlir::func::FuncOp"> {
  let summary = "Place every temporary buffer in a caller-provided workspace";
  let description = [{
    After bufferization, replaces each static `memref.alloc` of an entry point
    with a `memref.view` into a new trailing `memref<Nxi8>` workspace argument
    at a compile-time offset, and records N in `kiln.workspace_bytes`. A step
    then allocates nothing. Buffers of the entry block whose lifetimes do not
    overlap share bytes.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect", "::mlir::arith::ArithDialect"];
}

#endif // KILN_TRANSFORMS_PASSES_TD
