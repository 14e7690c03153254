//===- Recurrent.h - Shape rule and expansion of rnn, lstm, gru -*- C++ -*-===//
#ifndef KILN_COMPILER_FRONTEND_RECURRENT_H
#define KILN_COMPILER_FRONTEND_RECURRENT_H

#include "compiler/Frontend/Layers.h"

namespace kiln::frontend {

/// rnn/lstm/gru(x, hidden, sequences = false); the call's name picks the cell.
bool recurrentCheck(LayerChecker &c, Expr &call);
mlir::Value recurrentBuild(LayerBuilder &b, const Expr &call, mlir::Location loc,
                           llvm::ArrayRef<mlir::Value> args);

} // namespace kiln::frontend

#endif // KILN_COMPILER_FRONTEND_RECURRENT_H
