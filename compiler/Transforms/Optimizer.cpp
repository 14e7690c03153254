//===- Optimizer.cpp - Build the training step from gradients -------------===//
//
// train_step(params, state, inputs, labels, lr) -> (loss, params', state').
// Updates follow PyTorch's formulas exactly so that runs can be compared
// step by step. Everything is elementwise kiln IR on the parameter's shape,
// with the few scalars (Adam's bias corrections) as rank-0 tensors.
//
//===----------------------------------------------------------------------===//
#include "compiler/Transforms/ModelAttrs.h"
#include "compiler/Transforms/Passes.h"
#include "dialects/Kiln/IR/KilnBuilder.h"

#include "mlir/IR/IRMapping.h"
#include <cmath>

namespace kiln {
#define GEN_PASS_DEF_KILNOPTIMIZER
#include "compiler/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

struct OptimizerSpec {
  std::string kind = "sgd";
  double momentum = 0.0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;

  static FailureOr<OptimizerSpec> read(ModuleOp module) {
    OptimizerSpec spec;
    auto model = module->getAttrOfType<DictionaryAttr>(attrs::kModel);
    auto opt = model ? model.getAs<DictionaryAttr>("optimizer") : DictionaryAttr();
    if (!opt) {
      module.emitError("kiln-optimizer: the module has no kiln.model optimizer description");
      return failure();
    }
    if (auto k = opt.getAs<StringAttr>("kind"))
      spec.kind = k.str();
    auto num = [&](StringRef key, double &out) {
      if (auto f = opt.getAs<FloatAttr>(key))
        out = f.getValueAsDouble();
    };
    num("momentum", spec.momentum);
    num("beta1", spec.beta1);
    num("beta2", spec.beta2);
    num("eps", spec.eps);
    if (spec.kind != "sgd" && spec.kind != "adam") {
      module.emitError() << "kiln-optimizer: unknown optimizer '" << spec.kind << "'";
      return failure();
    }
    return spec;
  }
  /// Names of the state tensors kept per parameter.
  SmallVector<StringRef> perParamState() const {
    if (kind == "adam")
      return {"exp_avg", "exp_avg_sq"};
    if (momentum != 0.0)
      return {"momentum_buffer"};
    return {};
  }
  bool hasStepCounter() const { return kind == "adam"; }
};

LogicalResult buildTrainStep(ModuleOp module, func::FuncOp grad, const OptimizerSpec &spec) {
  MLIRContext *ctx = module.getContext();
  Location loc = grad.getLoc();
  auto gradType = grad.getFunctionType();

  // Arguments: params (as in grad), state, then the non-parameter arguments,
  // then the learning rate.
  SmallVector<unsigned> paramIdx, dataIdx;
  for (unsigned i = 0; i < grad.getNumArguments(); ++i)
    (grad.getArgAttr(i, attrs::kParam) ? paramIdx : dataIdx).push_back(i);

  SmallVector<Type> argTypes;
  SmallVector<DictionaryAttr> argAttrs;
  for (unsigned i : paramIdx) {
    argTypes.push_back(gradType.getInput(i));
    argAttrs.push_back(grad.getArgAttrDict(i));
  }
  Builder attrB(ctx);
  auto stateAttr = [&](StringRef name) {
    return attrB.getDictionaryAttr(attrB.getNamedAttr(attrs::kState, attrB.getStringAttr(name)));
  };
  Type elemTy = cast<RankedTensorType>(gradType.getResult(0)).getElementType();
  auto scalarTy = RankedTensorType::get({}, elemTy);
  for (StringRef slot : spec.perParamState())
    for (unsigned i : paramIdx) {
      auto name = grad.getArgAttrOfType<StringAttr>(i, attrs::kParam).str() + "." + slot.str();
      argTypes.push_back(gradType.getInput(i));
      argAttrs.push_back(stateAttr(name));
    }
  if (spec.hasStepCounter()) {
    argTypes.push_back(scalarTy);
    argAttrs.push_back(stateAttr("step"));
  }
  unsigned numState = argTypes.size() - paramIdx.size();
  for (unsigned i : dataIdx) {
    argTypes.push_back(gradType.getInput(i));
    argAttrs.push_back(grad.getArgAttrDict(i));
  }
  argTypes.push_back(scalarTy);
  argAttrs.push_back(attrB.getDictionaryAttr(
      attrB.getNamedAttr(attrs::kHyper, attrB.getStringAttr("lr"))));

  SmallVector<Type> resultTypes{gradType.getResult(0)};
  for (unsigned i = 0; i < paramIdx.size() + numState; ++i)
    resultTypes.push_back(argTypes[i]);

  OpBuilder mb(module.getBodyRegion());
  mb.setInsertionPointAfter(grad);
  auto step = mb.create<func::FuncOp>(loc, "train_step", mb.getFunctionType(argTypes, resultTypes));
  step.setAllArgAttrs(argAttrs);
  // New parameters and state overwrite the arguments they replace.
  for (unsigned r = 1; r < resultTypes.size(); ++r)
    step.setResultAttr(r, "kiln.update", mb.getI64IntegerAttr(r - 1));
  Block *entry = step.addEntryBlock();

  IRMapping map;
  unsigned nParams = paramIdx.size();
  for (auto [k, i] : llvm::enumerate(paramIdx))
    map.map(grad.getArgument(i), entry->getArgument(k));
  for (auto [k, i] : llvm::enumerate(dataIdx))
    map.map(grad.getArgument(i), entry->getArgument(nParams + numState + k));
  OpBuilder b = OpBuilder::atBlockEnd(entry);
  for (Operation &op : grad.getBody().front().without_terminator())
    b.clone(op, map);
  auto gradRet = cast<func::ReturnOp>(grad.getBody().front().getTerminator());
  Value loss = map.lookup(gradRet.getOperand(0));
  Value lr = entry->getArguments().back();

  KilnBuilder u{b, loc};
  SmallVector<Value> newParams, newState;
  auto param = [&](unsigned k) { return entry->getArgument(k); };
  auto state = [&](unsigned slot, unsigned k) { return entry->getArgument(nParams + slot * nParams + k); };
  auto gradient = [&](unsigned k) { return map.lookup(gradRet.getOperand(1 + k)); };

  if (spec.kind == "sgd") {
    for (unsigned k = 0; k < nParams; ++k) {
      Value p = param(k), g = gradient(k);
      Value lrB = u.splat(lr, p.getType());
      Value dir = g;
      if (spec.momentum != 0.0) { // buf = momentum * buf + g
        dir = u.add(u.scale(state(0, k), spec.momentum), g);
        newState.push_back(dir);
      }
      newParams.push_back(u.sub(p, u.mul(lrB, dir)));
    }
  } else {
    // PyTorch Adam: step += 1; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
    // p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps), bc_i = 1 - b_i^step.
    Value t = u.add(entry->getArgument(nParams + 2 * nParams), u.constant(scalarTy, 1.0));
    auto pow = [&](double base) {
      return b.create<ExpOp>(loc, u.scale(t, std::log(base))).getResult();
    };
    Value bc1 = u.sub(u.constant(scalarTy, 1.0), pow(spec.beta1));
    Value bc2 = u.sub(u.constant(scalarTy, 1.0), pow(spec.beta2));
    Value stepSize = u.div(lr, bc1);
    Value invSqrtBc2 = u.div(u.constant(scalarTy, 1.0), b.create<SqrtOp>(loc, bc2));
    SmallVector<Value> ms, vs;
    for (unsigned k = 0; k < nParams; ++k) {
      Value p = param(k), g = gradient(k);
      Type ty = p.getType();
      Value m = u.add(u.scale(state(0, k), spec.beta1), u.scale(g, 1.0 - spec.beta1));
      Value v = u.add(u.scale(state(1, k), spec.beta2), u.scale(u.mul(g, g), 1.0 - spec.beta2));
      Value denom = u.add(u.mul(b.create<SqrtOp>(loc, v), u.splat(invSqrtBc2, ty)),
                          u.constant(ty, spec.eps));
      newParams.push_back(u.sub(p, u.mul(u.splat(stepSize, ty), u.div(m, denom))));
      ms.push_back(m);
      vs.push_back(v);
    }
    newState.append(ms);
    newState.append(vs);
    newState.push_back(t);
  }

  SmallVector<Value> results{loss};
  results.append(newParams);
  results.append(newState);
  b.create<func::ReturnOp>(loc, results);
  return success();
}

struct KilnOptimizerPass : kiln::impl::KilnOptimizerBase<KilnOptimizerPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto grad = module.lookupSymbol<func::FuncOp>("loss_grad");
    if (!grad) {
      module.emitError("kiln-optimizer: no loss_grad function (run kiln-autodiff first)");
      return signalPassFailure();
    }
    auto spec = OptimizerSpec::read(module);
    if (failed(spec) || failed(buildTrainStep(module, grad, *spec)))
      return signalPassFailure();
  }
};

} // namespace
