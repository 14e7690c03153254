//===- Layers.cpp - Shape rules and expansions of layers and losses -------===//
//
// Layers expand into kiln primitives (dense = matmul + broadcast + add) so
// that autodiff and fusion only ever see the primitive set.
//
//===----------------------------------------------------------------------===//
#include "compiler/Frontend/Layers.h"
#include "compiler/Frontend/Recurrent.h"
#include "dialects/Kiln/IR/KilnBuilder.h"
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

std::optional<int64_t> kiln::frontend::intArg(LayerChecker &c, const Expr &call, const Expr &v,
                                              const char *what, int64_t min, int64_t max) {
  if (v.kind != Expr::Kind::Number || !v.isInteger || v.number < min || v.number > max) {
    c.diagnostics().error(v.loc) << "'" << call.text << "' expects " << what << " in [" << min
                                 << ", " << max << "]";
    return std::nullopt;
  }
  return int64_t(v.number);
}

std::optional<bool> kiln::frontend::boolKey(LayerChecker &c, const Expr &call, StringRef key,
                                            bool dflt) {
  const Arg *a = call.findArg(key);
  if (!a)
    return dflt;
  if (a->value->kind != Expr::Kind::Bool) {
    c.diagnostics().error(a->value->loc) << "'" << key << "' must be true or false";
    return std::nullopt;
  }
  return a->value->number != 0;
}

namespace {

const Expr &arg(const Expr &call, size_t i) { return *call.positional(i)->value; }

RankedTensorType scalarF32(OpBuilder &b) { return RankedTensorType::get({}, b.getF32Type()); }

/// The named positive number `key` (default `dflt`), at most `max`.
std::optional<double> numberKey(LayerChecker &c, const Expr &call, llvm::StringRef key, double dflt,
                                double max) {
  const Arg *a = call.findArg(key);
  if (!a)
    return dflt;
  const Expr &v = *a->value;
  if (v.kind != Expr::Kind::Number || !(v.number > 0) || v.number > max) {
    std::string bound = max == double(int64_t(max)) ? std::to_string(int64_t(max))
                                                    : std::to_string(max);
    c.diagnostics().error(v.loc) << "'" << call.text << "' expects '" << key << "' in (0, "
                                 << bound << "]";
    return std::nullopt;
  }
  return v.number;
}

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

/// An activation with one setting, a number in (0, max] (PyTorch's default
/// when not given), that its op carries as an attribute.
struct Slope {
  static constexpr llvm::StringLiteral key = "slope";
  static constexpr double dflt = 0.01, max = 1;
};
struct Alpha {
  static constexpr llvm::StringLiteral key = "alpha";
  static constexpr double dflt = 1.0, max = 100;
};
template <typename Setting>
bool settingCheck(LayerChecker &c, Expr &e) {
  return sameShapeF32(c, e) && numberKey(c, e, Setting::key, Setting::dflt, Setting::max);
}
template <typename Op, typename Setting>
Value settingBuild(LayerBuilder &b, const Expr &e, Location l, ArrayRef<Value> xs) {
  const Arg *a = e.findArg(Setting::key);
  double v = a ? a->value->number : Setting::dflt;
  return b.builder().create<Op>(l, xs[0], b.builder().getF64FloatAttr(v));
}

/// gelu(x) = x * 0.5 * (1 + erf(x / sqrt(2))), PyTorch's exact form and
/// order; its derivative comes from erf's.
Value geluBuild(LayerBuilder &b, const Expr &, Location l, ArrayRef<Value> xs) {
  KilnBuilder k{b.builder(), l};
  Value x = xs[0];
  Value cdf =
      k.add(k.constant(x.getType(), 1.0), b.builder().create<ErfOp>(l, k.scale(x, M_SQRT1_2)));
  return k.mul(k.scale(x, 0.5), cdf);
}

/// silu(x) = x * sigmoid(x): differentiated as a product, it has no 0 * inf
/// at either end (x / (1 + e^-x) would, for x below -88).
Value siluBuild(LayerBuilder &b, const Expr &, Location l, ArrayRef<Value> xs) {
  KilnBuilder k{b.builder(), l};
  return k.mul(xs[0], b.builder().create<SigmoidOp>(l, xs[0]));
}

// --- add(a, b), mul(a, b): two f32 tensors of one shape (residual connections)
bool sameShapePair(LayerChecker &c, Expr &e) {
  const Expr &a = arg(e, 0), &b = arg(e, 1);
  if (a.isIntTensor || b.isIntTensor || a.shape != b.shape) {
    c.diagnostics().error(e.loc) << "'" << e.text << "' expects two f32 tensors of the same shape, got "
                                 << shapeStr(a.shape, a.isIntTensor) << " and "
                                 << shapeStr(b.shape, b.isIntTensor);
    return false;
  }
  e.shape = a.shape;
  return true;
}

template <typename Op>
Value binary(LayerBuilder &b, const Expr &, Location l, ArrayRef<Value> xs) {
  return b.builder().create<Op>(l, xs[0], xs[1]);
}

/// Declares a layer's `.weight` (initialised by `init =`, default
/// `defaultInit`) and, unless `bias = false`, its `.bias` of `outputs`.
bool weightAndBias(LayerChecker &c, Expr &e, const char *defaultInit,
                   std::vector<int64_t> weightShape, int64_t outputs, int64_t fanIn,
                   int64_t fanOut) {
  e.paramPrefix = c.paramPrefix();
  std::string init = defaultInit, biasInit = "zeros";
  if (!c.initializer(e, "init", init) || !c.initializer(e, "bias_init", biasInit))
    return false;
  std::optional<bool> bias = boolKey(c, e, "bias", true);
  if (!bias)
    return false;
  c.addParam({e.paramPrefix + ".weight", std::move(weightShape), init, fanIn, fanOut});
  if (*bias)
    c.addParam({e.paramPrefix + ".bias", {outputs}, biasInit, fanIn, fanOut});
  return true;
}

/// y + the layer's bias (if it has one), broadcast along dimension 1.
Value addBias(LayerBuilder &b, const Expr &e, Location l, Value y) {
  Value bias = b.param(e.paramPrefix + ".bias");
  if (!bias)
    return y;
  OpBuilder &ob = b.builder();
  Value bb = ob.create<BroadcastOp>(l, y.getType(), bias, ArrayRef<int64_t>{1});
  return ob.create<AddOp>(l, y, bb);
}

// --- concat(a, b): joined along the last dimension (features) ---------------
bool concatCheck(LayerChecker &c, Expr &e) {
  const Expr &a = arg(e, 0), &b = arg(e, 1);
  bool ok = !a.isIntTensor && !b.isIntTensor && a.shape.size() == b.shape.size() &&
            a.shape.size() >= 2;
  for (size_t i = 0; ok && i + 1 < a.shape.size(); ++i)
    ok = a.shape[i] == b.shape[i];
  if (!ok) {
    c.diagnostics().error(e.loc) << "'concat' expects two f32 tensors that differ only in their "
                                    "last dimension, got "
                                 << shapeStr(a.shape, a.isIntTensor) << " and "
                                 << shapeStr(b.shape, b.isIntTensor);
    return false;
  }
  e.shape = a.shape;
  e.shape.back() += b.shape.back();
  return true;
}

Value concatBuild(LayerBuilder &b, const Expr &e, Location l, ArrayRef<Value> xs) {
  auto out = b.typeOf(e);
  return b.builder().create<ConcatOp>(l, out, xs, out.getRank() - 1);
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
  return weightAndBias(c, e, "xavier", {in, out}, out, in, out);
}

Value denseBuild(LayerBuilder &b, const Expr &e, Location l, ArrayRef<Value> xs) {
  Value y = b.builder().create<MatmulOp>(l, b.typeOf(e), xs[0], b.param(e.paramPrefix + ".weight"));
  return addBias(b, e, l, y);
}

// --- Images: NCHW tensors ---------------------------------------------------
/// The named integer setting `key` (default `dflt`), in [min, max].
std::optional<int64_t> intKey(LayerChecker &c, const Expr &call, llvm::StringRef key, int64_t dflt,
                              int64_t min, int64_t max) {
  const Arg *a = call.findArg(key);
  if (!a)
    return dflt;
  return intArg(c, call, *a->value, ("'" + key + "'").str().c_str(), min, max);
}

bool isImage(LayerChecker &c, const Expr &x, const Expr &call) {
  if (x.isIntTensor || x.shape.size() != 4) {
    c.diagnostics().error(x.loc) << "'" << call.text
                                 << "' expects images of type f32[batch, channels, height, width], got "
                                 << shapeStr(x.shape, x.isIntTensor);
    return false;
  }
  return true;
}

/// conv2d(x, channels, kernel, stride = 1, padding = 0, init = torch, bias_init = zeros,
/// bias = true): square kernels and strides, PyTorch's Conv2d.
bool conv2dCheck(LayerChecker &c, Expr &e) {
  const Expr &x = arg(e, 0);
  if (!isImage(c, x, e))
    return false;
  auto channels = intArg(c, e, arg(e, 1), "a number of output channels", 1, 1 << 20);
  auto kernel = intArg(c, e, arg(e, 2), "a kernel size", 1, 1 << 10);
  auto stride = intKey(c, e, "stride", 1, 1, 1 << 10);
  if (!channels || !kernel || !stride)
    return false;
  auto padding = intKey(c, e, "padding", 0, 0, *kernel - 1);
  if (!padding)
    return false;
  int64_t n = x.shape[0], in = x.shape[1], h = x.shape[2], w = x.shape[3];
  if (h + 2 * *padding < *kernel || w + 2 * *padding < *kernel) {
    c.diagnostics().error(e.loc) << "'conv2d' kernel " << *kernel << " is larger than the "
                                 << h << "x" << w << " image padded by " << *padding;
    return false;
  }
  e.shape = {n, *channels, (h + 2 * *padding - *kernel) / *stride + 1,
             (w + 2 * *padding - *kernel) / *stride + 1};
  int64_t fanIn = in * *kernel * *kernel, fanOut = *channels * *kernel * *kernel;
  return weightAndBias(c, e, "torch", {*channels, in, *kernel, *kernel}, *channels, fanIn, fanOut);
}

Value conv2dBuild(LayerBuilder &b, const Expr &e, Location l, ArrayRef<Value> xs) {
  OpBuilder &ob = b.builder();
  auto out = b.typeOf(e);
  int64_t stride = 1, padding = 0;
  if (const Arg *a = e.findArg("stride"))
    stride = int64_t(a->value->number);
  if (const Arg *a = e.findArg("padding"))
    padding = int64_t(a->value->number);
  Value y = ob.create<Conv2DOp>(l, out, xs[0], b.param(e.paramPrefix + ".weight"),
                                ob.getDenseI64ArrayAttr({stride, stride}),
                                ob.getDenseI64ArrayAttr({padding, padding}));
  return addBias(b, e, l, y);
}

/// max_pool2d(x, window) and avg_pool2d(x, window): non-overlapping windows.
/// As PyTorch's default (ceil_mode = False), rows and columns past the last
/// whole window are left out: a 7x7 image pooled by 2 is 3x3.
bool poolCheck(LayerChecker &c, Expr &e) {
  const Expr &x = arg(e, 0);
  if (!isImage(c, x, e))
    return false;
  auto k = intArg(c, e, arg(e, 1), "a window size", 1, 1 << 10);
  if (!k)
    return false;
  if (*k > x.shape[2] || *k > x.shape[3]) {
    c.diagnostics().error(e.loc) << "'" << e.text << "' window " << *k << " is larger than the "
                                 << x.shape[2] << "x" << x.shape[3] << " image";
    return false;
  }
  e.shape = {x.shape[0], x.shape[1], x.shape[2] / *k, x.shape[3] / *k};
  return true;
}

int64_t window(const Expr &e) { return int64_t(arg(e, 1).number); }

/// The part of `x` the windows of the pooled type `out` cover: `x` itself,
/// or a slice without the rows and columns left over (whose gradient,
/// kiln.slice's, is zero there, as PyTorch's).
Value wholeWindows(OpBuilder &ob, Location l, Value x, RankedTensorType out, int64_t k) {
  auto xt = cast<RankedTensorType>(x.getType());
  auto s = out.getShape();
  if (xt.getDimSize(2) == s[2] * k && xt.getDimSize(3) == s[3] * k)
    return x;
  auto covered = RankedTensorType::get({s[0], s[1], s[2] * k, s[3] * k}, xt.getElementType());
  return ob.create<SliceOp>(l, covered, x, ArrayRef<int64_t>{0, 0, 0, 0});
}

Value maxPoolBuild(LayerBuilder &b, const Expr &e, Location l, ArrayRef<Value> xs) {
  int64_t k = window(e);
  auto out = b.typeOf(e);
  return b.builder().create<MaxPool2DOp>(l, out, wholeWindows(b.builder(), l, xs[0], out, k),
                                         b.builder().getDenseI64ArrayAttr({k, k}));
}

/// The mean of each window: split the windows out, sum them, scale.
Value avgPoolBuild(LayerBuilder &b, const Expr &e, Location l, ArrayRef<Value> xs) {
  OpBuilder &ob = b.builder();
  int64_t k = window(e);
  auto out = b.typeOf(e);
  auto s = out.getShape();
  auto split = RankedTensorType::get({s[0], s[1], s[2], k, s[3], k}, out.getElementType());
  Value windows = ob.create<ReshapeOp>(l, split, wholeWindows(ob, l, xs[0], out, k));
  Value sum = ob.create<ReduceSumOp>(l, out, windows, ArrayRef<int64_t>{3, 5});
  return ob.create<MulOp>(l, sum, ob.create<ConstantOp>(l, out, 1.0 / double(k * k)));
}

/// flatten(x): [batch, d1, d2, ...] -> [batch, d1 * d2 * ...].
bool flattenCheck(LayerChecker &c, Expr &e) {
  const Expr &x = arg(e, 0);
  if (x.isIntTensor || x.shape.size() < 2) {
    c.diagnostics().error(x.loc) << "'flatten' expects a f32 tensor with a batch dimension, got "
                                 << shapeStr(x.shape, x.isIntTensor);
    return false;
  }
  int64_t n = 1;
  for (size_t i = 1; i < x.shape.size(); ++i)
    n *= x.shape[i];
  e.shape = {x.shape[0], n};
  return true;
}

Value flattenBuild(LayerBuilder &b, const Expr &e, Location l, ArrayRef<Value> xs) {
  Type type = b.typeOf(e);
  if (xs[0].getType() == type) // [batch, n] already: nothing to merge
    return xs[0];
  return b.builder().create<ReshapeOp>(l, type, xs[0]);
}

// --- batch_norm(x, momentum = 0.1, eps = 1e-5): PyTorch's BatchNorm1d/2d ----
bool batchNormCheck(LayerChecker &c, Expr &e) {
  const Expr &x = arg(e, 0);
  if (x.isIntTensor || (x.shape.size() != 2 && x.shape.size() != 4)) {
    c.diagnostics().error(x.loc) << "'batch_norm' expects f32[batch, features] or f32[batch, "
                                    "channels, height, width], got "
                                 << shapeStr(x.shape, x.isIntTensor);
    return false;
  }
  if (!numberKey(c, e, "momentum", 0.1, 1) || !numberKey(c, e, "eps", 1e-5, 1))
    return false;
  int64_t n = x.shape[0] * (x.shape.size() == 4 ? x.shape[2] * x.shape[3] : 1);
  if (n < 2) {
    c.diagnostics().error(e.loc) << "'batch_norm' needs at least 2 values per channel in a batch";
    return false;
  }
  e.shape = x.shape;
  e.paramPrefix = c.paramPrefix();
  int64_t ch = x.shape[1];
  c.addParam({e.paramPrefix + ".weight", {ch}, "ones", ch, ch});
  c.addParam({e.paramPrefix + ".bias", {ch}, "zeros", ch, ch});
  c.addParam({e.paramPrefix + ".running_mean", {ch}, "zeros", ch, ch, /*buffer=*/true});
  c.addParam({e.paramPrefix + ".running_var", {ch}, "ones", ch, ch, /*buffer=*/true});
  return true;
}

/// Training: normalise with the batch's mean and biased variance per
/// channel, and move the running statistics towards the batch's (the
/// variance unbiased), as PyTorch does. Predict: normalise with the running
/// statistics.
Value batchNormBuild(LayerBuilder &b, const Expr &e, Location l, ArrayRef<Value> xs) {
  OpBuilder &ob = b.builder();
  KilnBuilder k{ob, l};
  Value x = xs[0];
  auto xt = cast<RankedTensorType>(x.getType());
  auto ct = RankedTensorType::get({xt.getDimSize(1)}, xt.getElementType());
  SmallVector<int64_t> reduced{0};
  for (int64_t d = 2; d < xt.getRank(); ++d)
    reduced.push_back(d);
  int64_t n = xt.getNumElements() / xt.getDimSize(1);
  double momentum = 0.1, eps = 1e-5;
  if (const Arg *a = e.findArg("momentum"))
    momentum = a->value->number;
  if (const Arg *a = e.findArg("eps"))
    eps = a->value->number;
  auto perChannel = [&](Value v) {
    return ob.create<BroadcastOp>(l, xt, v, ArrayRef<int64_t>{1}).getResult();
  };
  auto mean = [&](Value v) {
    return k.scale(ob.create<ReduceSumOp>(l, ct, v, reduced), 1.0 / double(n));
  };
  std::string p = e.paramPrefix;
  Value centred, var;
  if (b.training()) {
    // The mean, refined by the mean of what is left: as accurate as
    // PyTorch's, which sums in double on a CPU. A float32 sum is off by a
    // few ulp of the values, and the centred values then sum to that
    // instead of 0; products with them that cancel over the batch (the
    // next layer's weight gradient) keep it, and Adam or RMSprop turn such
    // near-zero gradients into whole steps. The refinement is 0 but for
    // rounding, so its derivative is 0: the backward pass is unchanged.
    Value rough = mean(x);
    Value mu = k.add(rough, ob.create<StopGradientOp>(l, mean(k.sub(x, perChannel(rough)))));
    centred = k.sub(x, perChannel(mu));
    var = mean(k.mul(centred, centred));
    auto moved = [&](Value running, Value batch) {
      return k.add(k.scale(running, 1 - momentum), k.scale(batch, momentum));
    };
    b.updateBuffer(p + ".running_mean", moved(b.param(p + ".running_mean"), mu));
    b.updateBuffer(p + ".running_var",
                   moved(b.param(p + ".running_var"), k.scale(var, double(n) / double(n - 1))));
  } else {
    centred = k.sub(x, perChannel(b.param(p + ".running_mean")));
    var = b.param(p + ".running_var");
  }
  Value inv = k.div(k.constant(ct, 1.0), ob.create<SqrtOp>(l, k.add(var, k.constant(ct, eps))));
  Value scale = k.mul(inv, b.param(p + ".weight"));
  return k.add(k.mul(centred, perChannel(scale)), perChannel(b.param(p + ".bias")));
}

// --- dropout(x, p): PyTorch's Dropout, masks from a counter-based stream ------
bool dropoutCheck(LayerChecker &c, Expr &e) {
  if (!sameShapeF32(c, e))
    return false;
  const Expr &p = arg(e, 1);
  if (p.kind != Expr::Kind::Number || p.number < 0 || p.number >= 1) {
    c.diagnostics().error(p.loc) << "'dropout' expects a drop probability in [0, 1)";
    return false;
  }
  e.paramPrefix = c.paramPrefix();
  // The stream's counter: starts from the seed, one more per training step.
  c.addParam({e.paramPrefix + ".counter", {}, "seed", 1, 1, /*buffer=*/true});
  return true;
}

/// A layer's salt: FNV-1a of its name, so layers sharing a step draw
/// different masks.
int64_t saltOf(llvm::StringRef name) {
  uint32_t h = 2166136261u;
  for (char ch : name)
    h = (h ^ uint8_t(ch)) * 16777619u;
  return h;
}

/// Training: keep an element where its uniform number exceeds p, scale the
/// kept ones by 1 / (1 - p), count the step. Predict: the identity.
Value dropoutBuild(LayerBuilder &b, const Expr &e, Location l, ArrayRef<Value> xs) {
  double p = arg(e, 1).number;
  if (!b.training() || p == 0)
    return xs[0];
  OpBuilder &ob = b.builder();
  KilnBuilder k{ob, l};
  std::string counterName = e.paramPrefix + ".counter";
  Value counter = b.param(counterName);
  auto t = cast<RankedTensorType>(xs[0].getType());
  Value u = ob.create<RandomUniformOp>(l, t, counter, saltOf(counterName));
  Value keep = ob.create<StepOp>(l, k.sub(u, k.constant(t, p)));
  b.updateBuffer(counterName, k.add(counter, k.constant(counter.getType(), 1.0)));
  return k.mul(xs[0], k.mul(keep, k.constant(t, 1.0 / (1.0 - p))));
}

// --- embedding(ids, vocabulary, width, init = unit_normal) --------------------
bool embeddingCheck(LayerChecker &c, Expr &e) {
  const Expr &ids = arg(e, 0);
  if (!ids.isIntTensor) {
    c.diagnostics().error(ids.loc) << "'embedding' expects ids of type i32, got "
                                   << shapeStr(ids.shape, ids.isIntTensor);
    return false;
  }
  auto vocab = intArg(c, e, arg(e, 1), "a vocabulary size", 1, 1 << 24);
  auto width = intArg(c, e, arg(e, 2), "a width", 1, 1 << 16);
  if (!vocab || !width || !c.readsIds(ids, *vocab, e))
    return false;
  e.shape = ids.shape;
  e.shape.push_back(*width);
  e.paramPrefix = c.paramPrefix();
  std::string init = "unit_normal";
  if (!c.initializer(e, "init", init))
    return false;
  // torch.nn.Embedding's weight: [vocabulary, width], N(0, 1) by default.
  c.addParam({e.paramPrefix + ".weight", {*vocab, *width}, init, *width, *width});
  return true;
}

Value embeddingBuild(LayerBuilder &b, const Expr &e, Location l, ArrayRef<Value> xs) {
  return b.builder().create<GatherOp>(l, b.typeOf(e), b.param(e.paramPrefix + ".weight"), xs[0]);
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
  if (!sameShapePair(c, e))
    return false;
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
const llvm::StringLiteral kRecurrentKeys[] = {"sequences"};
const llvm::StringLiteral kBatchNormKeys[] = {"momentum", "eps"};
const llvm::StringLiteral kEmbeddingKeys[] = {"init"};
const llvm::StringLiteral kSlopeKeys[] = {Slope::key};
const llvm::StringLiteral kAlphaKeys[] = {Alpha::key};
const llvm::StringLiteral kConvKeys[] = {"stride", "padding", "init", "bias_init", "bias"};

const LayerDef kLayers[] = {
    {"dense", "dense(x, units, init = xavier, bias_init = zeros, bias = true)", false, 1, 1,
     kDenseKeys, denseCheck, denseBuild},
    {"conv2d",
     "conv2d(x, channels, kernel, stride = 1, padding = 0, init = torch, bias_init = zeros, bias = true)",
     false, 1, 2, kConvKeys, conv2dCheck, conv2dBuild},
    {"rnn", "rnn(x, hidden, sequences = false)", false, 1, 1, kRecurrentKeys, recurrentCheck,
     recurrentBuild},
    {"lstm", "lstm(x, hidden, sequences = false)", false, 1, 1, kRecurrentKeys, recurrentCheck,
     recurrentBuild},
    {"gru", "gru(x, hidden, sequences = false)", false, 1, 1, kRecurrentKeys, recurrentCheck,
     recurrentBuild},
    {"batch_norm", "batch_norm(x, momentum = 0.1, eps = 1e-5)", false, 1, 0, kBatchNormKeys,
     batchNormCheck, batchNormBuild},
    {"dropout", "dropout(x, p)", false, 1, 1, {}, dropoutCheck, dropoutBuild},
    {"embedding", "embedding(ids, vocabulary, width, init = unit_normal)", false, 1, 2,
     kEmbeddingKeys, embeddingCheck, embeddingBuild},
    {"max_pool2d", "max_pool2d(x, window)", false, 1, 1, {}, poolCheck, maxPoolBuild},
    {"avg_pool2d", "avg_pool2d(x, window)", false, 1, 1, {}, poolCheck, avgPoolBuild},
    {"flatten", "flatten(x)", false, 1, 0, {}, flattenCheck, flattenBuild},
    {"add", "add(a, b)", false, 2, 0, {}, sameShapePair, binary<AddOp>},
    {"concat", "concat(a, b)", false, 2, 0, {}, concatCheck, concatBuild},
    {"mul", "mul(a, b)", false, 2, 0, {}, sameShapePair, binary<MulOp>},
    {"relu", "relu(x)", false, 1, 0, {}, sameShapeF32, unary<ReluOp>},
    {"sigmoid", "sigmoid(x)", false, 1, 0, {}, sameShapeF32, unary<SigmoidOp>},
    {"tanh", "tanh(x)", false, 1, 0, {}, sameShapeF32, unary<TanhOp>},
    {"leaky_relu", "leaky_relu(x, slope = 0.01)", false, 1, 0, kSlopeKeys, settingCheck<Slope>,
     settingBuild<LeakyReluOp, Slope>},
    {"elu", "elu(x, alpha = 1.0)", false, 1, 0, kAlphaKeys, settingCheck<Alpha>,
     settingBuild<EluOp, Alpha>},
    {"gelu", "gelu(x)", false, 1, 0, {}, sameShapeF32, geluBuild},
    {"silu", "silu(x)", false, 1, 0, {}, sameShapeF32, siluBuild},
    {"softplus", "softplus(x)", false, 1, 0, {}, sameShapeF32, unary<SoftplusOp>},
    {"softmax", "softmax(x)", false, 1, 0, {}, sameShapeF32, unary<SoftmaxOp>},
    {"log_softmax", "log_softmax(x)", false, 1, 0, {}, sameShapeF32, unary<LogSoftmaxOp>},
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
