//===- kiln-gradcheck.cpp - Finite-difference checks of kiln VJPs ---------===//
//
// For every function `f(tensors...) -> tensor<f64>` in the input, builds the
// gradient with kiln-autodiff, compiles f and its gradient through the real
// fusion and CPU pipelines, runs both with the JIT and compares the gradient
// with central differences of f at seeded random points. Exits 1 on any
// mismatch, so a wrong VJP, fusion or lowering fails the test that uses it.
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/Passes.h"
#include "compiler/Pipelines/Pipelines.h"
#include "compiler/Transforms/ABI.h"
#include "compiler/Transforms/ModelAttrs.h"
#include "compiler/Transforms/Passes.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"

#include <cmath>
#include <random>
#include <utility>

using namespace mlir;
namespace cl = llvm::cl;

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<input.mlir>"), cl::Required);
static cl::opt<bool> fuse("fuse", cl::desc("Run kiln-fuse before lowering"), cl::init(true));
static cl::opt<double> tolerance("tolerance", cl::desc("Largest accepted relative error"),
                                 cl::init(1e-6));
static cl::opt<unsigned> points("points", cl::desc("Random points per function"), cl::init(2));

namespace {

/// Calls an entry point taking `sizeof...(I)` pointers: the gradient entry's
/// arity depends on the function checked, and varargs would not match it.
template <size_t... I>
void callWith(void *fn, void **p, std::index_sequence<I...>) {
  using F = void (*)(decltype((void)I, static_cast<void *>(nullptr))...);
  reinterpret_cast<F>(fn)(p[I]...);
}
template <size_t N>
void callFixed(void *fn, void **p) {
  callWith(fn, p, std::make_index_sequence<N>());
}
constexpr size_t kMaxPointers = 14;
constexpr void (*kCallers[kMaxPointers + 1])(void *, void **) = {
    nullptr,         nullptr,         nullptr,         callFixed<3>,  callFixed<4>,
    callFixed<5>,    callFixed<6>,    callFixed<7>,    callFixed<8>,  callFixed<9>,
    callFixed<10>,   callFixed<11>,   callFixed<12>,   callFixed<13>, callFixed<14>};

/// Builds a module holding `@kiln_gc_loss(params, out, ws)` and
/// `@kiln_gc_loss_grad(params, loss, grads..., ws)` for one function.
OwningOpRef<ModuleOp> buildChecker(func::FuncOp fn, int64_t &numel) {
  MLIRContext *ctx = fn.getContext();
  OwningOpRef<ModuleOp> m = ModuleOp::create(fn.getLoc());
  Builder b(ctx);
  (*m)->setAttr(kiln::attrs::kModel,
                b.getDictionaryAttr(b.getNamedAttr("name", b.getStringAttr("gc"))));
  auto loss = cast<func::FuncOp>(fn->clone());
  loss.setSymName("loss");
  for (unsigned i = 0; i < loss.getNumArguments(); ++i)
    loss.setArgAttr(i, kiln::attrs::kParam, b.getStringAttr("arg" + std::to_string(i)));
  m->push_back(loss);

  PassManager pm(ctx);
  if (failed(applyPassManagerCLOptions(pm)))
    return nullptr;
  pm.addPass(kiln::createKilnAutodiff());
  // As kilnc's gradient pipeline does (it joins a sum of pads into a concat).
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (fuse)
    kiln::buildFusionPipeline(pm);
  if (failed(pm.run(*m)))
    return nullptr;
  SmallVector<kiln::TensorSlot> layout;
  for (StringRef name : {"loss", "loss_grad"}) {
    layout.clear();
    if (failed(kiln::buildEntryPoint(m->lookupSymbol<func::FuncOp>(name),
                                     ("kiln_gc_" + name).str(), {}, layout)))
      return nullptr;
  }
  numel = 0;
  for (auto &s : layout)
    numel = std::max<int64_t>(numel, s.offset + [&] {
      int64_t n = 1;
      for (int64_t d : s.shape)
        n *= d;
      return n;
    }());
  m->lookupSymbol<func::FuncOp>("loss")->erase();
  m->lookupSymbol<func::FuncOp>("loss_grad")->erase();

  PassManager lower(ctx);
  if (failed(applyPassManagerCLOptions(lower)))
    return nullptr;
  lower.addNestedPass<func::FuncOp>(kiln::createConvertKilnToLinalg());
  kiln::buildCPUCodegenPipeline(lower, kiln::CPUOptions());
  if (failed(lower.run(*m)))
    return nullptr;
  return m;
}

int64_t workspaceOf(ModuleOp m, StringRef fn) {
  Operation *op = m.lookupSymbol(fn);
  auto ws = op ? op->getAttrOfType<IntegerAttr>(kiln::attrs::kWorkspace) : IntegerAttr();
  return ws ? ws.getInt() : 0;
}

/// Returns the largest relative error over all gradient entries.
FailureOr<double> check(func::FuncOp fn, std::mt19937_64 &rng) {
  int64_t numel = 0;
  auto checker = buildChecker(fn, numel);
  if (!checker)
    return failure();
  int64_t wsLoss = workspaceOf(*checker, "kiln_gc_loss");
  int64_t wsGrad = workspaceOf(*checker, "kiln_gc_loss_grad");
  ExecutionEngineOptions options;
  auto transformer = makeOptimizingTransformer(2, 0, nullptr);
  options.transformer = transformer;
  auto engine = ExecutionEngine::create(*checker, options);
  if (!engine) {
    llvm::errs() << "JIT failed: " << llvm::toString(engine.takeError()) << "\n";
    return failure();
  }
  auto lossSym = (*engine)->lookup("kiln_gc_loss");
  auto gradSym = (*engine)->lookup("kiln_gc_loss_grad");
  if (!lossSym || !gradSym) {
    llvm::consumeError(lossSym.takeError());
    llvm::consumeError(gradSym.takeError());
    fn.emitError("entry points not found in the JIT");
    return failure();
  }
  using LossFn = void (*)(double *, double *, uint8_t *);
  auto lossFn = reinterpret_cast<LossFn>(*lossSym);

  // Gradient outputs: one buffer per argument, in argument order.
  SmallVector<std::vector<double>> grads;
  for (Type t : fn.getArgumentTypes())
    grads.emplace_back(cast<RankedTensorType>(t).getNumElements());
  std::vector<uint8_t> ws(std::max<int64_t>({wsLoss, wsGrad, 1}) + 64);
  auto callGrad = [&](double *params, double *loss) {
    // The gradient entry takes (params, loss, grad0, ..., gradN, ws); call it
    // through a fixed-arity switch rather than varargs.
    void *p[kMaxPointers];
    unsigned n = 0;
    p[n++] = params;
    p[n++] = loss;
    for (auto &g : grads)
      p[n++] = g.data();
    p[n++] = ws.data();
    if (n >= std::size(kCallers) || !kCallers[n])
      return false;
    kCallers[n](reinterpret_cast<void *>(*gradSym), p);
    return true;
  };

  // Argument offsets inside the params arena follow kiln-abi's layout.
  SmallVector<int64_t> offsets;
  int64_t off = 0;
  for (auto &g : grads) {
    offsets.push_back(off);
    off = (off + int64_t(g.size()) + 15) / 16 * 16;
  }
  std::vector<double> params(std::max<int64_t>(off, numel) + 16);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  double worst = 0;
  for (unsigned point = 0; point < points; ++point) {
    for (double &v : params)
      v = dist(rng);
    double loss = 0, lossAgain = 0;
    if (!callGrad(params.data(), &loss)) {
      fn.emitError() << "kiln-gradcheck supports at most " << kMaxPointers - 3 << " arguments";
      return failure();
    }
    lossFn(params.data(), &lossAgain, ws.data());
    if (std::abs(loss - lossAgain) > 1e-12 * std::max(1.0, std::abs(loss))) {
      fn.emitError() << "loss from the gradient function (" << loss
                     << ") differs from the loss function (" << lossAgain << ")";
      return failure();
    }
    for (size_t a = 0; a < grads.size(); ++a)
      for (size_t i = 0; i < grads[a].size(); ++i) {
        double &x = params[offsets[a] + i];
        double saved = x, h = 1e-6 * std::max(1.0, std::abs(saved)), up = 0, down = 0;
        x = saved + h;
        lossFn(params.data(), &up, ws.data());
        x = saved - h;
        lossFn(params.data(), &down, ws.data());
        x = saved;
        double fd = (up - down) / (2 * h), g = grads[a][i];
        double err = std::abs(fd - g) / std::max({1.0, std::abs(fd), std::abs(g)});
        worst = std::max(worst, err);
      }
  }
  return worst;
}
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  mlir::registerPassManagerCLOptions();
  cl::ParseCommandLineOptions(argc, argv, "Finite-difference gradient checks for kiln IR\n");
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();

  DialectRegistry registry;
  kiln::registerKilnDialects(registry);
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, &ctx);
  std::string error;
  auto file = openInputFile(inputFile, &error);
  if (!file) {
    llvm::errs() << "kiln-gradcheck: error: " << error << "\n";
    return 1;
  }
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  auto module = parseSourceFile<ModuleOp>(sourceMgr, &ctx);
  if (!module)
    return 1;

  std::mt19937_64 rng(1234);
  bool ok = true;
  for (auto fn : module->getOps<func::FuncOp>()) {
    auto worst = check(fn, rng);
    if (failed(worst)) {
      ok = false;
      continue;
    }
    bool pass = *worst <= tolerance;
    ok &= pass;
    llvm::outs() << "@" << fn.getSymName() << ": max relative error "
                 << llvm::format("%.3g", *worst) << (pass ? ": ok" : ": MISMATCH") << "\n";
  }
  return ok ? 0 : 1;
}
