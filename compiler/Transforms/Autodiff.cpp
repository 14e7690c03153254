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

  /// `t` with a leading dimension of `length` steps.
  static RankedTensorType stackedType(int64_t length, Type t) {
    auto r = cast<RankedTensorType>(t);
    SmallVector<int64_t> shape{length};
    shape.append(r.getShape().begin(), r.getShape().end());
    return RankedTensorType::get(shape, r.getElementType());
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
    for (Value init : scan.getInits())
      types.push_back(stackedType(scan.getLength(), init.getType()));
    for (Value product : save.products)
      types.push_back(stackedType(scan.getLength(), product.getType()));
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

  /// A term of a capture's per-step gradient that sums over steps after the
  /// reverse scan: a product contracting rows (a weight's gradient, h_t^T
  /// dz_t) or a sum over dims (a bias's). Its operands are per-step values
  /// the reverse scan stacks (or sequences it already reads): `refs` says
  /// where each is once the scan is built, a sequence's index (>= 0) or -1
  /// minus its index among the stacked.
  struct HoistedTerm {
    Type type;
    std::optional<SmallVector<int64_t>> sumDims; // none: a product
    SmallVector<Value, 2> operands;
    SmallVector<int64_t, 2> refs = {};
  };

  /// Splits `g`, the gradient a step contributes to a capture, into terms
  /// that sum over steps outside the loop; false when some part does not
  /// (it then accumulates in the loop, as a carried value).
  static bool hoistableTerms(Value g, ArrayRef<BlockArgument> caps,
                             SmallVectorImpl<HoistedTerm> &terms) {
    Operation *def = g.getDefiningOp();
    if (!def)
      return false;
    auto perStep = [&](Value v) { return !llvm::is_contained(caps, v); };
    if (auto add = dyn_cast<AddOp>(def))
      return add.getLhs().getType() == add.getRhs().getType() &&
             hoistableTerms(add.getLhs(), caps, terms) && hoistableTerms(add.getRhs(), caps, terms);
    if (auto product = dyn_cast<MatmulOp>(def)) {
      if (!product.getTransposeA() || product.getTransposeB() || !perStep(product.getLhs()) ||
          !perStep(product.getRhs()))
        return false;
      terms.push_back({product.getType(), std::nullopt, {product.getLhs(), product.getRhs()}});
      return true;
    }
    if (auto sum = dyn_cast<ReduceSumOp>(def)) {
      if (!perStep(sum.getInput()))
        return false;
      terms.push_back({sum.getType(), SmallVector<int64_t>(sum.getDims()), {sum.getInput()}});
      return true;
    }
    return false;
  }

  /// The sum over all steps of `term`, given its operands stacked.
  static Value sumOverSteps(OpBuilder &b, Location loc, const HoistedTerm &term,
                            ArrayRef<Value> stacked) {
    if (!term.sumDims) {
      // [T, rows, n] -> [T * rows, n]: one product contracting every step's rows.
      SmallVector<Value, 2> flat;
      for (Value v : stacked) {
        auto t = cast<RankedTensorType>(v.getType());
        auto type = RankedTensorType::get({t.getDimSize(0) * t.getDimSize(1), t.getDimSize(2)},
                                          t.getElementType());
        flat.push_back(b.create<ReshapeOp>(loc, type, v));
      }
      auto all = b.create<MatmulOp>(loc, term.type, flat[0], flat[1]);
      all.setTransposeA(true);
      return all;
    }
    SmallVector<int64_t> dims{0};
    for (int64_t d : *term.sumDims)
      dims.push_back(d + 1);
    return b.create<ReduceSumOp>(loc, term.type, stacked[0], dims);
  }

  /// Builds the reverse scan of `scan` (already rewritten by stackCarries).
  /// A captured weight's gradient is a sum over steps; where a step's part
  /// is a product over its batch rows or a sum (hoistableTerms), the
  /// reverse scan stacks that part's operands and one product over all
  /// steps' rows (or one sum) follows it, instead of a small product and an
  /// accumulator read and written at every step.
  LogicalResult scanVJP(OpBuilder &b, ScanOp scan, ArrayRef<Value> resultGrads,
                        const Activity &activity, SmallVectorImpl<Value> &operandGrads) {
    Location loc = scan.getLoc();
    const Saved &save = saved[scan];
    unsigned nc = scan.getInits().size(), own = save.own, np = save.products.size();
    int64_t length = scan.getLength();
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

    // Per step: the saved carries, the forward slices, the outputs'
    // adjoints, the saved products.
    SmallVector<Value> sequences;
    for (unsigned k = 0; k < nc; ++k)
      sequences.push_back(scan.getStacked()[own + k]);
    sequences.append(scan.getSequences().begin(), scan.getSequences().end());
    for (unsigned j : seededOutputs)
      sequences.push_back(resultGrads[nc + j]);
    for (unsigned p = 0; p < np; ++p)
      sequences.push_back(scan.getStacked()[own + nc + p]);

    // The body, built before the scan: which captures' gradients it carries
    // is known once it is. Carried: carry adjoints, then capture gradients
    // summed over steps.
    Region region;
    Block *body = new Block;
    region.push_back(body);
    for (Value init : scan.getInits())
      body->addArgument(init.getType(), loc);
    for (unsigned j : variedCaps)
      body->addArgument(scan.getCaptures()[j].getType(), loc);
    for (Value v : sequences)
      body->addArgument(ScanOp::stepType(v.getType()), loc);
    for (Value v : scan.getCaptures())
      body->addArgument(v.getType(), loc);
    unsigned carried = nc + variedCaps.size();
    auto args = body->getArguments();
    auto dCarry = args.take_front(nc);
    auto dCapAcc = args.slice(nc, variedCaps.size());
    auto seqArgs = args.slice(carried, sequences.size());
    auto savedCarry = seqArgs.take_front(nc);
    auto slices = seqArgs.slice(nc, scan.getSequences().size());
    auto dOutputs = seqArgs.slice(nc + slices.size(), seededOutputs.size());
    auto savedProducts = seqArgs.take_back(np);
    auto caps = args.take_back(scan.getCaptures().size());

    // Recompute the step, then reverse it.
    OpBuilder bb(scan.getContext()); // (the region has no op to get it from yet)
    bb.setInsertionPointToEnd(body);
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
    SmallVector<Value> next, stacked;
    for (Value c : savedCarry)
      next.push_back(gradOr0(c));
    for (unsigned i : variedSeqs)
      stacked.push_back(gradOr0(slices[i]));
    SmallVector<std::pair<unsigned, SmallVector<HoistedTerm>>> hoisted;
    SmallVector<unsigned> keptCaps; // indices into variedCaps
    for (auto [n, j] : llvm::enumerate(variedCaps)) {
      Value g = adjoint.lookup(caps[j]);
      SmallVector<HoistedTerm> terms;
      if (g && hoistableTerms(g, caps, terms)) {
        for (HoistedTerm &term : terms)
          for (Value v : term.operands) {
            auto arg = dyn_cast<BlockArgument>(v);
            if (arg && llvm::is_contained(seqArgs, arg)) {
              term.refs.push_back(arg.getArgNumber() - carried);
              continue;
            }
            int64_t index = llvm::find(stacked, v) - stacked.begin();
            if (index == int64_t(stacked.size()))
              stacked.push_back(v);
            term.refs.push_back(-1 - index);
          }
        hoisted.push_back({j, std::move(terms)});
        continue;
      }
      keptCaps.push_back(n);
      next.push_back(g ? bb.create<AddOp>(loc, dCapAcc[n], g).getResult() : Value(dCapAcc[n]));
    }
    SmallVector<Value> yields(next);
    yields.append(stacked);
    bb.create<YieldOp>(loc, yields);
    // The recomputed step reads the saved products instead of making them
    // again (their reverse, and a bias sum's, reads only their operands);
    // what made them is then dead, and so are the hoisted terms' ops.
    // (The body's ops, not `step`: reversing a nested scan replaced its
    // clone there.)
    for (auto [product, value] : llvm::zip(save.products, savedProducts))
      map.lookup(product).replaceAllUsesWith(value);
    for (Operation *op = body->getTerminator()->getPrevNode(), *prev; op; op = prev) {
      prev = op->getPrevNode();
      if (op->getNumResults() && op->use_empty() && isMemoryEffectFree(op))
        op->erase();
    }
    for (unsigned n = variedCaps.size(); n-- > 0;)
      if (!llvm::is_contained(keptCaps, n))
        body->eraseArgument(nc + n);

    SmallVector<Value> inits;
    for (unsigned k = 0; k < nc; ++k)
      inits.push_back(resultGrads[k] ? resultGrads[k]
                                     : zeros(b, loc, scan.getInits()[k].getType()));
    for (unsigned n : keptCaps)
      inits.push_back(zeros(b, loc, scan.getCaptures()[variedCaps[n]].getType()));
    SmallVector<Type> stackedTypes;
    for (Value v : stacked)
      stackedTypes.push_back(stackedType(length, v.getType()));
    auto rev = b.create<ScanOp>(loc, ValueRange(inits).getTypes(), stackedTypes, length, inits,
                                sequences, scan.getCaptures(), !scan.getReverse());
    rev.getBody().takeBody(region);
    b.setInsertionPointAfter(rev);

    // Gradients of the scan's operands: inits, sequences, captures.
    operandGrads.assign(scan->getNumOperands(), Value());
    for (unsigned k = 0; k < nc; ++k)
      operandGrads[k] = rev.getFinals()[k];
    for (auto [n, i] : llvm::enumerate(variedSeqs))
      operandGrads[nc + i] = rev.getStacked()[n];
    unsigned firstCap = nc + scan.getSequences().size();
    for (auto [m, n] : llvm::enumerate(keptCaps))
      operandGrads[firstCap + variedCaps[n]] = rev.getFinals()[nc + m];
    for (auto &[j, terms] : hoisted) {
      Value total;
      for (HoistedTerm &term : terms) {
        SmallVector<Value, 2> operands;
        for (int64_t ref : term.refs)
          operands.push_back(ref >= 0 ? sequences[ref] : rev.getStacked()[-1 - ref]);
        Value sum = sumOverSteps(b, loc, term, operands);
        total = total ? b.create<AddOp>(loc, total, sum).getResult() : sum;
      }
      operandGrads[firstCap + j] = total;
    }
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
