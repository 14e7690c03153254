//===- Parser.h - Recursive-descent parser for .kiln files ------*- C++ -*-===//
#ifndef KILN_COMPILER_FRONTEND_PARSER_H
#define KILN_COMPILER_FRONTEND_PARSER_H

#include "compiler/Frontend/Diagnostics.h"
#include "compiler/Frontend/Lexer.h"

namespace kiln::frontend {

/// Parses one model. On a malformed statement it reports the error, skips to
/// the next statement and goes on, so one run reports every syntax error.
class Parser {
public:
  Parser(llvm::StringRef buffer, Diagnostics &diags) : lexer(buffer), diags(diags) { consume(); }
  /// Returns the model, or nullptr if any syntax error was reported.
  std::unique_ptr<Model> parseModel();

private:
  void consume();
  bool expect(Tok kind, llvm::StringRef what);
  bool isIdent(llvm::StringRef text) const { return tok.kind == Tok::Ident && tok.text == text; }
  void recover();

  bool parseStatement(Model &m);
  bool parseDataDecl(std::vector<DataDecl> &out);
  bool parseType(TypeAST &type);
  bool parseSettings(std::vector<Arg> &out);
  ExprPtr parseExpr();
  bool parseArgs(std::vector<Arg> &out);

  Lexer lexer;
  Diagnostics &diags;
  Token tok;
  bool failed = false;
  /// Calls nested around the expression being parsed: bounded, so that a
  /// pathological file cannot overflow the stack of any recursive pass.
  unsigned nesting = 0;
};

} // namespace kiln::frontend

#endif // KILN_COMPILER_FRONTEND_PARSER_H
