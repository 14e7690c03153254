//===- MLIRGen.cpp - Build kiln IR from a checked model -------------------===//
//
// Layers expand into kiln primitives here (dense = matmul + broadcast + add)
// so that autodiff and fusion only ever see the primitive set. Every op is
// located at its source expression and named after its binding, so IR dumps
// and later diagnostics point back into the model file.
//
//===----------------------------------------------------------------------===//
#include "compiler/Frontend/MLIRGen.h"
#include "compiler/Transforms/ModelAttrs.h"
#include "dialects/Kiln/IR/KilnOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"

#include <map>

using namespace mlir;
using namespace kiln;
using namespace kiln::frontend;

namespace {

class Generator {
public:
  Generator(const Model &m, const ModelInfo &info, Diagnostics &diags)
      : m(m), info(info), diags(diags), b(diags.context()) {}

  OwningOpRef<ModuleOp> run() {
    OwningOpRef<ModuleOp> module = ModuleOp::create(diags.location(m.loc));
    (*module)->setAttr(attrs::kModel, modelAttr());
    b.setInsertionPointToEnd(module->getBody());
    buildFunction("loss", /*withLabel=*/true);
    buildFunction("predict", /*withLabel=*/false);
    if (failed(verify(*module)))
      return nullptr;
    return module;
  }

private:
  RankedTensorType tensorOf(const Expr &e) {
    return RankedTensorType::get(e.shape, e.isIntTensor ? Type(b.getI32Type()) : b.getF32Type());
  }
  RankedTensorType f32(ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, b.getF32Type());
  }

  Location loc(const Expr &e) {
    return NameLoc::get(b.getStringAttr(binding), diags.location(e.loc));
  }

  void buildFunction(StringRef name, bool withLabel) {
    SmallVector<Type> types;
    SmallVector<DictionaryAttr> argAttrs;
    for (const ParamInfo &p : info.params) {
      types.push_back(f32(p.shape));
      SmallVector<NamedAttribute> init{b.getNamedAttr("kind", b.getStringAttr(p.init)),
                                       b.getNamedAttr("fan_in", b.getI64IntegerAttr(p.fanIn)),
                                       b.getNamedAttr("fan_out", b.getI64IntegerAttr(p.fanOut))};
      argAttrs.push_back(b.getDictionaryAttr(
          {b.getNamedAttr(attrs::kParam, b.getStringAttr(p.name)),
           b.getNamedAttr(attrs::kInit, b.getDictionaryAttr(init))}));
    }
    auto dataArg = [&](const DataDecl &d, StringRef attr) {
      SmallVector<int64_t> shape(d.type.dims.begin(), d.type.dims.end());
      shape[0] = info.batch;
      types.push_back(RankedTensorType::get(
          shape, d.type.elem == ElemKind::I32 ? Type(b.getI32Type()) : b.getF32Type()));
      argAttrs.push_back(b.getDictionaryAttr(b.getNamedAttr(attr, b.getStringAttr(d.name))));
    };
    dataArg(m.inputs[0], attrs::kInput);
    if (withLabel)
      dataArg(m.labels[0], attrs::kLabel);

    auto fn = b.create<func::FuncOp>(diags.location(m.loc), name, b.getFunctionType(types, {}));
    fn.setAllArgAttrs(argAttrs);
    Block *entry = fn.addEntryBlock();
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(entry);

    values.clear();
    params.clear();
    for (auto [p, arg] : llvm::zip(info.params, entry->getArguments()))
      params[p.name] = arg;
    values[m.inputs[0].name] = entry->getArgument(info.params.size());
    if (withLabel)
      values[m.labels[0].name] = entry->getArgument(info.params.size() + 1);

    Value result;
    for (const Binding &bd : m.bindings) {
      binding = bd.name;
      if (bd.value.get() == info.lossExpr) {
        result = withLabel ? expr(*bd.value) : expr(*info.lossExpr->args[0].value);
        continue;
      }
      values[bd.name] = expr(*bd.value);
    }
    b.create<func::ReturnOp>(diags.location(m.loc), result);
    fn.setFunctionType(b.getFunctionType(types, result.getType()));
  }

  Value expr(const Expr &e) {
    if (e.kind == Expr::Kind::Name)
      return values.at(e.text);
    Location l = loc(e);
    StringRef f = e.text;
    if (f == "dense")
      return dense(e, l);
    if (f == "relu")
      return b.create<ReluOp>(l, expr(*e.args[0].value));
    if (f == "sigmoid")
      return b.create<SigmoidOp>(l, expr(*e.args[0].value));
    if (f == "tanh")
      return b.create<TanhOp>(l, expr(*e.args[0].value));
    if (f == "softmax")
      return b.create<SoftmaxOp>(l, expr(*e.args[0].value));
    Value x = expr(*e.args[0].value), y = expr(*e.args[1].value);
    auto scalar = f32({});
    if (f == "softmax_cross_entropy")
      return b.create<SoftmaxCrossEntropyOp>(l, scalar, x, y);
    if (f == "bce_with_logits")
      return b.create<SigmoidBCEOp>(l, scalar, x, y);
    // mse: mean((x - y)^2), from primitives.
    auto t = cast<RankedTensorType>(x.getType());
    Value d = b.create<SubOp>(l, x, y);
    Value sq = b.create<MulOp>(l, d, d);
    auto range = llvm::seq<int64_t>(0, t.getRank());
    SmallVector<int64_t> all(range.begin(), range.end());
    Value sum = b.create<ReduceSumOp>(l, scalar, sq, all);
    return b.create<MulOp>(l, sum,
                           b.create<ConstantOp>(l, scalar, 1.0 / double(t.getNumElements())));
  }

  Value dense(const Expr &e, Location l) {
    Value x = expr(*e.positional(0)->value);
    Value w = params.at(e.paramPrefix + ".weight");
    auto out = tensorOf(e);
    Value y = b.create<MatmulOp>(l, out, x, w);
    auto bias = params.find(e.paramPrefix + ".bias");
    if (bias == params.end())
      return y;
    Value bb = b.create<BroadcastOp>(l, out, bias->second, ArrayRef<int64_t>{1});
    return b.create<AddOp>(l, y, bb);
  }

  DictionaryAttr sourceAttr(const DataSource &s) {
    return b.getDictionaryAttr({b.getNamedAttr("format", b.getStringAttr(s.format)),
                                b.getNamedAttr("features", b.getStringAttr(s.features)),
                                b.getNamedAttr("labels", b.getStringAttr(s.labels)),
                                b.getNamedAttr("label_column", b.getI64IntegerAttr(s.labelColumn)),
                                b.getNamedAttr("skip", b.getI64IntegerAttr(s.skip))});
  }

  DictionaryAttr modelAttr() {
    SmallVector<NamedAttribute> opt{b.getNamedAttr("kind", b.getStringAttr(info.optimizer))};
    if (info.optimizer == "sgd") {
      opt.push_back(b.getNamedAttr("momentum", b.getF64FloatAttr(info.momentum)));
    } else {
      opt.push_back(b.getNamedAttr("beta1", b.getF64FloatAttr(info.beta1)));
      opt.push_back(b.getNamedAttr("beta2", b.getF64FloatAttr(info.beta2)));
      opt.push_back(b.getNamedAttr("eps", b.getF64FloatAttr(info.eps)));
    }
    const DataDecl &in = m.inputs[0];
    SmallVector<int64_t> sample(in.type.dims.begin() + 1, in.type.dims.end());
    SmallVector<int64_t> labelSample(m.labels[0].type.dims.begin() + 1, m.labels[0].type.dims.end());
    const Expr &out = *info.lossExpr->args[0].value;
    SmallVector<int64_t> outSample(out.shape.begin() + 1, out.shape.end());
    return b.getDictionaryAttr({
        b.getNamedAttr("name", b.getStringAttr(m.name)),
        b.getNamedAttr("batch", b.getI64IntegerAttr(info.batch)),
        b.getNamedAttr("epochs", b.getI64IntegerAttr(info.epochs)),
        b.getNamedAttr("seed", b.getI64IntegerAttr(info.seed)),
        b.getNamedAttr("lr", b.getF64FloatAttr(info.lr)),
        b.getNamedAttr("loss", b.getStringAttr(info.loss)),
        b.getNamedAttr("task", b.getStringAttr(info.task)),
        b.getNamedAttr("num_classes", b.getI64IntegerAttr(info.numClasses)),
        b.getNamedAttr("input_shape", b.getDenseI64ArrayAttr(sample)),
        b.getNamedAttr("label_shape", b.getDenseI64ArrayAttr(labelSample)),
        b.getNamedAttr("output_shape", b.getDenseI64ArrayAttr(outSample)),
        b.getNamedAttr("optimizer", b.getDictionaryAttr(opt)),
        b.getNamedAttr("data", b.getDictionaryAttr({
            b.getNamedAttr("train", sourceAttr(info.train)),
            b.getNamedAttr("test", sourceAttr(info.test)),
            b.getNamedAttr("split", b.getF64FloatAttr(info.split)),
            b.getNamedAttr("scale", b.getF64FloatAttr(info.scale)),
            b.getNamedAttr("standardize", b.getBoolAttr(info.standardize))})),
    });
  }

  const Model &m;
  const ModelInfo &info;
  Diagnostics &diags;
  OpBuilder b;
  std::string binding;
  std::map<std::string, Value> values, params;
};

} // namespace

OwningOpRef<ModuleOp> kiln::frontend::generateModule(const Model &model, const ModelInfo &info,
                                                     Diagnostics &diags) {
  return Generator(model, info, diags).run();
}
