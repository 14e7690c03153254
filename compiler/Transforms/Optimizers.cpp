//===- Optimizers.cpp - Hyper-parameters, state and updates of each optimizer ===//
//
// The update rules follow PyTorch 1.13's formulas operation for operation
// (torch/optim/*.py, single-tensor path), so that a Kiln run and a PyTorch
// run from the same weights can be compared step by step.
//
//===----------------------------------------------------------------------===//
#include "compiler/Transforms/Optimizers.h"

#include <cmath>

using namespace mlir;
using namespace kiln;

Value UpdateArgs::shared(StringRef key, llvm::function_ref<Value()> build) const {
  Value &v = (*cache)[key];
  if (!v)
    v = build();
  return v;
}

namespace {


/// PyTorch's coupled weight decay (L2 penalty): g + wd * p.
Value decayedGrad(const UpdateArgs &a) {
  double wd = a.h.lookup("weight_decay");
  return wd == 0.0 ? a.grad : a.u.add(a.grad, a.u.scale(a.param, wd));
}

Value sqrt(const UpdateArgs &a, Value x) { return a.u.b.create<SqrtOp>(a.u.loc, x); }

// --- SGD: momentum and Nesterov ----------------------------------------------
const HyperParam kSgdHypers[] = {
    {"momentum", 0.0, 0.0, 1.0, true}, {"weight_decay", 0.0, 0.0, 1e6}, {"nesterov", 0.0, 0, 1, false, true}};

const char *sgdCheck(const Hypers &h) {
  return h.lookup("nesterov") != 0.0 && h.lookup("momentum") == 0.0
             ? "'nesterov = true' needs a momentum above 0"
             : nullptr;
}

SmallVector<StringRef> sgdSlots(const Hypers &h) {
  if (h.lookup("momentum") != 0.0)
    return {"momentum_buffer"};
  return {};
}

void sgdUpdate(const UpdateArgs &a, SmallVectorImpl<Value> &out) {
  KilnBuilder &u = a.u;
  Value lr = u.splat(a.lr, a.param.getType());
  Value g = decayedGrad(a), dir = g;
  double momentum = a.h.lookup("momentum");
  Value buf;
  if (momentum != 0.0) { // buf = momentum * buf + g
    buf = u.add(u.scale(a.state[0], momentum), g);
    dir = a.h.lookup("nesterov") != 0.0 ? u.add(g, u.scale(buf, momentum)) : buf;
  }
  out.push_back(u.sub(a.param, u.mul(lr, dir)));
  if (buf)
    out.push_back(buf);
}

// --- Adam and AdamW ------------------------------------------------------------
const HyperParam kAdamHypers[] = {{"beta1", 0.9, 0.0, 1.0, true},
                                  {"beta2", 0.999, 0.0, 1.0, true},
                                  {"eps", 1e-8, 0.0, 1e6},
                                  {"weight_decay", 0.0, 0.0, 1e6}};
const HyperParam kAdamWHypers[] = {{"beta1", 0.9, 0.0, 1.0, true},
                                   {"beta2", 0.999, 0.0, 1.0, true},
                                   {"eps", 1e-8, 0.0, 1e6},
                                   {"weight_decay", 0.01, 0.0, 1e6}};

SmallVector<StringRef> adamSlots(const Hypers &) { return {"exp_avg", "exp_avg_sq"}; }

/// m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
/// p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps), bc_i = 1 - b_i^step.
void adamStep(const UpdateArgs &a, Value p, Value g, SmallVectorImpl<Value> &out) {
  KilnBuilder &u = a.u;
  auto scalar = a.step.getType();
  auto biasCorrection = [&](double beta) { // 1 - beta^t, as exp(t log beta)
    Value pow = u.b.create<ExpOp>(u.loc, u.scale(a.step, std::log(beta)));
    return u.sub(u.constant(scalar, 1.0), pow);
  };
  double beta1 = a.h.lookup("beta1"), beta2 = a.h.lookup("beta2");
  Value bc1 = a.shared("bc1", [&] { return biasCorrection(beta1); });
  Value bc2 = a.shared("bc2", [&] { return biasCorrection(beta2); });
  Value stepSize = a.shared("step_size", [&] { return u.div(a.lr, bc1); });
  Value invSqrtBc2 =
      a.shared("inv_sqrt_bc2", [&] { return u.div(u.constant(scalar, 1.0), sqrt(a, bc2)); });
  Type ty = p.getType();
  Value m = u.add(u.scale(a.state[0], beta1), u.scale(g, 1.0 - beta1));
  Value v = u.add(u.scale(a.state[1], beta2), u.scale(u.mul(g, g), 1.0 - beta2));
  Value denom = u.add(u.mul(sqrt(a, v), u.splat(invSqrtBc2, ty)), u.constant(ty, a.h.lookup("eps")));
  out.push_back(u.sub(p, u.mul(u.splat(stepSize, ty), u.div(m, denom))));
  out.push_back(m);
  out.push_back(v);
}

void adamUpdate(const UpdateArgs &a, SmallVectorImpl<Value> &out) {
  adamStep(a, a.param, decayedGrad(a), out);
}

/// Decoupled weight decay: p *= 1 - lr * wd, then Adam on the plain gradient.
void adamwUpdate(const UpdateArgs &a, SmallVectorImpl<Value> &out) {
  KilnBuilder &u = a.u;
  double wd = a.h.lookup("weight_decay");
  Value p = a.param;
  if (wd != 0.0) {
    Value keep = a.shared("decay", [&] {
      return u.sub(u.constant(a.lr.getType(), 1.0), u.scale(a.lr, wd));
    });
    p = u.mul(p, u.splat(keep, p.getType()));
  }
  adamStep(a, p, a.grad, out);
}

// --- RMSprop ---------------------------------------------------------------------
const HyperParam kRmspropHypers[] = {{"alpha", 0.99, 0.0, 1.0, true},
                                     {"eps", 1e-8, 0.0, 1e6},
                                     {"weight_decay", 0.0, 0.0, 1e6},
                                     {"momentum", 0.0, 0.0, 1.0, true},
                                     {"centered", 0.0, 0, 1, false, true}};

SmallVector<StringRef> rmspropSlots(const Hypers &h) {
  SmallVector<StringRef> slots{"square_avg"};
  if (h.lookup("momentum") != 0.0)
    slots.push_back("momentum_buffer");
  if (h.lookup("centered") != 0.0)
    slots.push_back("grad_avg");
  return slots;
}

void rmspropUpdate(const UpdateArgs &a, SmallVectorImpl<Value> &out) {
  KilnBuilder &u = a.u;
  Type ty = a.param.getType();
  double alpha = a.h.lookup("alpha"), momentum = a.h.lookup("momentum");
  bool centered = a.h.lookup("centered") != 0.0;
  Value g = decayedGrad(a);
  Value sq = u.add(u.scale(a.state[0], alpha), u.scale(u.mul(g, g), 1.0 - alpha));
  Value gradAvg, var = sq;
  if (centered) {
    gradAvg = u.add(u.scale(a.state.back(), alpha), u.scale(g, 1.0 - alpha));
    var = u.sub(sq, u.mul(gradAvg, gradAvg));
  }
  Value avg = u.add(sqrt(a, var), u.constant(ty, a.h.lookup("eps")));
  Value lr = u.splat(a.lr, ty), buf;
  if (momentum != 0.0) {
    buf = u.add(u.scale(a.state[1], momentum), u.div(g, avg));
    out.push_back(u.sub(a.param, u.mul(lr, buf)));
  } else {
    out.push_back(u.sub(a.param, u.mul(lr, u.div(g, avg))));
  }
  out.push_back(sq);
  if (buf)
    out.push_back(buf);
  if (gradAvg)
    out.push_back(gradAvg);
}

// --- Adagrad ---------------------------------------------------------------------
// PyTorch's `initial_accumulator_value` is not offered: the sum starts at 0
// (its default), as every optimizer state does.
const HyperParam kAdagradHypers[] = {
    {"lr_decay", 0.0, 0.0, 1e6}, {"weight_decay", 0.0, 0.0, 1e6}, {"eps", 1e-10, 0.0, 1e6}};

SmallVector<StringRef> adagradSlots(const Hypers &) { return {"sum"}; }

/// sum += g^2; p -= clr * g / (sqrt(sum) + eps), clr = lr / (1 + (step - 1) lr_decay).
void adagradUpdate(const UpdateArgs &a, SmallVectorImpl<Value> &out) {
  KilnBuilder &u = a.u;
  Type ty = a.param.getType();
  double decay = a.h.lookup("lr_decay");
  Value clr = a.lr;
  if (decay != 0.0)
    clr = a.shared("clr", [&] {
      auto scalar = a.step.getType();
      Value one = u.constant(scalar, 1.0);
      return u.div(a.lr, u.add(u.scale(u.sub(a.step, one), decay), one));
    });
  Value g = decayedGrad(a);
  Value sum = u.add(a.state[0], u.mul(g, g));
  Value std = u.add(sqrt(a, sum), u.constant(ty, a.h.lookup("eps")));
  out.push_back(u.sub(a.param, u.mul(u.splat(clr, ty), u.div(g, std))));
  out.push_back(sum);
}

const char *noCheck(const Hypers &) { return nullptr; }

const OptimizerDef kOptimizers[] = {
    {"sgd", kSgdHypers, 0.01, sgdCheck, sgdSlots, false, sgdUpdate},
    {"adam", kAdamHypers, 1e-3, noCheck, adamSlots, true, adamUpdate},
    {"adamw", kAdamWHypers, 1e-3, noCheck, adamSlots, true, adamwUpdate},
    {"rmsprop", kRmspropHypers, 0.01, noCheck, rmspropSlots, false, rmspropUpdate},
    {"adagrad", kAdagradHypers, 0.01, noCheck, adagradSlots, true, adagradUpdate},
};

} // namespace

ArrayRef<OptimizerDef> kiln::optimizers() { return kOptimizers; }

SmallVector<HyperParam> kiln::allHypers(const OptimizerDef &def) {
  SmallVector<HyperParam> all(def.hypers.begin(), def.hypers.end());
  all.push_back(kClipNorm);
  return all;
}

const OptimizerDef *kiln::lookupOptimizer(StringRef name) {
  for (const OptimizerDef &d : kOptimizers)
    if (d.name == name)
      return &d;
  return nullptr;
}
