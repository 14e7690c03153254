//===- ModelDescriptor.cpp - The constant kiln_model table ----------------===//
//
// The descriptor is data, not code: one generic runtime driver serves every
// model by reading this table (see runtime/include/kiln/model.h, whose field
// order the builders below follow exactly).
//
//===----------------------------------------------------------------------===//
#include "compiler/Target/ObjectEmitter.h"
#include "compiler/Transforms/ABI.h"
#include "compiler/Transforms/ModelAttrs.h"
#include "runtime/include/kiln/model.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/Support/xxhash.h"

using namespace mlir;

namespace {

class TableBuilder {
public:
  TableBuilder(llvm::Module &m) : m(m), ctx(m.getContext()) {}

  llvm::Constant *i64(int64_t v) { return llvm::ConstantInt::get(llvm::Type::getInt64Ty(ctx), v); }
  llvm::Constant *f64(double v) { return llvm::ConstantFP::get(llvm::Type::getDoubleTy(ctx), v); }
  llvm::Constant *ptrNull() { return llvm::ConstantPointerNull::get(llvm::PointerType::get(ctx, 0)); }
  llvm::Constant *str(StringRef s) {
    auto *init = llvm::ConstantDataArray::getString(ctx, s);
    auto *g = new llvm::GlobalVariable(m, init->getType(), true, llvm::GlobalValue::PrivateLinkage,
                                       init, ".kiln.str");
    g->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
    return g;
  }
  llvm::Constant *record(ArrayRef<llvm::Constant *> fields) {
    return llvm::ConstantStruct::getAnon(ctx, fields);
  }
  llvm::Constant *global(StringRef name, llvm::Constant *init, bool internal) {
    auto *g = new llvm::GlobalVariable(m, init->getType(), true,
                                       internal ? llvm::GlobalValue::PrivateLinkage
                                                : llvm::GlobalValue::ExternalLinkage,
                                       init, name);
    g->setAlignment(llvm::Align(8));
    return g;
  }
  llvm::Constant *array(ArrayRef<llvm::Constant *> elems, StringRef name) {
    if (elems.empty())
      return ptrNull();
    auto *t = llvm::ArrayType::get(elems[0]->getType(), elems.size());
    return global(name, llvm::ConstantArray::get(t, elems), true);
  }
  llvm::Constant *function(StringRef name) {
    llvm::Function *f = m.getFunction(name);
    return f ? static_cast<llvm::Constant *>(f) : ptrNull();
  }

  llvm::Module &m;
  llvm::LLVMContext &ctx;
};

int64_t initKind(StringRef kind) {
  static const char *const names[] = KILN_INIT_NAMES;
  const auto *it = llvm::find(names, kind);
  return it == std::end(names) ? KILN_INIT_ZEROS : it - std::begin(names);
}

int64_t integer(DictionaryAttr d, StringRef key) {
  auto a = d ? d.getAs<IntegerAttr>(key) : IntegerAttr();
  return a ? a.getInt() : 0;
}
double real(DictionaryAttr d, StringRef key) {
  auto a = d ? d.getAs<FloatAttr>(key) : FloatAttr();
  return a ? a.getValueAsDouble() : 0.0;
}
StringRef text(DictionaryAttr d, StringRef key) {
  auto a = d ? d.getAs<StringAttr>(key) : StringAttr();
  return a ? a.getValue() : StringRef();
}
bool flag(DictionaryAttr d, StringRef key) {
  auto a = d ? d.getAs<BoolAttr>(key) : BoolAttr();
  return a && a.getValue();
}
int64_t numel(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

/// The entry point takes one pointer per input (kiln-abi); the runtime's
/// typedefs take them as one array, x[i] for input i. Renames the entry and
/// puts an unpacking function of the typedef's signature in its place. The
/// entry stays external (hidden): internal, LLVM would specialise its code
/// for its one caller, and a sequence's length would change more of the
/// object than its loop bounds.
void unpackInputs(llvm::Module &m, StringRef name, unsigned numInputs) {
  llvm::Function *entry = m.getFunction(name);
  if (!entry)
    return;
  constexpr unsigned kFirstInput = 2; // after the params and state arenas
  entry->setName(name + ".unpacked");
  entry->setVisibility(llvm::GlobalValue::HiddenVisibility);
  llvm::LLVMContext &ctx = m.getContext();
  llvm::Type *ptr = llvm::PointerType::get(ctx, 0);
  SmallVector<llvm::Type *> params(entry->arg_size() - numInputs + 1, ptr);
  auto *fn = llvm::Function::Create(
      llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), params, false),
      llvm::GlobalValue::ExternalLinkage, name, m);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", fn));
  SmallVector<llvm::Value *> args;
  for (unsigned i = 0; i < kFirstInput; ++i)
    args.push_back(fn->getArg(i));
  for (unsigned i = 0; i < numInputs; ++i)
    args.push_back(b.CreateLoad(ptr, b.CreateConstGEP1_64(ptr, fn->getArg(kFirstInput), i)));
  for (unsigned i = kFirstInput + 1; i < fn->arg_size(); ++i)
    args.push_back(fn->getArg(i));
  b.CreateCall(entry, args);
  b.CreateRetVoid();
}

} // namespace

kiln::ArenaSizes kiln::arenaSizes(ModuleOp module) {
  ArenaSizes sizes;
  if (auto layout = module->getAttrOfType<ArrayAttr>(attrs::kLayout))
    for (auto entry : layout.getAsRange<DictionaryAttr>()) {
      StringRef arena = text(entry, "arena");
      if (arena == "hyper")
        continue;
      auto shape = entry.getAs<DenseI64ArrayAttr>("shape").asArrayRef();
      int64_t &size = arena == "param" ? sizes.params : sizes.state;
      size = std::max(size, (integer(entry, "offset") + numel(shape) + 15) / 16 * 16);
    }
  auto model = module->getAttrOfType<DictionaryAttr>(attrs::kModel);
  std::string prefix = "kiln_" + (model ? text(model, "name") : StringRef()).str() + "_";
  for (const EntryPointDef &def : kEntryPoints)
    if (auto *f = module.lookupSymbol(prefix + def.name))
      if (auto ws = f->getAttrOfType<IntegerAttr>(attrs::kWorkspace))
        sizes.workspace = std::max(sizes.workspace, ws.getInt());
  return sizes;
}

LogicalResult kiln::emitModelDescriptor(ModuleOp module, llvm::Module &llvmModule,
                                        StringRef cpuFeatures, bool exportEntry) {
  auto model = module->getAttrOfType<DictionaryAttr>(attrs::kModel);
  auto layout = module->getAttrOfType<ArrayAttr>(attrs::kLayout);
  if (!model || !layout)
    return module.emitError("the module has no kiln.model / kiln.layout attributes");
  TableBuilder t(llvmModule);
  std::string name = text(model, "name").str();
  std::string prefix = "kiln_" + name + "_";

  SmallVector<llvm::Constant *> params, state;
  for (auto entry : layout.getAsRange<DictionaryAttr>()) {
    StringRef arena = text(entry, "arena");
    if (arena == "hyper")
      continue;
    auto shape = entry.getAs<DenseI64ArrayAttr>("shape").asArrayRef();
    if (shape.size() > 4)
      return module.emitError("tensors of rank > 4 are not supported by the descriptor");
    auto init = entry.getAs<DictionaryAttr>("init");
    SmallVector<llvm::Constant *> fields{t.str(text(entry, "name")), t.i64(integer(entry, "offset")),
                                         t.i64(numel(shape)), t.i64(shape.size())};
    for (size_t i = 0; i < 4; ++i)
      fields.push_back(t.i64(i < shape.size() ? shape[i] : 0));
    fields.append({t.i64(init ? initKind(text(init, "kind")) : 0), t.i64(integer(init, "fan_in")),
                   t.i64(integer(init, "fan_out"))});
    (arena == "param" ? params : state).push_back(t.record(fields));
  }
  ArenaSizes sizes = arenaSizes(module);

  // The inputs, each at its offset within the feature row; the CSV columns
  // the row is read from, if the model names them.
  SmallVector<llvm::Constant *> inputs, columns;
  int64_t rowSize = 0;
  auto inputAttrs = model.getAs<ArrayAttr>("inputs");
  if (!inputAttrs || inputAttrs.empty())
    return module.emitError("the model has no inputs");
  for (auto in : inputAttrs.getAsRange<DictionaryAttr>()) {
    int64_t n = numel(in.getAs<DenseI64ArrayAttr>("shape").asArrayRef());
    inputs.push_back(t.record({t.str(text(in, "name")), t.i64(rowSize), t.i64(n),
                               t.i64(in.getAs<BoolAttr>("int").getValue()), t.i64(integer(in, "bound"))}));
    for (int64_t c : in.getAs<DenseI64ArrayAttr>("columns").asArrayRef())
      columns.push_back(t.i64(c));
    rowSize += n;
  }
  for (const EntryPointDef &def : kEntryPoints)
    unpackInputs(llvmModule, prefix + def.name, inputs.size());

  auto data = model.getAs<DictionaryAttr>("data");
  auto source = [&](StringRef key) {
    auto s = data ? data.getAs<DictionaryAttr>(key) : DictionaryAttr();
    return t.record({t.str(text(s, "format")), t.str(text(s, "features")), t.str(text(s, "labels")),
                     t.i64(s ? integer(s, "label_column") : -1), t.i64(integer(s, "skip")),
                     t.i64(integer(s, "sample"))});
  };

  // The architecture (canonical source lines from the frontend) is what a
  // checkpoint must agree on; the runtime names the first differing line.
  std::string arch;
  if (auto lines = model.getAs<ArrayAttr>("architecture"))
    for (auto line : lines.getAsValueRange<StringAttr>())
      arch += (arch.empty() ? "" : "; ") + line.str();
  uint64_t hash = llvm::xxh3_64bits(arch);

  auto schedule = [&] {
    auto s = model.getAs<DictionaryAttr>("schedule");
    int64_t kind = llvm::StringSwitch<int64_t>(text(s, "kind"))
                       .Case("step", KILN_SCHEDULE_STEP)
                       .Case("cosine", KILN_SCHEDULE_COSINE)
                       .Default(KILN_SCHEDULE_CONSTANT);
    return t.record({t.i64(kind), t.i64(integer(s, "period")), t.f64(real(s, "factor"))});
  };
  auto dims = [&](StringRef key) { return numel(model.getAs<DenseI64ArrayAttr>(key).asArrayRef()); };
  StringRef loss = text(model, "loss");
  SmallVector<llvm::Constant *> entries;
  for (const EntryPointDef &def : kEntryPoints)
    entries.push_back(t.function(prefix + def.name));
  SmallVector<llvm::Constant *> fields{
      t.i64(KILN_ABI_VERSION), t.str(name), t.i64(static_cast<int64_t>(hash)), t.str(arch),
      t.i64(integer(model, "batch")), t.i64(integer(model, "epochs")), t.i64(integer(model, "seed")),
      t.f64(real(model, "lr")), schedule(),
      t.str(text(model.getAs<DictionaryAttr>("optimizer"), "kind")), t.str(loss),
      t.str(text(model, "task")), t.i64(integer(model, "num_classes")),
      t.i64(rowSize), t.i64(dims("label_shape")), t.i64(dims("output_shape")),
      t.i64(loss == "softmax_cross_entropy"), t.i64(inputs.size()), t.array(inputs, ".kiln.inputs"),
      t.array(columns, ".kiln.columns"),
      t.i64(params.size()), t.array(params, ".kiln.params"), t.i64(sizes.params),
      t.i64(state.size()), t.array(state, ".kiln.state"), t.i64(sizes.state),
      t.i64(sizes.workspace), source("train"), source("test"),
      t.f64(real(data, "split")), t.f64(real(data, "scale")),
      t.i64(flag(data, "standardize")), t.str(text(data, "vocabulary")),
      t.i64(flag(data, "lowercase")), t.i64(flag(data, "truncate"))};
  fields.append(entries);
  // A GPU build's kernels (GPUHostToLLVM put them in module attributes).
  SmallVector<llvm::Constant *> kernels;
  if (auto names = module->getAttrOfType<ArrayAttr>("kiln.gpu.kernels"))
    for (auto name : names.getAsValueRange<StringAttr>())
      kernels.push_back(t.str(name));
  auto ptx = module->getAttrOfType<StringAttr>("kiln.gpu.ptx");
  fields.append({ptx ? t.str(ptx.getValue()) : t.ptrNull(), t.i64(kernels.size()),
                 t.array(kernels, ".kiln.kernels"), t.str(cpuFeatures)});
  llvm::Constant *table = t.record(fields);
  llvm::Constant *desc = t.global("kiln_model_" + name, table, false);
  if (exportEntry)
    t.global("kiln_entry_model", desc, false);
  return success();
}
