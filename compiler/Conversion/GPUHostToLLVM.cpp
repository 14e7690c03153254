//===- GPUHostToLLVM.cpp - GPU host functions as launches of the runtime --===//
//
// Upstream's host lowering loads the module through MLIR's CUDA runner
// library on every launch. Kiln's runtime loads the PTX once per model
// instance and resolves every kernel up front, so here a launch is a call
// to kiln_gpu_launch with the kernel's index and cuLaunchKernel's
// parameter array.
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/Passes.h"

#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVM.h"
#include "mlir/Conversion/LLVMCommon/ConversionTarget.h"
#include "mlir/Conversion/LLVMCommon/MemRefBuilder.h"
#include "mlir/Conversion/LLVMCommon/Pattern.h"
#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/FunctionCallUtils.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Transforms/DialectConversion.h"

namespace kiln {
#define GEN_PASS_DEF_KILNGPUHOSTTOLLVM
#include "compiler/Conversion/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

constexpr StringLiteral kLaunch = "kiln_gpu_launch";

struct LaunchToCall : ConvertOpToLLVMPattern<gpu::LaunchFuncOp> {
  LaunchToCall(const LLVMTypeConverter &converter, const llvm::StringMap<int64_t> &ids)
      : ConvertOpToLLVMPattern(converter), ids(ids) {}

  LogicalResult matchAndRewrite(gpu::LaunchFuncOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    if (op.hasClusterSize() || op.getDynamicSharedMemorySize() || !op.getAsyncDependencies().empty())
      return rewriter.notifyMatchFailure(op, "clusters, dynamic shared memory and async launches");
    Location loc = op.getLoc();
    auto it = ids.find(op.getKernelName().getValue());
    if (it == ids.end())
      return rewriter.notifyMatchFailure(op, "kernel without an index");
    // Memref descriptors field by field (allocated and aligned pointers,
    // offset, sizes, strides), as convert-gpu-to-nvvm declares the kernels'
    // parameters. (promoteOperands would follow the converter's bare-pointer
    // option, which is for the entry points.)
    SmallVector<Value> params;
    for (auto [value, converted] : llvm::zip(op.getKernelOperands(), adaptor.getKernelOperands())) {
      if (auto type = dyn_cast<MemRefType>(value.getType()))
        MemRefDescriptor::unpack(rewriter, loc, converted, type, params);
      else
        params.push_back(converted);
    }

    // One stack slot per parameter and the array of their addresses, in
    // the entry block: a launch inside a scan loop must not grow the stack.
    auto func = op->getParentOfType<FunctionOpInterface>();
    MLIRContext *ctx = rewriter.getContext();
    Type i64 = rewriter.getI64Type(), ptr = LLVM::LLVMPointerType::get(ctx);
    SmallVector<Value> slots;
    Value array;
    {
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(&func.getFunctionBody().front());
      Value one = rewriter.create<LLVM::ConstantOp>(loc, i64, 1);
      for (Value p : params)
        slots.push_back(rewriter.create<LLVM::AllocaOp>(loc, ptr, p.getType(), one, 8));
      Value n = rewriter.create<LLVM::ConstantOp>(loc, i64, std::max<int64_t>(params.size(), 1));
      array = rewriter.create<LLVM::AllocaOp>(loc, ptr, ptr, n, 8);
    }
    for (auto [i, p] : llvm::enumerate(params)) {
      rewriter.create<LLVM::StoreOp>(loc, p, slots[i]);
      Value at = rewriter.create<LLVM::GEPOp>(loc, ptr, ptr, array,
                                              ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(i)});
      rewriter.create<LLVM::StoreOp>(loc, slots[i], at);
    }
    auto toI64 = [&](Value v) { return rewriter.create<LLVM::ZExtOp>(loc, i64, v).getResult(); };
    auto index = [&](Value v) -> Value {
      // Grid and block sizes arrive as converted index values (i64).
      return v.getType() == i64 ? v : toI64(v);
    };
    SmallVector<Value> args{rewriter.create<LLVM::ConstantOp>(loc, i64, it->second)};
    for (Value v : {adaptor.getGridSizeX(), adaptor.getGridSizeY(), adaptor.getGridSizeZ(),
                    adaptor.getBlockSizeX(), adaptor.getBlockSizeY(), adaptor.getBlockSizeZ()})
      args.push_back(index(v));
    args.push_back(array);
    args.push_back(rewriter.create<LLVM::ConstantOp>(loc, i64, params.size()));

    auto module = op->getParentOfType<ModuleOp>();
    auto callee = module.lookupSymbol<LLVM::LLVMFuncOp>(kLaunch);
    if (!callee) {
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(module.getBody());
      SmallVector<Type> types(7, i64);
      types.push_back(ptr);
      types.push_back(i64);
      callee = rewriter.create<LLVM::LLVMFuncOp>(
          loc, kLaunch, LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), types));
    }
    rewriter.create<LLVM::CallOp>(loc, callee, args);
    rewriter.eraseOp(op);
    return success();
  }

  const llvm::StringMap<int64_t> &ids;
};

struct KilnGPUHostToLLVMPass : kiln::impl::KilnGPUHostToLLVMBase<KilnGPUHostToLLVMPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();

    // The PTX, out of its gpu.binary (which carries a C string's NUL).
    std::string ptx;
    for (auto binary : llvm::make_early_inc_range(module.getOps<gpu::BinaryOp>())) {
      for (Attribute object : binary.getObjects())
        ptx += cast<gpu::ObjectAttr>(object).getObject().getValue().rtrim('\0');
      binary.erase();
    }
    if (ptx.empty()) {
      module.emitError("no PTX to embed: run gpu-module-to-binary first");
      return signalPassFailure();
    }
    module->setAttr("kiln.gpu.ptx", StringAttr::get(ctx, ptx));

    llvm::StringMap<int64_t> ids;
    SmallVector<Attribute> names;
    module.walk([&](gpu::LaunchFuncOp op) {
      StringRef name = op.getKernelName().getValue();
      if (ids.try_emplace(name, names.size()).second)
        names.push_back(StringAttr::get(ctx, name));
    });
    module->setAttr("kiln.gpu.kernels", ArrayAttr::get(ctx, names));
    module->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());

    LowerToLLVMOptions options(ctx);
    options.useBarePtrCallConv = true; // entry points take plain pointers, as on the CPU
    LLVMTypeConverter converter(ctx, options);
    RewritePatternSet patterns(ctx);
    populateFuncToLLVMConversionPatterns(converter, patterns);
    populateFinalizeMemRefToLLVMConversionPatterns(converter, patterns);
    arith::populateArithToLLVMConversionPatterns(converter, patterns);
    cf::populateControlFlowToLLVMConversionPatterns(converter, patterns);
    patterns.add<LaunchToCall>(converter, ids);
    LLVMConversionTarget target(*ctx);
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
