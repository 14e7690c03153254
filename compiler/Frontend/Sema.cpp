//===- Sema.cpp - Names, shapes and settings of a .kiln model -------------===//
#include "compiler/Frontend/Sema.h"
#include "runtime/include/kiln/model.h"
#include "compiler/Frontend/Layers.h"
#include "compiler/Transforms/Optimizers.h"

#include "llvm/Support/ConvertUTF.h"
#include "llvm/Support/Format.h"

#include <set>

using namespace kiln::frontend;

namespace {

/// "; did you mean 'x'?" for the candidate closest to `word`, if close enough.
std::string suggest(llvm::StringRef word, llvm::ArrayRef<std::string> candidates) {
  std::string best;
  // Up to two edits (a swapped pair of letters counts as two), more for long words.
  unsigned bestDistance = std::max<unsigned>(2, word.size() / 3) + 1;
  for (const std::string &c : candidates) {
    unsigned d = word.edit_distance(c, /*AllowReplacements=*/true, bestDistance);
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return best.empty() ? "" : "; did you mean '" + best + "'?";
}

const char *const kInitNames[] = KILN_INIT_NAMES;
/// The initialisers a model may name: all but "seed", which layers set.
bool userInit(llvm::StringRef name) {
  return name != "seed" && llvm::is_contained(kInitNames, name);
}

class Analyzer : public LayerChecker {
public:
  Analyzer(Model &m, Diagnostics &d, ModelInfo &info) : m(m), diags(d), info(info) {}

  void run(std::optional<int64_t> batchOverride) {
    settings(batchOverride);
    declarations();
    for (Binding &b : m.bindings) {
      if (env.count(b.name)) {
        diags.error(b.loc) << "'" << b.name << "' is already defined";
        continue;
      }
      current = &b;
      denseCount = 0;
      bool isLoss = b.name == "loss";
      if (check(*b.value, isLoss))
        env[b.name] = b.value.get();
      else
        poisoned.insert(b.name);
      if (isLoss)
        lossBinding(b);
    }
    if (!info.lossExpr && !lossSeen)
      diags.error(m.loc) << "model '" << m.name << "' has no 'loss = ...' statement";
    // Only on a model that checked cleanly: after an error, uses go uncounted.
    if (diags.errorCount() == 0 && info.lossExpr)
      dropDeadBindings();
    if (info.lossExpr && info.lossExpr->args[0].value->readsLabel) {
      const Expr &out = *info.lossExpr->args[0].value;
      diags.error(out.loc) << "the model's output (the loss's first argument) is computed from the "
                              "label '"
                           << m.labels[0].name << "', which predict does not have";
    }
    optimizer();
    data();
  }

private:
  /// Bindings the loss does not depend on are reported and, with their
  /// parameters, left out (MLIRGen builds only what the loss and the output
  /// need).
  void dropDeadBindings() {
    std::set<std::string> live;
    std::vector<const Expr *> work{info.lossExpr};
    while (!work.empty()) {
      const Expr *e = work.back();
      work.pop_back();
      if (e->kind == Expr::Kind::Name && live.insert(e->text).second)
        for (const Binding &b : m.bindings)
          if (b.name == e->text)
            work.push_back(b.value.get());
      for (const Arg &a : e->args)
        work.push_back(a.value.get());
    }
    for (const Binding &b : m.bindings)
      if (b.value.get() != info.lossExpr && !live.count(b.name))
        diags.warning(b.loc) << "'" << b.name << "' does not contribute to the loss; it is left out";
    // A parameter is named after its binding: "<binding>[.<n>].weight".
    llvm::erase_if(info.params, [&](const ParamInfo &p) {
      std::string owner = p.name.substr(0, p.name.find('.'));
      const Binding *b = nullptr;
      for (const Binding &bd : m.bindings)
        if (bd.name == owner)
          b = &bd;
      return b && b->value.get() != info.lossExpr && !live.count(owner);
    });
  }

  // --- settings ----------------------------------------------------------
  /// A number in [min, max], or in [min, max) if `belowMax`.
  std::optional<double> number(const Arg &a, bool integer, double min, double max,
                               bool belowMax = false) {
    const Expr &e = *a.value;
    if (e.kind != Expr::Kind::Number || (integer && !e.isInteger)) {
      diags.error(e.loc) << "'" << a.key << "' must be " << (integer ? "an integer" : "a number");
      return std::nullopt;
    }
    if (e.number < min || e.number > max || (belowMax && e.number == max)) {
      auto g = [](double v) {
        std::string out;
        llvm::raw_string_ostream(out) << llvm::format("%g", v);
        return out;
      };
      diags.error(e.loc) << "'" << a.key << "' must be in [" << g(min) << ", " << g(max)
                         << (belowMax ? ")" : "]") << ", got " << g(e.number);
      return std::nullopt;
    }
    return e.number;
  }

  void settings(std::optional<int64_t> batchOverride) {
    for (const Arg &a : m.train) {
      if (a.key == "batch") {
        if (auto v = number(a, true, 1, 1 << 20)) info.batch = int64_t(*v);
      } else if (a.key == "epochs") {
        if (auto v = number(a, true, 0, 1e6)) info.epochs = int64_t(*v);
      } else if (a.key == "seed") {
        if (auto v = number(a, true, 0, 9007199254740992.0)) info.seed = int64_t(*v);
      } else if (a.key == "schedule") {
        schedule(a);
      } else {
        diags.error(a.loc) << "unknown training setting '" << a.key
                           << "' (expected batch, epochs, seed or schedule)"
                           << suggest(a.key, {"batch", "epochs", "seed", "schedule"});
      }
    }
    if (info.schedule == "cosine" && info.schedulePeriod == 0)
      info.schedulePeriod = std::max<int64_t>(info.epochs, 1);
    if (batchOverride)
      info.batch = *batchOverride;
  }

  /// schedule = step(every = N, gamma = 0.1) | cosine(epochs = <train epochs>, min_lr = 0)
  ///          | constant()
  void schedule(const Arg &setting) {
    const Expr &e = *setting.value;
    struct Param {
      const char *key;
      bool integer;
      double min, max;
    };
    static const std::map<std::string, std::vector<Param>> kSchedules = {
        {"constant", {}},
        {"step", {{"every", true, 1, 1e6}, {"gamma", false, 0, 1}}},
        {"cosine", {{"epochs", true, 1, 1e6}, {"min_lr", false, 0, 1e6}}}};
    auto it = e.kind == Expr::Kind::Call ? kSchedules.find(e.text) : kSchedules.end();
    if (it == kSchedules.end()) {
      diags.error(e.loc) << "a schedule is step(every = N, gamma = X), cosine(epochs = N, min_lr = X) "
                            "or constant()";
      return;
    }
    info.schedule = e.text;
    double values[2] = {e.text == "step" ? 1.0 : 0.0, e.text == "step" ? 0.1 : 0.0};
    for (const Arg &a : e.args) {
      auto p = llvm::find_if(it->second, [&](const Param &p) { return a.key == p.key; });
      if (p == it->second.end()) {
        std::vector<std::string> keys;
        for (const Param &q : it->second)
          keys.push_back(q.key);
        diags.error(a.loc) << "'" << e.text << "' has no argument '" << a.key << "'"
                           << suggest(a.key, keys);
        continue;
      }
      if (auto v = number(a, p->integer, p->min, p->max))
        values[p - it->second.begin()] = *v;
    }
    info.schedulePeriod = int64_t(values[0]);
    info.scheduleFactor = values[1];
  }

  void declarations() {
    auto declare = [&](DataDecl &d, bool isLabel) {
      // A declaration in error is poisoned: its uses are not reported again.
      if (d.type.dims.empty() || d.type.dims[0] != -1) {
        diags.error(d.type.loc) << "the first dimension of '" << d.name << "' must be 'batch'";
        poisoned.insert(d.name);
        return;
      }
      for (size_t i = 1; i < d.type.dims.size(); ++i)
        if (d.type.dims[i] < 0) {
          diags.error(d.type.loc) << "only the first dimension of '" << d.name << "' may be 'batch'";
          poisoned.insert(d.name);
          return;
        }
      auto e = std::make_unique<Expr>();
      e->kind = Expr::Kind::Name;
      e->text = d.name;
      e->loc = d.loc;
      e->shape = d.type.dims;
      e->shape[0] = info.batch;
      if (!sizeFits(e->shape, d.type.loc, "'" + d.name + "'")) {
        poisoned.insert(d.name);
        return;
      }
      e->isIntTensor = d.type.elem == ElemKind::I32;
      e->readsLabel = isLabel;
      if (env.count(d.name)) {
        // Declared once only: a second input of the same name would make
        // every per-input table (columns, statistics) disagree with env.
        diags.error(d.loc) << "'" << d.name << "' is already defined";
        return;
      }
      env[d.name] = e.get();
      declared.push_back(std::move(e));
      if (!isLabel)
        info.inputs.push_back({d.name, std::vector<int64_t>(d.type.dims.begin() + 1, d.type.dims.end()),
                               d.type.elem == ElemKind::I32, 0, {}});
    };
    if (m.inputs.empty())
      diags.error(m.loc) << "a model needs at least one 'input' declaration";
    for (DataDecl &d : m.inputs)
      declare(d, false);
    if (m.labels.size() != 1)
      diags.error(m.labels.empty() ? m.loc : m.labels[1].loc)
          << "a model needs exactly one 'label' declaration";
    if (!m.labels.empty())
      declare(m.labels[0], true);
  }

  InputInfo *input(llvm::StringRef name) {
    auto it = llvm::find_if(info.inputs, [&](const InputInfo &in) { return in.name == name; });
    return it == info.inputs.end() ? nullptr : &*it;
  }

  // --- expressions -------------------------------------------------------
  bool arity(const Expr &e, size_t n) {
    size_t pos = 0;
    for (const Arg &a : e.args)
      pos += a.key.empty();
    if (pos != n) {
      diags.error(e.loc) << "'" << e.text << "' takes " << n << " positional argument"
                         << (n == 1 ? "" : "s") << ", got " << pos;
      return false;
    }
    return true;
  }

  bool allowKeys(const Expr &e, llvm::ArrayRef<std::string> keys) {
    for (const Arg &a : e.args)
      if (!a.key.empty() && !llvm::is_contained(keys, a.key)) {
        diags.error(a.loc) << "'" << e.text << "' has no argument '" << a.key << "'"
                           << suggest(a.key, keys);
        return false;
      }
    return true;
  }

  bool floatMatrix(const Expr &x, const Expr &call, const char *what) override {
    if (x.isIntTensor || x.shape.size() != 2) {
      diags.error(x.loc) << "'" << call.text << "' expects " << what << " of type f32[batch, n], got "
                         << shapeStr(x.shape, x.isIntTensor);
      return false;
    }
    return true;
  }

  bool check(Expr &e, bool lossAllowed) {
    switch (e.kind) {
    case Expr::Kind::Name: {
      auto it = env.find(e.text);
      if (poisoned.count(e.text))
        return false; // already reported where it was defined
      if (it == env.end()) {
        std::vector<std::string> names;
        for (auto &entry : env)
          names.push_back(entry.first);
        diags.error(e.loc) << "unknown name '" << e.text << "'" << suggest(e.text, names);
        return false;
      }
      if (it->second == info.lossExpr) {
        diags.error(e.loc) << "'" << e.text
                           << "' is the training objective; it cannot be the input of a layer";
        return false;
      }
      e.shape = it->second->shape;
      e.isIntTensor = it->second->isIntTensor;
      e.readsLabel = it->second->readsLabel;
      return true;
    }
    case Expr::Kind::Call: {
      if (!call(e, lossAllowed))
        return false;
      e.readsLabel = llvm::any_of(e.args, [](const Arg &a) { return a.value->readsLabel; });
      return true;
    }
    default:
      diags.error(e.loc) << "expected a tensor expression";
      return false;
    }
  }

  /// A call of the layer table: arguments, then the layer's shape rule.
  bool call(Expr &e, bool lossAllowed) {
    const LayerDef *def = lookupLayer(e.text);
    if (!def) {
      std::vector<std::string> names, layerNames, lossNames;
      for (const LayerDef &d : layers()) {
        names.push_back(d.name.str());
        (d.isLoss ? lossNames : layerNames).push_back(d.name.str());
      }
      std::string hint = suggest(e.text, names);
      auto d = diags.error(e.loc);
      d << "unknown function '" << e.text << "'";
      if (!hint.empty())
        d << hint;
      else
        d << " (layers: " << llvm::join(layerNames, ", ") << "; losses: "
          << llvm::join(lossNames, ", ") << ")";
      return false;
    }
    if (def->isLoss && !lossAllowed) {
      diags.error(e.loc) << "'" << e.text << "' is a loss: it may only appear as 'loss = " << e.text
                         << "(...)'";
      return false;
    }
    std::vector<std::string> keys(def->keys.begin(), def->keys.end());
    if (!arity(e, def->tensorArgs + def->numberArgs) || !allowKeys(e, keys))
      return false;
    for (unsigned i = 0; i < def->tensorArgs; ++i)
      if (!check(*e.positional(i)->value, false))
        return false;
    currentCall = e.loc;
    oversized = false;
    return def->check(*this, e) && !oversized && sizeFits(e.shape, e.loc, "'" + e.text + "' here");
  }

  /// The call whose layer is being checked, and whether a parameter it
  /// added was too large.
  Loc currentCall;
  bool oversized = false;

  /// Element counts are bounded (2^40, 4 TiB of floats) so that no size
  /// computed from them overflows; whether a model fits in memory is
  /// kilnc's --memory-limit, after planning.
  bool sizeFits(llvm::ArrayRef<int64_t> shape, Loc loc, const std::string &what) {
    constexpr int64_t kMaxElements = int64_t(1) << 40;
    int64_t n = 1;
    for (int64_t d : shape) {
      if (d > 0 && n > kMaxElements / d) {
        diags.error(loc) << what << " would hold more than 2^40 values (a tensor of shape "
                         << shapeStr(std::vector<int64_t>(shape.begin(), shape.end()), false) << ")";
        return false;
      }
      n *= d > 0 ? d : 1;
    }
    return true;
  }

  // --- LayerChecker ------------------------------------------------------
  Diagnostics &diagnostics() override { return diags; }
  std::string paramPrefix() override {
    return current->name + (denseCount++ ? "." + std::to_string(denseCount - 1) : "");
  }
  void addParam(ParamInfo p) override {
    if (!sizeFits(p.shape, currentCall, "the parameter '" + p.name + "'"))
      oversized = true;
    info.params.push_back(std::move(p));
  }
  bool readsIds(const Expr &ids, int64_t rows, const Expr &call) override {
    InputInfo *in = ids.kind == Expr::Kind::Name ? input(ids.text) : nullptr;
    if (!in || !in->isInt) {
      diags.error(ids.loc) << "'" << call.text << "' reads ids from an input declared i32, here '"
                           << ids.text << "'";
      return false;
    }
    in->bound = in->bound ? std::min(in->bound, rows) : rows;
    return true;
  }
  void setLoss(llvm::StringRef loss, llvm::StringRef task, int64_t numClasses) override {
    info.loss = loss.str();
    info.task = task.str();
    info.numClasses = numClasses;
  }

  bool initializer(const Expr &e, llvm::StringRef key, std::string &out) override {
    const Arg *a = e.findArg(key);
    if (!a)
      return true;
    if (a->value->kind != Expr::Kind::Name || !userInit(a->value->text)) {
      auto d = diags.error(a->value->loc);
      d << "unknown initializer; expected one of";
      for (const char *i : kInitNames)
        if (userInit(i))
          d << " " << i;
      return false;
    }
    out = a->value->text;
    return true;
  }

  void lossBinding(Binding &b) {
    lossSeen = true;
    const LayerDef *def =
        b.value->kind == Expr::Kind::Call ? lookupLayer(b.value->text) : nullptr;
    if (def && def->isLoss) {
      if (!info.loss.empty())
        info.lossExpr = b.value.get();
      return;
    }
    std::vector<std::string> losses;
    for (const LayerDef &d : layers())
      if (d.isLoss)
        losses.push_back(d.name.str() + "(...)");
    diags.error(b.value->loc) << "'loss' must be one of " << llvm::join(losses, ", ");
  }

  // --- optimizer and data -------------------------------------------------
  /// optimizer = NAME(lr = ..., <hyper-parameters from the optimizer table>)
  void optimizer() {
    std::vector<std::string> names;
    for (const kiln::OptimizerDef &d : kiln::optimizers())
      names.push_back(d.name.str());
    if (!m.optimizer) {
      diags.error(m.loc) << "model '" << m.name << "' has no 'optimizer = ...' (one of "
                         << llvm::join(names, ", ") << ")";
      return;
    }
    Expr &o = *m.optimizer;
    const kiln::OptimizerDef *def =
        o.kind == Expr::Kind::Call ? kiln::lookupOptimizer(o.text) : nullptr;
    if (!def) {
      diags.error(o.loc) << "the optimizer must be one of " << llvm::join(names, ", ")
                         << ", called with its settings, e.g. adam(lr = 0.001)"
                         << (o.kind == Expr::Kind::Call ? suggest(o.text, names) : "");
      return;
    }
    info.optimizer = o.text;
    info.lr = def->defaultLr;
    auto hypers = kiln::allHypers(*def);
    kiln::Hypers values;
    for (const kiln::HyperParam &h : hypers)
      values[h.name] = h.defaultValue;
    std::vector<std::string> keys{"lr"};
    for (const kiln::HyperParam &h : hypers)
      keys.push_back(h.name.str());
    for (const Arg &a : o.args) {
      if (a.key.empty()) {
        diags.error(a.loc) << "'" << o.text << "' takes named settings only ("
                           << llvm::join(keys, ", ") << ")";
        continue;
      }
      if (a.key == "lr") {
        if (auto v = number(a, false, 0, 1e6))
          info.lr = *v;
        continue;
      }
      auto h = llvm::find_if(hypers, [&](const kiln::HyperParam &h) { return h.name == a.key; });
      if (h == hypers.end()) {
        diags.error(a.loc) << "'" << o.text << "' has no argument '" << a.key << "'"
                           << suggest(a.key, keys);
        continue;
      }
      if (h->flag) {
        if (a.value->kind != Expr::Kind::Bool)
          diags.error(a.value->loc) << "'" << a.key << "' must be true or false";
        else
          values[h->name] = a.value->number != 0 ? 1.0 : 0.0;
      } else if (auto v = number(a, false, h->min, h->max, h->belowMax)) {
        values[h->name] = *v;
      }
    }
    if (const char *problem = def->check(values))
      diags.error(o.loc) << problem;
    for (auto &entry : values)
      info.optimizerArgs[entry.getKey().str()] = entry.getValue();
  }

  void source(const Arg &a, DataSource &out) {
    const Expr &e = *a.value;
    if (e.kind != Expr::Kind::Call || (e.text != "idx" && e.text != "csv" && e.text != "text")) {
      diags.error(e.loc) << "a data source is idx(images = \"...\", labels = \"...\"), "
                            "csv(\"file\", label_column = -1, skip = 0) or "
                            "text(\"file\", \"file\", ..., sample = 0)";
      return;
    }
    out.format = e.text;
    bool text = e.text == "text";
    for (const Arg &s : e.args) {
      const Expr &v = *s.value;
      auto str = [&](std::string &dst) {
        if (v.kind != Expr::Kind::String || v.text.empty())
          diags.error(v.loc) << "'" << (s.key.empty() ? "path" : s.key) << "' must be a non-empty string";
        else
          dst = v.text;
      };
      if (text && s.key.empty()) {
        std::string file;
        str(file);
        if (!file.empty() && file.find_first_of(",\n") != std::string::npos)
          diags.error(v.loc) << "a text file's path may not contain ',' or a line break";
        else if (!file.empty())
          out.files.push_back(file);
      } else if (text && s.key == "sample") {
        if (auto n = number(s, true, 1, 1e9)) out.sample = int64_t(*n);
      } else if (!text && (s.key.empty() || s.key == "images" || s.key == "features"))
        str(out.features);
      else if (!text && s.key == "labels")
        str(out.labels);
      else if (s.key == "label_column" && e.text == "csv") {
        if (auto n = number(s, true, -1e6, 1e6)) out.labelColumn = int64_t(*n);
      } else if (s.key == "skip" && e.text == "csv") {
        if (auto n = number(s, true, 0, 1e9)) out.skip = int64_t(*n);
      } else
        diags.error(s.loc) << "'" << e.text << "' has no argument '" << s.key << "'"
                           << suggest(s.key, e.text == "idx"    ? std::vector<std::string>{"images", "labels"}
                                             : e.text == "text" ? std::vector<std::string>{"sample"}
                                                                : std::vector<std::string>{"features", "labels", "label_column", "skip"});
    }
    // The runtime holds a text source's files as one list, a line each.
    if (text)
      out.features = llvm::join(out.files, "\n");
    if (out.features.empty())
      diags.error(e.loc) << (text ? "the text source needs at least one file"
                                  : "the data source needs a file");
    if (e.text == "idx" && out.labels.empty())
      diags.error(e.loc) << "'idx' needs labels = \"...\"";
    // More than one label value per sample: only a labels file has them.
    if (!m.labels.empty()) {
      const auto &dims = m.labels[0].type.dims;
      int64_t values = 1;
      for (size_t i = 1; i < dims.size(); ++i)
        values *= dims[i];
      if (values > 1 && !(e.text == "csv" && !out.labels.empty()))
        diags.error(e.loc) << "label '" << m.labels[0].name << "' has " << values
                           << " values per sample; only csv(features = \"...\", labels = \"...\") "
                              "reads more than one (a line of values per sample in the labels file)";
    }
  }

  /// `vocabulary = "..."`: distinct characters (valid UTF-8), ids 1, 2, ...
  void vocabulary(const Arg &a) {
    const Expr &v = *a.value;
    if (v.kind != Expr::Kind::String || v.text.empty()) {
      diags.error(v.loc) << "'vocabulary' must be a non-empty string of characters";
      return;
    }
    std::vector<llvm::UTF32> chars(v.text.size());
    const auto *src = reinterpret_cast<const llvm::UTF8 *>(v.text.data());
    llvm::UTF32 *dst = chars.data();
    if (llvm::ConvertUTF8toUTF32(&src, src + v.text.size(), &dst, dst + chars.size(),
                                 llvm::strictConversion) != llvm::conversionOK) {
      diags.error(v.loc) << "'vocabulary' is not valid UTF-8";
      return;
    }
    chars.resize(dst - chars.data());
    std::set<llvm::UTF32> seen;
    for (llvm::UTF32 c : chars)
      if (!seen.insert(c).second || c < 0x20) {
        char code[16];
        snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(c));
        diags.error(v.loc) << "'vocabulary' lists character " << code
                           << (c < 0x20 ? ", a control character" : " twice");
        return;
      }
    info.vocabulary = v.text;
    vocabularySize = chars.size();
  }

  /// A text source's words become one i32 input of ids, labelled by file.
  void textChecks() {
    bool textSource = info.train.format == "text" || info.test.format == "text";
    bool mixed = (!info.train.format.empty() && info.train.format != "text") ||
                 (!info.test.format.empty() && info.test.format != "text");
    if (textSource && mixed)
      diags.error(m.loc) << "a text source and a " << (info.train.format == "text" ? info.test.format : info.train.format)
                         << " source cannot be mixed";
    if (textSource && !vocabularyGiven) {
      diags.error(m.loc) << "a text source needs data { vocabulary = \"...\" }: the characters "
                            "of ids 1, 2, ... (0 pads)";
      return;
    }
    if (!vocabularyGiven)
      return;
    if (mixed) {
      diags.error(m.loc) << "'vocabulary' applies to text sources";
      return;
    }
    if (info.inputs.size() != 1 || !info.inputs[0].isInt || info.inputs[0].sample.size() != 1) {
      diags.error(m.loc) << "a text model has one input, i32[batch, length]: each word's "
                            "character ids";
      return;
    }
    const InputInfo &in = info.inputs[0];
    if (in.bound && vocabularySize && in.bound < vocabularySize + 1)
      diags.error(m.loc) << "the embedding reading '" << in.name << "' has " << in.bound
                         << " rows, but the vocabulary needs " << vocabularySize + 1
                         << " (id 0 pads)";
    if (info.task != "classify" && !info.task.empty())
      diags.error(m.loc) << "a text source labels each line with its file's index: the loss "
                            "must be softmax_cross_entropy";
    for (const DataSource *src : {&info.train, &info.test})
      if (src->format == "text" && info.numClasses &&
          static_cast<int64_t>(src->files.size()) != info.numClasses)
        diags.error(m.loc) << "the text source has " << src->files.size()
                           << " files, one class each, but the model has " << info.numClasses
                           << " classes";
  }

  void data() {
    bool anyFloat = llvm::any_of(info.inputs, [](const InputInfo &in) { return !in.isInt; });
    std::set<std::string> seen;
    for (const Arg &a : m.data) {
      if (!seen.insert(a.key).second)
        diags.error(a.loc) << "data setting '" << a.key << "' is given twice";
      else if (a.key == "train")
        source(a, info.train);
      else if (a.key == "test")
        source(a, info.test);
      else if (a.key == "split") {
        if (auto v = number(a, false, 0, 0.95)) info.split = *v;
      } else if ((a.key == "scale" || a.key == "standardize") && !anyFloat) {
        diags.error(a.loc) << "'" << a.key << "' applies to f32 inputs, and this model's are all ids (i32)";
      } else if (a.key == "scale") {
        if (auto v = number(a, false, -1e30, 1e30)) info.scale = *v;
      } else if (a.key == "standardize") {
        if (a.value->kind != Expr::Kind::Bool)
          diags.error(a.value->loc) << "'standardize' must be true or false";
        else
          info.standardize = a.value->number != 0;
      } else if (a.key == "vocabulary") {
        vocabularyGiven = true;
        vocabulary(a);
      } else if (a.key == "lowercase" || a.key == "truncate") {
        if (a.value->kind != Expr::Kind::Bool)
          diags.error(a.value->loc) << "'" << a.key << "' must be true or false";
        else
          (a.key == "lowercase" ? info.lowercase : info.truncate) = a.value->number != 0;
      } else if (InputInfo *in = input(a.key)) {
        columnsGiven.insert(in->name);
        columns(a, *in);
      } else {
        std::vector<std::string> keys{"train", "test", "split", "scale", "standardize",
                                      "vocabulary", "lowercase", "truncate"};
        for (const InputInfo &in : info.inputs)
          keys.push_back(in.name);
        diags.error(a.loc) << "unknown data setting '" << a.key
                           << "' (expected train, test, split, scale, standardize, vocabulary, "
                              "lowercase, truncate or an input's columns)"
                           << suggest(a.key, keys);
      }
    }
    // Columns for some inputs but not others would leave the rest ambiguous.
    auto given = columnsGiven.size();
    auto missing = llvm::find_if(info.inputs, [&](const InputInfo &in) { return !columnsGiven.count(in.name); });
    if (given && missing != info.inputs.end())
      diags.error(m.loc) << "data: input '" << missing->name
                         << "' has no columns; give columns(...) for every input or for none";
    for (const DataSource *src : {&info.train, &info.test})
      if (src->format == "idx" && info.inputs.size() > 1)
        diags.error(m.loc) << "an idx source feeds one input; this model has "
                           << info.inputs.size() << " (use csv)";
      else if (src->format != "csv" && !src->format.empty() && given)
        diags.error(m.loc) << "columns(...) select CSV columns; an " << src->format
                           << " source has none";
    textChecks();
  }

  /// `NAME = columns(c, ...)`: the CSV columns (0-based, as in the file) of
  /// input NAME's values, one per value, each at most once across inputs.
  void columns(const Arg &a, InputInfo &in) {
    const Expr &e = *a.value;
    if (e.kind != Expr::Kind::Call || e.text != "columns") {
      diags.error(e.loc) << "'" << a.key << "' is an input: give its CSV columns as columns(0, 1, ...)";
      return;
    }
    std::vector<int64_t> cols;
    for (const Arg &c : e.args) {
      if (!c.key.empty()) {
        diags.error(c.loc) << "'columns' takes column numbers only";
        return;
      }
      const Expr &n = *c.value;
      if (n.kind != Expr::Kind::Number || !n.isInteger || n.number < 0 || n.number > 1e6) {
        diags.error(n.loc) << "a column is a whole number in [0, 1000000]";
        return;
      }
      auto col = static_cast<int64_t>(n.number);
      for (const InputInfo &other : info.inputs)
        if (llvm::is_contained(other.columns, col) || llvm::is_contained(cols, col)) {
          diags.error(c.loc) << "column " << col << " is read twice";
          return;
        }
      cols.push_back(col);
    }
    if (static_cast<int64_t>(cols.size()) != in.numel()) {
      diags.error(e.loc) << "'" << in.name << "' has " << in.numel() << " values per sample, but "
                         << cols.size() << " column" << (cols.size() == 1 ? " is" : "s are") << " given";
      return;
    }
    in.columns = std::move(cols);
  }

  Model &m;
  Diagnostics &diags;
  ModelInfo &info;
  std::map<std::string, const Expr *> env;
  std::set<std::string> poisoned;
  std::set<std::string> columnsGiven; // inputs with a columns(...) setting, valid or not
  int64_t vocabularySize = 0;          // characters (not bytes) of info.vocabulary
  bool vocabularyGiven = false;        // valid or not
  std::vector<std::unique_ptr<Expr>> declared;
  const Binding *current = nullptr;
  unsigned denseCount = 0;
  bool lossSeen = false;
};

} // namespace

mlir::FailureOr<ModelInfo> kiln::frontend::analyze(Model &model, Diagnostics &diags,
                                                   std::optional<int64_t> batchOverride) {
  ModelInfo info;
  unsigned before = diags.errorCount();
  Analyzer(model, diags, info).run(batchOverride);
  if (diags.errorCount() != before)
    return mlir::failure();
  return info;
}
