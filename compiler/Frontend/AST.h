//===- AST.h - Abstract syntax of .kiln model files -------------*- C++ -*-===//
#ifndef KILN_COMPILER_FRONTEND_AST_H
#define KILN_COMPILER_FRONTEND_AST_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kiln::frontend {

/// A position in the model file (1-based).
struct Loc {
  unsigned line = 0, col = 0;
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

/// `key = value` or a positional `value` (empty key) in a call or a block.
struct Arg {
  std::string key;
  Loc loc;
  ExprPtr value;
};

/// A name, a number, a string, a boolean or a call `f(args)`.
struct Expr {
  enum class Kind { Name, Number, String, Bool, Call };
  Kind kind;
  Loc loc;
  std::string text; // name, string contents or callee
  double number = 0;
  bool isInteger = false;
  std::vector<Arg> args;

  // Filled in by Sema: the value's shape (batch resolved) and element kind,
  // whether it is computed from the label (predict has none), and for layers
  // with parameters, the parameters' name prefix.
  std::vector<int64_t> shape;
  bool isIntTensor = false;
  bool readsLabel = false;
  std::string paramPrefix;

  const Arg *findArg(llvm::StringRef key) const;
  const Arg *positional(size_t i) const;
};

enum class ElemKind { F32, I32 };

/// `f32[batch, 784]`; a dimension of -1 is the batch.
struct TypeAST {
  ElemKind elem = ElemKind::F32;
  std::vector<int64_t> dims;
  Loc loc;
};

/// `input x: f32[batch, 784]` or `label y: i32[batch]`.
struct DataDecl {
  std::string name;
  TypeAST type;
  Loc loc;
};

/// `name = expr`.
struct Binding {
  std::string name;
  ExprPtr value;
  Loc loc;
};

struct Model {
  std::string name;
  Loc loc;
  std::vector<DataDecl> inputs, labels;
  std::vector<Binding> bindings; // in order; `loss` is one of them
  ExprPtr optimizer;             // a call: sgd(...) / adam(...)
  Loc optimizerLoc;
  std::vector<Arg> train;        // train { batch = 64, ... }
  std::vector<Arg> data;         // data { train = idx(...), ... }

  const Arg *findSetting(const std::vector<Arg> &args, llvm::StringRef key) const;
  /// The model's architecture, one line per declaration, binding and the
  /// optimizer, in canonical source syntax (no comments, no initializers):
  /// what a checkpoint must agree on to be loaded.
  std::vector<std::string> architecture() const;
  /// Prints the tree for --emit=ast.
  void dump(llvm::raw_ostream &os) const;
};

} // namespace kiln::frontend

#endif // KILN_COMPILER_FRONTEND_AST_H
