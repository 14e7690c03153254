//===- Recurrent.cpp - Elman RNN, LSTM and GRU layers ---------------------===//
//
// rnn/lstm/gru(x, hidden, sequences = false) over x: f32[batch, steps,
// features], with PyTorch's gate equations, parameter layout and names
// (weight_ih [G*H, F], weight_hh [G*H, H], bias_ih, bias_hh; gates i, f, g, o
// for the LSTM and r, z, n for the GRU) and initialisation (U(-1/sqrt(H),
// 1/sqrt(H)) for all four), so checkpoints map onto torch.nn.RNN/LSTM/GRU.
//
// Expansion: the input projection of all steps is one matmul before the
// loop; the recurrence is a kiln.scan whose body is one cell step. The
// result is the last hidden state [batch, H], or with `sequences = true`
// every step's [batch, steps, H].
//
//===----------------------------------------------------------------------===//
#include "compiler/Frontend/Recurrent.h"
#include "dialects/Kiln/IR/KilnBuilder.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::frontend;

namespace {

enum class Cell { RNN, LSTM, GRU };

Cell cellOf(const Expr &e) {
  if (e.text == "lstm")
    return Cell::LSTM;
  if (e.text == "gru")
    return Cell::GRU;
  return Cell::RNN;
}

int64_t gatesOf(Cell c) { return c == Cell::LSTM ? 4 : c == Cell::GRU ? 3 : 1; }

bool returnsSequences(const Expr &e) {
  const Arg *a = e.findArg("sequences");
  return a && a->value->number != 0;
}

/// One step of the cell: the next carried values from the carried values,
/// the step's input projection xp [B, G*H] and the captured W_hh^T [H, G*H]
/// (transposed once before the loop, not in every step) and b_hh.
SmallVector<Value> cellStep(KilnBuilder &k, Cell cell, ValueRange carried, Value xp, Value whhT,
                            Value bhh) {
  Value h = carried[0];
  auto ht = cast<RankedTensorType>(h.getType());
  int64_t hidden = ht.getDimSize(1);
  auto gt = cast<RankedTensorType>(xp.getType());
  Value hp = k.matmul(h, whhT, false, false);
  hp = k.add(hp, k.b.create<BroadcastOp>(k.loc, gt, bhh, ArrayRef<int64_t>{1}));
  auto gate = [&](Value v, int64_t i) -> Value {
    return k.b.create<SliceOp>(k.loc, ht, v, ArrayRef<int64_t>{0, i * hidden});
  };
  switch (cell) {
  case Cell::RNN:
    return {k.b.create<TanhOp>(k.loc, k.add(xp, hp))};
  case Cell::LSTM: {
    Value g = k.add(xp, hp);
    Value i = k.b.create<SigmoidOp>(k.loc, gate(g, 0));
    Value f = k.b.create<SigmoidOp>(k.loc, gate(g, 1));
    Value c = k.b.create<TanhOp>(k.loc, gate(g, 2));
    Value o = k.b.create<SigmoidOp>(k.loc, gate(g, 3));
    Value cNext = k.add(k.mul(f, carried[1]), k.mul(i, c));
    Value hNext = k.mul(o, k.b.create<TanhOp>(k.loc, cNext));
    return {hNext, cNext};
  }
  case Cell::GRU: {
    Value r = k.b.create<SigmoidOp>(k.loc, k.add(gate(xp, 0), gate(hp, 0)));
    Value z = k.b.create<SigmoidOp>(k.loc, k.add(gate(xp, 1), gate(hp, 1)));
    Value n = k.b.create<TanhOp>(k.loc, k.add(gate(xp, 2), k.mul(r, gate(hp, 2))));
    // (1 - z) * n + z * h, as n + z * (h - n).
    return {k.add(n, k.mul(z, k.sub(h, n)))};
  }
  }
  llvm_unreachable("unknown cell");
}

} // namespace

bool kiln::frontend::recurrentCheck(LayerChecker &c, Expr &e) {
  const Expr &x = *e.positional(0)->value;
  if (x.isIntTensor || x.shape.size() != 3) {
    c.diagnostics().error(x.loc) << "'" << e.text
                                 << "' expects sequences of type f32[batch, steps, features], got "
                                 << shapeStr(x.shape, x.isIntTensor);
    return false;
  }
  auto units = intArg(c, e, *e.positional(1)->value, "a hidden size", 1, 1 << 16);
  auto sequences = boolKey(c, e, "sequences", false);
  if (!units || !sequences)
    return false;
  int64_t batch = x.shape[0], steps = x.shape[1], features = x.shape[2];
  int64_t hidden = *units, g = gatesOf(cellOf(e)) * hidden;
  e.shape = *sequences ? std::vector<int64_t>{batch, steps, hidden}
                       : std::vector<int64_t>{batch, hidden};
  e.paramPrefix = c.paramPrefix();
  // torch.nn.RNN/LSTM/GRU draw every tensor from U(-1/sqrt(H), 1/sqrt(H)):
  // the "torch" initialiser with a fan-in of H.
  c.addParam({e.paramPrefix + ".weight_ih", {g, features}, "torch", hidden, g});
  c.addParam({e.paramPrefix + ".weight_hh", {g, hidden}, "torch", hidden, g});
  c.addParam({e.paramPrefix + ".bias_ih", {g}, "torch", hidden, g});
  c.addParam({e.paramPrefix + ".bias_hh", {g}, "torch", hidden, g});
  return true;
}

Value kiln::frontend::recurrentBuild(LayerBuilder &lb, const Expr &e, Location l,
                                     ArrayRef<Value> xs) {
  OpBuilder &b = lb.builder();
  KilnBuilder k{b, l};
  Cell cell = cellOf(e);
  Value wih = lb.param(e.paramPrefix + ".weight_ih"), whh = lb.param(e.paramPrefix + ".weight_hh");
  Value bih = lb.param(e.paramPrefix + ".bias_ih"), bhh = lb.param(e.paramPrefix + ".bias_hh");
  auto xt = cast<RankedTensorType>(xs[0].getType());
  int64_t batch = xt.getDimSize(0), steps = xt.getDimSize(1), features = xt.getDimSize(2);
  int64_t g = cast<RankedTensorType>(wih.getType()).getDimSize(0);
  int64_t hidden = cast<RankedTensorType>(whh.getType()).getDimSize(1);
  Type f32 = b.getF32Type();
  auto type = [&](ArrayRef<int64_t> shape) { return RankedTensorType::get(shape, f32); };

  // Step-major input projection of every step at once: [T*B, F] x W_ih^T.
  Value seq = b.create<TransposeOp>(l, type({steps, batch, features}), xs[0],
                                    ArrayRef<int64_t>{1, 0, 2});
  Value flat = b.create<ReshapeOp>(l, type({steps * batch, features}), seq);
  Value proj = k.matmul(flat, wih, false, true);
  proj = k.add(proj, b.create<BroadcastOp>(l, type({steps * batch, g}), bih, ArrayRef<int64_t>{1}));
  proj = b.create<ReshapeOp>(l, type({steps, batch, g}), proj);

  auto state = type({batch, hidden});
  SmallVector<Value> inits{k.constant(state, 0.0)};
  if (cell == Cell::LSTM)
    inits.push_back(k.constant(state, 0.0));
  bool sequences = returnsSequences(e);
  SmallVector<Type> stacked;
  if (sequences)
    stacked.push_back(type({steps, batch, hidden}));
  Value whhT = b.create<TransposeOp>(l, type({hidden, g}), whh, ArrayRef<int64_t>{1, 0});
  auto scan = b.create<ScanOp>(l, ValueRange(inits).getTypes(), stacked, steps, inits,
                               ValueRange{proj}, ValueRange{whhT, bhh}, false);
  {
    OpBuilder::InsertionGuard guard(b);
    Block *body = b.createBlock(&scan.getBody());
    for (Value v : inits)
      body->addArgument(v.getType(), l);
    body->addArgument(type({batch, g}), l);
    body->addArgument(whhT.getType(), l);
    body->addArgument(bhh.getType(), l);
    auto args = body->getArguments();
    SmallVector<Value> next = cellStep(k, cell, args.take_front(inits.size()), args[inits.size()],
                                       args[inits.size() + 1], args[inits.size() + 2]);
    if (sequences)
      next.push_back(next[0]);
    b.create<YieldOp>(l, next);
  }
  if (!sequences)
    return scan.getFinals()[0];
  return b.create<TransposeOp>(l, type({batch, steps, hidden}), scan.getStacked()[0],
                               ArrayRef<int64_t>{1, 0, 2});
}
