//===- Lexer.cpp - Tokens of .kiln model files ----------------------------===//
#include "compiler/Frontend/Lexer.h"

#include "llvm/ADT/StringExtras.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>

using namespace kiln::frontend;

void Lexer::advance() {
  if (peek() == '\n') {
    ++line;
    col = 1;
  } else {
    ++col;
  }
  ++pos;
}

void Lexer::skipSpaceAndComments() {
  while (pos < buf.size()) {
    if (std::isspace(static_cast<unsigned char>(peek()))) {
      advance();
    } else if (peek() == '/' && peek(1) == '/') {
      while (pos < buf.size() && peek() != '\n')
        advance();
    } else {
      break;
    }
  }
}

Token Lexer::next() {
  skipSpaceAndComments();
  Token t;
  t.loc = {line, col};
  if (pos >= buf.size())
    return t;
  size_t start = pos;
  char c = peek();
  auto single = [&](Tok k) {
    advance();
    t.kind = k;
    t.text = buf.substr(start, 1);
    return t;
  };
  switch (c) {
  case '(': return single(Tok::LParen);
  case ')': return single(Tok::RParen);
  case '{': return single(Tok::LBrace);
  case '}': return single(Tok::RBrace);
  case '[': return single(Tok::LBracket);
  case ']': return single(Tok::RBracket);
  case ',': return single(Tok::Comma);
  case ':': return single(Tok::Colon);
  case '=': return single(Tok::Equal);
  default: break;
  }
  if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
    while (std::isalnum(static_cast<unsigned char>(peek())) || peek() == '_' || peek() == '.')
      advance();
    t.kind = Tok::Ident;
    t.text = buf.substr(start, pos - start);
    return t;
  }
  if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.') {
    if (c == '-')
      advance();
    bool isInt = true;
    while (std::isdigit(static_cast<unsigned char>(peek())))
      advance();
    if (peek() == '.') {
      isInt = false;
      advance();
      while (std::isdigit(static_cast<unsigned char>(peek())))
        advance();
    }
    if (peek() == 'e' || peek() == 'E') {
      isInt = false;
      advance();
      if (peek() == '+' || peek() == '-')
        advance();
      if (!std::isdigit(static_cast<unsigned char>(peek()))) {
        t.kind = Tok::Error;
        error = "malformed number: expected digits after the exponent";
        return t;
      }
      while (std::isdigit(static_cast<unsigned char>(peek())))
        advance();
    }
    t.text = buf.substr(start, pos - start);
    std::string s = t.text.str();
    char *end = nullptr;
    t.number = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size() || s == "-" || s == "." || s == "-.") {
      t.kind = Tok::Error;
      error = "malformed number '" + s + "'";
      return t;
    }
    t.kind = Tok::Number;
    t.isInteger = isInt;
    return t;
  }
  if (c == '"') {
    advance();
    size_t contents = pos;
    while (pos < buf.size() && peek() != '"' && peek() != '\n')
      advance();
    if (peek() != '"') {
      t.kind = Tok::Error;
      error = "unterminated string";
      return t;
    }
    t.text = buf.substr(contents, pos - contents);
    advance();
    t.kind = Tok::String;
    return t;
  }
  advance();
  t.kind = Tok::Error;
  char shown[8];
  if (std::isprint(static_cast<unsigned char>(c)))
    snprintf(shown, sizeof shown, "%c", c);
  else
    snprintf(shown, sizeof shown, "\\x%02x", static_cast<unsigned char>(c));
  error = std::string("unexpected character '") + shown + "'";
  return t;
}
