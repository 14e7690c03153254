//===- MLIRGen.cpp - Build kiln IR from a checked model -------------------===//
//
// Each call expands through its entry of the layer table (Layers.cpp). Every
// op is located at its source expression and named after its binding, so IR
// dumps and later diagnostics point back into the model file.
//
//===----------------------------------------------------------------------===//
#include "compiler/Frontend/MLIRGen.h"
#include "compiler/Frontend/Layers.h"
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

class Generator : public LayerBuilder {
public:
  Generator(const Model &m, const ModelInfo &info, Diagnostics &diags)
      : m(m), info(info), diags(diags), b(diags.context()) {}

  OwningOpRef<ModuleOp> run() {
    OwningOpRef<ModuleOp> module = ModuleOp::create(diags.location(m.loc));
    (*module)->setAttr(attrs::kModel, modelAttr());
    b.setInsertionPointToEnd(module->getBody());
    // predict_one is predict at one row: what a latency-bound caller and the
    // rows past the last whole batch run, with no padding to the batch.
    if (failed(buildFunction("loss", /*withLabel=*/true, info.batch)) ||
        failed(buildFunction("predict", /*withLabel=*/false, info.batch)) ||
        failed(buildFunction("predict_one", /*withLabel=*/false, 1)) || failed(verify(*module)))
      return nullptr;
    return module;
  }

private:
  /// Sema's shape of `e` at the batch being built: every tensor a model
  /// computes leads with the batch dimension (inputs are [batch, ...] and
  /// each layer keeps it), so building at another row count only changes it.
  RankedTensorType tensorOf(const Expr &e) {
    SmallVector<int64_t> shape(e.shape.begin(), e.shape.end());
    if (!shape.empty())
      shape[0] = rows;
    return RankedTensorType::get(shape, e.isIntTensor ? Type(b.getI32Type()) : b.getF32Type());
  }
  RankedTensorType f32(ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, b.getF32Type());
  }

  Location loc(const Expr &e) {
    return NameLoc::get(b.getStringAttr(binding), diags.location(e.loc));
  }

  LogicalResult buildFunction(StringRef name, bool withLabel, int64_t batchRows) {
    rows = batchRows;
    SmallVector<Type> types;
    SmallVector<DictionaryAttr> argAttrs;
    for (const ParamInfo &p : info.params) {
      types.push_back(f32(p.shape));
      SmallVector<NamedAttribute> init{b.getNamedAttr("kind", b.getStringAttr(p.init)),
                                       b.getNamedAttr("fan_in", b.getI64IntegerAttr(p.fanIn)),
                                       b.getNamedAttr("fan_out", b.getI64IntegerAttr(p.fanOut))};
      // Buffers live with the optimizer state: persistent, not trained.
      argAttrs.push_back(b.getDictionaryAttr(
          {b.getNamedAttr(p.buffer ? attrs::kState : attrs::kParam, b.getStringAttr(p.name)),
           b.getNamedAttr(attrs::kInit, b.getDictionaryAttr(init))}));
    }
    auto dataArg = [&](const DataDecl &d, StringRef attr) {
      SmallVector<int64_t> shape(d.type.dims.begin(), d.type.dims.end());
      shape[0] = rows;
      types.push_back(RankedTensorType::get(
          shape, d.type.elem == ElemKind::I32 ? Type(b.getI32Type()) : b.getF32Type()));
      argAttrs.push_back(b.getDictionaryAttr(b.getNamedAttr(attr, b.getStringAttr(d.name))));
    };
    for (const DataDecl &in : m.inputs)
      dataArg(in, attrs::kInput);
    if (withLabel)
      dataArg(m.labels[0], attrs::kLabel);

    auto fn = b.create<func::FuncOp>(diags.location(m.loc), name, b.getFunctionType(types, {}));
    fn.setAllArgAttrs(argAttrs);
    Block *entry = fn.addEntryBlock();
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(entry);

    values.clear();
    params.clear();
    updates.clear();
    isTraining = withLabel;
    for (auto [p, arg] : llvm::zip(info.params, entry->getArguments()))
      params[p.name] = arg;
    unsigned next = info.params.size();
    for (const DataDecl &in : m.inputs)
      values[in.name] = entry->getArgument(next++);
    if (withLabel)
      values[m.labels[0].name] = entry->getArgument(next);

    // Only what the result needs is built: predict never reaches the label
    // or the loss, and bindings nothing reads are left out of both.
    const Binding &lossBinding = *llvm::find_if(
        m.bindings, [&](const Binding &bd) { return bd.value.get() == info.lossExpr; });
    binding = lossBinding.name;
    Value result = expr(withLabel ? *info.lossExpr : *info.lossExpr->args[0].value);
    if (!result)
      return failure();
    // The training function also returns each updated buffer, marked with
    // the buffer it replaces; autodiff passes these through undifferentiated.
    SmallVector<Value> results{result};
    SmallVector<DictionaryAttr> resultAttrs{b.getDictionaryAttr({})};
    for (auto &[name, next] : updates) {
      results.push_back(next);
      resultAttrs.push_back(
          b.getDictionaryAttr(b.getNamedAttr(attrs::kStateUpdate, b.getStringAttr(name))));
    }
    b.create<func::ReturnOp>(diags.location(m.loc), results);
    fn.setFunctionType(b.getFunctionType(types, ValueRange(results).getTypes()));
    if (results.size() > 1)
      fn.setAllResultAttrs(resultAttrs);
    return success();
  }

  /// The value of a name: an argument, or a binding built on first use.
  Value lookup(const Expr &e) {
    if (auto it = values.find(e.text); it != values.end())
      return it->second;
    auto bd = llvm::find_if(m.bindings, [&](const Binding &bd) { return bd.name == e.text; });
    if (bd == m.bindings.end()) {
      emitError(loc(e)) << "internal error: '" << e.text << "' passed checking but has no value";
      return nullptr;
    }
    std::string outer = std::exchange(binding, bd->name);
    Value v = expr(*bd->value);
    binding = outer;
    return values[e.text] = v;
  }

  /// Builds one expression; a null value after an error has been reported.
  Value expr(const Expr &e) {
    if (e.kind == Expr::Kind::Name)
      return lookup(e);
    const LayerDef *def = lookupLayer(e.text);
    if (!def) {
      emitError(loc(e)) << "internal error: no layer '" << e.text << "' to build";
      return nullptr;
    }
    SmallVector<Value> args;
    for (unsigned i = 0; i < def->tensorArgs; ++i) {
      Value v = expr(*e.positional(i)->value);
      if (!v)
        return nullptr;
      args.push_back(v);
    }
    return def->build(*this, e, loc(e), args);
  }

  // --- LayerBuilder ------------------------------------------------------
  OpBuilder &builder() override { return b; }
  Value param(StringRef name) override {
    auto it = params.find(name.str());
    return it == params.end() ? Value() : it->second;
  }
  RankedTensorType typeOf(const Expr &e) override { return tensorOf(e); }
  bool training() override { return isTraining; }
  void updateBuffer(StringRef name, Value next) override { updates[name.str()] = next; }

  DictionaryAttr sourceAttr(const DataSource &s) {
    return b.getDictionaryAttr({b.getNamedAttr("format", b.getStringAttr(s.format)),
                                b.getNamedAttr("features", b.getStringAttr(s.features)),
                                b.getNamedAttr("labels", b.getStringAttr(s.labels)),
                                b.getNamedAttr("label_column", b.getI64IntegerAttr(s.labelColumn)),
                                b.getNamedAttr("skip", b.getI64IntegerAttr(s.skip)),
                                b.getNamedAttr("sample", b.getI64IntegerAttr(s.sample))});
  }

  DictionaryAttr modelAttr() {
    SmallVector<NamedAttribute> opt{b.getNamedAttr("kind", b.getStringAttr(info.optimizer))};
    for (auto &[key, value] : info.optimizerArgs)
      opt.push_back(b.getNamedAttr(key, b.getF64FloatAttr(value)));
    std::vector<std::string> arch = m.architecture();
    // The typed signature's inputs, in order: what the descriptor, the C
    // header and the loaders are generated from.
    SmallVector<Attribute> inputs;
    for (const InputInfo &in : info.inputs)
      inputs.push_back(b.getDictionaryAttr({
          b.getNamedAttr("name", b.getStringAttr(in.name)),
          b.getNamedAttr("shape", b.getDenseI64ArrayAttr(in.sample)),
          b.getNamedAttr("int", b.getBoolAttr(in.isInt)),
          b.getNamedAttr("bound", b.getI64IntegerAttr(in.bound)),
          b.getNamedAttr("columns", b.getDenseI64ArrayAttr(in.columns))}));
    SmallVector<int64_t> labelSample(m.labels[0].type.dims.begin() + 1, m.labels[0].type.dims.end());
    const Expr &out = *info.lossExpr->args[0].value;
    SmallVector<int64_t> outSample(out.shape.begin() + 1, out.shape.end());
    return b.getDictionaryAttr({
        b.getNamedAttr("name", b.getStringAttr(m.name)),
        b.getNamedAttr("architecture", b.getStrArrayAttr(llvm::to_vector_of<StringRef>(arch))),
        b.getNamedAttr("batch", b.getI64IntegerAttr(info.batch)),
        b.getNamedAttr("epochs", b.getI64IntegerAttr(info.epochs)),
        b.getNamedAttr("schedule", b.getDictionaryAttr({
            b.getNamedAttr("kind", b.getStringAttr(info.schedule)),
            b.getNamedAttr("period", b.getI64IntegerAttr(info.schedulePeriod)),
            b.getNamedAttr("factor", b.getF64FloatAttr(info.scheduleFactor))})),
        b.getNamedAttr("seed", b.getI64IntegerAttr(info.seed)),
        b.getNamedAttr("lr", b.getF64FloatAttr(info.lr)),
        b.getNamedAttr("loss", b.getStringAttr(info.loss)),
        b.getNamedAttr("task", b.getStringAttr(info.task)),
        b.getNamedAttr("num_classes", b.getI64IntegerAttr(info.numClasses)),
        b.getNamedAttr("inputs", b.getArrayAttr(inputs)),
        b.getNamedAttr("label_shape", b.getDenseI64ArrayAttr(labelSample)),
        b.getNamedAttr("output_shape", b.getDenseI64ArrayAttr(outSample)),
        b.getNamedAttr("optimizer", b.getDictionaryAttr(opt)),
        b.getNamedAttr("data", b.getDictionaryAttr({
            b.getNamedAttr("train", sourceAttr(info.train)),
            b.getNamedAttr("test", sourceAttr(info.test)),
            b.getNamedAttr("split", b.getF64FloatAttr(info.split)),
            b.getNamedAttr("scale", b.getF64FloatAttr(info.scale)),
            b.getNamedAttr("standardize", b.getBoolAttr(info.standardize)),
            b.getNamedAttr("vocabulary", b.getStringAttr(info.vocabulary)),
            b.getNamedAttr("lowercase", b.getBoolAttr(info.lowercase)),
            b.getNamedAttr("truncate", b.getBoolAttr(info.truncate))})),
    });
  }

  const Model &m;
  const ModelInfo &info;
  Diagnostics &diags;
  OpBuilder b;
  std::string binding;
  std::map<std::string, Value> values, params, updates;
  bool isTraining = false;
  int64_t rows = 0; // the batch dimension of the function being built
};

} // namespace

OwningOpRef<ModuleOp> kiln::frontend::generateModule(const Model &model, const ModelInfo &info,
                                                     Diagnostics &diags) {
  return Generator(model, info, diags).run();
}
