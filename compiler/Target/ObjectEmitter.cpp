//===- ObjectEmitter.cpp - LLVM IR and object files, in process -----------===//
#include "compiler/Target/ObjectEmitter.h"
#include "compiler/Target/Embedding.h"

#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Passes/StandardInstrumentations.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"
#include "llvm/TargetParser/Triple.h"

#include "kiln/model.h"

#include <mutex>

using namespace mlir;

/// LLVM defaults that cost compile time without speeding up Kiln's code.
static void setCodegenDefaults() {
  // Set as if given on the command line (the only way these options win
  // over the subtarget's and pass defaults), once, unless the user gave them:
  // - the post-RA list scheduler (on for some hosts, e.g. AMD Zen) is
  //   quadratic in basic-block size: a fully unrolled 28x64 weight transpose
  //   made it 70% of an RNN's compile time (5 s);
  // - full unrolling of the many short loops of a one-row predict or a
  //   convolution's gradients (O3's threshold is 300) doubled lenet's and
  //   resnet_small's compile times (2.8 -> 1.4 s, 6.3 -> 3.5 s at 50) for
  //   no measurable speed: the vectorizer has already register-blocked and
  //   unrolled the loops that matter.
  static const std::pair<const char *, const char *> kDefaults[] = {
      {"post-RA-scheduler", "false"},
      {"unroll-threshold", "50"},
  };
  static std::once_flag once;
  std::call_once(once, [] {
    auto &options = llvm::cl::getRegisteredOptions();
    for (auto [name, value] : kDefaults)
      if (auto it = options.find(name); it != options.end() && !it->second->getNumOccurrences())
        it->second->addOccurrence(1, name, value);
  });
}

/// The host's target, initialized once.
static const llvm::Target *hostTarget(std::string &error) {
  setCodegenDefaults();
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  return llvm::TargetRegistry::lookupTarget(llvm::sys::getDefaultTargetTriple(), error);
}

std::unique_ptr<llvm::TargetMachine> kiln::createTargetMachine(const CPUTarget &cpu,
                                                               std::string &error) {
  const llvm::Target *target = hostTarget(error);
  if (!target)
    return nullptr;
  llvm::TargetOptions options;
  return std::unique_ptr<llvm::TargetMachine>(target->createTargetMachine(
      llvm::sys::getDefaultTargetTriple(), cpu.cpu, cpu.features, options, llvm::Reloc::PIC_,
      std::nullopt, llvm::CodeGenOptLevel::Aggressive));
}

std::optional<kiln::CPUTarget> kiln::resolveCPU(llvm::StringRef spec, std::string &error) {
  const llvm::Target *target = hostTarget(error);
  if (!target)
    return std::nullopt;
  std::string triple = llvm::sys::getDefaultTargetTriple();
  CPUTarget cpu;
  if (spec == "native") {
    cpu.cpu = llvm::sys::getHostCPUName().str();
    llvm::SubtargetFeatures features;
    for (auto &f : llvm::sys::getHostCPUFeatures())
      features.AddFeature(f.first(), f.second);
    cpu.features = features.getString();
  } else {
    // Asked of a subtarget with no CPU named, so that LLVM does not warn.
    std::unique_ptr<llvm::MCSubtargetInfo> sti(target->createMCSubtargetInfo(triple, "", ""));
    if (spec.empty() || !sti || !sti->isCPUStringValid(spec)) {
      error = ("unknown --cpu '" + spec + "' for " + triple +
               ": give native or an LLVM CPU name (x86-64, x86-64-v2, x86-64-v3, x86-64-v4, "
               "skylake-avx512, znver4, ...)")
                  .str();
      return std::nullopt;
    }
    cpu.cpu = spec.str();
  }
  auto tm = createTargetMachine(cpu, error);
  if (!tm)
    return std::nullopt;
  const llvm::MCSubtargetInfo &sti = *tm->getMCSubtargetInfo();
  cpu.vectorWidth = sti.checkFeatures("+avx512f") ? 16 : 8;
  if (llvm::Triple(triple).isX86()) {
#define KILN_REQUIRE(name)                                                                   \
  if (sti.checkFeatures("+" name))                                                           \
    cpu.required += (cpu.required.empty() ? "" : ",") + std::string(name);
    KILN_X86_FEATURES(KILN_REQUIRE)
#undef KILN_REQUIRE
  }
  return cpu;
}

std::unique_ptr<llvm::Module> kiln::translateToLLVMIR(ModuleOp module, llvm::LLVMContext &ctx,
                                                      const CPUTarget &cpu, bool exportEntry) {
  auto llvmModule = translateModuleToLLVMIR(module, ctx, "kiln");
  if (!llvmModule) {
    module.emitError("failed to translate to LLVM IR");
    return nullptr;
  }
  if (failed(emitModelDescriptor(module, *llvmModule, cpu.required, exportEntry)) ||
      failed(emitEmbeddingAPI(module, *llvmModule)))
    return nullptr;
  std::string error;
  auto tm = createTargetMachine(cpu, error);
  if (!tm) {
    module.emitError("no LLVM target for this host: ") << error;
    return nullptr;
  }
  llvmModule->setDataLayout(tm->createDataLayout());
  llvmModule->setTargetTriple(tm->getTargetTriple().str());
  return llvmModule;
}

void kiln::optimizeForTarget(llvm::Module &module, llvm::TargetMachine &tm) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PipelineTuningOptions tuning;
  tuning.LoopVectorization = true;
  tuning.SLPVectorization = true;
  // LLVM's own flags (-time-passes, -print-after-all) work on this pipeline.
  llvm::PassInstrumentationCallbacks instrumentation;
  llvm::StandardInstrumentations standard(module.getContext(), /*DebugLogging=*/false);
  standard.registerCallbacks(instrumentation, &mam);
  llvm::PassBuilder pb(&tm, tuning, std::nullopt, &instrumentation);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
  mpm.run(module, mam);
}

std::unique_ptr<llvm::Module> kiln::translateAndOptimize(ModuleOp module, llvm::LLVMContext &ctx,
                                                         const CPUTarget &cpu, bool exportEntry) {
  auto llvmModule = translateToLLVMIR(module, ctx, cpu, exportEntry);
  if (!llvmModule)
    return nullptr;
  std::string error;
  auto tm = createTargetMachine(cpu, error);
  if (!tm) {
    module.emitError("no LLVM target for this host: ") << error;
    return nullptr;
  }
  optimizeForTarget(*llvmModule, *tm);
  return llvmModule;
}

LogicalResult kiln::writeObjectFile(llvm::Module &module, const CPUTarget &cpu,
                                    llvm::StringRef path, bool assembly) {
  std::string error;
  auto tm = createTargetMachine(cpu, error);
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
