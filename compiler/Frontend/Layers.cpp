//===- Layers.cpp - Shape rules and expansions of layers and losses -------===//
//
// Layers expand into kiln primitives (dense = matmul + broadcast + add) so
// that autodiff and fusion only ever see the primitive set.
//
//===----------------------------------------------------------------------===//
#include "compiler/Frontend/Layers.h"
#include "dialects/Kiln/IR/KilnOps.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::frontend;

std::string kiln::frontend::shapeStr(const std::vector<int64_t> &s, bool isInt) {
  std::string out = isInt ? "i32[" : "f32[";
  for (size_t i = 0; i < s.size(); ++i)
    out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

namespace {

const Expr &arg(const Expr &call, size_t i) { return *call.positional(i)->value; }

RankedTensorType scalarF32(OpBuilder &b) { return RankedTensorType::get({}, b.getF32Type()); }

// --- Activations: one f32 tensor in, the same shape out ----------------------
bool sameShapeF32(LayerChecker &c, Expr &e) {
  const Expr &x = arg(e, 0);
  if (x.isIntTensor) {
    c.diagnostics().error(x.loc) << "'" << e.text << "' expects a f32 tensor";
    return false;
  }
  e.shape = x.shape;
  return true;
}

template <typename Op>
Value unary(LayerBuilder &b, const Expr &, Location l, ArrayRef<Value> xs) {
  return b.builder().create<Op>(l, xs[0]);
}

// --- dense(x, units, init = xavier, bias_init = zeros, bias = true) -----------
bool denseCheck(LayerChecker &c, Expr &e) {
  const Expr &x = arg(e, 0), &units = arg(e, 1);
  if (!c.floatMatrix(x, e, "its input"))
    return false;
  if (units.kind != Expr::Kind::Number || !units.isInteger || units.number < 1 || units.number > 1e8) {
    c.diagnostics().error(units.loc) << "'dense' expects a positive integer number of units";
    return false;
  }
  int64_t in = x.shape[1], out = int64_t(units.number);
  e.shape = {x.shape[0], out};
  e.paramPrefix = c.paramPrefix();
  std::string init = "xavier", biasInit = "zeros";
  if (!c.initializer(e, "init", init) || !c.initializer(e, "bias_init", biasInit))
    return false;
  bool bias = true;
  if (const Arg *a = e.findArg("bias")) {
    if (a->value->kind != Expr::Kind::Bool) {
      c.diagnostics().error(a->value->loc) << "'bias' must be true or false";
      return false;
    }
    bias = a->value->number != 0;
  }
  c.addParam({e.paramPrefix + ".weight", {in, out}, init, in, out});
  if (bias)
    c.addParam({e.paramPrefix + ".bias", {out}, biasInit, in, out});
  return true;
}

Value denseBuild(LayerBuilder &b, const Expr &e, Location l, ArrayRef<Value> xs) {
  OpBuilder &ob = b.builder();
  auto out = b.typeOf(e);
  Value y = ob.create<MatmulOp>(l, out, xs[0], b.param(e.paramPrefix + ".weight"));
  Value bias = b.param(e.paramPrefix + ".bias");
  if (!bias)
    return y;
  Value bb = ob.create<BroadcastOp>(l, out, bias, ArrayRef<int64_t>{1});
  return ob.create<AddOp>(l, y, bb);
}

// --- Losses: a scalar from the output and the label --------------------------
bool softmaxCECheck(LayerChecker &c, Expr &e) {
  const Expr &logits = arg(e, 0), &labels = arg(e, 1);
  if (!c.floatMatrix(logits, e, "logits"))
    return false;
  if (!labels.isIntTensor || labels.shape.size() != 1 || labels.shape[0] != logits.shape[0]) {
    c.diagnostics().error(labels.loc) << "'softmax_cross_entropy' expects class labels of type "
                                   "i32[batch], got "
                                << shapeStr(labels.shape, labels.isIntTensor);
    return false;
  }
  e.shape = {};
  c.setLoss(e.text, "classify", logits.shape[1]);
  return true;
}

/// Two f32 tensors of one shape: bce_with_logits (binary) and mse (regress).
template <const char *Task>
bool pairCheck(LayerChecker &c, Expr &e) {
  const Expr &a = arg(e, 0), &b = arg(e, 1);
  if (a.isIntTensor || b.isIntTensor || a.shape != b.shape) {
    c.diagnostics().error(e.loc) << "'" << e.text << "' expects two f32 tensors of the same shape, got "
                           << shapeStr(a.shape, a.isIntTensor) << " and "
                           << shapeStr(b.shape, b.isIntTensor);
    return false;
  }
  e.shape = {};
  c.setLoss(e.text, Task, 0);
  return true;
}
constexpr char kBinary[] = "binary", kRegress[] = "regress";

template <typename Op>
Value scalarLoss(LayerBuilder &b, const Expr &, Location l, ArrayRef<Value> xs) {
  return b.builder().create<Op>(l, scalarF32(b.builder()), xs[0], xs[1]);
}

/// mse(x, y) = mean((x - y)^2), from primitives.
Value mseBuild(LayerBuilder &b, const Expr &, Location l, ArrayRef<Value> xs) {
  OpBuilder &ob = b.builder();
  auto t = cast<RankedTensorType>(xs[0].getType());
  auto scalar = scalarF32(ob);
  Value d = ob.create<SubOp>(l, xs[0], xs[1]);
  Value sq = ob.create<MulOp>(l, d, d);
  auto range = llvm::seq<int64_t>(0, t.getRank());
  SmallVector<int64_t> all(range.begin(), range.end());
  Value sum = ob.create<ReduceSumOp>(l, scalar, sq, all);
  return ob.create<MulOp>(l, sum, ob.create<ConstantOp>(l, scalar, 1.0 / double(t.getNumElements())));
}

const llvm::StringLiteral kDenseKeys[] = {"init", "bias_init", "bias"};

const LayerDef kLayers[] = {
    {"dense", "dense(x, units, init = xavier, bias_init = zeros, bias = true)", false, 1, 1,
     kDenseKeys, denseCheck, denseBuild},
    {"relu", "relu(x)", false, 1, 0, {}, sameShapeF32, unary<ReluOp>},
    {"sigmoid", "sigmoid(x)", false, 1, 0, {}, sameShapeF32, unary<SigmoidOp>},
    {"tanh", "tanh(x)", false, 1, 0, {}, sameShapeF32, unary<TanhOp>},
    {"softmax", "softmax(x)", false, 1, 0, {}, sameShapeF32, unary<SoftmaxOp>},
    {"softmax_cross_entropy", "softmax_cross_entropy(logits, labels)", true, 2, 0, {},
     softmaxCECheck, scalarLoss<SoftmaxCrossEntropyOp>},
    {"bce_with_logits", "bce_with_logits(logits, targets)", true, 2, 0, {}, pairCheck<kBinary>,
     scalarLoss<SigmoidBCEOp>},
    {"mse", "mse(prediction, target)", true, 2, 0, {}, pairCheck<kRegress>, mseBuild},
};

} // namespace

ArrayRef<LayerDef> kiln::frontend::layers() { return kLayers; }

const LayerDef *kiln::frontend::lookupLayer(StringRef name) {
  for (const LayerDef &d : kLayers)
    if (d.name == name)
      return &d;
  return nullptr;
}
