//===- Autodiff.cpp - Reverse-mode differentiation of kiln IR -------------===//
//
// Source-to-source reverse mode: walk the forward ops backwards, ask each op
// for its vector-Jacobian product and accumulate adjoints per SSA value. The
// backward ops are appended to the same function, so they read forward values
// directly; whether a value is kept or recomputed is memory planning's call.
//
// A kiln.scan is differentiated into a reverse kiln.scan: the forward scan
// also stacks the values it carries into each step and, of each matrix
// product of the step, the sum it is added into (savedValue), and the
// reverse scan's body recomputes that step from them (its elementwise ops,
// which fuse into the backward kernels; a product, the step's costly op, is
// read back rather than made again: a product per step less, for one slab
// of memory per product) and runs the same reverse mode over it, carrying
// the adjoints of the carried values backwards and accumulating the
// captures' gradients across steps. The IR grows with the body, never with
// the sequence length.
//
//===----------------------------------------------------------------------===//
#include "compiler/Transforms/ModelAttrs.h"
#include "compiler/Transforms/Passes.h"

#include "llvm/ADT/DenseSet.h"

namespace kiln {
#define GEN_PASS_DEF_KILNAUTODIFF
#include "compiler/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

using Adjoints = llvm::DenseMap<Value, Value>;

/// Values that depend on a seed of `varied` (forward) and that a seed of
/// `useful` depends on (backward); only ops producing such values need a VJP.
/// Ops with regions count as a whole: their captures are operands.
struct Activity {
  llvm::DenseSet<Value> varied, useful;

  Activity(ArrayRef<Operation *> ops, ArrayRef<Value> variedSeeds, ArrayRef<Value> usefulSeeds) {
    varied.insert(variedSeeds.begin(), variedSeeds.end());
    for (Operation *op : ops)
      if (llvm::any_of(op->getOperands(), [&](Value v) { return varied.contains(v); }))
        varied.insert(op->result_begin(), op->result_end());
    useful.insert(usefulSeeds.begin(), usefulSeeds.end());
    for (Operation *op : llvm::reverse(ops))
      if (llvm::any_of(op->getResults(), [&](Value v) { return useful.contains(v); }))
        useful.insert(op->operand_begin(), op->operand_end());
  }
  bool active(Value v) const { return varied.contains(v) && useful.contains(v); }
  bool active(Operation *op) const {
    return llvm::any_of(op->getResults(), [&](Value v) { return active(v); });
  }
};

Value zeros(OpBuilder &b, Location loc, Type type) { return b.create<ConstantOp>(loc, type, 0.0); }

class Reverser {
public:
  /// Differentiates `ops` (forward ops of one block, in order). `adjoint`
  /// holds the seeds (gradients of values read after `ops`); on return it
  /// also holds the gradient of every varied value `ops` use, block
  /// arguments included. Backward ops go at `b`'s insertion point.
  LogicalResult run(OpBuilder &b, SmallVector<Operation *> ops, ArrayRef<Value> variedSeeds,
                    Adjoints &adjoint) {
    SmallVector<Value> usefulSeeds;
    for (auto &[v, g] : adjoint)
      if (g)
        usefulSeeds.push_back(v);
    // Active scans must keep what their reverse needs: rewrite them first.
    {
      Activity activity(ops, variedSeeds, usefulSeeds);
      for (Operation *&op : ops)
        if (auto scan = dyn_cast<ScanOp>(op); scan && activity.active(op))
          op = stackCarries(scan);
    }
    Activity activity(ops, variedSeeds, usefulSeeds);
    for (Operation *op : llvm::reverse(ops)) {
      if (!activity.active(op))
        continue;
      SmallVector<Value> resultGrads;
      for (Value r : op->getResults())
        resultGrads.push_back(adjoint.lookup(r));
      if (llvm::none_of(resultGrads, [](Value g) { return static_cast<bool>(g); }))
        continue;
      SmallVector<Value> operandGrads;
      if (auto scan = dyn_cast<ScanOp>(op)) {
        if (failed(scanVJP(b, scan, resultGrads, activity, operandGrads)))
          return failure();
      } else if (auto diff = dyn_cast<DifferentiableOpInterface>(op)) {
        if (failed(diff.buildVJP(b, resultGrads, operandGrads)))
          return failure();
      } else {
        return op->emitOpError(
            "is on the path from a parameter to the loss but is not differentiable");
      }
      assert(operandGrads.size() == op->getNumOperands() && "one gradient per operand");
      for (auto [operand, g] : llvm::zip(op->getOperands(), operandGrads))
        if (g && activity.varied.contains(operand))
          accumulate(b, adjoint, operand, g, op->getLoc());
    }
    return success();
  }

  static void accumulate(OpBuilder &b, Adjoints &adjoint, Value v, Value g, Location loc) {
    Value &acc = adjoint[v];
    acc = acc ? b.create<AddOp>(loc, acc, g).getResult() : g;
  }

private:
  /// What a rewritten scan stacks beyond its own stacked results: the
  /// carried values each step starts from, then `products` (values of its
  /// step).
  struct Saved {
    unsigned own = 0;
    SmallVector<Value> products;
  };
  llvm::DenseMap<Operation *, Saved> saved;

  /// What a scan's reverse reads back of a product of its step: the
  /// product's result, or the sum it is added into right after (its only
  /// use; a bias, the input's part of a recurrent layer's gates), and so
  /// on: the reverse of a sum needs no values, so none of these is made
  /// again.
  static Value savedValue(MatmulOp product) {
    Value v = product.getResult();
    while (v.hasOneUse() && isa<AddOp>(*v.user_begin()))
      v = v.user_begin()->getResult(0);
    return v;
  }

  /// Replaces `scan` by one that also stacks, per step, the carried values
  /// the step starts from and its products' results.
  ScanOp stackCarries(ScanOp scan) {
    OpBuilder b(scan);
    Saved save{static_cast<unsigned>(scan.getStacked().size()), {}};
    for (Operation &op : scan.getStep().without_terminator())
      if (auto product = dyn_cast<MatmulOp>(op))
        if (Value v = savedValue(product); !llvm::is_contained(save.products, v))
          save.products.push_back(v);
    SmallVector<Type> types(scan.getStacked().getTypes());
    auto stack = [&](Type type) {
      auto t = cast<RankedTensorType>(type);
      SmallVector<int64_t> shape{int64_t(scan.getLength())};
      shape.append(t.getShape().begin(), t.getShape().end());
      types.push_back(RankedTensorType::get(shape, t.getElementType()));
    };
    for (Value init : scan.getInits())
      stack(init.getType());
    for (Value product : save.products)
      stack(product.getType());
    auto saving = b.create<ScanOp>(scan.getLoc(), scan.getFinals().getTypes(), types,
                                   scan.getLength(), scan.getInits(), scan.getSequences(),
                                   scan.getCaptures(), scan.getReverse());
    saving.getBody().takeBody(scan.getBody());
    auto yield = cast<YieldOp>(saving.getStep().getTerminator());
    yield.getValuesMutable().append(saving.getCarryArgs());
    yield.getValuesMutable().append(save.products);
    for (auto [old, now] : llvm::zip(scan.getResults(), saving.getResults()))
      old.replaceAllUsesWith(now);
    scan.erase();
    saved[saving] = save;
    return saving;
  }

  /// Builds the reverse scan of `scan` (already rewritten by stackCarries).
  LogicalResult scanVJP(OpBuilder &b, ScanOp scan, ArrayRef<Value> resultGrads,
                        const Activity &activity, SmallVectorImpl<Value> &operandGrads) {
    Location loc = scan.getLoc();
    const Saved &save = saved[scan];
    unsigned nc = scan.getInits().size(), own = save.own, np = save.products.size();
    auto isVaried = [&](Value v) { return activity.varied.contains(v); };
    SmallVector<unsigned> variedSeqs, variedCaps, seededOutputs;
    for (auto [i, v] : llvm::enumerate(scan.getSequences()))
      if (isVaried(v))
        variedSeqs.push_back(i);
    for (auto [i, v] : llvm::enumerate(scan.getCaptures()))
      if (isVaried(v))
        variedCaps.push_back(i);
    for (unsigned j = 0; j < own; ++j)
      if (resultGrads[nc + j])
        seededOutputs.push_back(j);

    // Carried: carry adjoints, then capture gradients summed over steps.
    SmallVector<Value> inits, sequences;
    for (unsigned k = 0; k < nc; ++k)
      inits.push_back(resultGrads[k] ? resultGrads[k]
                                     : zeros(b, loc, scan.getInits()[k].getType()));
    for (unsigned j : variedCaps)
      inits.push_back(zeros(b, loc, scan.getCaptures()[j].getType()));
    // Per step: the saved carries, the forward slices, the outputs'
    // adjoints, the saved products.
    for (unsigned k = 0; k < nc; ++k)
      sequences.push_back(scan.getStacked()[own + k]);
    sequences.append(scan.getSequences().begin(), scan.getSequences().end());
    for (unsigned j : seededOutputs)
      sequences.push_back(resultGrads[nc + j]);
    for (unsigned p = 0; p < np; ++p)
      sequences.push_back(scan.getStacked()[own + nc + p]);
    SmallVector<Type> stackedTypes;
    for (unsigned i : variedSeqs)
      stackedTypes.push_back(scan.getSequences()[i].getType());

    auto rev = b.create<ScanOp>(loc, ValueRange(inits).getTypes(), stackedTypes, scan.getLength(),
                                inits, sequences, scan.getCaptures(), !scan.getReverse());
    Block *body = b.createBlock(&rev.getBody());
    b.setInsertionPointAfter(rev);
    for (Value v : inits)
      body->addArgument(v.getType(), loc);
    for (Value v : sequences)
      body->addArgument(ScanOp::stepType(v.getType()), loc);
    for (Value v : scan.getCaptures())
      body->addArgument(v.getType(), loc);
    auto args = body->getArguments();
    auto dCarry = args.take_front(nc);
    auto dCapAcc = args.slice(nc, variedCaps.size());
    auto savedCarry = args.slice(inits.size(), nc);
    auto slices = args.slice(inits.size() + nc, scan.getSequences().size());
    auto dOutputs = args.slice(inits.size() + nc + slices.size(), seededOutputs.size());
    auto savedProducts = args.slice(inits.size() + nc + slices.size() + seededOutputs.size(), np);
    auto caps = args.take_back(scan.getCaptures().size());

    // Recompute the step, then reverse it.
    OpBuilder bb = OpBuilder::atBlockEnd(body);
    IRMapping map;
    map.map(scan.getCarryArgs(), savedCarry);
    map.map(scan.getSliceArgs(), slices);
    map.map(scan.getCaptureArgs(), caps);
    SmallVector<Operation *> step;
    for (Operation &op : scan.getStep().without_terminator())
      step.push_back(bb.clone(op, map));
    auto yielded = cast<YieldOp>(scan.getStep().getTerminator()).getValues();
    Adjoints adjoint;
    for (unsigned k = 0; k < nc; ++k)
      accumulate(bb, adjoint, map.lookupOrDefault(yielded[k]), dCarry[k], loc);
    for (auto [j, d] : llvm::zip(seededOutputs, dOutputs))
      accumulate(bb, adjoint, map.lookupOrDefault(yielded[nc + j]), d, loc);
    SmallVector<Value> seeds(savedCarry.begin(), savedCarry.end());
    for (unsigned i : variedSeqs)
      seeds.push_back(slices[i]);
    for (unsigned j : variedCaps)
      seeds.push_back(caps[j]);
    if (failed(run(bb, step, seeds, adjoint)))
      return failure();

    auto gradOr0 = [&](Value v) {
      Value g = adjoint.lookup(v);
      return g ? g : zeros(bb, loc, v.getType());
    };
    SmallVector<Value> next;
    for (Value c : savedCarry)
      next.push_back(gradOr0(c));
    for (auto [j, acc] : llvm::zip(variedCaps, dCapAcc)) {
      Value g = adjoint.lookup(caps[j]);
      next.push_back(g ? bb.create<AddOp>(loc, acc, g).getResult() : Value(acc));
    }
    for (unsigned i : variedSeqs)
      next.push_back(gradOr0(slices[i]));
    bb.create<YieldOp>(loc, next);
    // The recomputed step reads the saved products instead of making them
    // again (their reverse, and a bias sum's, reads only their operands);
    // what made them is then dead.
    // (The body's ops, not `step`: reversing a nested scan replaced its
    // clone there.)
    for (auto [product, value] : llvm::zip(save.products, savedProducts))
      map.lookup(product).replaceAllUsesWith(value);
    for (Operation *op = body->getTerminator()->getPrevNode(), *prev; op; op = prev) {
      prev = op->getPrevNode();
      if (op->getNumResults() && op->use_empty() && isMemoryEffectFree(op))
        op->erase();
    }

    // Gradients of the scan's operands: inits, sequences, captures.
    operandGrads.assign(scan->getNumOperands(), Value());
    for (unsigned k = 0; k < nc; ++k)
      operandGrads[k] = rev.getFinals()[k];
    for (auto [n, i] : llvm::enumerate(variedSeqs))
      operandGrads[nc + i] = rev.getStacked()[n];
    for (auto [n, j] : llvm::enumerate(variedCaps))
      operandGrads[nc + scan.getSequences().size() + j] = rev.getFinals()[nc + n];
    return success();
  }
};

LogicalResult differentiate(func::FuncOp grad) {
  Block &body = grad.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  // The loss comes first; further results are state updates (a buffer's
  // next value), which pass through undifferentiated.
  SmallVector<std::pair<Value, Attribute>> updates;
  for (unsigned r = 1; r < ret.getNumOperands(); ++r) {
    Attribute name = grad.getResultAttr(r, attrs::kStateUpdate);
    if (!name)
      return grad.emitError("a differentiated function returns one loss value, then only "
                            "state updates (kiln.state_update)");
    updates.push_back({ret.getOperand(r), name});
  }
  if (ret.getNumOperands() == 0)
    return grad.emitError("a differentiated function must return its loss");
  Value loss = ret.getOperand(0);
  auto lossType = dyn_cast<RankedTensorType>(loss.getType());
  if (!lossType || lossType.getRank() != 0 || !isa<FloatType>(lossType.getElementType()))
    return grad.emitError("the loss must be a rank-0 float tensor, got ") << loss.getType();

  SmallVector<Value> wrt;
  for (BlockArgument arg : body.getArguments())
    if (grad.getArgAttr(arg.getArgNumber(), attrs::kParam))
      wrt.push_back(arg);

  OpBuilder b(ret);
  Adjoints adjoint;
  adjoint[loss] = b.create<ConstantOp>(loss.getLoc(), lossType, 1.0);
  SmallVector<Operation *> forward;
  for (Operation &op : body.without_terminator())
    if (op.getResult(0) != adjoint[loss])
      forward.push_back(&op);
  Reverser reverser;
  if (failed(reverser.run(b, forward, wrt, adjoint)))
    return failure();

  SmallVector<Value> results{loss};
  for (Value arg : wrt) {
    Value g = adjoint.lookup(arg);
    // A parameter the loss does not depend on gets a zero gradient.
    results.push_back(g ? g : zeros(b, arg.getLoc(), arg.getType()));
  }
  for (auto &[value, name] : updates)
    results.push_back(value);
  b.create<func::ReturnOp>(ret.getLoc(), results);
  ret.erase();
  grad.removeResAttrsAttr();
  grad.setFunctionType(b.getFunctionType(grad.getArgumentTypes(), ValueRange(results).getTypes()));
  for (auto [k, update] : llvm::enumerate(updates))
    grad.setResultAttr(1 + wrt.size() + k, attrs::kStateUpdate, update.second);
  return success();
}

struct KilnAutodiffPass : kiln::impl::KilnAutodiffBase<KilnAutodiffPass> {
  using KilnAutodiffBase::KilnAutodiffBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto fn = module.lookupSymbol<func::FuncOp>(functionName);
    if (!fn) {
      module.emitError() << "kiln-autodiff: no function named '" << functionName << "'";
      return signalPassFailure();
    }
    auto grad = cast<func::FuncOp>(fn->clone());
    grad.setSymName(std::string(functionName) + "_grad");
    module.insert(std::next(Block::iterator(fn)), grad);
    if (failed(differentiate(grad)))
      return signalPassFailure();
  }
};

} // namespace
