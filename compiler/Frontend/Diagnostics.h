//===- Diagnostics.h - Frontend errors as MLIR diagnostics ------*- C++ -*-===//
//
// The frontend reports through MLIR's diagnostic engine with file:line:col
// locations, so kilnc prints them with the source line and a caret, and lit
// tests check them with -verify-diagnostics like any MLIR error.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPILER_FRONTEND_DIAGNOSTICS_H
#define KILN_COMPILER_FRONTEND_DIAGNOSTICS_H

#include "compiler/Frontend/AST.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Location.h"

namespace kiln::frontend {

class Diagnostics {
public:
  Diagnostics(mlir::MLIRContext *ctx, llvm::StringRef file) : ctx(ctx), file(file.str()) {}

  mlir::Location location(Loc l) const {
    return mlir::FileLineColLoc::get(ctx, file, l.line, l.col);
  }
  mlir::InFlightDiagnostic error(Loc l) {
    ++errors;
    return mlir::emitError(location(l));
  }
  mlir::InFlightDiagnostic warning(Loc l) { return mlir::emitWarning(location(l)); }
  unsigned errorCount() const { return errors; }
  mlir::MLIRContext *context() const { return ctx; }

private:
  mlir::MLIRContext *ctx;
  std::string file;
  unsigned errors = 0;
};

} // namespace kiln::frontend

#endif // KILN_COMPILER_FRONTEND_DIAGNOSTICS_H
