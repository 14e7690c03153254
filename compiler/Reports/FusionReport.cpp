//===- FusionReport.cpp - Kernels before and after fusion -----------------===//
//
// A kernel is one pass over memory: every kiln op that computes a tensor,
// except constants (globals or scalars once lowered), reshapes (views) and
// scans (loops around kernels, whose bodies count once per step). A
// kiln.fused is one kernel however many ops it holds.
//
//===----------------------------------------------------------------------===//
#include "compiler/Reports/Reports.h"
#include "compiler/Transforms/ABI.h"
#include "compiler/Transforms/ModelAttrs.h"
#include "dialects/Kiln/IR/KilnOps.h"

#include "llvm/ADT/SetVector.h"
#include "llvm/Support/Format.h"

using namespace mlir;
using namespace kiln;

namespace {

struct Counts {
  int64_t kernels = 0, fused = 0, absorbed = 0;
};

Counts countKernels(func::FuncOp fn) {
  Counts c;
  fn.walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (auto fused = dyn_cast<FusedOp>(op)) {
      ++c.kernels;
      ++c.fused;
      for (Operation &inner : fused.getBody().front().without_terminator())
        c.absorbed += !isa<ConstantOp>(inner);
      return WalkResult::skip();
    }
    if (isa<KilnDialect>(op->getDialect()) && !isa<ConstantOp, ReshapeOp, ScanOp, YieldOp>(op))
      ++c.kernels;
    return WalkResult::advance();
  });
  return c;
}

/// How the training step's parameter and state updates are grouped.
struct UpdateGrouping {
  int64_t params = 0, state = 0;
  /// Distinct kernels writing a parameter's next value.
  int64_t paramKernels = 0;
  /// Every parameter's state tensors ("<param>.<name>") are written by the
  /// kernel that writes the parameter.
  bool statesWithParam = true;
  /// Kernels writing only state no parameter owns (Adam's step count).
  int64_t sharedKernels = 0;
};

UpdateGrouping groupUpdates(func::FuncOp step) {
  UpdateGrouping g;
  Block &body = step.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  DenseMap<unsigned, Operation *> writerOf; // argument -> kernel writing its next value
  for (unsigned r = 0; r < step.getNumResults(); ++r)
    if (auto upd = step.getResultAttrOfType<IntegerAttr>(r, "kiln.update"))
      if (Operation *def = ret.getOperand(r).getDefiningOp())
        writerOf[upd.getInt()] = body.findAncestorOpInBlock(*def);
  llvm::SetVector<Operation *> paramWriters, stateWriters;
  SmallVector<std::pair<std::string, Operation *>> params;
  for (unsigned i = 0; i < step.getNumArguments(); ++i)
    if (auto name = step.getArgAttrOfType<StringAttr>(i, attrs::kParam)) {
      ++g.params;
      params.push_back({name.str(), writerOf.lookup(i)});
      if (Operation *w = writerOf.lookup(i))
        paramWriters.insert(w);
    }
  for (unsigned i = 0; i < step.getNumArguments(); ++i) {
    auto name = step.getArgAttrOfType<StringAttr>(i, attrs::kState);
    if (!name)
      continue;
    ++g.state;
    Operation *w = writerOf.lookup(i);
    auto owner = llvm::find_if(params, [&](auto &p) {
      return name.getValue().starts_with(p.first + ".");
    });
    if (owner == params.end()) {
      if (w && !paramWriters.contains(w))
        stateWriters.insert(w);
    } else if (w != owner->second) {
      g.statesWithParam = false;
    }
  }
  g.paramKernels = paramWriters.size();
  g.sharedKernels = stateWriters.size();
  return g;
}

class FusionReport : public Report {
  std::string model;
  SmallVector<std::pair<std::string, Counts>> before, after;
  std::optional<UpdateGrouping> update;

  static SmallVector<std::pair<std::string, Counts>> entries(ModuleOp module) {
    SmallVector<std::pair<std::string, Counts>> out;
    for (const EntryPointDef &def : kEntryPoints)
      if (auto fn = module.lookupSymbol<func::FuncOp>(def.name))
        out.push_back({def.name, countKernels(fn)});
    return out;
  }

public:
  void observe(ReportStage stage, ModuleOp module) override {
    if (auto m = module->getAttrOfType<DictionaryAttr>(attrs::kModel))
      if (auto name = m.getAs<StringAttr>("name"))
        model = name.str();
    if (stage == ReportStage::Grad)
      before = entries(module);
    if (stage == ReportStage::Fused) {
      after = entries(module);
      if (auto step = module.lookupSymbol<func::FuncOp>("train_step"))
        update = groupUpdates(step);
    }
  }

  void print(llvm::raw_ostream &os) const override {
    os << "fusion report for " << model << ": kernels (passes over memory) per entry point\n";
    if (before.empty()) {
      os << "  (compilation stopped before the training step was built)\n";
      return;
    }
    os << llvm::format("  %-12s %8s %8s\n", (const char *)"entry point", (const char *)"unfused", (const char *)"fused");
    for (const auto &entry : before) {
      const std::string &name = entry.first;
      const Counts &b = entry.second;
      auto a = llvm::find_if(after, [&](auto &e) { return e.first == name; });
      if (a == after.end()) {
        os << llvm::format("  %-12s %8lld %8s\n", name.c_str(), (long long)b.kernels, (const char *)"-");
        continue;
      }
      os << llvm::format("  %-12s %8lld %8lld", name.c_str(), (long long)b.kernels,
                         (long long)a->second.kernels)
         << "   " << a->second.fused << " fused kernels hold " << a->second.absorbed << " ops\n";
    }
    if (!update)
      return;
    os << "  optimizer update: " << update->params << " parameters (" << update->state
       << " state tensors) written by " << update->paramKernels << " kernels";
    if (update->paramKernels == update->params && update->statesWithParam)
      os << ", one per parameter with its state";
    else if (!update->statesWithParam)
      os << "; some state in kernels of its own";
    if (update->sharedKernels)
      os << "; shared state in " << update->sharedKernels << " more";
    os << "\n";
  }
};
} // namespace

std::unique_ptr<Report> kiln::createFusionReport() { return std::make_unique<FusionReport>(); }
