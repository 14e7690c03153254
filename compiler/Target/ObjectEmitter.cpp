//===- ObjectEmitter.cpp - LLVM IR and object files, in process -----------===//
#include "compiler/Target/ObjectEmitter.h"
#include "compiler/Target/Embedding.h"

#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/CommandLine.h"

#include <mutex>
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"

using namespace mlir;

static std::unique_ptr<llvm::TargetMachine> hostMachine(std::string &error) {
  // LLVM's post-RA list scheduler (on for some hosts, e.g. AMD Zen) is
  // quadratic in basic-block size: a fully unrolled 28x64 weight transpose
  // made it 70% of an RNN's compile time (5 s). The machine scheduler
  // before register allocation still runs. Set as if given on the command
  // line (the option wins over the subtarget only then), once.
  static std::once_flag once;
  std::call_once(once, [] {
    auto &options = llvm::cl::getRegisteredOptions();
    if (auto it = options.find("post-RA-scheduler"); it != options.end())
      it->second->addOccurrence(1, "post-RA-scheduler", "false");
  });
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  std::string triple = llvm::sys::getDefaultTargetTriple();
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return nullptr;
  llvm::SubtargetFeatures features;
  for (auto &f : llvm::sys::getHostCPUFeatures())
    features.AddFeature(f.first(), f.second);
  llvm::TargetOptions options;
  return std::unique_ptr<llvm::TargetMachine>(target->createTargetMachine(
      triple, llvm::sys::getHostCPUName(), features.getString(), options, llvm::Reloc::PIC_,
      std::nullopt, llvm::CodeGenOptLevel::Aggressive));
}

int64_t kiln::hostVectorWidth() {
  auto features = llvm::sys::getHostCPUFeatures();
  auto it = features.find("avx512f");
  return it != features.end() && it->second ? 16 : 8;
}

std::unique_ptr<llvm::Module> kiln::translateAndOptimize(ModuleOp module, llvm::LLVMContext &ctx,
                                                         bool exportEntry) {
  auto llvmModule = translateModuleToLLVMIR(module, ctx, "kiln");
  if (!llvmModule) {
    module.emitError("failed to translate to LLVM IR");
    return nullptr;
  }
  if (failed(emitModelDescriptor(module, *llvmModule, exportEntry)) ||
      failed(emitEmbeddingAPI(module, *llvmModule)))
    return nullptr;
  std::string error;
  auto tm = hostMachine(error);
  if (!tm) {
    module.emitError("no LLVM target for this host: ") << error;
    return nullptr;
  }
  llvmModule->setDataLayout(tm->createDataLayout());
  llvmModule->setTargetTriple(tm->getTargetTriple().str());

  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PipelineTuningOptions tuning;
  tuning.LoopVectorization = true;
  tuning.SLPVectorization = true;
  llvm::PassBuilder pb(tm.get(), tuning);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
  mpm.run(*llvmModule, mam);
  return llvmModule;
}

LogicalResult kiln::writeObjectFile(llvm::Module &module, llvm::StringRef path, bool assembly) {
  std::string error;
  auto tm = hostMachine(error);
  if (!tm) {
    llvm::errs() << "kilnc: error: no LLVM target for this host: " << error << "\n";
    return failure();
  }
  std::error_code ec;
  llvm::ToolOutputFile out(path, ec, assembly ? llvm::sys::fs::OF_Text : llvm::sys::fs::OF_None);
  if (ec) {
    llvm::errs() << "kilnc: error: cannot write '" << path << "': " << ec.message() << "\n";
    return failure();
  }
  llvm::legacy::PassManager pm;
  auto kind = assembly ? llvm::CodeGenFileType::AssemblyFile : llvm::CodeGenFileType::ObjectFile;
  if (tm->addPassesToEmitFile(pm, out.os(), nullptr, kind)) {
    llvm::errs() << "kilnc: error: the target cannot emit object files\n";
    return failure();
  }
  pm.run(module);
  out.keep();
  return success();
}
