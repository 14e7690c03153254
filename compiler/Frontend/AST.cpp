//===- AST.cpp - Printing the .kiln syntax tree ---------------------------===//
#include "compiler/Frontend/AST.h"

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
