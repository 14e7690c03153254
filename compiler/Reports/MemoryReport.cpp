//===- MemoryReport.cpp - Bytes a model needs, by kind --------------------===//
//
// Logical sizes come from the training step after fusion: parameters, state
// and inputs are its arguments; gradients are loss_grad's results; saved
// activations are the values the forward pass computes (up to the loss) that
// the backward pass or the update still reads. Whether a saved value lives
// in the workspace or is recomputed is what fusion and the plan decide, so
// the planned workspace of every entry point, read after code generation,
// is the figure that is allocated.
//
//===----------------------------------------------------------------------===//
#include "compiler/Reports/Reports.h"
#include "compiler/Transforms/ABI.h"
#include "compiler/Transforms/ModelAttrs.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/Support/Format.h"

using namespace mlir;
using namespace kiln;

namespace {

struct Tally {
  int64_t count = 0, bytes = 0;
  void add(Type t) {
    ++count;
    bytes += staticBytes(t);
  }
};

/// The values defined at or before the op computing the loss and read after
/// it by anything but the return.
Tally savedActivations(func::FuncOp step) {
  Tally saved;
  Block &body = step.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  Operation *lossDef = ret.getNumOperands() ? ret.getOperand(0).getDefiningOp() : nullptr;
  if (!lossDef)
    return saved;
  lossDef = body.findAncestorOpInBlock(*lossDef);
  for (Operation &op : body) {
    for (Value v : op.getResults()) {
      bool readLater = llvm::any_of(v.getUsers(), [&](Operation *user) {
        Operation *top = body.findAncestorOpInBlock(*user);
        return top && top != ret && lossDef->isBeforeInBlock(top);
      });
      if (readLater)
        saved.add(v.getType());
    }
    if (&op == lossDef)
      break;
  }
  return saved;
}

struct Workspace {
  std::string entry;
  int64_t planned = 0, unshared = 0;
};

class MemoryReport : public Report {
  std::string model;
  int64_t batch = 0;
  bool seen = false;
  Tally params, optState, buffers, inputs, grads, saved;
  SmallVector<Workspace> workspaces;

public:
  void observe(ReportStage stage, ModuleOp module) override {
    auto m = module->getAttrOfType<DictionaryAttr>(attrs::kModel);
    if (m) {
      if (auto name = m.getAs<StringAttr>("name"))
        model = name.str();
      if (auto b = m.getAs<IntegerAttr>("batch"))
        batch = b.getInt();
    }
    if (stage == ReportStage::Fused) {
      auto step = module.lookupSymbol<func::FuncOp>("train_step");
      if (!step)
        return;
      seen = true;
      llvm::StringSet<> own = modelBuffers(module);
      for (unsigned i = 0; i < step.getNumArguments(); ++i) {
        Type t = step.getArgumentTypes()[i];
        if (step.getArgAttr(i, attrs::kParam))
          params.add(t);
        else if (auto name = step.getArgAttrOfType<StringAttr>(i, attrs::kState))
          (own.contains(name.getValue()) ? buffers : optState).add(t);
        else if (step.getArgAttr(i, attrs::kInput) || step.getArgAttr(i, attrs::kLabel))
          inputs.add(t);
      }
      // loss_grad returns the loss, one gradient per parameter, then the
      // model's own state updates (marked), which are not gradients.
      if (auto grad = module.lookupSymbol<func::FuncOp>("loss_grad"))
        for (unsigned r = 1; r < grad.getNumResults(); ++r)
          if (!grad.getResultAttr(r, attrs::kStateUpdate))
            grads.add(grad.getResultTypes()[r]);
      saved = savedActivations(step);
    }
    if (stage == ReportStage::Codegen && m) {
      std::string prefix = "kiln_" + model + "_";
      for (const EntryPointDef &def : kEntryPoints)
        if (Operation *f = module.lookupSymbol(prefix + def.name)) {
          Workspace w{def.name};
          if (auto a = f->getAttrOfType<IntegerAttr>(attrs::kWorkspace))
            w.planned = a.getInt();
          if (auto a = f->getAttrOfType<IntegerAttr>(attrs::kTemporaries))
            w.unshared = a.getInt();
          workspaces.push_back(w);
        }
    }
  }

  void print(llvm::raw_ostream &os) const override {
    os << "memory report for " << model << " (batch " << batch << "): bytes\n";
    if (!seen) {
      os << "  (compilation stopped before fusion)\n";
      return;
    }
    auto line = [&](StringRef what, const Tally &t) {
      os << llvm::format("  %-20s %5lld tensors %12lld\n", what.str().c_str(),
                         (long long)t.count, (long long)t.bytes);
    };
    line("parameters", params);
    line("gradients", grads);
    line("optimizer state", optState);
    if (buffers.count)
      line("model state", buffers);
    line("saved activations", saved);
    line("inputs and labels", inputs);
    if (workspaces.empty()) {
      os << "  workspace: not planned (no CPU code generation)\n";
      return;
    }
    for (const Workspace &w : workspaces)
      os << llvm::format("  %-20s %-13s %12lld", (const char *)"workspace, planned", w.entry.c_str(),
                         (long long)w.planned)
         << "   (" << w.unshared << " if no two temporaries shared bytes)\n";
  }
};
} // namespace

std::unique_ptr<Report> kiln::createMemoryReport() { return std::make_unique<MemoryReport>(); }
