//===- Pipelines.h - Kiln pass pipelines ------------------------*- C++ -*-===//
//
// One function per stage, shared by kilnc (which runs them in order and stops
// at --emit) and kiln-opt (which registers them by name for tests).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPILER_PIPELINES_PIPELINES_H
#define KILN_COMPILER_PIPELINES_PIPELINES_H

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"

namespace kiln {

/// Every dialect, interface model and translation Kiln's pipelines use.
void registerKilnDialects(mlir::DialectRegistry &registry);

/// kiln forward + loss -> train_step (autodiff, optimizer update), cleaned up.
void buildGradPipeline(mlir::OpPassManager &pm);
/// Elementwise fusion on the kiln dialect.
void buildFusionPipeline(mlir::OpPassManager &pm);
/// Flat-buffer entry points and kiln -> linalg on tensors (`gpu`: the
/// lowerings the GPU wants where the targets differ: kiln.scatter_add).
void buildLinalgPipeline(mlir::OpPassManager &pm, bool gpu = false);
struct CPUOptions {
  /// f32 lanes per vector register: 8 for AVX2, 16 for AVX-512.
  int64_t vectorWidth = 8;
};
/// linalg on tensors -> bufferized, planned, vectorized loops -> LLVM dialect.
void buildCPUCodegenPipeline(mlir::OpPassManager &pm, const CPUOptions &options);

struct GPUOptions {
  std::string chip = "sm_90";
  /// CUDA toolkit root; libdevice (math functions) is linked from it.
  std::string cudaPath = "/usr/local/cuda";
  /// Also compile the kernels for the host (kiln-gpu-emulate), for tests;
  /// with `races`, instrumented for the stand-in driver's race checker.
  bool emulate = false, races = false;
};
/// linalg on tensors -> kernels in the gpu dialect (one gpu.module) and host
/// functions that launch them (kilnc --emit=gpu).
void buildGPUKernelPipeline(mlir::OpPassManager &pm, const GPUOptions &options);
/// The kernel pipeline, then the kernels to NVVM and PTX (in a gpu.binary).
void buildGPUCodegenPipeline(mlir::OpPassManager &pm, const GPUOptions &options);
/// After the codegen pipeline: host functions to the LLVM dialect, launches
/// as calls to the runtime's kiln_gpu_launch, the PTX and kernel names as
/// module attributes for the model descriptor.
void buildGPUHostPipeline(mlir::OpPassManager &pm);

/// Registers the pipelines above as kiln-grad, kiln-fusion, kiln-linalg and
/// kiln-cpu-codegen, kiln-gpu-codegen.
void registerKilnPipelines();

} // namespace kiln

#endif // KILN_COMPILER_PIPELINES_PIPELINES_H
