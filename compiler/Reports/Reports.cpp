//===- Reports.cpp - Facts every report reads -----------------------------===//
#include "compiler/Reports/Reports.h"
#include "compiler/Transforms/ModelAttrs.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;

int64_t kiln::staticBytes(Type type) {
  auto shaped = dyn_cast<ShapedType>(type);
  if (!shaped || !shaped.hasStaticShape() || !shaped.getElementType().isIntOrFloat())
    return 0;
  return shaped.getNumElements() * llvm::divideCeil(shaped.getElementTypeBitWidth(), 8);
}

llvm::StringSet<> kiln::modelBuffers(ModuleOp module) {
  llvm::StringSet<> names;
  if (auto loss = module.lookupSymbol<func::FuncOp>("loss"))
    for (unsigned i = 0; i < loss.getNumArguments(); ++i)
      if (auto name = loss.getArgAttrOfType<StringAttr>(i, attrs::kState))
        names.insert(name.getValue());
  return names;
}
