//===- kilnc.cpp - The Kiln model compiler driver -------------------------===//
//
// .kiln -> AST -> kiln IR -> train_step -> fused -> linalg -> LLVM -> object,
// stopping at --emit. Pass-manager options (--mlir-print-ir-after-all, ...)
// apply to every MLIR stage.
//
//===----------------------------------------------------------------------===//
#include "compiler/Frontend/MLIRGen.h"
#include "compiler/Frontend/Parser.h"
#include "compiler/Conversion/Passes.h"
#include "compiler/Pipelines/Pipelines.h"
#include "compiler/Reports/Reports.h"
#include "compiler/Transforms/Passes.h"
#include "compiler/Target/Embedding.h"
#include "compiler/Target/ObjectEmitter.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/ToolUtilities.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace mlir;
namespace cl = llvm::cl;

namespace {
cl::OptionCategory kilncCategory("kilnc options");

enum class Emit { AST, Kiln, Grad, Fused, Linalg, GPU, LLVM, Asm, Obj, Lib, Header, PTX, Exe };

cl::opt<std::string> inputFile(cl::Positional, cl::desc("<model.kiln>"), cl::Required,
                                cl::cat(kilncCategory));
cl::opt<std::string> outputFile("o", cl::desc("Output file (default: stdout for text, the model name for exe)"),
                                cl::value_desc("file"), cl::cat(kilncCategory));
cl::opt<Emit> emit("emit", cl::desc("What to produce"), cl::init(Emit::Exe),
                   cl::values(clEnumValN(Emit::AST, "ast", "the syntax tree"),
                              clEnumValN(Emit::Kiln, "kiln", "kiln IR: forward and loss"),
                              clEnumValN(Emit::Grad, "grad", "kiln IR with the training step"),
                              clEnumValN(Emit::Fused, "fused", "kiln IR after fusion"),
                              clEnumValN(Emit::Linalg, "linalg", "linalg on tensors"),
                              clEnumValN(Emit::GPU, "gpu",
                                         "host functions and gpu dialect kernels (--target=cuda)"),
                              clEnumValN(Emit::LLVM, "llvm", "optimized LLVM IR"),
                              clEnumValN(Emit::Asm, "asm", "host assembly"),
                              clEnumValN(Emit::Obj, "obj", "host object file"),
                              clEnumValN(Emit::Lib, "lib", "static library: model + runtime"),
                              clEnumValN(Emit::Header, "header", "C header of the library's API"),
                              clEnumValN(Emit::PTX, "ptx", "PTX of the GPU kernels (--target=cuda)"),
                              clEnumValN(Emit::Exe, "exe", "executable with train/eval/predict")),
                   cl::cat(kilncCategory));
cl::opt<std::string> target("target", cl::desc("cpu (default) or cuda"), cl::init("cpu"),
                            cl::cat(kilncCategory));
cl::opt<std::string> cpuName(
    "cpu",
    cl::desc("CPU the code is compiled for: native (default: this machine's) or an LLVM CPU "
             "name such as x86-64-v3 (AVX2: most x86-64 machines of the last ten years), "
             "x86-64-v4 (AVX-512), skylake-avx512, znver4. A program refuses to run on a CPU "
             "without the features it was compiled for"),
    cl::init("native"), cl::cat(kilncCategory));
cl::opt<std::string> gpuChip("gpu-chip", cl::desc("CUDA architecture for --target=cuda (sm_80, sm_90)"),
                             cl::init("sm_90"), cl::cat(kilncCategory));
cl::opt<std::string> cudaPath("cuda-path",
                              cl::desc("CUDA toolkit root, for libdevice (default: $CUDA_HOME, else "
                                       "the toolkit found at build time)"),
                              cl::cat(kilncCategory));
cl::opt<bool> gpuEmulate(
    "gpu-emulate",
    cl::desc("With --target=cuda: also compile the kernels for this CPU, for the stand-in CUDA "
             "driver of the tests (runtime/tests/fake_cuda.c) to run"),
    cl::Hidden, cl::cat(kilncCategory));
cl::opt<bool> gpuEmulateRaces(
    "gpu-emulate-races",
    cl::desc("Like --gpu-emulate, with every kernel load and store checked by the stand-in "
             "driver for data races and reads of unwritten shared memory (slow)"),
    cl::Hidden, cl::cat(kilncCategory));
cl::opt<int> batch("batch", cl::desc("Override the model's batch size"), cl::init(0),
                   cl::cat(kilncCategory));
cl::opt<bool> verifyDiagnostics("verify-diagnostics",
                                cl::desc("Check diagnostics against expected-* comments"),
                                cl::cat(kilncCategory));
cl::opt<bool> splitInputFile("split-input-file",
                             cl::desc("Compile each '// -----' chunk separately"),
                             cl::cat(kilncCategory));

cl::opt<double> memoryLimit(
    "memory-limit",
    cl::desc("GiB a model instance may need at run time: parameters, optimizer and model state, "
             "workspace (default 16; 0: no limit)"),
    cl::init(16), cl::cat(kilncCategory));

enum class ReportKind { Fusion, Memory };
cl::list<ReportKind> reports("report", cl::CommaSeparated,
                             cl::desc("Print reports on stderr once compiled (comma-separated)"),
                             cl::values(clEnumValN(ReportKind::Fusion, "fusion",
                                                   "kernels per entry point before and after fusion"),
                                        clEnumValN(ReportKind::Memory, "memory",
                                                   "bytes of parameters, gradients, state, saved "
                                                   "activations and planned workspace")),
                             cl::cat(kilncCategory));

/// The reports asked for, in the order asked.
std::vector<std::unique_ptr<kiln::Report>> activeReports;

void observe(kiln::ReportStage stage, ModuleOp module) {
  for (auto &r : activeReports)
    r->observe(stage, module);
}

/// Set when a stage after the frontend fails on a model the frontend accepted:
/// that is a bug in kilnc, not in the model, and exits with kInternalError so
/// that tests (and users) can tell the two apart.
bool internalError = false;
constexpr int kUserError = 1, kInternalError = 3;
/// Parts LLVM compiles the model in, in parallel (ParallelCodegen.cpp): a
/// constant, so that the output does not depend on the machine.
constexpr unsigned kCodegenParts = 4;

LogicalResult internal(StringRef stage) {
  internalError = true;
  llvm::errs() << "kilnc: internal error: " << stage
               << " failed on a model that passed checking; this is a bug in kilnc\n";
  return failure();
}

/// Where kilnc finds the runtime libraries and the C compiler used as linker.
std::string runtimeDir() {
  if (const char *env = std::getenv("KILN_RUNTIME_DIR"))
    return env;
  return KILN_RUNTIME_DIR;
}

/// Links `objects` with the runtime into an executable, or with
/// `relocatable` into one object file (cc -r).
LogicalResult link(llvm::ArrayRef<std::string> objects, StringRef output, bool relocatable) {
  std::string cc = std::getenv("KILN_CC") ? std::getenv("KILN_CC") : KILN_C_COMPILER;
  auto program = llvm::sys::findProgramByName(cc);
  if (!program) {
    llvm::errs() << "kilnc: error: cannot find the linker driver '" << cc << "'\n";
    return failure();
  }
  std::string dir = runtimeDir();
  std::vector<std::string> argv = {cc, "-o", output.str()};
  if (relocatable)
    argv.push_back("-r");
  argv.insert(argv.end(), objects.begin(), objects.end());
  if (!relocatable) {
    argv.insert(argv.end(), {dir + "/libkiln_driver.a", dir + "/libkiln_runtime.a", "-lz", "-lm",
                             "-ldl", "-lpthread"});
    // A runtime built with sanitizers (KILN_SANITIZE) needs their runtimes.
    if (StringRef(KILN_LINK_FLAGS).size())
      argv.push_back(KILN_LINK_FLAGS);
    // The stand-in driver finds emulated kernels with dlsym.
    if (gpuEmulate || gpuEmulateRaces)
      argv.push_back("-Wl,--export-dynamic");
  }
  SmallVector<StringRef> args(argv.begin(), argv.end());
  std::string error;
  int rc = llvm::sys::ExecuteAndWait(*program, args, std::nullopt, {}, 0, 0, &error);
  if (rc != 0) {
    llvm::errs() << "kilnc: error: linking failed" << (error.empty() ? "" : ": " + error) << "\n";
    return failure();
  }
  return success();
}

LogicalResult writeText(llvm::function_ref<void(llvm::raw_ostream &)> print) {
  std::error_code ec;
  std::string path = outputFile.empty() ? std::string("-") : outputFile.getValue();
  llvm::ToolOutputFile out(path, ec, llvm::sys::fs::OF_Text);
  if (ec) {
    llvm::errs() << "kilnc: error: cannot write '" << outputFile << "': " << ec.message() << "\n";
    return failure();
  }
  print(out.os());
  out.keep();
  return success();
}

/// The GPU pipeline's options from the command line; fails with a message
/// when the chip is unknown or, if the kernels are to be compiled, libdevice
/// is missing.
FailureOr<kiln::GPUOptions> gpuOptions(bool compileKernels) {
  if (gpuChip != "sm_80" && gpuChip != "sm_90") {
    llvm::errs() << "kilnc: error: unsupported --gpu-chip=" << gpuChip << " (sm_80 or sm_90)\n";
    return failure();
  }
  kiln::GPUOptions options;
  options.chip = gpuChip;
  options.emulate = gpuEmulate || gpuEmulateRaces;
  options.races = gpuEmulateRaces;
  options.cudaPath = !cudaPath.empty()           ? cudaPath.getValue()
                     : std::getenv("CUDA_HOME") ? std::getenv("CUDA_HOME")
                                                : KILN_CUDA_PATH;
  std::string libdevice = options.cudaPath + "/nvvm/libdevice/libdevice.10.bc";
  if (compileKernels && !llvm::sys::fs::exists(libdevice)) {
    llvm::errs() << "kilnc: error: libdevice not found at '" << libdevice
                 << "'; pass --cuda-path=<CUDA toolkit root>\n";
    return failure();
  }
  return options;
}

/// Runs the GPU pipeline and writes the PTX of the model's kernel module.
LogicalResult emitPTX(ModuleOp module, MLIRContext &ctx) {
  FailureOr<kiln::GPUOptions> options = gpuOptions(emit == Emit::PTX);
  if (failed(options))
    return failure();
  PassManager pm(&ctx);
  if (failed(applyPassManagerCLOptions(pm)))
    return failure();
  if (emit == Emit::GPU) {
    kiln::buildGPUKernelPipeline(pm, *options);
    if (failed(pm.run(module)))
      return internal("GPU kernel generation");
    return writeText([&](llvm::raw_ostream &os) { module.print(os); });
  }
  kiln::buildGPUCodegenPipeline(pm, *options);
  if (failed(pm.run(module)))
    return internal("GPU code generation");
  std::string ptx;
  module.walk([&](gpu::BinaryOp binary) {
    // The serialized PTX carries a C string's terminating NUL; ptxas reads
    // that as a premature end of file.
    for (Attribute object : binary.getObjects())
      ptx += cast<gpu::ObjectAttr>(object).getObject().getValue().rtrim('\0');
  });
  if (ptx.empty())
    return internal("GPU code generation (no kernels)");
  return writeText([&](llvm::raw_ostream &os) { os << ptx; });
}

/// A model whose instance would not fit --memory-limit is refused here,
/// with what it needs, rather than failing to allocate at run time.
LogicalResult checkMemoryLimit(ModuleOp module, StringRef file) {
  kiln::ArenaSizes sizes = kiln::arenaSizes(module);
  double gib = 1024.0 * 1024.0 * 1024.0, need = double(sizes.bytes()) / gib;
  if (memoryLimit <= 0 || need <= memoryLimit)
    return success();
  llvm::errs() << file << ": error: the model needs "
               << llvm::format("%.1f GiB at run time (parameters %.1f GiB, state %.1f GiB, "
                               "workspace %.1f GiB), more than --memory-limit=%g",
                               need, 4.0 * double(sizes.params) / gib,
                               4.0 * double(sizes.state) / gib, double(sizes.workspace) / gib,
                               double(memoryLimit))
               << "\n";
  return failure();
}

/// Prints `d` with a window of its source line around the column when the
/// line is longer than kMaxShownLine; fails (leaving `d` to the SourceMgr
/// handler, which prints the whole line) otherwise.
constexpr size_t kMaxShownLine = 200;
LogicalResult emitClipped(llvm::SourceMgr &sourceMgr, Diagnostic &d) {
  auto loc = dyn_cast<FileLineColLoc>(d.getLocation());
  if (!loc || loc.getLine() == 0)
    return failure();
  llvm::StringRef buffer = sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID())->getBuffer();
  llvm::SMLoc start = sourceMgr.FindLocForLineAndColumn(sourceMgr.getMainFileID(), loc.getLine(), 1);
  if (!start.isValid())
    return failure();
  llvm::StringRef line = buffer.substr(start.getPointer() - buffer.data());
  line = line.take_until([](char c) { return c == '\n' || c == '\r'; });
  if (line.size() <= kMaxShownLine)
    return failure();
  size_t col = loc.getColumn() ? loc.getColumn() - 1 : 0;
  size_t from = col > kMaxShownLine / 2 ? col - kMaxShownLine / 2 : 0;
  llvm::StringRef window = line.substr(from, kMaxShownLine);
  const char *kind = d.getSeverity() == DiagnosticSeverity::Error     ? "error"
                     : d.getSeverity() == DiagnosticSeverity::Warning ? "warning"
                                                                      : "note";
  llvm::errs() << loc.getFilename().getValue() << ":" << loc.getLine() << ":" << loc.getColumn() << ": "
               << kind << ": " << d.str() << "\n"
               << (from ? "..." : "") << window << (from + window.size() < line.size() ? "..." : "")
               << "\n"
               << std::string(col - from + (from ? 3 : 0), ' ') << "^\n";
  return success();
}

/// What --cpu names, once validateOptions has resolved it.
std::optional<kiln::CPUTarget> cpuTarget;

/// Checks option combinations before any work is done.
LogicalResult validateOptions() {
  if (target != "cpu" && target != "cuda") {
    llvm::errs() << "kilnc: error: unknown --target=" << target << " (expected cpu or cuda)\n";
    return failure();
  }
  if (target == "cpu" && (emit == Emit::PTX || emit == Emit::GPU)) {
    llvm::errs() << "kilnc: error: --emit=ptx and --emit=gpu need --target=cuda\n";
    return failure();
  }
  if ((gpuEmulate || gpuEmulateRaces) && target != "cuda") {
    llvm::errs() << "kilnc: error: --gpu-emulate" << (gpuEmulateRaces ? "-races" : "")
                 << " needs --target=cuda\n";
    return failure();
  }
  std::string error;
  cpuTarget = kiln::resolveCPU(cpuName, error);
  if (!cpuTarget) {
    llvm::errs() << "kilnc: error: " << error << "\n";
    return failure();
  }
  return success();
}

LogicalResult compile(std::unique_ptr<llvm::MemoryBuffer> buffer, MLIRContext &ctx) {
  llvm::StringRef name = buffer->getBufferIdentifier();
  kiln::frontend::Diagnostics diags(&ctx, name);
  kiln::frontend::Parser parser(buffer->getBuffer(), diags);
  auto model = parser.parseModel();
  if (!model)
    return failure();
  if (emit == Emit::AST)
    return writeText([&](llvm::raw_ostream &os) { model->dump(os); });
  auto info = kiln::frontend::analyze(*model, diags, batch > 0 ? std::optional<int64_t>(batch)
                                                               : std::nullopt);
  if (failed(info))
    return failure();
  auto module = kiln::frontend::generateModule(*model, *info, diags);
  if (!module)
    return internal("building kiln IR");
  observe(kiln::ReportStage::Built, *module);

  // Runs one stage; prints the module and finishes if --emit names it.
  auto stage = [&](StringRef name, llvm::function_ref<void(OpPassManager &)> build,
                   std::optional<Emit> stop,
                   std::optional<kiln::ReportStage> reportAt) -> std::optional<LogicalResult> {
    PassManager pm(&ctx);
    if (failed(applyPassManagerCLOptions(pm)))
      return failure();
    applyDefaultTimingPassManagerCLOptions(pm);
    build(pm);
    if (failed(pm.run(*module)))
      return internal(name);
    if (reportAt)
      observe(*reportAt, *module);
    if (emit == stop)
      return writeText([&](llvm::raw_ostream &os) { module->print(os); });
    return std::nullopt;
  };
  if (emit == Emit::Kiln)
    return writeText([&](llvm::raw_ostream &os) { module->print(os); });
  if (emit == Emit::Header)
    return writeText([&](llvm::raw_ostream &os) { (void)kiln::writeHeader(*module, os); });
  if (auto r = stage("differentiation", kiln::buildGradPipeline, Emit::Grad,
                    kiln::ReportStage::Grad))
    return *r;
  if (auto r = stage("fusion", kiln::buildFusionPipeline, Emit::Fused, kiln::ReportStage::Fused))
    return *r;
  bool gpu = target == "cuda" || emit == Emit::PTX || emit == Emit::GPU;
  auto linalg = [&](OpPassManager &pm) { kiln::buildLinalgPipeline(pm, gpu); };
  if (auto r = stage("lowering to linalg", linalg, Emit::Linalg, std::nullopt))
    return *r;
  if (emit == Emit::PTX || emit == Emit::GPU)
    return emitPTX(*module, ctx);
  if (target == "cuda") {
    // Kernels to PTX, host functions to launches: the rest is as on the CPU.
    FailureOr<kiln::GPUOptions> gpu = gpuOptions(true);
    if (failed(gpu))
      return failure();
    auto codegen = [&](OpPassManager &pm) {
      kiln::buildGPUCodegenPipeline(pm, *gpu);
      kiln::buildGPUHostPipeline(pm);
    };
    if (stage("GPU code generation", codegen, std::nullopt, kiln::ReportStage::Codegen))
      return failure();
  } else {
    kiln::CPUOptions cpu;
    cpu.vectorWidth = cpuTarget->vectorWidth;
    auto codegen = [&](OpPassManager &pm) { kiln::buildCPUCodegenPipeline(pm, cpu); };
    // No --emit stops here: only failure returns.
    if (stage("CPU code generation", codegen, std::nullopt, kiln::ReportStage::Codegen))
      return failure();
  }
  if (failed(checkMemoryLimit(*module, name)))
    return failure();

  llvm::LLVMContext llvmCtx;
  if (emit == Emit::LLVM || emit == Emit::Asm) {
    // One module to read: optimized whole, not in parts.
    auto llvmModule = kiln::translateAndOptimize(*module, llvmCtx, *cpuTarget, false);
    if (!llvmModule)
      return internal("translation to LLVM IR");
    if (emit == Emit::LLVM)
      return writeText([&](llvm::raw_ostream &os) { llvmModule->print(os, nullptr); });
    return kiln::writeObjectFile(*llvmModule, *cpuTarget,
                                 outputFile.empty() ? "-" : outputFile.getValue(),
                                 /*assembly=*/true);
  }
  auto llvmModule = kiln::translateToLLVMIR(*module, llvmCtx, *cpuTarget, emit == Emit::Exe);
  if (!llvmModule)
    return internal("translation to LLVM IR");
  std::vector<std::string> objects = kiln::compileInParts(*llvmModule, *cpuTarget, kCodegenParts);
  if (objects.empty())
    return internal("LLVM code generation");
  if (emit == Emit::Lib)
    return kiln::writeStaticLibrary(objects, model->name, runtimeDir() + "/libkiln_runtime.a",
                                    outputFile.empty() ? "lib" + model->name + ".a"
                                                       : outputFile.getValue());
  // Obj and exe: the objects in temporary files, then linked (relocatably
  // into one object for obj).
  std::vector<std::string> paths;
  std::vector<std::unique_ptr<llvm::FileRemover>> removers;
  for (const std::string &object : objects) {
    SmallString<128> path;
    int fd;
    if (auto ec = llvm::sys::fs::createTemporaryFile("kiln-" + model->name, "o", fd, path)) {
      llvm::errs() << "kilnc: error: cannot create a temporary file: " << ec.message() << "\n";
      return failure();
    }
    removers.push_back(std::make_unique<llvm::FileRemover>(path));
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << object;
    os.close();
    if (os.has_error()) {
      llvm::errs() << "kilnc: error: cannot write '" << path << "': " << os.error().message() << "\n";
      return failure();
    }
    paths.push_back(path.str().str());
  }
  if (emit == Emit::Obj)
    return link(paths, outputFile.empty() ? model->name + ".o" : outputFile.getValue(),
                /*relocatable=*/true);
  return link(paths, outputFile.empty() ? model->name : outputFile.getValue(), false);
}
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // Registered first, so that --mlir-print-ir-after=<pass> and friends can
  // name Kiln's passes.
  kiln::registerKilnPasses();
  kiln::registerKilnConversionPasses();
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  registerDefaultTimingManagerCLOptions();
  // --help shows Kiln's options; --help-hidden also MLIR's (--mlir-print-ir-*
  // and friends), which work on every stage.
  cl::HideUnrelatedOptions(kilncCategory);
  cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << "kilnc " << KILN_VERSION << " (MLIR/LLVM " << LLVM_VERSION_STRING << ")\n";
  });
  cl::ParseCommandLineOptions(argc, argv,
                              "Kiln: an ahead-of-time compiler for deep-learning models\n\n"
                              "  kilnc model.kiln -o model        native executable (train/eval/predict)\n"
                              "  kilnc model.kiln --emit=kiln     IR after any stage\n\n"
                              "MLIR's IR-printing options (--mlir-print-ir-after-all, ...) are listed by "
                              "--help-hidden.\n");

  if (failed(validateOptions()))
    return kUserError;
  for (ReportKind kind : reports)
    activeReports.push_back(kind == ReportKind::Fusion ? kiln::createFusionReport()
                                                       : kiln::createMemoryReport());
  DialectRegistry registry;
  kiln::registerKilnDialects(registry);
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();

  std::string error;
  auto input = openInputFile(inputFile, &error);
  if (!input) {
    llvm::errs() << "kilnc: error: " << error << "\n";
    return kUserError;
  }
  auto process = [&](std::unique_ptr<llvm::MemoryBuffer> chunk, llvm::raw_ostream &) {
    llvm::SourceMgr sourceMgr;
    sourceMgr.AddNewSourceBuffer(std::move(chunk), llvm::SMLoc());
    if (verifyDiagnostics) {
      SourceMgrDiagnosticVerifierHandler handler(sourceMgr, &ctx);
      (void)compile(llvm::MemoryBuffer::getMemBufferCopy(
                        sourceMgr.getMemoryBuffer(1)->getBuffer(),
                        sourceMgr.getMemoryBuffer(1)->getBufferIdentifier()),
                    ctx);
      return handler.verify();
    }
    SourceMgrDiagnosticHandler handler(sourceMgr, &ctx);
    // Registered last, so asked first: a diagnostic on a very long line
    // (generated files, pathological nesting) shows a window of it.
    DiagnosticEngine::HandlerID clipped = ctx.getDiagEngine().registerHandler(
        [&](Diagnostic &d) { return emitClipped(sourceMgr, d); });
    auto unregister = llvm::make_scope_exit([&] { ctx.getDiagEngine().eraseHandler(clipped); });
    return compile(llvm::MemoryBuffer::getMemBufferCopy(
                       sourceMgr.getMemoryBuffer(1)->getBuffer(),
                       sourceMgr.getMemoryBuffer(1)->getBufferIdentifier()),
                   ctx);
  };
  LogicalResult result = splitInputFile
                             ? splitAndProcessBuffer(std::move(input), process, llvm::outs())
                             : process(std::move(input), llvm::outs());
  if (failed(result))
    return internalError ? kInternalError : kUserError;
  for (auto &r : activeReports)
    r->print(llvm::errs());
  return 0;
}
