//===- AST.cpp - Printing the .kiln syntax tree ---------------------------===//
#include "compiler/Frontend/AST.h"

#include "llvm/Support/Format.h"

using namespace kiln::frontend;

const Arg *Expr::findArg(llvm::StringRef key) const {
  for (const Arg &a : args)
    if (a.key == key)
      return &a;
  return nullptr;
}

const Arg *Expr::positional(size_t i) const {
  for (const Arg &a : args)
    if (a.key.empty() && i-- == 0)
      return &a;
  return nullptr;
}

const Arg *Model::findSetting(const std::vector<Arg> &args, llvm::StringRef key) const {
  for (const Arg &a : args)
    if (a.key == key)
      return &a;
  return nullptr;
}

static void printLoc(llvm::raw_ostream &os, Loc l) { os << " @" << l.line << ":" << l.col; }

static void printExpr(llvm::raw_ostream &os, const Expr &e, unsigned indent) {
  os.indent(indent);
  switch (e.kind) {
  case Expr::Kind::Name: os << "Name " << e.text; break;
  case Expr::Kind::Number: os << "Number " << e.number; break;
  case Expr::Kind::String: os << "String \"" << e.text << "\""; break;
  case Expr::Kind::Bool: os << "Bool " << (e.number != 0 ? "true" : "false"); break;
  case Expr::Kind::Call: os << "Call " << e.text; break;
  }
  printLoc(os, e.loc);
  os << "\n";
  for (const Arg &a : e.args) {
    if (!a.key.empty()) {
      os.indent(indent + 2) << a.key << " =\n";
      printExpr(os, *a.value, indent + 4);
    } else {
      printExpr(os, *a.value, indent + 2);
    }
  }
}

static void printType(llvm::raw_ostream &os, const TypeAST &t) {
  os << (t.elem == ElemKind::F32 ? "f32" : "i32") << "[";
  for (size_t i = 0; i < t.dims.size(); ++i) {
    if (i)
      os << ", ";
    if (t.dims[i] < 0)
      os << "batch";
    else
      os << t.dims[i];
  }
  os << "]";
}

static void printArgs(llvm::raw_ostream &os, llvm::StringRef title, const std::vector<Arg> &args) {
  if (args.empty())
    return;
  os << "  " << title << "\n";
  for (const Arg &a : args) {
    os << "    " << a.key << " =\n";
    printExpr(os, *a.value, 6);
  }
}

void Model::dump(llvm::raw_ostream &os) const {
  os << "Model " << name;
  printLoc(os, loc);
  os << "\n";
  for (const DataDecl &d : inputs) {
    os << "  Input " << d.name << ": ";
    printType(os, d.type);
    printLoc(os, d.loc);
    os << "\n";
  }
  for (const DataDecl &d : labels) {
    os << "  Label " << d.name << ": ";
    printType(os, d.type);
    printLoc(os, d.loc);
    os << "\n";
  }
  for (const Binding &b : bindings) {
    os << "  Let " << b.name;
    printLoc(os, b.loc);
    os << "\n";
    printExpr(os, *b.value, 4);
  }
  if (optimizer) {
    os << "  Optimizer\n";
    printExpr(os, *optimizer, 4);
  }
  printArgs(os, "Train", train);
  printArgs(os, "Data", data);
}

/// One expression in source syntax, without the arguments that only choose
/// initial values (they do not change what a trained checkpoint means).
static void printCanonical(llvm::raw_ostream &os, const Expr &e) {
  switch (e.kind) {
  case Expr::Kind::Name: os << e.text; return;
  case Expr::Kind::Number:
    if (e.isInteger)
      os << int64_t(e.number);
    else
      os << llvm::format("%.17g", e.number);
    return;
  case Expr::Kind::String: os << "'" << e.text << "'"; return;
  case Expr::Kind::Bool: os << (e.number != 0 ? "true" : "false"); return;
  case Expr::Kind::Call: break;
  }
  os << e.text << "(";
  bool first = true;
  for (const Arg &a : e.args) {
    if (a.key == "init" || a.key == "bias_init")
      continue;
    os << (first ? "" : ", ");
    first = false;
    if (!a.key.empty())
      os << a.key << " = ";
    printCanonical(os, *a.value);
  }
  os << ")";
}

std::vector<std::string> Model::architecture() const {
  std::vector<std::string> lines;
  auto add = [&](auto print) {
    std::string line;
    llvm::raw_string_ostream os(line);
    print(os);
    lines.push_back(std::move(line));
  };
  for (const auto *decls : {&inputs, &labels})
    for (const DataDecl &d : *decls)
      add([&](llvm::raw_ostream &os) {
        os << (decls == &inputs ? "input " : "label ") << d.name << ": ";
        printType(os, d.type);
      });
  for (const Binding &b : bindings)
    add([&](llvm::raw_ostream &os) {
      os << b.name << " = ";
      printCanonical(os, *b.value);
    });
  if (optimizer)
    add([&](llvm::raw_ostream &os) { os << "optimizer = " << optimizer->text; });
  // How a text model's ids are made is part of what its weights mean.
  for (const char *key : {"vocabulary", "lowercase"})
    if (const Arg *a = findSetting(data, key))
      add([&](llvm::raw_ostream &os) {
        os << key << " = ";
        printCanonical(os, *a->value);
      });
  return lines;
}
