//===- Embedding.cpp - C API, header and static library for a model -------===//
//
// An application embeds a model through a few typed C functions named after
// it. They are thin calls into the generic runtime, emitted as LLVM IR into
// the model's object, so the header needs no runtime headers and the library
// is self-contained but for zlib and libm.
//
//===----------------------------------------------------------------------===//
#include "compiler/Target/Embedding.h"
#include "compiler/Transforms/ModelAttrs.h"
#include "runtime/include/kiln/runtime.h"

#include "llvm/IR/IRBuilder.h"
#include "llvm/Object/Archive.h"
#include "llvm/Object/ArchiveWriter.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"

using namespace mlir;

static DictionaryAttr modelAttr(ModuleOp module) {
  return module->getAttrOfType<DictionaryAttr>(kiln::attrs::kModel);
}

static StringRef modelName(ModuleOp module) {
  auto name = modelAttr(module) ? modelAttr(module).getAs<StringAttr>("name") : StringAttr();
  return name ? name.getValue() : StringRef();
}

LogicalResult kiln::emitEmbeddingAPI(ModuleOp module, llvm::Module &m) {
  std::string name = modelName(module).str();
  llvm::GlobalVariable *desc = m.getGlobalVariable("kiln_model_" + name);
  if (!desc)
    return module.emitError("no model descriptor to build the C API on");
  llvm::LLVMContext &ctx = m.getContext();
  llvm::Type *ptr = llvm::PointerType::get(ctx, 0);
  llvm::Type *voidTy = llvm::Type::getVoidTy(ctx);
  llvm::Type *i32 = llvm::Type::getInt32Ty(ctx);
  llvm::Type *i64 = llvm::Type::getInt64Ty(ctx);
  llvm::Type *f32 = llvm::Type::getFloatTy(ctx);

  // Each API function forwards its arguments to a runtime function, with the
  // descriptor as the first argument of `create`.
  auto forward = [&](StringRef api, StringRef runtime, llvm::Type *ret,
                     ArrayRef<llvm::Type *> params, bool passDescriptor) {
    auto *fnTy = llvm::FunctionType::get(ret, params, false);
    auto *fn = llvm::Function::Create(fnTy, llvm::GlobalValue::ExternalLinkage, name + "_" + api, m);
    SmallVector<llvm::Type *> calleeParams;
    if (passDescriptor)
      calleeParams.push_back(ptr);
    calleeParams.append(params.begin(), params.end());
    auto callee = m.getOrInsertFunction(runtime, llvm::FunctionType::get(ret, calleeParams, false));
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", fn));
    SmallVector<llvm::Value *> args;
    if (passDescriptor)
      args.push_back(desc);
    for (llvm::Argument &a : fn->args())
      args.push_back(&a);
    llvm::Value *r = b.CreateCall(callee, args);
    if (ret->isVoidTy())
      b.CreateRetVoid();
    else
      b.CreateRet(r);
  };
  forward("create", "kiln_state_create", ptr, {}, true);
  forward("destroy", "kiln_state_destroy", voidTy, {ptr}, false);
  forward("init", "kiln_state_init", voidTy, {ptr, i64}, false);
  forward("set_lr", "kiln_state_set_lr", voidTy, {ptr, f32}, false);
  forward("set_flush_denormals", "kiln_state_set_flush_denormals", voidTy, {ptr, i32}, false);
  forward("set_threads", "kiln_state_set_threads", voidTy, {ptr, i32}, false);
  forward("save", "kiln_checkpoint_save", i32, {ptr, ptr}, false);
  forward("load", "kiln_checkpoint_load", i32, {ptr, ptr}, false);
  forward("error", "kiln_error", ptr, {}, false);
  forward("take_losses", "kiln_state_take_losses", i32, {ptr, ptr}, false);
  auto data = modelAttr(module).getAs<DictionaryAttr>("data");
  auto vocabulary = data ? data.getAs<StringAttr>("vocabulary") : StringAttr();
  if (vocabulary && !vocabulary.getValue().empty())
    forward("encode", "kiln_text_encode", i32, {ptr, ptr}, true);

  // Functions taking one typed pointer per input (per f32 input for the
  // preprocessing) pass them to the runtime as one array indexed by input,
  // null where an input is not passed.
  SmallVector<bool> isInt;
  for (auto in : modelAttr(module).getAs<ArrayAttr>("inputs").getAsRange<DictionaryAttr>())
    isInt.push_back(in.getAs<BoolAttr>("int").getValue());
  auto packed = [&](StringRef api, StringRef runtime, llvm::Type *ret, bool floatsOnly,
                    ArrayRef<llvm::Type *> rest) {
    SmallVector<llvm::Type *> params{ptr};
    for (bool id : isInt)
      if (!(floatsOnly && id))
        params.push_back(ptr);
    params.append(rest.begin(), rest.end());
    auto *fn = llvm::Function::Create(llvm::FunctionType::get(ret, params, false),
                                      llvm::GlobalValue::ExternalLinkage, name + "_" + api, m);
    SmallVector<llvm::Type *> runtimeParams{ptr, ptr};
    runtimeParams.append(rest.begin(), rest.end());
    auto callee = m.getOrInsertFunction(runtime, llvm::FunctionType::get(ret, runtimeParams, false));
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", fn));
    auto *array = b.CreateAlloca(llvm::ArrayType::get(ptr, isInt.size()));
    unsigned next = 1;
    for (auto [i, id] : llvm::enumerate(isInt)) {
      llvm::Value *v = floatsOnly && id ? llvm::ConstantPointerNull::get(llvm::PointerType::get(ctx, 0))
                                        : static_cast<llvm::Value *>(fn->getArg(next++));
      b.CreateStore(v, b.CreateConstGEP2_64(array->getAllocatedType(), array, 0, i));
    }
    SmallVector<llvm::Value *> args{fn->getArg(0), array};
    for (unsigned i = next; i < fn->arg_size(); ++i)
      args.push_back(fn->getArg(i));
    llvm::Value *r = b.CreateCall(callee, args);
    if (ret->isVoidTy())
      b.CreateRetVoid();
    else
      b.CreateRet(r);
  };
  packed("train_step", "kiln_state_train_step", f32, false, {ptr});
  packed("queue_step", "kiln_state_queue_step", i32, false, {ptr});
  packed("predict", "kiln_state_predict", i32, false, {i64, ptr});
  if (llvm::is_contained(isInt, false)) {
    packed("fit_preprocess", "kiln_fit_preprocess", i32, true, {i64});
    packed("preprocess", "kiln_preprocess", i32, true, {i64});
  }
  return success();
}

/// An input's name as a C parameter name: suffixed with '_' where it would
/// be a C keyword or clash with the API's own parameters.
static std::string cParam(StringRef name) {
  static const char *const taken[] = {
      "m", "y", "out", "rows", "auto", "break", "case", "char", "const", "continue", "default",
      "do", "double", "else", "enum", "extern", "float", "for", "goto", "if", "inline", "int",
      "long", "register", "restrict", "return", "short", "signed", "sizeof", "static", "struct",
      "switch", "typedef", "union", "unsigned", "void", "volatile", "while", "bool", "true",
      "false", "int32_t", "int64_t", "uint64_t", "class", "new", "delete", "this", "template",
      "namespace", "private", "public", "protected", "virtual", "operator", "friend", "try",
      "catch", "throw"};
  return llvm::is_contained(taken, name) ? name.str() + "_" : name.str();
}

LogicalResult kiln::writeHeader(ModuleOp module, llvm::raw_ostream &os) {
  DictionaryAttr model = modelAttr(module);
  if (!model)
    return module.emitError("no kiln.model attribute to describe in a header");
  std::string name = modelName(module).str();
  std::string upper = llvm::StringRef(name).upper();
  auto numel = [&](StringRef key) {
    int64_t n = 1;
    for (int64_t d : model.getAs<DenseI64ArrayAttr>(key).asArrayRef())
      n *= d;
    return n;
  };
  int64_t batch = model.getAs<IntegerAttr>("batch").getInt();
  bool classLabels = model.getAs<StringAttr>("loss").getValue() == "softmax_cross_entropy";
  std::string labelType = classLabels ? "int32_t" : "float";
  struct Input {
    std::string param, macro;
    bool isInt;
    int64_t numel, bound;
  };
  SmallVector<Input> inputs;
  for (auto in : model.getAs<ArrayAttr>("inputs").getAsRange<DictionaryAttr>()) {
    StringRef inName = in.getAs<StringAttr>("name").getValue();
    int64_t n = 1;
    for (int64_t d : in.getAs<DenseI64ArrayAttr>("shape").asArrayRef())
      n *= d;
    inputs.push_back({cParam(inName), upper + "_INPUT_" + inName.upper(),
                      in.getAs<BoolAttr>("int").getValue(), n,
                      in.getAs<IntegerAttr>("bound").getInt()});
  }
  // "const float *a, const int32_t *b" for the inputs (or only the f32 ones).
  auto inputParams = [&](bool floatsOnly, bool isConst) {
    std::string out;
    for (const Input &in : inputs)
      if (!(floatsOnly && in.isInt))
        out += (isConst ? "const " : "") + std::string(in.isInt ? "int32_t *" : "float *") +
               in.param + ", ";
    return out;
  };
  os << "/* " << name << ".h - C API of the Kiln model '" << name << "'.\n"
     << " * Generated by kilnc; link with lib" << name << ".a -lz -lm -lpthread.\n"
     << " *\n"
     << " * A training step takes one batch of " << upper << "_BATCH rows; prediction\n"
     << " * takes any number of rows. Functions returning int give 0 on success and\n"
     << " * -1 on failure; " << name << "_error() then describes the failure. */\n"
     << "#ifndef KILN_MODEL_" << upper << "_H\n#define KILN_MODEL_" << upper << "_H\n\n"
     << "#include <stdint.h>\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
     << "#define " << upper << "_BATCH " << batch << "\n"
     << "/* Steps " << name << "_queue_step holds before their losses are taken. */\n"
     << "#define " << upper << "_QUEUE_STEPS " << KILN_QUEUE_STEPS << "\n"
     << "/* The inputs, in the order train_step and predict take them. */\n";
  for (const Input &in : inputs) {
    os << "#define " << in.macro << "_SIZE " << in.numel << " /* " << (in.isInt ? "int32_t" : "float")
       << " per row */\n";
    if (in.isInt)
      os << "#define " << in.macro << "_BOUND " << in.bound << " /* ids are in [0, " << in.bound
         << ") */\n";
  }
  os << "#define " << upper << "_LABEL_SIZE " << numel("label_shape") << " /* "
     << labelType << " per row */\n"
     << "#define " << upper << "_OUTPUT_SIZE " << numel("output_shape") << " /* floats per row */\n";
  auto data = model.getAs<DictionaryAttr>("data");
  auto scale = data ? data.getAs<FloatAttr>("scale") : FloatAttr();
  auto standardize = data ? data.getAs<BoolAttr>("standardize") : BoolAttr();
  bool anyFloat = llvm::any_of(inputs, [](const Input &in) { return !in.isInt; });
  if (anyFloat)
    os << "#define " << upper << "_SCALE "
       << llvm::format("%.17g", scale && scale.getValueAsDouble() != 0 ? scale.getValueAsDouble() : 1.0)
       << "\n"
       << "#define " << upper << "_STANDARDIZES " << (standardize && standardize.getValue() ? 1 : 0)
       << "\n";
  if (classLabels)
    os << "#define " << upper << "_CLASSES " << model.getAs<IntegerAttr>("num_classes").getInt() << "\n";
  os << "\n/* Parameters, optimizer state and workspace of one model instance. */\n"
     << "typedef struct " << name << " " << name << ";\n\n"
     << "/* Allocates a model; NULL on failure. Parameters are zero until init or load. */\n"
     << name << " *" << name << "_create(void);\n"
     << "void " << name << "_destroy(" << name << " *m);\n"
     << "/* Initialises parameters from the model's initialisers; same seed, same weights. */\n"
     << "void " << name << "_init(" << name << " *m, uint64_t seed);\n"
     << "void " << name << "_set_lr(" << name << " *m, float lr);\n"
     << "/* Steps run with subnormal floats flushed to zero (default 1; the caller's\n"
     << " * floating-point mode is restored after each call). 0 keeps them. */\n"
     << "void " << name << "_set_flush_denormals(" << name << " *m, int on);\n"
     << "/* Threads a step or prediction may use (default 0: every core the process\n"
     << " * may run on). Results are bitwise the same for every count. */\n"
     << "void " << name << "_set_threads(" << name << " *m, int threads);\n";
  if (anyFloat)
    os << "/* Raw f32 inputs become model inputs through " << name << "_preprocess, in\n"
       << " * place: x * " << upper << "_SCALE, then, if " << upper << "_STANDARDIZES, (x - mean) / std\n"
       << " * with statistics that " << name << "_fit_preprocess fits on training rows or\n"
       << " * " << name << "_load restores (checkpoints carry them). Ids are not preprocessed. */\n"
       << "int " << name << "_fit_preprocess(" << name << " *m, " << inputParams(true, true)
       << "int64_t rows);\n"
       << "int " << name << "_preprocess(const " << name << " *m, " << inputParams(true, false)
       << "int64_t rows);\n";
  auto vocabulary = data ? data.getAs<StringAttr>("vocabulary") : StringAttr();
  if (vocabulary && !vocabulary.getValue().empty())
    os << "/* A line of text (UTF-8; a trailing line break ignored) to the ids of one\n"
       << " * row of '" << inputs[0].param << "', as the model's loader reads its text files:\n"
       << " * characters through the vocabulary, right-aligned, 0 padding before. */\n"
       << "int " << name << "_encode(const char *text, int32_t *ids);\n";
  os << "/* One optimizer step on a batch of each input and y[BATCH][LABEL_SIZE];\n"
     << " * returns the loss, or NaN with " << name << "_error() set (and no step taken)\n"
     << " * when a pointer is NULL, an id is outside its input's bound or a class\n"
     << " * label outside the model's classes. */\n"
     << "float " << name << "_train_step(" << name << " *m, " << inputParams(false, true) << "const "
     << labelType << " *y);\n"
     << "/* The same step without waiting for its loss: a GPU build returns once the\n"
     << " * step is launched (the arrays are copied by then), so the device runs it\n"
     << " * while the caller prepares the next batch; a CPU build runs it in the call.\n"
     << " * Fails as _train_step does, or when " << upper << "_QUEUE_STEPS steps are queued. */\n"
     << "int " << name << "_queue_step(" << name << " *m, " << inputParams(false, true) << "const "
     << labelType << " *y);\n"
     << "/* Waits for the queued steps and writes their losses, oldest first, to\n"
     << " * losses[" << upper << "_QUEUE_STEPS]; returns how many, or -1 when one failed\n"
     << " * on the device (a kernel fault leaves the device unusable to this process;\n"
     << " * a new one resumes from the last checkpoint). _train_step refuses to run\n"
     << " * while steps are queued; prediction and saving see them done. */\n"
     << "int " << name << "_take_losses(" << name << " *m, float *losses);\n"
     << "/* Model outputs (logits for classifiers) of `rows` rows of each input into\n"
     << " * out[rows][OUTPUT_SIZE]: whole batches at the compiled batch size, the\n"
     << " * rest (and a single row) by a one-row version, without padding. */\n"
     << "int " << name << "_predict(" << name << " *m, " << inputParams(false, true)
     << "int64_t rows, float *out);\n"
     << "/* Checkpoints in the safetensors format, written atomically: parameters,\n"
     << " * optimizer state and preprocessing statistics. Loading refuses a checkpoint\n"
     << " * of another architecture or preprocessing. */\n"
     << "int " << name << "_save(const " << name << " *m, const char *path);\n"
     << "int " << name << "_load(" << name << " *m, const char *path);\n"
     << "const char *" << name << "_error(void);\n\n"
     << "#ifdef __cplusplus\n}\n#endif\n\n#endif\n";
  return success();
}

LogicalResult kiln::writeStaticLibrary(ArrayRef<std::string> objects, StringRef name,
                                       StringRef runtimeArchive, StringRef outPath) {
  std::vector<llvm::NewArchiveMember> members;
  std::vector<std::string> names;
  for (size_t k = 0; k < objects.size(); ++k)
    names.push_back((name + "." + llvm::Twine(k) + ".o").str());
  for (size_t k = 0; k < objects.size(); ++k)
    members.emplace_back(llvm::MemoryBufferRef(objects[k], names[k]));
  auto buffer = llvm::MemoryBuffer::getFile(runtimeArchive);
  if (!buffer) {
    llvm::errs() << "kilnc: error: cannot read the runtime library '" << runtimeArchive
                 << "': " << buffer.getError().message() << "\n";
    return failure();
  }
  llvm::Error err = llvm::Error::success();
  llvm::object::Archive archive((*buffer)->getMemBufferRef(), err);
  if (err) {
    llvm::errs() << "kilnc: error: " << runtimeArchive << ": " << llvm::toString(std::move(err)) << "\n";
    return failure();
  }
  for (const auto &child : archive.children(err)) {
    auto member = llvm::NewArchiveMember::getOldMember(child, /*Deterministic=*/true);
    if (!member) {
      llvm::errs() << "kilnc: error: " << llvm::toString(member.takeError()) << "\n";
      return failure();
    }
    members.push_back(std::move(*member));
  }
  if (err) {
    llvm::errs() << "kilnc: error: " << runtimeArchive << ": " << llvm::toString(std::move(err)) << "\n";
    return failure();
  }
  if (llvm::Error e = llvm::writeArchive(outPath, members, llvm::SymtabWritingMode::NormalSymtab,
                                         llvm::object::Archive::K_GNU, /*Deterministic=*/true,
                                         /*Thin=*/false)) {
    llvm::errs() << "kilnc: error: cannot write '" << outPath << "': " << llvm::toString(std::move(e)) << "\n";
    return failure();
  }
  return success();
}
