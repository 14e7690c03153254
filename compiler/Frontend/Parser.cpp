//===- Parser.cpp - Recursive-descent parser for .kiln files --------------===//
#include "compiler/Frontend/Parser.h"

using namespace kiln::frontend;

static const char *describe(Tok k) {
  switch (k) {
  case Tok::Eof: return "end of file";
  case Tok::Error: return "invalid token";
  case Tok::Ident: return "identifier";
  case Tok::Number: return "number";
  case Tok::String: return "string";
  case Tok::LParen: return "'('";
  case Tok::RParen: return "')'";
  case Tok::LBrace: return "'{'";
  case Tok::RBrace: return "'}'";
  case Tok::LBracket: return "'['";
  case Tok::RBracket: return "']'";
  case Tok::Comma: return "','";
  case Tok::Colon: return "':'";
  case Tok::Equal: return "'='";
  }
  return "token";
}

/// The largest dimension a type may give (a tensor's element count is
/// checked against its own limit later).
static constexpr double kMaxDim = 999999999;

/// Far beyond any model written by hand; deep enough recursion in the later
/// passes overflowed the stack at about 20000.
static constexpr unsigned kMaxNesting = 256;

void Parser::consume() {
  tok = lexer.next();
  if (tok.kind == Tok::Error) {
    diags.error(tok.loc) << lexer.errorMessage();
    failed = true;
  }
}

bool Parser::expect(Tok kind, llvm::StringRef what) {
  if (tok.kind == kind) {
    consume();
    return true;
  }
  if (tok.kind != Tok::Error) { // the lexer already reported it
    auto d = diags.error(tok.loc);
    d << "expected " << what << ", found ";
    if (tok.kind == Tok::Ident || tok.kind == Tok::Number)
      d << "'" << tok.text << "'";
    else
      d << describe(tok.kind);
  }
  failed = true;
  return false;
}

/// Skips to the start of the next statement: a keyword or identifier at the
/// start of a line after the error, or the model's closing brace.
void Parser::recover() {
  unsigned line = tok.loc.line;
  int depth = 0;
  while (tok.kind != Tok::Eof) {
    if (depth == 0 && tok.loc.line != line && tok.kind == Tok::Ident)
      return;
    if (tok.kind == Tok::LParen || tok.kind == Tok::LBrace || tok.kind == Tok::LBracket)
      ++depth;
    if (tok.kind == Tok::RParen || tok.kind == Tok::RBrace || tok.kind == Tok::RBracket) {
      if (depth == 0 && tok.kind == Tok::RBrace)
        return;
      // At depth 0 this closes what the error happened inside of.
      if (depth > 0)
        --depth;
    }
    consume();
  }
}

/// model := 'model' IDENT '{' statement* '}'
std::unique_ptr<Model> Parser::parseModel() {
  auto m = std::make_unique<Model>();
  m->loc = tok.loc;
  if (!isIdent("model")) {
    // expect() with the end-of-file token would accept an empty file.
    if (tok.kind == Tok::Eof)
      diags.error(tok.loc) << "expected 'model', found end of file (nothing defines a model)";
    else
      expect(Tok::Eof, "'model'");
    failed = true;
    return nullptr;
  }
  consume();
  m->name = tok.text.str();
  if (!expect(Tok::Ident, "a model name") || !expect(Tok::LBrace, "'{'"))
    return nullptr;
  while (tok.kind != Tok::RBrace && tok.kind != Tok::Eof)
    if (!parseStatement(*m))
      recover();
  if (!expect(Tok::RBrace, "'}' to close the model"))
    return nullptr;
  if (tok.kind != Tok::Eof)
    expect(Tok::Eof, "end of file after the model");
  return failed ? nullptr : std::move(m);
}

/// statement := 'input' decl | 'label' decl | 'optimizer' '=' expr
///            | 'train' settings | 'data' settings | IDENT '=' expr
bool Parser::parseStatement(Model &m) {
  if (tok.kind != Tok::Ident)
    return expect(Tok::Ident, "a statement");
  if (isIdent("input") || isIdent("label")) {
    bool input = isIdent("input");
    consume();
    return parseDataDecl(input ? m.inputs : m.labels);
  }
  if (isIdent("train") || isIdent("data")) {
    bool train = isIdent("train");
    consume();
    return parseSettings(train ? m.train : m.data);
  }
  Binding b;
  b.name = tok.text.str();
  b.loc = tok.loc;
  consume();
  if (!expect(Tok::Equal, "'=' after '" + b.name + "'"))
    return false;
  b.value = parseExpr();
  if (!b.value)
    return false;
  if (b.name == "optimizer") {
    m.optimizer = std::move(b.value);
    m.optimizerLoc = b.loc;
    return true;
  }
  m.bindings.push_back(std::move(b));
  return true;
}

/// decl := IDENT ':' type
bool Parser::parseDataDecl(std::vector<DataDecl> &out) {
  DataDecl d;
  d.name = tok.text.str();
  d.loc = tok.loc;
  if (!expect(Tok::Ident, "a name") || !expect(Tok::Colon, "':'") || !parseType(d.type))
    return false;
  out.push_back(std::move(d));
  return true;
}

/// type := ('f32' | 'i32') '[' dim (',' dim)* ']'   dim := 'batch' | INT
bool Parser::parseType(TypeAST &type) {
  type.loc = tok.loc;
  if (isIdent("f32") || isIdent("i32")) {
    type.elem = isIdent("f32") ? ElemKind::F32 : ElemKind::I32;
    consume();
  } else {
    return expect(Tok::Eof, "an element type ('f32' or 'i32')");
  }
  if (!expect(Tok::LBracket, "'['"))
    return false;
  do {
    if (isIdent("batch")) {
      type.dims.push_back(-1);
      consume();
    } else if (tok.kind == Tok::Number && tok.isInteger && tok.number > 0 && tok.number <= kMaxDim) {
      type.dims.push_back(static_cast<int64_t>(tok.number));
      consume();
    } else {
      if (tok.kind == Tok::Number)
        diags.error(tok.loc) << "a dimension must be 'batch' or an integer in [1, "
                             << int64_t(kMaxDim) << "], found '" << tok.text << "'";
      else
        expect(Tok::Number, "a dimension ('batch' or a positive integer)");
      failed = true;
      return false;
    }
  } while (tok.kind == Tok::Comma && (consume(), true));
  return expect(Tok::RBracket, "']'");
}

/// settings := '{' (IDENT '=' expr ','?)* '}'
bool Parser::parseSettings(std::vector<Arg> &out) {
  if (!expect(Tok::LBrace, "'{'"))
    return false;
  while (tok.kind != Tok::RBrace) {
    Arg a;
    a.key = tok.text.str();
    a.loc = tok.loc;
    if (!expect(Tok::Ident, "a setting name") || !expect(Tok::Equal, "'='"))
      return false;
    a.value = parseExpr();
    if (!a.value)
      return false;
    out.push_back(std::move(a));
    if (tok.kind == Tok::Comma)
      consume();
  }
  consume();
  return true;
}

/// expr := NUMBER | STRING | 'true' | 'false' | IDENT | IDENT '(' args ')'
ExprPtr Parser::parseExpr() {
  auto e = std::make_unique<Expr>();
  e->loc = tok.loc;
  switch (tok.kind) {
  case Tok::Number:
    e->kind = Expr::Kind::Number;
    e->number = tok.number;
    e->isInteger = tok.isInteger;
    consume();
    return e;
  case Tok::String:
    e->kind = Expr::Kind::String;
    e->text = tok.text.str();
    consume();
    return e;
  case Tok::Ident: {
    e->text = tok.text.str();
    consume();
    if (e->text == "true" || e->text == "false") {
      e->kind = Expr::Kind::Bool;
      e->number = e->text == "true";
      return e;
    }
    if (tok.kind != Tok::LParen) {
      e->kind = Expr::Kind::Name;
      return e;
    }
    consume();
    e->kind = Expr::Kind::Call;
    if (nesting == kMaxNesting) {
      diags.error(e->loc) << "calls nest more than " << kMaxNesting << " deep here";
      failed = true;
      return nullptr;
    }
    ++nesting;
    bool ok = parseArgs(e->args);
    --nesting;
    if (!ok)
      return nullptr;
    return e;
  }
  default:
    expect(Tok::Number, "an expression");
    return nullptr;
  }
}

/// args := (arg (',' arg)*)? ')'   arg := (IDENT '=')? expr
bool Parser::parseArgs(std::vector<Arg> &out) {
  if (tok.kind == Tok::RParen) {
    consume();
    return true;
  }
  while (true) {
    Arg a;
    a.loc = tok.loc;
    // A keyword argument is IDENT '=' ...; look one token ahead.
    if (tok.kind == Tok::Ident) {
      Token save = tok;
      Lexer lexSave = lexer;
      consume();
      if (tok.kind == Tok::Equal) {
        a.key = save.text.str();
        consume();
      } else {
        tok = save;
        lexer = lexSave;
      }
    }
    a.value = parseExpr();
    if (!a.value)
      return false;
    out.push_back(std::move(a));
    if (tok.kind == Tok::Comma) {
      consume();
      continue;
    }
    return expect(Tok::RParen, "',' or ')'");
  }
}
