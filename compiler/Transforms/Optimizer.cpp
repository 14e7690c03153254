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
#include "compiler/Transforms/Optimizers.h"

#include "mlir/IR/IRMapping.h"

namespace kiln {
#define GEN_PASS_DEF_KILNOPTIMIZER
#include "compiler/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

/// The optimizer and its hyper-parameter values, from the kiln.model attribute
/// (defaults from the table where the attribute has none).
struct OptimizerSpec {
  const OptimizerDef *def = nullptr;
  Hypers hypers;

  static FailureOr<OptimizerSpec> read(ModuleOp module) {
    OptimizerSpec spec;
    auto model = module->getAttrOfType<DictionaryAttr>(attrs::kModel);
    auto opt = model ? model.getAs<DictionaryAttr>("optimizer") : DictionaryAttr();
    if (!opt) {
      module.emitError("kiln-optimizer: the module has no kiln.model optimizer description");
      return failure();
    }
    auto kind = opt.getAs<StringAttr>("kind");
    spec.def = lookupOptimizer(kind ? kind.getValue() : "sgd");
    if (!spec.def) {
      module.emitError() << "kiln-optimizer: unknown optimizer '" << kind.getValue() << "'";
      return failure();
    }
    for (const HyperParam &h : allHypers(*spec.def)) {
      auto f = opt.getAs<FloatAttr>(h.name);
      spec.hypers[h.name] = f ? f.getValueAsDouble() : h.defaultValue;
    }
    return spec;
  }
};

/// PyTorch's clip_grad_norm_: the global norm is the norm of the per-tensor
/// norms; every gradient is scaled by min(max_norm / (norm + 1e-6), 1).
SmallVector<Value> clipByGlobalNorm(KilnBuilder &u, ArrayRef<Value> grads, double maxNorm,
                                    Type scalar) {
  Value sumSq;
  for (Value g : grads) {
    auto t = cast<RankedTensorType>(g.getType());
    auto range = llvm::seq<int64_t>(0, t.getRank());
    SmallVector<int64_t> all(range.begin(), range.end());
    Value norm = u.b.create<SqrtOp>(u.loc, u.b.create<ReduceSumOp>(u.loc, scalar, u.mul(g, g), all));
    Value sq = u.mul(norm, norm);
    sumSq = sumSq ? u.add(sumSq, sq) : sq;
  }
  Value total = u.b.create<SqrtOp>(u.loc, sumSq);
  Value coef = u.div(u.constant(scalar, maxNorm), u.add(total, u.constant(scalar, 1e-6)));
  // min(coef, 1) exactly: over = [coef > 1]; over * 1 + (1 - over) * coef.
  Value one = u.constant(scalar, 1.0);
  Value over = u.b.create<StepOp>(u.loc, u.sub(coef, one));
  Value clamped = u.add(over, u.mul(u.sub(one, over), coef));
  SmallVector<Value> out;
  for (Value g : grads)
    out.push_back(u.mul(g, u.splat(clamped, g.getType())));
  return out;
}

LogicalResult buildTrainStep(ModuleOp module, func::FuncOp grad, const OptimizerSpec &spec) {
  MLIRContext *ctx = module.getContext();
  Location loc = grad.getLoc();
  auto gradType = grad.getFunctionType();

  // Arguments: params (as in grad), state, then the non-parameter arguments,
  // then the learning rate.
  SmallVector<unsigned> paramIdx, bufferIdx, dataIdx;
  for (unsigned i = 0; i < grad.getNumArguments(); ++i)
    (grad.getArgAttr(i, attrs::kParam)   ? paramIdx
     : grad.getArgAttr(i, attrs::kState) ? bufferIdx
                                         : dataIdx)
        .push_back(i);

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
  SmallVector<StringRef> slots = spec.def->slots(spec.hypers);
  for (StringRef slot : slots)
    for (unsigned i : paramIdx) {
      auto name = grad.getArgAttrOfType<StringAttr>(i, attrs::kParam).str() + "." + slot.str();
      argTypes.push_back(gradType.getInput(i));
      argAttrs.push_back(stateAttr(name));
    }
  if (spec.def->stepCounter) {
    argTypes.push_back(scalarTy);
    argAttrs.push_back(stateAttr("step"));
  }
  // Persistent buffers (batch norm's statistics) follow the optimizer state.
  for (unsigned i : bufferIdx) {
    argTypes.push_back(gradType.getInput(i));
    argAttrs.push_back(grad.getArgAttrDict(i));
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
  unsigned firstBuffer = nParams + numState - bufferIdx.size();
  for (auto [k, i] : llvm::enumerate(bufferIdx))
    map.map(grad.getArgument(i), entry->getArgument(firstBuffer + k));
  for (auto [k, i] : llvm::enumerate(dataIdx))
    map.map(grad.getArgument(i), entry->getArgument(nParams + numState + k));
  OpBuilder b = OpBuilder::atBlockEnd(entry);
  for (Operation &op : grad.getBody().front().without_terminator())
    b.clone(op, map);
  auto gradRet = cast<func::ReturnOp>(grad.getBody().front().getTerminator());
  Value loss = map.lookup(gradRet.getOperand(0));
  Value lr = entry->getArguments().back();

  KilnBuilder u{b, loc};
  SmallVector<Value> grads;
  for (unsigned k = 0; k < nParams; ++k)
    grads.push_back(map.lookup(gradRet.getOperand(1 + k)));
  if (double maxNorm = spec.hypers.lookup("clip_norm"); maxNorm > 0 && nParams)
    grads = clipByGlobalNorm(u, grads, maxNorm, scalarTy);
  Value count;
  if (spec.def->stepCounter)
    count = u.add(entry->getArgument(nParams + slots.size() * nParams), u.constant(scalarTy, 1.0));

  // Each update gives the new parameter, then its new slots; the signature
  // holds all parameters, then slot by slot, then the step counter.
  SmallVector<Value> newParams;
  SmallVector<SmallVector<Value>> newSlots(slots.size());
  llvm::StringMap<Value> shared;
  for (unsigned k = 0; k < nParams; ++k) {
    SmallVector<Value> state, out;
    for (unsigned s = 0; s < slots.size(); ++s)
      state.push_back(entry->getArgument(nParams + s * nParams + k));
    UpdateArgs args{u, spec.hypers, lr, count, entry->getArgument(k), grads[k], state, &shared};
    spec.def->update(args, out);
    newParams.push_back(out[0]);
    for (unsigned s = 0; s < slots.size(); ++s)
      newSlots[s].push_back(out[1 + s]);
  }
  SmallVector<Value> newState;
  for (auto &slot : newSlots)
    newState.append(slot);
  if (count)
    newState.push_back(count);
  // Each buffer's next value, as the loss function computed it (unchanged
  // when it computed none).
  for (auto [k, i] : llvm::enumerate(bufferIdx)) {
    Value next = entry->getArgument(firstBuffer + k);
    Attribute name = grad.getArgAttr(i, attrs::kState);
    for (unsigned r = 1 + nParams; r < gradRet.getNumOperands(); ++r)
      if (grad.getResultAttr(r, attrs::kStateUpdate) == name)
        next = map.lookup(gradRet.getOperand(r));
    newState.push_back(next);
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
