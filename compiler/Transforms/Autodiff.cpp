//===- Autodiff.cpp - Reverse-mode differentiation of kiln IR -------------===//
//
// Source-to-source reverse mode: walk the forward ops backwards, ask each op
// for its vector-Jacobian product and accumulate adjoints per SSA value. The
// backward ops are appended to the same function, so they read forward values
// directly; whether a value is kept or recomputed is memory planning's call.
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

/// Values that depend on a parameter (forward) and that the loss depends on
/// (backward); only ops producing such values need a VJP.
struct Activity {
  llvm::DenseSet<Value> varied, useful;

  Activity(Block &body, ArrayRef<BlockArgument> wrt, Value loss) {
    varied.insert(wrt.begin(), wrt.end());
    for (Operation &op : body)
      if (llvm::any_of(op.getOperands(), [&](Value v) { return varied.contains(v); }))
        varied.insert(op.result_begin(), op.result_end());
    useful.insert(loss);
    for (Operation &op : llvm::reverse(body))
      if (llvm::any_of(op.getResults(), [&](Value v) { return useful.contains(v); }))
        useful.insert(op.operand_begin(), op.operand_end());
  }
  bool active(Value v) const { return varied.contains(v) && useful.contains(v); }
};

LogicalResult differentiate(func::FuncOp grad) {
  Block &body = grad.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  if (ret.getNumOperands() != 1)
    return grad.emitError("a differentiated function must return exactly one loss value");
  Value loss = ret.getOperand(0);
  auto lossType = dyn_cast<RankedTensorType>(loss.getType());
  if (!lossType || lossType.getRank() != 0 || !isa<FloatType>(lossType.getElementType()))
    return grad.emitError("the loss must be a rank-0 float tensor, got ") << loss.getType();

  SmallVector<BlockArgument> wrt;
  for (BlockArgument arg : body.getArguments())
    if (grad.getArgAttr(arg.getArgNumber(), attrs::kParam))
      wrt.push_back(arg);

  Activity activity(body, wrt, loss);
  OpBuilder b(ret);
  llvm::DenseMap<Value, Value> adjoint;
  adjoint[loss] = b.create<ConstantOp>(loss.getLoc(), lossType, 1.0);

  // Snapshot the forward ops first: VJPs insert new ops into the same block.
  SmallVector<Operation *> forward;
  for (Operation &op : body.without_terminator())
    forward.push_back(&op);

  for (Operation *op : llvm::reverse(forward)) {
    if (!llvm::any_of(op->getResults(), [&](Value v) { return activity.active(v); }))
      continue;
    SmallVector<Value> resultGrads;
    bool any = false;
    for (Value r : op->getResults()) {
      resultGrads.push_back(adjoint.lookup(r));
      any |= static_cast<bool>(resultGrads.back());
    }
    if (!any)
      continue;
    auto diff = dyn_cast<DifferentiableOpInterface>(op);
    if (!diff)
      return op->emitOpError("is on the path from a parameter to the loss but is not differentiable");
    SmallVector<Value> operandGrads;
    if (failed(diff.buildVJP(b, resultGrads, operandGrads)))
      return failure();
    assert(operandGrads.size() == op->getNumOperands() && "one gradient per operand");
    for (auto [operand, g] : llvm::zip(op->getOperands(), operandGrads)) {
      if (!g || !activity.varied.contains(operand))
        continue;
      Value &acc = adjoint[operand];
      acc = acc ? b.create<AddOp>(op->getLoc(), acc, g).getResult() : g;
    }
  }

  SmallVector<Value> results{loss};
  for (BlockArgument arg : wrt) {
    Value g = adjoint.lookup(arg);
    // A parameter the loss does not depend on gets a zero gradient.
    results.push_back(g ? g : b.create<ConstantOp>(arg.getLoc(), arg.getType(), 0.0));
  }
  b.create<func::ReturnOp>(ret.getLoc(), results);
  ret.erase();
  grad.removeResAttrsAttr();
  grad.setFunctionType(b.getFunctionType(grad.getArgumentTypes(), ValueRange(results).getTypes()));
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
