//===- ModelAttrs.h - Names of kiln's module and argument attributes -*- C++ -*-===//
//
// The frontend records model facts as attributes; passes and the descriptor
// emitter read them back. Keeping the names in one place keeps them in step.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPILER_TRANSFORMS_MODELATTRS_H
#define KILN_COMPILER_TRANSFORMS_MODELATTRS_H

#include "llvm/ADT/StringRef.h"

namespace kiln::attrs {
/// Module: dictionary of model facts (name, batch, optimizer, data, ...).
inline constexpr llvm::StringLiteral kModel = "kiln.model";
/// Module: array of {name, kind, offset, shape, init, ...} built by kiln-abi.
inline constexpr llvm::StringLiteral kLayout = "kiln.layout";
/// Argument: a trainable parameter and its name.
inline constexpr llvm::StringLiteral kParam = "kiln.param";
/// Argument: initializer of a parameter ({kind, fan_in, fan_out}).
inline constexpr llvm::StringLiteral kInit = "kiln.init";
/// Argument: optimizer state tensor and its name.
inline constexpr llvm::StringLiteral kState = "kiln.state";
/// Result of the loss function: the next value of the named state tensor (a
/// persistent buffer), not differentiated.
inline constexpr llvm::StringLiteral kStateUpdate = "kiln.state_update";
/// Argument: the model's input features / labels.
inline constexpr llvm::StringLiteral kInput = "kiln.input";
inline constexpr llvm::StringLiteral kLabel = "kiln.label";
/// Argument: a run-time hyper-parameter (learning rate).
inline constexpr llvm::StringLiteral kHyper = "kiln.hyper";
/// Entry point: what each parameter is ("params", "state", "input", ...).
inline constexpr llvm::StringLiteral kRoles = "kiln.roles";
/// Entry point: bytes of workspace it needs.
inline constexpr llvm::StringLiteral kWorkspace = "kiln.workspace_bytes";
/// Entry point: bytes its temporaries would take if none shared space.
inline constexpr llvm::StringLiteral kTemporaries = "kiln.temporaries_bytes";
} // namespace kiln::attrs

#endif // KILN_COMPILER_TRANSFORMS_MODELATTRS_H
