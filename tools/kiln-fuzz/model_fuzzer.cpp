//===- model_fuzzer.cpp - libFuzzer target for kilnc's frontend -----------===//
//
// Each input is a model file: lexed, parsed, checked and, when the checks
// pass, built into kiln IR and verified, as kilnc does before any pass runs.
// Errors are diagnostics; the target aborts (a finding) only on what would
// be a bug in Kiln: a crash or sanitizer report anywhere, or a model the
// checks accepted that MLIRGen cannot build or that fails the verifier
// (kilnc's "internal error" exit).
//
//===----------------------------------------------------------------------===//
#include "compiler/Frontend/MLIRGen.h"
#include "compiler/Frontend/Parser.h"
#include "compiler/Frontend/Sema.h"
#include "compiler/Pipelines/Pipelines.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

#include <cstdio>
#include <cstdlib>

namespace {
mlir::MLIRContext &context() {
  static mlir::MLIRContext *ctx = [] {
    mlir::DialectRegistry registry;
    kiln::registerKilnDialects(registry);
    auto *c = new mlir::MLIRContext(registry, mlir::MLIRContext::Threading::DISABLED);
    c->loadAllAvailableDialects();
    // Diagnostics are the expected outcome for most inputs: dropped.
    c->getDiagEngine().registerHandler([](mlir::Diagnostic &) { return mlir::success(); });
    return c;
  }();
  return *ctx;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mlir::MLIRContext &ctx = context();
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  kiln::frontend::Diagnostics diags(&ctx, "fuzz.kiln");
  kiln::frontend::Parser parser(text, diags);
  auto model = parser.parseModel();
  if (!model)
    return 0;
  auto info = kiln::frontend::analyze(*model, diags, std::nullopt);
  if (mlir::failed(info))
    return 0;
  auto module = kiln::frontend::generateModule(*model, *info, diags);
  if (!module || mlir::failed(mlir::verify(*module))) {
    std::fprintf(stderr, "kiln-fuzz-model: a model the checks accepted was not built into valid IR\n");
    std::abort();
  }
  return 0;
}
