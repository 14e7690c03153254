//===- Pipelines.cpp - Kiln pass pipelines --------------------------------===//
#include "compiler/Pipelines/Pipelines.h"
#include "compiler/Conversion/Passes.h"
#include "compiler/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/Transforms/FuncBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/Transforms/OneShotAnalysis.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/Extensions/InlinerExtension.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Linalg/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Linalg/Transforms/TilingInterfaceImpl.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Conversion/SCFToGPU/SCFToGPUPass.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Dialect/Tensor/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void kiln::registerKilnDialects(DialectRegistry &registry) {
  registry.insert<KilnDialect, func::FuncDialect, arith::ArithDialect, math::MathDialect,
                  tensor::TensorDialect, linalg::LinalgDialect,
                  bufferization::BufferizationDialect, memref::MemRefDialect,
                  scf::SCFDialect, LLVM::LLVMDialect, gpu::GPUDialect, vector::VectorDialect,
                  NVVM::NVVMDialect>();
  arith::registerBufferizableOpInterfaceExternalModels(registry);
  linalg::registerBufferizableOpInterfaceExternalModels(registry);
  linalg::registerTilingInterfaceExternalModels(registry);
  tensor::registerBufferizableOpInterfaceExternalModels(registry);
  scf::registerBufferizableOpInterfaceExternalModels(registry);
  bufferization::func_ext::registerBufferizableOpInterfaceExternalModels(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerGPUDialectTranslation(registry);
  registerNVVMDialectTranslation(registry);
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
}

void kiln::buildGradPipeline(OpPassManager &pm) {
  pm.addPass(createKilnAutodiff());
  pm.addPass(createKilnOptimizer());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void kiln::buildFusionPipeline(OpPassManager &pm) {
  pm.addNestedPass<func::FuncOp>(createKilnFuse());
  pm.addPass(createCSEPass());
}

void kiln::buildLinalgPipeline(OpPassManager &pm, bool gpu) {
  pm.addPass(createKilnABI());
  pm.addNestedPass<func::FuncOp>(createConvertKilnToLinalg(ConvertKilnToLinalgOptions{gpu}));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

/// One-shot bufferization and in-place updates, for both targets.
static void addBufferizationPasses(OpPassManager &pm) {
  // No empty-tensor elimination: after CSE one tensor.empty can feed several
  // ops, and eliminating it into a materialize destination made that
  // destination scratch space for unrelated values. Results are computed in
  // the workspace and copied into their arenas instead.
  bufferization::OneShotBufferizationOptions bufferization;
  bufferization.bufferizeFunctionBoundaries = true;
  bufferization.setFunctionBoundaryTypeConversion(
      bufferization::LayoutMapOption::IdentityLayoutMap);
  // Copies stay in linalg so they lower to loops like everything else (a
  // memref.copy of a strided view would need MLIR's C runner library).
  bufferization.memCpyFn = [](OpBuilder &b, Location loc, Value from, Value to) {
    b.create<linalg::CopyOp>(loc, from, to);
    return success();
  };
  pm.addNestedPass<func::FuncOp>(kiln::createKilnFillPerUse());
  pm.addNestedPass<func::FuncOp>(kiln::createKilnConcatDestinations());
  pm.addPass(bufferization::createOneShotBufferizePass(bufferization));
  pm.addNestedPass<func::FuncOp>(kiln::createKilnUpdateInPlace());
}

/// The static workspace plan: every temporary left, code generation's own
/// buffers (packed matmul panels) included, at a fixed workspace offset.
static void addMemoryPlan(OpPassManager &pm) {
  pm.addNestedPass<func::FuncOp>(kiln::createKilnPlanMemory());
  pm.addPass(createCanonicalizerPass());
}

void kiln::buildCPUCodegenPipeline(OpPassManager &pm, const CPUOptions &options) {
  addBufferizationPasses(pm);
  // tanh, exp and log as polynomials the loop vectorizer can widen, instead
  // of scalar libm calls (which were over half of an LSTM's training time).
  pm.addNestedPass<func::FuncOp>(createKilnExpandMath());
  KilnCPUVectorizeOptions vectorize;
  vectorize.vectorWidth = options.vectorWidth;
  pm.addNestedPass<func::FuncOp>(createKilnCPUVectorize(vectorize));
  addMemoryPlan(pm);
  pm.addPass(createKilnCPUParallelize());
  // Down to the LLVM dialect. Passes that work inside one function run
  // nested on each (MLIR runs those on every core: a CNN's training step
  // is a few hundred functions, its outlined loop bodies); the ones that
  // change function signatures or add declarations run on the module, in
  // the same order as before.
  OpPassManager &lowerLoops = pm.nest<func::FuncOp>();
  VectorTransferToSCFOptions transfers;
  transfers.enableFullUnroll();
  lowerLoops.addPass(createConvertVectorToSCFPass(transfers));
  lowerLoops.addPass(createConvertLinalgToLoopsPass());
  lowerLoops.addPass(createLowerAffinePass());
  lowerLoops.addPass(createConvertSCFToCFPass());
  lowerLoops.addPass(memref::createExpandStridedMetadataPass());
  lowerLoops.addPass(createLowerAffinePass());
  lowerLoops.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addNestedPass<func::FuncOp>(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  // libm takes what has no LLVM intrinsic nor approximation here (the f64
  // erf of gradient checks), lane by lane: its vector.extract and insert.
  pm.addNestedPass<func::FuncOp>(createConvertVectorToLLVMPass());
  pm.addNestedPass<func::FuncOp>(createArithToLLVMConversionPass());
  ConvertFuncToLLVMPassOptions funcOptions;
  funcOptions.useBarePtrCallConv = true;
  pm.addPass(createConvertFuncToLLVMPass(funcOptions));
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addNestedPass<LLVM::LLVMFuncOp>(createReconcileUnrealizedCastsPass());
}

void kiln::buildGPUKernelPipeline(OpPassManager &pm, const GPUOptions &options) {
  pm.addNestedPass<func::FuncOp>(kiln::createKilnGPUFuseIntoReductions());
  pm.addNestedPass<func::FuncOp>(kiln::createKilnGPULoopOrder());
  addBufferizationPasses(pm);
  // Before the memory plan: the sources' longer lives are planned for.
  pm.addNestedPass<func::FuncOp>(kiln::createKilnGPUFoldTransposes());
  pm.addNestedPass<func::FuncOp>(kiln::createKilnGPUSplitK()); // its partials are planned too
  addMemoryPlan(pm);
  pm.addNestedPass<func::FuncOp>(kiln::createKilnGPUGatherWindows());
  pm.addNestedPass<func::FuncOp>(kiln::createKilnGPUTileMatmul());
  pm.addNestedPass<func::FuncOp>(kiln::createKilnGPUBlockReduce());
  pm.addNestedPass<func::FuncOp>(kiln::createKilnGPUThreadReduce());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(kiln::createKilnGPUFuseLoops());
  // Outer tiles become the grid, inner tiles the thread blocks (nothing may
  // canonicalize in between: it would merge the two loops into one).
  pm.addNestedPass<func::FuncOp>(kiln::createKilnGPUDeviceOnly());
  pm.addNestedPass<func::FuncOp>(kiln::createKilnGPUMapLoops());
  pm.addNestedPass<func::FuncOp>(createParallelLoopToGpuPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createCanonicalizerPass());
  // Constants (tile sizes, bounds) move into the kernels rather than
  // becoming kernel arguments: divisions by them then fold into shifts.
  pm.addPass(createGpuLauchSinkIndexComputationsPass());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(kiln::createKilnGPUMergeModules());
  pm.addPass(kiln::createKilnGPUCheckHost());
}

void kiln::buildGPUCodegenPipeline(OpPassManager &pm, const GPUOptions &options) {
  buildGPUKernelPipeline(pm, options);
  GpuNVVMAttachTargetOptions target;
  target.chip = options.chip;
  target.features = "+ptx80";
  target.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(target));
  OpPassManager &kernels = pm.nest<gpu::GPUModuleOp>();
  kernels.addPass(createConvertSCFToCFPass());
  kernels.addPass(createConvertGpuOpsToNVVMOps());
  kernels.addPass(kiln::createKilnGPUPreciseSqrt());
  kernels.addPass(createReconcileUnrealizedCastsPass());
  if (options.emulate)
    pm.addPass(kiln::createKilnGPUEmulate(kiln::KilnGPUEmulateOptions{options.races}));
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = "isa"; // PTX text: ptxas is not needed to compile
  binary.toolkitPath = options.cudaPath;
  pm.addPass(createGpuModuleToBinaryPass(binary));
}

void kiln::buildGPUHostPipeline(OpPassManager &pm) {
  OpPassManager &funcs = pm.nest<func::FuncOp>();
  funcs.addPass(createLowerAffinePass());
  funcs.addPass(createConvertSCFToCFPass());
  funcs.addPass(memref::createExpandStridedMetadataPass());
  funcs.addPass(createLowerAffinePass());
  pm.addPass(kiln::createKilnGPUHostToLLVM());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void kiln::registerKilnPipelines() {
  PassPipelineRegistration<>("kiln-grad", "autodiff and optimizer update", buildGradPipeline);
  PassPipelineRegistration<>("kiln-fusion", "elementwise fusion", buildFusionPipeline);
  PassPipelineRegistration<>("kiln-linalg", "entry points and kiln to linalg",
                            [](OpPassManager &pm) { buildLinalgPipeline(pm); });
  PassPipelineRegistration<>("kiln-cpu-codegen", "linalg to the LLVM dialect for the host CPU",
                             [](OpPassManager &pm) { buildCPUCodegenPipeline(pm, CPUOptions()); });
  PassPipelineRegistration<>("kiln-gpu-codegen", "linalg to GPU kernels as PTX (sm_90)",
                             [](OpPassManager &pm) { buildGPUCodegenPipeline(pm, GPUOptions()); });
}
