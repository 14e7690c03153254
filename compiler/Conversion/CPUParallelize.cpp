//===- CPUParallelize.cpp - Loops over every core through the runtime's pool ===//
//
// The vectorizer marks the outermost tile loop of each matmul and
// elementwise nest `kiln.parallel`: its iterations write disjoint blocks of
// the result. Each such loop that does enough work to pay for waking the
// other threads becomes
//   kiln_parallel_for(body, ctx, trip_count)
// where `body(lo, hi, ctx)` runs iterations [lo, hi) and `ctx` (on the
// caller's stack) holds the loop's captured values: memref descriptors,
// integers and floats. The runtime gives each thread one contiguous chunk.
// Every iteration does the same arithmetic whichever thread runs it, so the
// results are bitwise the same for every thread count.
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/Passes.h"

#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"

namespace kiln {
#define GEN_PASS_DEF_KILNCPUPARALLELIZE
#include "compiler/Conversion/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kRuntimeEntry = "kiln_parallel_for";

/// A loop's static trip count, or 1 when it is not known.
double trips(scf::ForOp loop) {
  auto trip = constantTripCount(loop.getLowerBound(), loop.getUpperBound(), loop.getStep());
  return trip ? double(*trip) : 1.0;
}

/// Operations `block` executes, each loop's body counted once per iteration.
double work(Block &block) {
  double total = 0;
  for (Operation &op : block) {
    double inner = 0;
    for (Region &r : op.getRegions())
      for (Block &b : r)
        inner += work(b);
    if (auto loop = dyn_cast<scf::ForOp>(op))
      inner *= trips(loop);
    // A nest not lowered yet (a scalar reduction): its body once per point.
    if (auto nest = dyn_cast<linalg::LinalgOp>(op))
      for (int64_t n : nest.getStaticLoopRanges())
        inner *= ShapedType::isDynamic(n) ? 1.0 : double(n);
    total += 1 + inner;
  }
  return total;
}

/// The ctx field type of a captured value, or null when it cannot travel.
Type fieldType(Value v, const LLVMTypeConverter &converter) {
  Type t = v.getType();
  if (isa<MemRefType>(t) || isa<IndexType>(t))
    return converter.convertType(t);
  if (isa<IntegerType, FloatType>(t))
    return t;
  return {};
}

/// The runtime's `void kiln_parallel_for(void (*)(int64_t, int64_t, void *),
/// void *, int64_t)`, declared once.
func::FuncOp runtimeEntry(ModuleOp module, FunctionType bodyType) {
  if (auto fn = module.lookupSymbol<func::FuncOp>(kRuntimeEntry))
    return fn;
  MLIRContext *ctx = module.getContext();
  auto b = OpBuilder::atBlockEnd(module.getBody());
  auto type = FunctionType::get(
      ctx, {bodyType, LLVM::LLVMPointerType::get(ctx), IntegerType::get(ctx, 64)}, {});
  auto fn = b.create<func::FuncOp>(module.getLoc(), kRuntimeEntry, type);
  fn.setPrivate();
  return fn;
}

/// Moves `loop`'s body into a new function and calls the runtime in its
/// place. Returns false (and changes nothing) when a captured value has no
/// ctx representation.
bool outline(scf::ForOp loop, func::FuncOp parent, unsigned index,
             const LLVMTypeConverter &converter) {
  MLIRContext *ctx = loop.getContext();
  Location loc = loop.getLoc();
  llvm::SetVector<Value> used;
  getUsedValuesDefinedAbove(loop.getRegion(), used);
  used.insert(loop.getLowerBound());
  used.insert(loop.getStep());
  // Constants are cloned into the body; everything else travels in ctx.
  SmallVector<Value> passed;
  SmallVector<Operation *> constants;
  SmallVector<Type> fields;
  for (Value v : used) {
    Operation *def = v.getDefiningOp();
    if (def && def->hasTrait<OpTrait::ConstantLike>()) {
      constants.push_back(def);
      continue;
    }
    Type field = fieldType(v, converter);
    if (!field)
      return false;
    passed.push_back(v);
    fields.push_back(field);
  }

  auto ptrType = LLVM::LLVMPointerType::get(ctx);
  auto i64 = IntegerType::get(ctx, 64);
  auto bodyType = FunctionType::get(ctx, {i64, i64, ptrType}, {});
  auto structType = LLVM::LLVMStructType::getLiteral(ctx, fields.empty() ? SmallVector<Type>{i64} : fields);
  auto slot = [&](OpBuilder &b, Value base, unsigned i) {
    return b.create<LLVM::GEPOp>(loc, ptrType, structType, base,
                                 ArrayRef<LLVM::GEPArg>{0, int32_t(i)});
  };

  // The body: for it in [lo, hi): iv = lb + it * step.
  OpBuilder mb(ctx);
  mb.setInsertionPointAfter(parent);
  auto body = mb.create<func::FuncOp>(loc, (parent.getSymName() + ".par" + Twine(index)).str(),
                                      bodyType);
  body.setPrivate();
  OpBuilder b = OpBuilder::atBlockBegin(body.addEntryBlock());
  IRMapping map;
  for (Operation *c : constants)
    b.clone(*c, map);
  for (auto [i, v] : llvm::enumerate(passed)) {
    Value field = b.create<LLVM::LoadOp>(loc, fields[i], slot(b, body.getArgument(2), i));
    if (isa<IndexType>(v.getType()))
      field = b.create<arith::IndexCastOp>(loc, v.getType(), field);
    else if (isa<MemRefType>(v.getType()))
      field = b.create<UnrealizedConversionCastOp>(loc, v.getType(), field).getResult(0);
    map.map(v, field);
  }
  auto asIndex = [&](Value v) { return b.create<arith::IndexCastOp>(loc, b.getIndexType(), v); };
  Value one = b.create<arith::ConstantIndexOp>(loc, 1);
  auto chunk = b.create<scf::ForOp>(loc, asIndex(body.getArgument(0)), asIndex(body.getArgument(1)), one);
  b.setInsertionPointToStart(chunk.getBody());
  Value offset = b.create<arith::MulIOp>(loc, chunk.getInductionVar(), map.lookup(loop.getStep()));
  map.map(loop.getInductionVar(),
          b.create<arith::AddIOp>(loc, map.lookup(loop.getLowerBound()), offset));
  for (Operation &op : loop.getBody()->without_terminator())
    b.clone(op, map);
  b.setInsertionPointToEnd(&body.front());
  b.create<func::ReturnOp>(loc);

  // The call site: ctx lives in the entry block (a loop around the call
  // must not grow the stack), filled just before the call.
  OpBuilder entry = OpBuilder::atBlockBegin(&parent.front());
  Value count = entry.create<LLVM::ConstantOp>(loc, i64, entry.getI64IntegerAttr(1));
  Value ctxPtr = entry.create<LLVM::AllocaOp>(loc, ptrType, structType, count);
  OpBuilder cb(loop);
  for (auto [i, v] : llvm::enumerate(passed)) {
    Value field = v;
    if (isa<IndexType>(v.getType()))
      field = cb.create<arith::IndexCastOp>(loc, i64, v);
    else if (isa<MemRefType>(v.getType()))
      field = cb.create<UnrealizedConversionCastOp>(loc, fields[i], v).getResult(0);
    cb.create<LLVM::StoreOp>(loc, field, slot(cb, ctxPtr, i));
  }
  Value span = cb.create<arith::SubIOp>(loc, loop.getUpperBound(), loop.getLowerBound());
  Value trips = cb.create<arith::CeilDivSIOp>(loc, span, loop.getStep());
  Value fnRef = cb.create<func::ConstantOp>(loc, bodyType, SymbolRefAttr::get(body));
  auto module = parent->getParentOfType<ModuleOp>();
  cb.create<func::CallOp>(loc, runtimeEntry(module, bodyType),
                          ValueRange{fnRef, ctxPtr, cb.create<arith::IndexCastOp>(loc, i64, trips)});
  loop.erase();
  return true;
}

struct KilnCPUParallelizePass : kiln::impl::KilnCPUParallelizeBase<KilnCPUParallelizePass> {
  using KilnCPUParallelizeBase::KilnCPUParallelizeBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    LLVMTypeConverter converter(&getContext());
    SmallVector<func::FuncOp> functions(module.getOps<func::FuncOp>());
    for (func::FuncOp fn : functions) {
      if (fn.isExternal())
        continue;
      // Outermost marked loops only: a marked loop inside another runs on
      // the thread that runs its parent's iteration.
      // A loop inside a longer sequential one (a recurrent cell's step) is
      // dispatched that many times per call, on data the previous iteration
      // left split between the cores: it must do 4x the work to pay.
      auto threshold = [&](scf::ForOp loop) {
        double times = 1;
        for (auto outer = loop->getParentOfType<scf::ForOp>(); outer;
             outer = outer->getParentOfType<scf::ForOp>())
          times *= trips(outer);
        return double(minWork) * (times >= 8 ? 4 : 1);
      };
      SmallVector<scf::ForOp> loops;
      fn.walk<WalkOrder::PreOrder>([&](scf::ForOp loop) {
        if (!loop->hasAttr(kiln::kParallelAttr))
          return WalkResult::advance();
        auto trip = constantTripCount(loop.getLowerBound(), loop.getUpperBound(), loop.getStep());
        if (loop.getNumResults() == 0 && (!trip || *trip > 1) &&
            work(*loop.getBody()) * trips(loop) >= threshold(loop))
          loops.push_back(loop);
        return WalkResult::skip();
      });
      unsigned index = 0;
      for (scf::ForOp loop : loops)
        if (outline(loop, fn, index, converter))
          ++index;
    }
    module.walk([](scf::ForOp loop) { loop->removeAttr(kiln::kParallelAttr); });
  }
};

} // namespace
