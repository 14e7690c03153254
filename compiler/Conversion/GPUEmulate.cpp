//===- GPUEmulate.cpp - NVVM kernels compiled for the host, for tests -----===//
//
// Without a GPU, the CUDA build's host side can run against a stand-in
// driver, but its kernels would compute nothing. This pass copies each
// kernel, already lowered to NVVM's LLVM dialect (the exact code that
// becomes PTX, down to index arithmetic and bounds checks), into the host
// module with NVVM's thread registers read from a global the stand-in
// driver sets per thread. Only what PTX adds below this level (ptxas,
// libdevice's own math) is left for the device tests.
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/DataLayoutInterfaces.h"

namespace kiln {
#define GEN_PASS_DEF_KILNGPUEMULATE
#include "compiler/Conversion/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

constexpr StringLiteral kIds = "kiln_emu_ids", kBarrierHook = "kiln_emu_barrier_hook",
                        kAccessHook = "kiln_emu_access_hook";

/// kiln_emu_ids: tid, ntid, ctaid, nctaid, x/y/z each.
static LLVM::LLVMArrayType idsType(MLIRContext *ctx) {
  return LLVM::LLVMArrayType::get(IntegerType::get(ctx, 32), 12);
}

/// NVVM's special registers: their slot in kiln_emu_ids.
static std::optional<int32_t> registerSlot(StringRef opName) {
  static const std::pair<StringLiteral, int32_t> kBases[] = {
      {"nvvm.read.ptx.sreg.tid.", 0},
      {"nvvm.read.ptx.sreg.ntid.", 3},
      {"nvvm.read.ptx.sreg.ctaid.", 6},
      {"nvvm.read.ptx.sreg.nctaid.", 9},
  };
  for (auto [base, slot] : kBases)
    if (opName.starts_with(base) && opName.size() == base.size() + 1) {
      char axis = opName.back();
      if (axis >= 'x' && axis <= 'z')
        return slot + (axis - 'x');
    }
  return std::nullopt;
}

struct KilnGPUEmulatePass : kiln::impl::KilnGPUEmulateBase<KilnGPUEmulatePass> {
  using KilnGPUEmulateBase::KilnGPUEmulateBase;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    OpBuilder b(ctx);
    b.setInsertionPointToEnd(module.getBody());
    Location loc = module.getLoc();
    Type ptr = LLVM::LLVMPointerType::get(ctx);

    // Weak definitions: every model in a process shares one set, which the
    // stand-in driver finds by name.
    auto weakGlobal = [&](StringRef name, Type type) {
      if (auto g = module.lookupSymbol<LLVM::GlobalOp>(name))
        return g;
      auto g = b.create<LLVM::GlobalOp>(loc, type, /*isConstant=*/false, LLVM::Linkage::Weak, name,
                                        Attribute());
      Block *init = b.createBlock(&g.getInitializerRegion());
      OpBuilder ib = OpBuilder::atBlockEnd(init);
      ib.create<LLVM::ReturnOp>(loc, ib.create<LLVM::ZeroOp>(loc, type).getResult());
      b.setInsertionPointToEnd(module.getBody());
      return g;
    };
    weakGlobal(kIds, idsType(ctx));
    weakGlobal(kBarrierHook, ptr);
    if (races)
      weakGlobal(kAccessHook, ptr);

    for (auto gpuModule : llvm::to_vector(module.getOps<gpu::GPUModuleOp>())) {
      // libdevice's math under libm's names; anything else declared stays.
      llvm::StringMap<std::string> renamed;
      for (auto decl : gpuModule.getOps<LLVM::LLVMFuncOp>()) {
        if (!decl.isExternal())
          continue;
        StringRef name = decl.getName();
        std::string host = name.starts_with("__nv_") ? name.drop_front(5).str() : name.str();
        renamed[name] = host;
        if (!module.lookupSymbol(host)) {
          auto copy = b.create<LLVM::LLVMFuncOp>(loc, host, decl.getFunctionType());
          copy.setLinkage(LLVM::Linkage::External);
        }
      }
      for (auto global : gpuModule.getOps<LLVM::GlobalOp>()) {
        // Shared memory: one block runs at a time, so one copy serves.
        auto copy = cast<LLVM::GlobalOp>(b.clone(*global));
        copy.setSymName(("kiln_emu_shared_" + global.getSymName()).str());
        renamed[global.getSymName()] = copy.getSymName().str();
      }
      for (auto kernel : llvm::to_vector(gpuModule.getOps<LLVM::LLVMFuncOp>())) {
        if (kernel.isExternal())
          continue;
        if (!kernel->hasAttr(NVVM::NVVMDialect::getKernelFuncAttrName())) {
          kernel.emitOpError("is a device function, which kiln-gpu-emulate does not copy");
          return signalPassFailure();
        }
        if (failed(emulate(kernel, renamed, b)))
          return signalPassFailure();
      }
    }
  }

  /// Before each load and store: kiln_emu_access_hook(address, bytes,
  /// flags), flags 1 for a write and 2 for shared memory (address space 3,
  /// one copy per block on a device, one for all blocks here).
  void instrument(ArrayRef<Operation *> accesses) {
    MLIRContext *ctx = &getContext();
    Type ptr = LLVM::LLVMPointerType::get(ctx);
    auto hookType = LLVM::LLVMFunctionType::get(
        LLVM::LLVMVoidType::get(ctx),
        {ptr, IntegerType::get(ctx, 64), IntegerType::get(ctx, 32)});
    for (Operation *op : accesses) {
      auto load = dyn_cast<LLVM::LoadOp>(op);
      auto store = dyn_cast<LLVM::StoreOp>(op);
      Value address = load ? load.getAddr() : store.getAddr();
      Type value = load ? load.getType() : store.getValue().getType();
      unsigned space = cast<LLVM::LLVMPointerType>(address.getType()).getAddressSpace();
      OpBuilder at(op);
      Location loc = op->getLoc();
      if (space != 0)
        address = at.create<LLVM::AddrSpaceCastOp>(loc, ptr, address);
      int64_t bytes = DataLayout::closest(op).getTypeSize(value);
      int32_t flags = (store ? 1 : 0) | (space == 3 ? 2 : 0);
      Value hookAt = at.create<LLVM::AddressOfOp>(loc, ptr, kAccessHook);
      Value hook = at.create<LLVM::LoadOp>(loc, ptr, hookAt);
      Value size = at.create<LLVM::ConstantOp>(loc, at.getI64Type(), bytes);
      Value flag = at.create<LLVM::ConstantOp>(loc, at.getI32Type(), flags);
      at.create<LLVM::CallOp>(loc, hookType, ValueRange{hook, address, size, flag});
    }
  }

  LogicalResult emulate(LLVM::LLVMFuncOp kernel, const llvm::StringMap<std::string> &renamed,
                        OpBuilder &b) {
    MLIRContext *ctx = &getContext();
    Location loc = kernel.getLoc();
    Type i32 = b.getI32Type(), ptr = LLVM::LLVMPointerType::get(ctx);
    std::string name = kernel.getName().str();

    auto body = cast<LLVM::LLVMFuncOp>(b.clone(*kernel));
    body.setSymName("kiln_emu_body_" + name);
    body.setLinkage(LLVM::Linkage::Internal);
    for (NamedAttribute attr : llvm::to_vector(body->getAttrs()))
      if (attr.getName().strref().starts_with("nvvm.") ||
          attr.getName().strref().starts_with("gpu."))
        body->removeAttr(attr.getName());

    bool barriers = false;
    SmallVector<Operation *> nvvm, accesses;
    body.walk([&](Operation *op) {
      if (isa<NVVM::NVVMDialect>(op->getDialect()))
        nvvm.push_back(op);
      if (isa<LLVM::LoadOp, LLVM::StoreOp>(op))
        accesses.push_back(op);
      if (auto call = dyn_cast<LLVM::CallOp>(op))
        if (auto callee = call.getCallee(); callee && renamed.count(*callee))
          call.setCallee(renamed.lookup(*callee));
      if (auto address = dyn_cast<LLVM::AddressOfOp>(op))
        if (renamed.count(address.getGlobalName()))
          address.setGlobalName(renamed.lookup(address.getGlobalName()));
    });
    if (races)
      instrument(accesses);
    for (Operation *op : nvvm) {
      OpBuilder at(op);
      Value ids = at.create<LLVM::AddressOfOp>(op->getLoc(), ptr, kIds);
      if (auto slot = registerSlot(op->getName().getStringRef())) {
        Value at_ = at.create<LLVM::GEPOp>(op->getLoc(), ptr, idsType(ctx), ids,
                                           ArrayRef<LLVM::GEPArg>{0, *slot});
        Value v = at.create<LLVM::LoadOp>(op->getLoc(), i32, at_);
        if (op->getResult(0).getType() != i32)
          return op->emitOpError("emulation: special register of an unexpected type");
        op->getResult(0).replaceAllUsesWith(v);
        op->erase();
        continue;
      }
      if (isa<NVVM::Barrier0Op>(op)) {
        barriers = true;
        Value hookAt = at.create<LLVM::AddressOfOp>(op->getLoc(), ptr, kBarrierHook);
        Value hook = at.create<LLVM::LoadOp>(op->getLoc(), ptr, hookAt);
        auto type = LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), {});
        at.create<LLVM::CallOp>(op->getLoc(), type, ValueRange{hook});
        op->erase();
        continue;
      }
      return op->emitOpError("cannot be emulated on the host (kiln-gpu-emulate)");
    }

    // kiln_emu_NAME(void **params): cuLaunchKernel's parameter array.
    auto voidType = LLVM::LLVMVoidType::get(ctx);
    auto entry = b.create<LLVM::LLVMFuncOp>(loc, "kiln_emu_" + name,
                                            LLVM::LLVMFunctionType::get(voidType, {ptr}));
    OpBuilder eb = OpBuilder::atBlockEnd(entry.addEntryBlock(b));
    Value params = entry.getArgument(0);
    SmallVector<Value> args;
    for (auto [i, type] : llvm::enumerate(body.getFunctionType().getParams())) {
      Value at = eb.create<LLVM::GEPOp>(loc, ptr, ptr, params,
                                        ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(i)});
      Value slot = eb.create<LLVM::LoadOp>(loc, ptr, at);
      args.push_back(eb.create<LLVM::LoadOp>(loc, type, slot));
    }
    eb.create<LLVM::CallOp>(loc, body, args);
    eb.create<LLVM::ReturnOp>(loc, ValueRange{});
    b.setInsertionPointToEnd(getOperation().getBody());
    if (barriers)
      b.create<LLVM::GlobalOp>(loc, i32, /*isConstant=*/true, LLVM::Linkage::External,
                               "kiln_emu_barriers_" + name, b.getI32IntegerAttr(1));
    return success();
  }
};

} // namespace
