//===- ABI.cpp - Flat-buffer C entry points for kiln functions ------------===//
//
// The runtime owns three f32 arenas (parameters, optimizer state, run-time
// hyper-parameters) and knows nothing of tensors. An entry point views each
// tensor as a static slice of its arena, runs the value-semantics function,
// and materializes results in place: a result marked `kiln.update = i` goes
// back into argument i's slice, any other result into its own out-buffer.
//
//===----------------------------------------------------------------------===//
#include "compiler/Transforms/ABI.h"
#include "compiler/Transforms/ModelAttrs.h"
#include "compiler/Transforms/Passes.h"
#include "runtime/include/kiln/model.h"

#include "mlir/IR/IRMapping.h"

namespace kiln {
#define GEN_PASS_DEF_KILNABI
#include "compiler/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {
constexpr int64_t kAlignElems = 16; // 64 bytes of f32: one cache line.

int64_t alignUp(int64_t v) { return (v + kAlignElems - 1) / kAlignElems * kAlignElems; }

enum class Arena { None, Params, State, Hyper };

Arena arenaOf(func::FuncOp f, unsigned i) {
  if (f.getArgAttr(i, attrs::kParam))
    return Arena::Params;
  if (f.getArgAttr(i, attrs::kState))
    return Arena::State;
  if (f.getArgAttr(i, attrs::kHyper))
    return Arena::Hyper;
  return Arena::None;
}

StringRef arenaName(Arena a) {
  switch (a) {
  case Arena::Params: return "param";
  case Arena::State: return "state";
  case Arena::Hyper: return "hyper";
  case Arena::None: break;
  }
  return "";
}
} // namespace

FailureOr<func::FuncOp> kiln::buildEntryPoint(func::FuncOp fn, StringRef name,
                                              const EntryOptions &options,
                                              SmallVectorImpl<TensorSlot> &layout) {
  MLIRContext *ctx = fn.getContext();
  Location loc = fn.getLoc();
  auto fnType = fn.getFunctionType();

  // Offsets of each arena argument, in argument order.
  DenseMap<unsigned, int64_t> offsets;
  int64_t size[4] = {0, 0, 0, 0};
  Type elemTy;
  for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
    Arena a = arenaOf(fn, i);
    if (a == Arena::None)
      continue;
    auto t = cast<RankedTensorType>(fnType.getInput(i));
    if (elemTy && elemTy != t.getElementType())
      return fn.emitError("all arena tensors must share one element type");
    elemTy = t.getElementType();
    int64_t &s = size[static_cast<int>(a)];
    auto nameAttr = fn.getArgAttr(i, a == Arena::Params  ? attrs::kParam
                                     : a == Arena::State ? attrs::kState
                                                         : attrs::kHyper);
    std::string tensorName = cast<StringAttr>(nameAttr).str();
    const TensorSlot *ref = llvm::find_if(options.reference, [&](const TensorSlot &r) {
      return r.arena == arenaName(a) && r.name == tensorName;
    });
    if (ref != options.reference.end()) {
      offsets[i] = ref->offset;
    } else {
      offsets[i] = s;
      // Hyper-parameters are scalars packed densely; tensors get aligned slots.
      s = a == Arena::Hyper ? s + t.getNumElements() : alignUp(s + t.getNumElements());
    }
    layout.push_back({arenaName(a).str(), tensorName, offsets[i],
                      SmallVector<int64_t>(t.getShape()),
                      fn.getArgAttrOfType<DictionaryAttr>(i, attrs::kInit)});
  }
  // Arenas shared with the reference entry keep its sizes.
  for (const TensorSlot &r : options.reference) {
    int64_t numel = 1;
    for (int64_t d : r.shape)
      numel *= d;
    int arena = r.arena == "param" ? 1 : r.arena == "state" ? 2 : 3;
    size[arena] = std::max(size[arena], r.arena == "hyper" ? r.offset + numel
                                                          : alignUp(r.offset + numel));
  }
  if (!elemTy)
    elemTy = Float32Type::get(ctx);

  // Entry signature: [params] [state] data... [hyper] outs...
  SmallVector<Type> argTypes;
  SmallVector<StringRef> roles;
  auto arenaType = [&](Arena a) {
    return MemRefType::get({size[static_cast<int>(a)]}, elemTy);
  };
  int params = -1, state = -1, hyper = -1;
  auto hasArena = [&](Arena a) {
    return llvm::any_of(llvm::seq(0u, fn.getNumArguments()),
                        [&](unsigned i) { return arenaOf(fn, i) == a; });
  };
  if (options.alwaysArenas || hasArena(Arena::Params)) {
    params = argTypes.size();
    roles.push_back("params");
    argTypes.push_back(arenaType(Arena::Params));
  }
  if (options.alwaysArenas || hasArena(Arena::State)) {
    state = argTypes.size();
    roles.push_back("state");
    argTypes.push_back(arenaType(Arena::State));
  }
  DenseMap<unsigned, unsigned> dataArg;
  for (unsigned i = 0; i < fn.getNumArguments(); ++i)
    if (arenaOf(fn, i) == Arena::None) {
      auto t = cast<RankedTensorType>(fnType.getInput(i));
      dataArg[i] = argTypes.size();
      roles.push_back(fn.getArgAttr(i, attrs::kLabel) ? "label" : "input");
      argTypes.push_back(MemRefType::get(t.getShape(), t.getElementType()));
    }
  if (options.alwaysHyper || hasArena(Arena::Hyper)) {
    hyper = argTypes.size();
    roles.push_back("hyper");
    argTypes.push_back(arenaType(Arena::Hyper));
  }
  DenseMap<unsigned, unsigned> outArg;
  for (unsigned r = 0; r < fn.getNumResults(); ++r)
    if (!fn.getResultAttr(r, "kiln.update")) {
      auto t = cast<RankedTensorType>(fnType.getResult(r));
      outArg[r] = argTypes.size();
      roles.push_back(options.outputRole);
      argTypes.push_back(MemRefType::get(t.getShape(), t.getElementType()));
    }

  OpBuilder mb(fn);
  auto entry = mb.create<func::FuncOp>(loc, name, mb.getFunctionType(argTypes, {}));
  // What each parameter is, in order; the workspace comes last (kiln-plan-memory).
  roles.push_back("workspace");
  entry->setAttr(attrs::kRoles, mb.getStrArrayAttr(roles));
  Block *block = entry.addEntryBlock();
  OpBuilder b = OpBuilder::atBlockEnd(block);

  // A static slice of an arena, as a memref with a strided layout.
  DenseMap<unsigned, Value> sliceOf;
  auto slice = [&](unsigned i) -> Value {
    auto t = cast<RankedTensorType>(fnType.getInput(i));
    Arena a = arenaOf(fn, i);
    Value base = block->getArgument(a == Arena::Params ? params
                                    : a == Arena::State ? state
                                                        : hyper);
    SmallVector<int64_t> strides(t.getRank(), 1);
    for (int64_t d = t.getRank() - 2; d >= 0; --d)
      strides[d] = strides[d + 1] * t.getDimSize(d + 1);
    auto layoutAttr = StridedLayoutAttr::get(ctx, offsets[i], strides);
    auto type = MemRefType::get(t.getShape(), elemTy, layoutAttr);
    return b.create<memref::ReinterpretCastOp>(loc, type, base, offsets[i], t.getShape(), strides);
  };

  IRMapping map;
  for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
    Value buffer = arenaOf(fn, i) == Arena::None ? block->getArgument(dataArg[i]) : slice(i);
    sliceOf[i] = buffer;
    bool writable = arenaOf(fn, i) != Arena::None && options.inPlace;
    auto toTensor = b.create<bufferization::ToTensorOp>(loc, buffer, /*restrict=*/true,
                                                        /*writable=*/writable);
    map.map(fn.getArgument(i), toTensor.getResult());
  }
  for (Operation &op : fn.getBody().front().without_terminator())
    b.clone(op, map);
  auto ret = cast<func::ReturnOp>(fn.getBody().front().getTerminator());
  for (unsigned r = 0; r < fn.getNumResults(); ++r) {
    Value dest;
    if (auto upd = fn.getResultAttrOfType<IntegerAttr>(r, "kiln.update"))
      dest = sliceOf[upd.getInt()];
    else
      dest = block->getArgument(outArg[r]);
    auto mat = b.create<bufferization::MaterializeInDestinationOp>(
        loc, TypeRange{}, map.lookup(ret.getOperand(r)), dest);
    mat.setRestrict(true);
    mat.setWritable(true);
  }
  b.create<func::ReturnOp>(loc);
  return entry;
}

namespace {
ArrayAttr layoutAttr(Builder &b, ArrayRef<TensorSlot> slots) {
  SmallVector<Attribute> entries;
  for (const TensorSlot &s : slots) {
    SmallVector<NamedAttribute> fields{
        b.getNamedAttr("arena", b.getStringAttr(s.arena)),
        b.getNamedAttr("name", b.getStringAttr(s.name)),
        b.getNamedAttr("offset", b.getI64IntegerAttr(s.offset)),
        b.getNamedAttr("shape", b.getDenseI64ArrayAttr(s.shape))};
    if (s.init)
      fields.push_back(b.getNamedAttr("init", s.init));
    entries.push_back(b.getDictionaryAttr(fields));
  }
  return b.getArrayAttr(entries);
}

/// The runtime calls entry points through the typedefs of kiln/model.h,
/// whose parameter lists it also states as text: an entry point that differs
/// is a compiler bug, reported here rather than left to a mismatched call.
LogicalResult checkRoles(func::FuncOp entry, StringRef expected) {
  SmallVector<StringRef> want;
  expected.split(want, ' ');
  auto roles = entry->getAttrOfType<ArrayAttr>(attrs::kRoles);
  // The runtime passes the inputs as one array of pointers, which the
  // object emitter unpacks into the entry's per-input parameters.
  SmallVector<StringRef> have;
  for (Attribute a : roles) {
    StringRef role = cast<StringAttr>(a).getValue();
    if (role == "input" && !have.empty() && have.back() == "inputs")
      continue;
    have.push_back(role == "input" ? "inputs" : role);
  }
  if (have == want)
    return success();
  return entry.emitError() << "internal error: " << entry.getSymName() << " takes ("
                           << llvm::join(have, ", ") << ") but the runtime calls it with ("
                           << llvm::join(want, ", ") << ") (runtime/include/kiln/model.h)";
}

struct KilnABIPass : kiln::impl::KilnABIBase<KilnABIPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto model = module->getAttrOfType<DictionaryAttr>(attrs::kModel);
    auto nameAttr = model ? model.getAs<StringAttr>("name") : StringAttr();
    if (!nameAttr) {
      module.emitError("kiln-abi: the module has no kiln.model name");
      return signalPassFailure();
    }
    std::string prefix = "kiln_" + nameAttr.str() + "_";
    Builder builder(module.getContext());
    SmallVector<Operation *> consumed;
    SmallVector<TensorSlot> trainLayout;
    for (const EntryPointDef &def : kEntryPoints) {
      bool inPlace = def.trains;
      auto fn = module.lookupSymbol<func::FuncOp>(def.name);
      if (!fn)
        continue;
      SmallVector<TensorSlot> layout;
      EntryOptions options;
      options.alwaysArenas = true;
      options.alwaysHyper = options.inPlace = inPlace;
      if (!inPlace)
        options.reference = trainLayout;
      options.outputRole = inPlace ? "loss" : "output";
      auto entry = buildEntryPoint(fn, prefix + def.name, options, layout);
      if (failed(entry) || failed(checkRoles(*entry, def.params)))
        return signalPassFailure();
      // The training step sees every tensor; its layout is the model's.
      if (inPlace || !module->hasAttr(attrs::kLayout))
        module->setAttr(attrs::kLayout, layoutAttr(builder, layout));
      if (inPlace)
        trainLayout = layout;
    }
    // The value-semantics functions live on only inside the entry points.
    for (auto fn : llvm::make_early_inc_range(module.getOps<func::FuncOp>()))
      if (!fn.getSymName().starts_with(prefix))
        fn.erase();
  }
};
} // namespace
