//===- Lexer.h - Tokens of .kiln model files --------------------*- C++ -*-===//
#ifndef KILN_COMPILER_FRONTEND_LEXER_H
#define KILN_COMPILER_FRONTEND_LEXER_H

#include "compiler/Frontend/AST.h"

namespace kiln::frontend {

enum class Tok {
  Eof, Error, Ident, Number, String,
  LParen, RParen, LBrace, RBrace, LBracket, RBracket, Comma, Colon, Equal
};

struct Token {
  Tok kind = Tok::Eof;
  llvm::StringRef text; // spelling; for strings, the contents without quotes
  double number = 0;
  bool isInteger = false;
  Loc loc;
};

/// Splits a buffer into tokens, tracking line and column. `//` starts a
/// comment that runs to the end of the line.
class Lexer {
public:
  explicit Lexer(llvm::StringRef buffer) : buf(buffer) {}
  Token next();
  /// Message for the last Tok::Error token.
  const std::string &errorMessage() const { return error; }

private:
  char peek(size_t ahead = 0) const { return pos + ahead < buf.size() ? buf[pos + ahead] : '\0'; }
  void advance();
  void skipSpaceAndComments();

  llvm::StringRef buf;
  size_t pos = 0;
  unsigned line = 1, col = 1;
  std::string error;
};

} // namespace kiln::frontend

#endif // KILN_COMPILER_FRONTEND_LEXER_H
