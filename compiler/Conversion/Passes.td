//===- Passes.td - Kiln conversion passes ------------------*- tablegen -*-===//
#ifndef KILN_CONVERSION_PASSES_TD
#define KILN_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertKilnToLinalg : Pass<"kiln-to-linalg", "mlir::func::FuncOp"> {
  let summary = "Lower kiln ops to linalg on tensors";
  let description = [{
    Each kiln op becomes linalg.generic ops on tensors (destination style),
    and each kiln.fused group exactly one linalg.generic whose body is the
    scalar form of the group. Matmuls iterate i-k-j so the innermost loop runs
    along contiguous rows of both the right operand and the result.
  }];
  let options = [
    Option<"scatterPerRow", "scatter-per-row", "bool", /*default=*/"false",
           "kiln.scatter_add as a reduction per table element over the ids (the "
           "GPU's: a thread or block each) instead of one loop over the updates "
           "(the CPU's: work linear in the updates, but one thread on a GPU)">
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::scf::SCFDialect"];
}

def KilnCPUVectorize : Pass<"kiln-cpu-vectorize", "mlir::func::FuncOp"> {
  let summary = "Register-blocked, vectorized matmul micro-kernels for the CPU";
  let description = [{
    After bufferization, tiles each matmul loop nest into MR x NR blocks of
    the result, vectorizes the block, keeps it in registers across the k loop
    (hoisted transfers) and lowers the contraction to broadcast FMAs. Row and
    column remainders become blocks of their own static sizes, so every
    static shape is vectorized; a zero fill just before a matmul is dropped
    and its blocks start at zero in registers. Then every other all-parallel
    nest indexed by projected permutations (trailing contiguous dimensions
    merged), every stride-1 row copy (im2col), every stride-1 row sum
    (col2im, column sums) and every pooling window nest becomes vector code
    one vector width at a time. Other nests are left to the loop lowering,
    their first loop marked parallel where its iterations write apart.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", "8",
           "f32 lanes in one vector register (8 for AVX2, 16 for AVX-512)">
  ];
  let dependentDialects = ["::mlir::vector::VectorDialect", "::mlir::scf::SCFDialect",
                           "::mlir::affine::AffineDialect", "::mlir::memref::MemRefDialect"];
}

def KilnCPUParallelize : Pass<"kiln-cpu-parallelize", "mlir::ModuleOp"> {
  let summary = "Run marked tile loops on every core through the runtime's thread pool";
  let description = [{
    Each loop marked `kiln.parallel` by kiln-cpu-vectorize (the outermost
    tile loop of a matmul or an elementwise nest, whose iterations write
    disjoint blocks) that executes at least `min-work` operations becomes a
    call to the runtime's `kiln_parallel_for(body, ctx, trip_count)`: the
    loop body is outlined into `body(lo, hi, ctx)`, its captured values
    (memref descriptors, integers, floats) stored in `ctx` on the caller's
    stack. Each thread runs one contiguous chunk of iterations, each the same
    arithmetic as before, so results do not depend on the thread count.
  }];
  let options = [
    // Four times as much inside a sequential loop of 8 or more iterations:
    // at 32k the per-step matmuls of recurrent cells (about 80k operations
    // each) ran shared, their halves moving between cores every step, and
    // gru_rows and word_language ran slower on 2 threads than on 1 (15k vs
    // 20k, 31k vs 53k samples/s).
    Option<"minWork", "min-work", "int64_t", "32768",
           "operations a loop must execute to be shared among threads">
  ];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect", "::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect", "::mlir::scf::SCFDialect"];
}

def KilnExpandMath : Pass<"kiln-expand-math"> {
  let summary = "Expand transcendental math ops into polynomial approximations";
  let description = [{
    Rewrites math.tanh, math.exp, math.log and friends into arithmetic
    (upstream's polynomial approximations), so GPU kernels need no libdevice
    and loops stay vectorizable.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect"];
}

def KilnGPUPreciseSqrt : Pass<"kiln-gpu-precise-sqrt", "mlir::gpu::GPUModuleOp"> {
  let summary = "Square roots in kernels correctly rounded, as on the CPU";
  let description = [{
    Runs after convert-gpu-to-nvvm: replaces its calls of libdevice's
    `__nv_sqrtf` by `llvm.intr.sqrt`, which NVPTX emits as `sqrt.rn.f32`
    (IEEE round-to-nearest: what the CPU computes, and nvcc's default,
    `-prec-sqrt=true`). `__nv_sqrtf` picks its precise path by
    `__nvvm_reflect("__CUDA_PREC_SQRT")`, a key LLVM 19's NVVMReflect does not
    set, so it would be `sqrt.approx.f32` (about 1 ulp off), carried by
    Adam's denominator and gradient clipping's norm into every update.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def KilnGPUMapLoops : Pass<"kiln-gpu-map-loops", "mlir::func::FuncOp"> {
  let summary = "Map outermost parallel loops to grids of 256-thread blocks";
  let description = [{
    Each outermost `scf.parallel` is collapsed into one dimension (its index
    the row-major linear index of the iteration space, so a warp's 32
    threads touch consecutive elements and small trailing dimensions leave
    no thread idle), then tiled into blocks of 256 threads with a bounds
    check inside (thread counts must be constants): blocks along x, threads
    along x. Parallel loops nested deeper run sequentially in each thread.
    The result carries the gpu mapping attributes that
    `convert-parallel-loops-to-gpu` reads.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::affine::AffineDialect"];
}

def KilnGPUFuseIntoReductions : Pass<"kiln-gpu-fuse-into-reductions", "mlir::func::FuncOp"> {
  let summary = "Elementwise producers computed inside the reductions that read them";
  let description = [{
    A reduction (`linalg.generic` on tensors with a reduction loop) whose
    inputs are each read once per element (permutation maps: a sum, a sum of
    squares, not a product, which reads its operands again for every output)
    takes in the elementwise `linalg.generic` that makes an input when
    nothing else reads that: the squares of a gradient for its norm, a copy
    through a transpose. One kernel and no round trip through memory where
    there were two; the producer is still computed once per element.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def KilnGPULoopOrder : Pass<"kiln-gpu-loop-order", "mlir::func::FuncOp"> {
  let summary = "Move reduction dimensions of linalg.generic innermost";
  let description = [{
    GPU mapping wants the parallel dimensions of a loop nest outermost (grid
    and block) and the reductions inside each thread. The CPU keeps kiln's
    i-k-j matmul order; the GPU pipeline runs this first.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def KilnGPUMergeModules : Pass<"kiln-gpu-merge-modules", "mlir::ModuleOp"> {
  let summary = "Gather all outlined kernels into one gpu.module";
  let description = [{
    Kernel outlining makes one gpu.module per kernel; one module per model
    gives one PTX file (and one cuModuleLoad at run time).
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def KilnGPUBlockReduce : Pass<"kiln-gpu-block-reduce", "mlir::func::FuncOp"> {
  let summary = "Reductions as one 256-thread block per output element";
  let description = [{
    A `linalg.generic` on buffers that folds its inputs into its one output
    with `arith.addf`, `maximumf`, `maxnumf`, `minimumf` or `minnumf`
    (`out = combine(out, f(inputs))`) becomes a `gpu.launch` with one block
    per output element: each of its 256 threads folds a strided slice of
    the reduction, then the partials combine in shared memory as a fixed
    binary tree (deterministic), and thread 0 folds the total into the
    output. Applies to full reductions (one output: a loss over the batch)
    and to reductions of at least 256 elements into at most 16,384 outputs
    (batch-norm statistics, convolution weight gradients). Matrix
    products reach it only when kiln-gpu-tile-matmul left them (a long
    reduction into few outputs).
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::affine::AffineDialect",
                           "::mlir::scf::SCFDialect", "::mlir::memref::MemRefDialect"];
}

def KilnGPUGatherWindows : Pass<"kiln-gpu-gather-windows", "mlir::func::FuncOp"> {
  let summary = "Scatter-adds through overlapping windows as a thread per output element";
  let description = [{
    A `linalg.generic` on buffers that adds `f(inputs)` into its one output
    at indices `p * s + o` of two reduction loops (a convolution's image
    gradient: col2im, out[n, c, i*s + a, j*s + b]) has only the loops the
    output indexes alone as parallel ones. It becomes an `scf.parallel`
    over the output's elements: each thread walks the offsets o that reach
    its index Y (from max(0, Y - (P-1)*s), or Y mod s, to min(O - 1, Y), by
    s), with p = (Y - o) / s, and the reductions the output does not index,
    accumulating in registers from the output's value (or a `linalg.fill`
    right before, which goes), and stores once. Deterministic; each
    element's sum keeps the original order when the offsets come before
    their partners among the loops.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::memref::MemRefDialect",
                           "::mlir::affine::AffineDialect", "::mlir::arith::ArithDialect"];
}

def KilnGPUThreadReduce : Pass<"kiln-gpu-thread-reduce", "mlir::func::FuncOp"> {
  let summary = "Reductions a thread per output, accumulated in registers";
  let description = [{
    A `linalg.generic` on buffers with reduction loops whose outputs are
    each indexed by all its parallel loops (and no input shares their
    memory) becomes an `scf.parallel` over the parallel loops around
    `scf.for` loops over the reductions that carry the outputs as values:
    one load (or the value of a `linalg.fill` right before, which goes) and
    one store per output element instead of both on every step. The
    reduction order is unchanged.
  }];
  let dependentDialects = ["::mlir::affine::AffineDialect", "::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect"];
}

def KilnGPUFoldTransposes : Pass<"kiln-gpu-fold-transposes", "mlir::func::FuncOp"> {
  let summary = "Transposes folded into the indexing maps of their readers or their producer";
  let description = [{
    A `linalg.generic` on buffers that copies its input permuted into its
    output (a transpose) is read, by each later `linalg.generic` that reads
    the copy before anything writes the source or the copy, as the source
    through the composed indexing map. The copy is erased when nothing else
    reads it and it is a workspace view in the function's block. A copy
    that stays, whose source is scratch one `linalg.generic` (after a
    fill, if it accumulates) has just written whole and nothing reads
    after it, is folded into that generic instead: it writes the copy's
    output through the inverse permutation.
  }];
}

def KilnGPUFuseLoops : Pass<"kiln-gpu-fuse-loops", "mlir::func::FuncOp"> {
  let summary = "Neighbouring parallel loops as one kernel: over the same space, or side by side";
  let description = [{
    Two `scf.parallel` loops with the same bounds, separated only by pure
    ops (or ops touching no memory the first touches, which move above it),
    become one when every element one writes and the other touches is named
    in both by the loops' induction variables, each once: each iteration
    then sees what it saw before. Bodies may hold loads, stores, `scf.for`,
    `scf.if` and pure ops; aliasing is `kiln::Place`'s. Then two such loops
    over different spaces (from 0 by 1 to constants) that share no memory
    either writes run side by side: one 1-D loop over N1 + N2 iterations,
    an `scf.if` choosing the first's body (indices recovered from the
    linear one) or the second's.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect"];
}

def KilnGPUSplitK : Pass<"kiln-gpu-split-k", "mlir::func::FuncOp"> {
  let summary = "A product with few output tiles and a long reduction as partial products over chunks of it";
  let description = [{
    kiln-gpu-tile-matmul gives each 64x64 output tile one block, which walks
    the whole reduction: a product with fewer tiles than kFewBlocks (a dense
    layer at batch 64 with 256 outputs: 4) leaves most of a GPU idle while
    each block walks K. Before the memory plan, such a product (one
    reduction dimension of at least 256, neither side at most 8 wide) is
    rewritten into partial products over S chunks of K, S the largest
    divisor of K up to 16 leaving chunks of at least 64 (the chunk is a
    batch dimension both operands read at chunk * size + k, a batched
    product for kiln-gpu-tile-matmul), into a new buffer, then a reduction
    over the chunks, in order, into the output (which takes the output's
    fill). Deterministic; one more launch.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect", "::mlir::arith::ArithDialect"];
}

def KilnGPUTileMatmul : Pass<"kiln-gpu-tile-matmul", "mlir::func::FuncOp"> {
  let summary = "Matrix products (convolutions too) as kernels that share loads through shared memory";
  let description = [{
    A `linalg.generic` on f32 buffers whose body is `out + a * b` and whose
    loops sort into rows (output dimensions only `a` reads), columns (only
    `b`), batches (both: the grid's z) and a reduction both read becomes a
    `gpu.launch`. The operands are read through their indexing maps, so a
    convolution (its input read at h + kh) is an implicit product. Each
    256-thread block computes a 64x64 tile of the output, staging 16-deep
    slices of A and B in shared memory (zero outside the operands, so any
    shape works) and accumulating a 4x4 set of outputs per thread in
    registers. A product at most 8 wide on one side (batch-1 prediction)
    gets blocks of 8 columns whose threads split the reduction instead. A
    long reduction into a few tiles' worth of outputs is left to
    kiln-gpu-block-reduce. An elementwise `linalg.generic` right after the
    product that reads and writes its output only element by element (and
    writes nothing the product reads) runs in the product's epilogue.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::affine::AffineDialect",
                           "::mlir::scf::SCFDialect", "::mlir::memref::MemRefDialect"];
}

def KilnGPUDeviceOnly : Pass<"kiln-gpu-device-only", "mlir::func::FuncOp"> {
  let summary = "Move the computation left outside parallel loops into kernels";
  let description = [{
    After linalg becomes parallel loops, some computation is left outside
    them: full reductions (a loss summed over the batch, a gradient norm),
    scalar work (Adam's bias corrections, the step counter), the final
    copy of the loss. On the GPU the host must not touch that memory, so
    each run of such operations is wrapped in a one-iteration
    `scf.parallel`, which becomes a kernel like any other. Loops that
    contain parallel loops (recurrent scans) stay on the host as loops of
    launches; their bodies are processed the same way. A value computed in
    such a run and needed outside it is an internal error.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::arith::ArithDialect"];
}

def KilnGPUCheckHost : Pass<"kiln-gpu-check-host", "mlir::ModuleOp"> {
  let summary = "Check that host functions only launch kernels";
  let description = [{
    After outlining, a host function may hold constants, index arithmetic,
    views of memrefs (pointer arithmetic on device addresses), loops and
    conditions over those, and kernel launches: anything that reads or
    writes memory or computes on data would run on the host against device
    memory. Any other operation fails the pass, naming it.
  }];
}

def KilnGPUHostToLLVM : Pass<"kiln-gpu-host-to-llvm", "mlir::ModuleOp"> {
  let summary = "Lower GPU host functions to the LLVM dialect, launches as runtime calls";
  let description = [{
    Takes the module after `gpu-module-to-binary`: the PTX text of the
    `gpu.binary` moves into the module attribute `kiln.gpu.ptx` (the model
    descriptor embeds it), the kernels launched get indices in the order
    they are first launched (`kiln.gpu.kernels`, their names), and every
    `gpu.launch_func` becomes a call

      kiln_gpu_launch(kernel, grid x/y/z, block x/y/z, params, nparams)

    where `params` points at an array of pointers to each kernel
    parameter's value (cuLaunchKernel's convention), memref descriptors
    expanded field by field as the NVVM kernels expect them. The parameter
    slots are stack slots in the function's entry block. The host functions
    themselves (entry points taking bare pointers, as on the CPU) and their
    address arithmetic lower as usual.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def KilnGPUEmulate : Pass<"kiln-gpu-emulate", "mlir::ModuleOp"> {
  let summary = "Compile the NVVM kernels for the host CPU too, for tests without a GPU";
  let description = [{
    Runs after `convert-gpu-to-nvvm`. Every kernel of the gpu.module is
    copied into the host module as `kiln_emu_body_NAME`, with NVVM's special
    registers read from the global `kiln_emu_ids` (tid, ntid, ctaid, nctaid,
    x/y/z: twelve i32), `nvvm.barrier0` a call through the global
    `kiln_emu_barrier_hook`, and libdevice's `__nv_F` calls libm's `F`.
    `kiln_emu_NAME(void **params)` unpacks cuLaunchKernel's parameter array
    and calls the body; a kernel with barriers also defines
    `kiln_emu_barriers_NAME`. A stand-in CUDA driver (runtime/tests/
    fake_cuda.c) finds these by name and runs every thread of every block,
    so the GPU build's kernels, launches and runtime compute on any machine.
    The PTX is still generated and embedded as usual. With `races`, every
    load and store of a kernel first calls through the global
    `kiln_emu_access_hook` (address, bytes, flags: 1 write, 2 shared
    memory), for the stand-in driver to find accesses that no barrier
    orders (data races) and reads of shared memory the block never wrote.
  }];
  let options = [
    Option<"races", "races", "bool", /*default=*/"false",
           "Report every load and store to the stand-in driver's race checker">,
  ];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // KILN_CONVERSION_PASSES_TD
