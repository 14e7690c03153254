//===- GPUMatmul.cpp - Matrix products tiled through shared memory --------===//
//
// Mapped one output element per thread, a matrix product reads each input
// element from global memory once per output it feeds (64 times for a
// 64-wide tile of outputs). Here each block computes a 64x64 tile of the
// output: for each 16-deep slice of the reduction its 256 threads copy the
// A and B slices into shared memory once, then every thread accumulates a
// 4x4 set of outputs from shared memory, in registers. A thread's outputs
// are 16 rows and 16 columns apart, so a warp's loads from shared memory and
// its stores to the output touch consecutive addresses. A product whose
// 64x64 tiles are too few to fill a GPU (a recurrent step's 32x64 or 64x32)
// takes 32x32 or 16x16 tiles, 2x2 or one output per thread: more blocks,
// each walking the reduction with a quarter or a sixteenth of the work per
// slice (one 64x32 tile's walk was its time step's longest path). kiln-gpu-split-k,
// here too for the same product analysis, first splits the reduction of a
// product with too few tiles to fill a GPU into partial products.
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/GPUKernels.h"
#include "compiler/Conversion/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Linalg/Utils/Utils.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace kiln {
#define GEN_PASS_DEF_KILNGPUSPLITK
#define GEN_PASS_DEF_KILNGPUTILEMATMUL
#include "compiler/Conversion/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

constexpr int64_t kTile = 64;          // output rows and columns per block
constexpr int64_t kSmallestTile = 16;  // ... when 64 gives too few blocks
constexpr int64_t kDepth = 16;         // reduction slice staged per step
constexpr int64_t kSide = 16;          // threads per block side (16x16 = 256)
constexpr int64_t kThinRows = 8;       // a product this thin on one side is thin
constexpr int64_t kThinCols = 8;       // a thin product's columns per block
constexpr int64_t kThinGroups = 32;    // threads splitting K per column (8x32 = 256)
constexpr int64_t kThinUnroll = 4;     // loads a thread has in flight
constexpr int64_t kMaxGridYZ = 65535;  // blocks along the grid's y and z
constexpr int64_t kFewBlocks = 16;     // fewer blocks leave most of a GPU idle
constexpr int64_t kLongDepth = 1024;   // a reduction too long for few blocks to walk
constexpr int64_t kSplitDepth = 256;   // the shortest reduction worth splitting
constexpr int64_t kMinChunk = 64;      // the least of it each partial product walks
constexpr int64_t kMaxChunks = 16;     // partial products of one output at most

/// Whether `op`'s body is exactly out + a * b (isaContractionOpInterface
/// also lets unary operations through, which this kernel would drop).
static bool isMultiplyAdd(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  if (body.getOperations().size() != 3)
    return false;
  auto mul = dyn_cast<arith::MulFOp>(body.front());
  auto add = dyn_cast<arith::AddFOp>(*std::next(body.begin()));
  Value a = body.getArgument(0), b = body.getArgument(1), out = body.getArgument(2);
  auto isPair = [](Value x, Value y, Value p, Value q) {
    return (x == p && y == q) || (x == q && y == p);
  };
  return mul && add && isPair(mul.getLhs(), mul.getRhs(), a, b) &&
         isPair(add.getLhs(), add.getRhs(), out, mul.getResult()) &&
         cast<linalg::YieldOp>(body.getTerminator()).getOperand(0) == add.getResult();
}

/// Reads through transposes made just for `op`: while the last operation
/// before it that touches memory is a transpose copy into one of its
/// inputs, and nothing else uses that copy, `op` reads the copy's source
/// with the composed indexing map and the copy (a launch and a pass over
/// memory) goes. Nothing in between writes memory, so the source still
/// holds what the copy would have read.
static void foldTransposedInputs(linalg::GenericOp op) {
  for (;;) {
    Operation *prev = op->getPrevNode();
    while (prev && isMemoryEffectFree(prev))
      prev = prev->getPrevNode();
    auto copy = dyn_cast_or_null<linalg::GenericOp>(prev);
    if (!copy || !kiln::isPermutationCopy(copy))
      return;
    Value copied = copy.getDpsInitOperand(0)->get();
    OpOperand *use = nullptr;
    for (OpOperand *input : op.getDpsInputOperands())
      if (input->get() == copied)
        use = use ? nullptr : input; // read twice: leave it
    bool onlyThese = llvm::all_of(copied.getUsers(), [&](Operation *user) {
      return user == copy.getOperation() || user == op.getOperation();
    });
    // The copy must be a temporary (its writes are nobody else's result),
    // and its source must not share memory with the product's output: the
    // memory plan may have given the output the source's bytes once the
    // copy had read them.
    Value source = copy.getDpsInputOperand(0)->get();
    if (!use || !onlyThese || !copied.getDefiningOp<memref::ViewOp>() ||
        !kiln::disjoint(source, op.getDpsInitOperand(0)->get()))
      return;
    // op reads copied[useMap(d)] = source[inMap(outMap^-1(useMap(d)))].
    AffineMap inMap = copy.getIndexingMapsArray()[0], outMap = copy.getIndexingMapsArray()[1];
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    unsigned index = use->getOperandNumber();
    maps[index] = inMap.compose(inversePermutation(outMap)).compose(maps[index]);
    use->set(source);
    op.setIndexingMapsAttr(OpBuilder(op).getAffineMapArrayAttr(maps));
    copy.erase();
  }
}

/// A product the pass rewrites: out[m.., n..] += A[m.., k..] * B[n.., k..]
/// over batch dimensions, each group of loop dimensions (outermost first)
/// read through the operands' indexing maps, which may combine them (a
/// convolution reads its input at h + kh: an implicit matrix product).
struct Product {
  linalg::GenericOp op;
  OpOperand *lhs, *rhs; // A: indexed by the m dimensions, B: by the n ones
  SmallVector<unsigned> m, n, k, batch;
  SmallVector<int64_t> sizes;
  int64_t rows = 1, cols = 1, depth = 1, batches = 1; // the groups' extents
  Value filled; // the output's fill value, or null: add to the output
  // An elementwise operation after the product computed in its epilogue
  // (null if none), and the map from the output's indices to its loops.
  linalg::GenericOp consumer;
  AffineMap toConsumerLoops;
};

static int64_t ceilDiv(int64_t x, int64_t y) { return (x + y - 1) / y; }

/// Sorts `op`'s loops into a Product's groups: a dimension of the output
/// read by both inputs is a batch, by one an m or n; one the output does
/// not have must be a reduction both inputs read. Fails on anything else
/// (a loop no operand reads would be pinned to 0; a reduction one input
/// lacks is a sum of that input, not a product).
static FailureOr<Product> classify(linalg::GenericOp op) {
  Product p;
  p.op = op;
  p.lhs = op.getDpsInputOperand(0);
  p.rhs = op.getDpsInputOperand(1);
  p.sizes = op.getStaticLoopRanges();
  AffineMap a = op.getMatchingIndexingMap(p.lhs), b = op.getMatchingIndexingMap(p.rhs);
  AffineMap out = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  // (Static sizes, none empty: an empty product is left to the loops.)
  if (!kiln::ownsOutput(op, op.getDpsInitOperand(0)) ||
      llvm::any_of(p.sizes, [](int64_t size) { return ShapedType::isDynamic(size) || size == 0; }))
    return failure();
  for (unsigned d = 0; d < op.getNumLoops(); ++d) {
    bool inA = a.isFunctionOfDim(d), inB = b.isFunctionOfDim(d);
    bool inOut = out.isFunctionOfDim(d); // exactly the parallel loops (ownsOutput)
    if (!(inA || inB) || (!inOut && !(inA && inB)))
      return failure();
    (inOut ? (inA && inB ? p.batch : inA ? p.m : p.n) : p.k).push_back(d);
  }
  if (p.m.empty() || p.n.empty() || p.k.empty())
    return failure();
  auto extent = [&](ArrayRef<unsigned> group) {
    int64_t size = 1;
    for (unsigned d : group)
      size *= p.sizes[d];
    return size;
  };
  p.rows = extent(p.m), p.cols = extent(p.n), p.depth = extent(p.k), p.batches = extent(p.batch);
  return p;
}

/// Exchanges the roles of A and B (the output is the same sum).
static void transpose(Product &p) {
  std::swap(p.m, p.n);
  std::swap(p.rows, p.cols);
  std::swap(p.lhs, p.rhs);
}

/// Whether `operand`'s fastest-varying index moves with the innermost
/// dimension of `group`.
static bool fastestAlong(const Product &p, OpOperand *operand, ArrayRef<unsigned> group) {
  linalg::GenericOp op = p.op;
  AffineMap map = op.getMatchingIndexingMap(operand);
  return map.getNumResults() && map.getResults().back().isFunctionOfDim(group.back());
}

/// Index constants and bound checks for building a kernel.
struct Builder {
  Location loc;
  Value cst(OpBuilder &at, int64_t v) const {
    return at.create<arith::ConstantIndexOp>(loc, v).getResult();
  }
  Value lessThan(OpBuilder &at, Value x, int64_t bound) const {
    return at.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, x, cst(at, bound));
  }
  /// A load of `operand` at the loop indices `dims`.
  Value load(OpBuilder &at, const Product &p, OpOperand *operand, ArrayRef<Value> dims) const {
    linalg::GenericOp op = p.op;
    return at.create<memref::LoadOp>(
        loc, operand->get(), kiln::applyIndexingMap(at, loc, op.getMatchingIndexingMap(operand), dims));
  }
};

/// The elementwise operation that next touches `op`'s output if its
/// thread for an output element can run in the product's epilogue, right
/// after that element is computed: it reads and writes the product's output
/// only at that element (one permutation map covering it), its other
/// operands share no memory with that output, and what it writes shares
/// none with the product's inputs (other blocks may still be reading them).
/// The product then runs where the consumer was, so nothing in between may
/// write its inputs (a gradient accumulated into a loop's carried sum a few
/// ops after its product). Its launch and a pass over memory go.
static linalg::GenericOp fusableConsumer(linalg::GenericOp op, AffineMap &toLoops) {
  Value out = op.getDpsInitOperand(0)->get();
  kiln::Place outPlace = kiln::Place::of(out);
  SmallVector<kiln::Place> inPlaces;
  for (Value in : op.getDpsInputs())
    inPlaces.push_back(kiln::Place::of(in));
  Operation *next = op->getNextNode();
  for (; next && !kiln::mayAccess(next, outPlace); next = next->getNextNode())
    if (llvm::any_of(inPlaces, [&](const kiln::Place &in) { return kiln::mayAccess(next, in, true); }))
      return {};
  auto c = dyn_cast_or_null<linalg::GenericOp>(next);
  if (!c || !c.hasPureBufferSemantics() || c.getNumReductionLoops() || c.hasIndexSemantics())
    return {};
  // Its body must not touch memory itself (a load of the product's output
  // there would race with the other blocks).
  if (!kiln::bodyIsMemoryFree(c))
    return {};
  std::optional<AffineMap> map;
  unsigned writes = 0;
  for (OpOperand &operand : c->getOpOperands()) {
    if (operand.get() != out) {
      if (isa<MemRefType>(operand.get().getType()) && !kiln::disjoint(operand.get(), out))
        return {};
      continue;
    }
    AffineMap m = c.getMatchingIndexingMap(&operand);
    if (!m.isPermutation() || (map && *map != m))
      return {};
    map = m;
    writes += c.isDpsInit(&operand);
  }
  if (!map || writes > 1)
    return {};
  // Its loops are the output's elements, each once.
  auto shape = cast<MemRefType>(out.getType()).getShape();
  SmallVector<int64_t> ranges = c.getStaticLoopRanges();
  for (unsigned r = 0; r < map->getNumResults(); ++r)
    if (ranges[map->getDimPosition(r)] != shape[r])
      return {};
  for (OpOperand &init : c.getDpsInitsMutable())
    for (OpOperand *input : op.getDpsInputOperands())
      if (init.get() != out && !kiln::disjoint(init.get(), input->get()))
        return {};
  toLoops = inversePermutation(*map);
  return c;
}

/// out(dims) = the output's fill value or its old value, plus `sum`; then
/// the consumer's body for that element, if there is one.
static void accumulate(OpBuilder &b, const Builder &kb, const Product &p, ArrayRef<Value> dims,
                       Value sum) {
  linalg::GenericOp op = p.op;
  Location loc = kb.loc;
  Value out = op.getDpsInitOperand(0)->get();
  SmallVector<Value> at =
      kiln::applyIndexingMap(b, loc, op.getMatchingIndexingMap(op.getDpsInitOperand(0)), dims);
  Value old = p.filled ? p.filled : b.create<memref::LoadOp>(loc, out, at).getResult();
  Value result = b.create<arith::AddFOp>(loc, old, sum);
  linalg::GenericOp c = p.consumer;
  if (!c || !llvm::is_contained(c.getDpsInits(), out))
    b.create<memref::StoreOp>(loc, result, out, at);
  if (!c)
    return;
  SmallVector<Value> loops = kiln::applyIndexingMap(b, loc, p.toConsumerLoops, at);
  IRMapping values;
  SmallVector<OpOperand *> others;
  for (OpOperand &operand : c->getOpOperands()) {
    if (operand.get() == out)
      values.map(c.getMatchingBlockArgument(&operand), result);
    else
      others.push_back(&operand);
  }
  kiln::mapOperandsAt(b, loc, c, others, loops, values);
  SmallVector<Value> yields = kiln::cloneBody(b, c, loops, values);
  for (auto [init, yielded] : llvm::zip(c.getDpsInitsMutable(), yields))
    b.create<memref::StoreOp>(
        loc, yielded, init.get(),
        kiln::applyIndexingMap(b, loc, c.getMatchingIndexingMap(&init), loops));
}

/// The blocks of `tile` x `tile` outputs covering `p`.
static int64_t tiledBlocks(const Product &p, int64_t tile) {
  return ceilDiv(p.rows, tile) * ceilDiv(p.cols, tile) * p.batches;
}

/// The largest tile (64, 32 or 16 a side) whose blocks are enough to fill a
/// GPU, else the smallest.
static int64_t tileFor(const Product &p) {
  int64_t tile = kTile;
  while (tile > kSmallestTile && tiledBlocks(p, tile) < kFewBlocks)
    tile /= 2;
  return tile;
}

/// The tiled kernel (the file comment), `tile` x `tile` outputs a block.
/// Rows are the m group's row-major index, columns the n group's, the
/// reduction the k group's.
static void buildTiled(const Product &p, int64_t tile) {
  const int64_t per = tile / kSide; // outputs per thread per side
  linalg::GenericOp op = p.op;
  Location loc = op.getLoc();
  Builder kb{loc};
  auto cst = [&](OpBuilder &at, int64_t v) { return kb.cst(at, v); };
  // At the consumer when there is one: its operands may be defined after
  // the product (nothing in between touches the product's operands).
  linalg::GenericOp consumer = p.consumer;
  OpBuilder bld(consumer ? consumer.getOperation() : op.getOperation());
  Type f32 = bld.getF32Type();
  auto workgroup = gpu::AddressSpaceAttr::get(op.getContext(), gpu::AddressSpace::Workgroup);
  // A padding column keeps threads that store along k in different
  // shared-memory banks.
  auto tileType = MemRefType::get({kDepth, tile + 1}, f32, MemRefLayoutAttrInterface(), workgroup);
  Value one = cst(bld, 1);
  auto launch = bld.create<gpu::LaunchOp>(loc, cst(bld, ceilDiv(p.cols, tile)),
                                          cst(bld, ceilDiv(p.rows, tile)), cst(bld, p.batches),
                                          cst(bld, kSide * kSide), one, one);
  Value sharedA = launch.addWorkgroupAttribution(tileType, loc);
  Value sharedB = launch.addWorkgroupAttribution(tileType, loc);
  OpBuilder b = OpBuilder::atBlockBegin(&launch.getBody().front());
  Value thread = launch.getThreadIds().x;
  Value tx = b.create<arith::RemUIOp>(loc, thread, cst(b, kSide));
  Value ty = b.create<arith::DivUIOp>(loc, thread, cst(b, kSide));
  Value row0 = b.create<arith::MulIOp>(loc, launch.getBlockIds().y, cst(b, tile));
  Value col0 = b.create<arith::MulIOp>(loc, launch.getBlockIds().x, cst(b, tile));

  // Loop indices: batch dimensions from the block's z, the others set
  // where they are known.
  SmallVector<Value> dims(p.sizes.size(), cst(b, 0));
  kiln::delinearize(b, loc, launch.getBlockIds().z, p.batch, p.sizes, dims);
  Value zero = b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(0));

  // Copies element e of a kDepth x tile slice (e = thread + 256 q) into
  // shared memory, zero outside the operand. Consecutive threads go along
  // the operand's fastest index: k, or its rows or columns.
  auto stage = [&](OpBuilder &at, OpOperand *operand, Value shared, ArrayRef<unsigned> group,
                   int64_t extent, Value base, Value k0) {
    bool kFastest = !fastestAlong(p, operand, group);
    for (int64_t q = 0; q < kDepth * tile / (kSide * kSide); ++q) {
      Value e = at.create<arith::AddIOp>(loc, thread, cst(at, q * kSide * kSide));
      Value kk = kFastest ? at.create<arith::RemUIOp>(loc, e, cst(at, kDepth)).getResult()
                          : at.create<arith::DivUIOp>(loc, e, cst(at, tile)).getResult();
      Value ii = kFastest ? at.create<arith::DivUIOp>(loc, e, cst(at, kDepth)).getResult()
                          : at.create<arith::RemUIOp>(loc, e, cst(at, tile)).getResult();
      Value kIdx = at.create<arith::AddIOp>(loc, k0, kk);
      Value iIdx = at.create<arith::AddIOp>(loc, base, ii);
      Value inside = at.create<arith::AndIOp>(loc, kb.lessThan(at, kIdx, p.depth),
                                              kb.lessThan(at, iIdx, extent));
      auto ifOp = at.create<scf::IfOp>(loc, TypeRange{f32}, inside, /*withElseRegion=*/true);
      {
        OpBuilder tb = ifOp.getThenBodyBuilder();
        SmallVector<Value> values(dims);
        kiln::delinearize(tb, loc, kIdx, p.k, p.sizes, values);
        kiln::delinearize(tb, loc, iIdx, group, p.sizes, values);
        tb.create<scf::YieldOp>(loc, kb.load(tb, p, operand, values));
        OpBuilder eb = ifOp.getElseBodyBuilder();
        eb.create<scf::YieldOp>(loc, zero);
      }
      at.create<memref::StoreOp>(loc, ifOp.getResult(0), shared, ValueRange{kk, ii});
    }
  };

  // The reduction in slices of kDepth; the thread's per x per sums as loop
  // values.
  SmallVector<Value> init(per * per, zero);
  auto slices = b.create<scf::ForOp>(loc, cst(b, 0), cst(b, p.depth), cst(b, kDepth), init);
  {
    OpBuilder lb = OpBuilder::atBlockBegin(slices.getBody());
    Value k0 = slices.getInductionVar();
    stage(lb, p.lhs, sharedA, p.m, p.rows, row0, k0);
    stage(lb, p.rhs, sharedB, p.n, p.cols, col0, k0);
    lb.create<gpu::BarrierOp>(loc);
    auto inner = lb.create<scf::ForOp>(loc, cst(lb, 0), cst(lb, kDepth), cst(lb, 1),
                                       slices.getRegionIterArgs());
    {
      OpBuilder ib = OpBuilder::atBlockBegin(inner.getBody());
      Value kk = inner.getInductionVar();
      SmallVector<Value> as, bs;
      for (int64_t i = 0; i < per; ++i) {
        Value r = ib.create<arith::AddIOp>(loc, ty, cst(ib, i * kSide));
        as.push_back(ib.create<memref::LoadOp>(loc, sharedA, ValueRange{kk, r}));
        Value c = ib.create<arith::AddIOp>(loc, tx, cst(ib, i * kSide));
        bs.push_back(ib.create<memref::LoadOp>(loc, sharedB, ValueRange{kk, c}));
      }
      SmallVector<Value> next;
      for (int64_t i = 0; i < per; ++i)
        for (int64_t j = 0; j < per; ++j) {
          Value prod = ib.create<arith::MulFOp>(loc, as[i], bs[j]);
          next.push_back(
              ib.create<arith::AddFOp>(loc, inner.getRegionIterArgs()[i * per + j], prod));
        }
      ib.create<scf::YieldOp>(loc, next);
    }
    // Everyone is done reading the slices before the next overwrites them.
    lb.create<gpu::BarrierOp>(loc);
    lb.create<scf::YieldOp>(loc, inner.getResults());
  }

  // out += the thread's sums, inside the output (out = fill + sums where
  // the output was just filled).
  for (int64_t i = 0; i < per; ++i)
    for (int64_t j = 0; j < per; ++j) {
      Value r = b.create<arith::AddIOp>(
          loc, row0, b.create<arith::AddIOp>(loc, ty, cst(b, i * kSide)).getResult());
      Value c = b.create<arith::AddIOp>(
          loc, col0, b.create<arith::AddIOp>(loc, tx, cst(b, j * kSide)).getResult());
      Value inside =
          b.create<arith::AndIOp>(loc, kb.lessThan(b, r, p.rows), kb.lessThan(b, c, p.cols));
      auto ifOp = b.create<scf::IfOp>(loc, inside, /*withElseRegion=*/false);
      OpBuilder tb = ifOp.getThenBodyBuilder();
      SmallVector<Value> values(dims);
      kiln::delinearize(tb, loc, r, p.m, p.sizes, values);
      kiln::delinearize(tb, loc, c, p.n, p.sizes, values);
      accumulate(tb, kb, p, values, slices.getResult(i * per + j));
    }
  b.create<gpu::TerminatorOp>(loc);
}

/// The thin kernel: at most kThinRows rows. Each block computes kThinCols
/// columns of every row; its 256 threads are kThinCols columns by
/// kThinGroups groups, a group summing every kThinGroups-th k (the thread
/// keeps a sum per row, kThinUnroll loads in flight), then the groups'
/// sums are added in shared memory in a fixed order (the result does not
/// depend on timing). Consecutive threads go along whichever of the
/// columns and k is B's fastest index, so a warp's loads of B coalesce.
static void buildThin(const Product &p) {
  linalg::GenericOp op = p.op;
  Location loc = op.getLoc();
  Builder kb{loc};
  // At the consumer when there is one: its operands may be defined after
  // the product (nothing in between touches the product's operands).
  linalg::GenericOp consumer = p.consumer;
  OpBuilder bld(consumer ? consumer.getOperation() : op.getOperation());
  Type f32 = bld.getF32Type();
  auto workgroup = gpu::AddressSpaceAttr::get(op.getContext(), gpu::AddressSpace::Workgroup);
  auto partialsType = MemRefType::get({kThinGroups, p.rows * kThinCols}, f32,
                                      MemRefLayoutAttrInterface(), workgroup);
  Value one = kb.cst(bld, 1);
  auto launch = bld.create<gpu::LaunchOp>(loc, kb.cst(bld, ceilDiv(p.cols, kThinCols)),
                                          kb.cst(bld, p.batches), one,
                                          kb.cst(bld, kThinCols * kThinGroups), one, one);
  Value partials = launch.addWorkgroupAttribution(partialsType, loc);
  OpBuilder b = OpBuilder::atBlockBegin(&launch.getBody().front());
  Value thread = launch.getThreadIds().x;
  bool colsFastest = fastestAlong(p, p.rhs, p.n);
  Value col = colsFastest
                  ? b.create<arith::RemUIOp>(loc, thread, kb.cst(b, kThinCols)).getResult()
                  : b.create<arith::DivUIOp>(loc, thread, kb.cst(b, kThinGroups)).getResult();
  Value group = colsFastest
                    ? b.create<arith::DivUIOp>(loc, thread, kb.cst(b, kThinCols)).getResult()
                    : b.create<arith::RemUIOp>(loc, thread, kb.cst(b, kThinGroups)).getResult();
  Value col0 = b.create<arith::MulIOp>(loc, launch.getBlockIds().x, kb.cst(b, kThinCols));
  Value c = b.create<arith::AddIOp>(loc, col0, col);
  SmallVector<Value> dims(p.sizes.size(), kb.cst(b, 0));
  kiln::delinearize(b, loc, launch.getBlockIds().y, p.batch, p.sizes, dims);
  kiln::delinearize(b, loc, c, p.n, p.sizes, dims);
  Value zero = b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(0));

  // Each group's sums over its k, zero outside the operands (the guard is
  // left out where the sizes make it always true).
  SmallVector<Value> init(p.rows, zero);
  auto steps = b.create<scf::ForOp>(loc, kb.cst(b, 0), kb.cst(b, ceilDiv(p.depth, kThinGroups)),
                                    one, init);
  {
    OpBuilder lb = OpBuilder::atBlockBegin(steps.getBody());
    Value kk = lb.create<arith::AddIOp>(
        loc, lb.create<arith::MulIOp>(loc, steps.getInductionVar(), kb.cst(lb, kThinGroups)),
        group);
    Value inside;
    auto both = [&](Value x) { return inside ? lb.create<arith::AndIOp>(loc, inside, x) : x; };
    if (p.cols % kThinCols)
      inside = both(kb.lessThan(lb, c, p.cols));
    if (p.depth % kThinGroups)
      inside = both(kb.lessThan(lb, kk, p.depth));
    // The column's B and the rows' A at kk.
    auto load = [&](OpBuilder &at) {
      SmallVector<Value> values(dims);
      kiln::delinearize(at, loc, kk, p.k, p.sizes, values);
      SmallVector<Value> loaded{kb.load(at, p, p.rhs, values)};
      for (int64_t i = 0; i < p.rows; ++i) {
        // Row i's indices, known here.
        int64_t rest = i;
        for (unsigned d : llvm::reverse(p.m)) {
          values[d] = kb.cst(at, rest % p.sizes[d]);
          rest /= p.sizes[d];
        }
        loaded.push_back(kb.load(at, p, p.lhs, values));
      }
      return loaded;
    };
    SmallVector<Value> values;
    if (inside) {
      auto ifOp = lb.create<scf::IfOp>(loc, SmallVector<Type>(p.rows + 1, f32), inside,
                                       /*withElseRegion=*/true);
      OpBuilder tb = ifOp.getThenBodyBuilder();
      tb.create<scf::YieldOp>(loc, load(tb));
      OpBuilder eb = ifOp.getElseBodyBuilder();
      eb.create<scf::YieldOp>(loc, SmallVector<Value>(p.rows + 1, zero));
      values = ifOp.getResults();
    } else {
      values = load(lb);
    }
    SmallVector<Value> next;
    for (int64_t i = 0; i < p.rows; ++i)
      next.push_back(lb.create<arith::AddFOp>(
          loc, steps.getRegionIterArgs()[i],
          lb.create<arith::MulFOp>(loc, values[i + 1], values[0])));
    lb.create<scf::YieldOp>(loc, next);
  }

  // partials[group][row * kThinCols + col]; then thread t < rows *
  // kThinCols adds up column t of the partials into its output element.
  for (int64_t i = 0; i < p.rows; ++i) {
    Value slot = b.create<arith::AddIOp>(loc, kb.cst(b, i * kThinCols), col);
    b.create<memref::StoreOp>(loc, steps.getResult(i), partials, ValueRange{group, slot});
  }
  b.create<gpu::BarrierOp>(loc);
  Value row = b.create<arith::DivUIOp>(loc, thread, kb.cst(b, kThinCols));
  Value outCol = b.create<arith::AddIOp>(
      loc, col0, b.create<arith::RemUIOp>(loc, thread, kb.cst(b, kThinCols)));
  Value owner = kb.lessThan(b, thread, p.rows * kThinCols);
  if (p.cols % kThinCols)
    owner = b.create<arith::AndIOp>(loc, owner, kb.lessThan(b, outCol, p.cols));
  auto ifOp = b.create<scf::IfOp>(loc, owner, /*withElseRegion=*/false);
  {
    OpBuilder tb = ifOp.getThenBodyBuilder();
    auto sum = tb.create<scf::ForOp>(loc, kb.cst(tb, 0), kb.cst(tb, kThinGroups), one,
                                     ValueRange{zero});
    {
      OpBuilder sb = OpBuilder::atBlockBegin(sum.getBody());
      Value part = sb.create<memref::LoadOp>(loc, partials,
                                             ValueRange{sum.getInductionVar(), thread});
      sb.create<scf::YieldOp>(
          loc, sb.create<arith::AddFOp>(loc, sum.getRegionIterArgs()[0], part).getResult());
    }
    SmallVector<Value> at(dims);
    kiln::delinearize(tb, loc, row, p.m, p.sizes, at);
    kiln::delinearize(tb, loc, outCol, p.n, p.sizes, at);
    accumulate(tb, kb, p, at, sum.getResult(0));
  }
  b.create<gpu::TerminatorOp>(loc);
  // Last: unrolling replaces the loop's results (an epilogue computes them
  // when the unroll factor does not divide the trip count).
  (void)loopUnrollByFactor(steps, std::min(kThinUnroll, ceilDiv(p.depth, kThinGroups)));
}

/// The Product `op` is when it is out + a * b on f32 buffers, or failure.
static FailureOr<Product> productOf(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      !isMultiplyAdd(op) || llvm::any_of(op->getOpOperands(), [](OpOperand &operand) {
        auto type = dyn_cast<MemRefType>(operand.get().getType());
        return !type || !type.getElementType().isF32();
      }))
    return failure();
  return classify(op);
}

/// Whether a long reduction into a few blocks' worth of outputs (a
/// convolution's weight gradient) is left to kiln-gpu-block-reduce, which
/// gives each output element a block: faster than `blocks` walking it.
static bool leftToBlockReduce(const Product &p, int64_t blocks) {
  return blocks < kFewBlocks && p.depth >= kLongDepth &&
         kiln::blockReduces(p.rows * p.cols * p.batches, p.depth);
}

struct KilnGPUTileMatmulPass : kiln::impl::KilnGPUTileMatmulBase<KilnGPUTileMatmulPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> candidates;
    getOperation().walk([&](linalg::GenericOp op) { candidates.push_back(op); });
    for (linalg::GenericOp op : candidates)
      if (!fused.contains(op))
        rewrite(op);
  }

  /// Consumers computed in a product's epilogue (erased, later in the walk).
  llvm::DenseSet<Operation *> fused;

  void rewrite(linalg::GenericOp op) {
    FailureOr<Product> found = productOf(op);
    if (failed(found))
      return;
    Product &p = *found;
    // A product thin on one side (batch-1 prediction, a one-output layer)
    // would use a few rows of each 64x64 tile and walk all of K in a few
    // blocks: its own kernel takes that side as the rows. Otherwise the
    // columns, which go along a warp's stores, are the output's fastest
    // index where that is one of the groups.
    bool thin = std::min(p.rows, p.cols) <= kThinRows;
    AffineMap outMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
    if (thin ? p.rows > p.cols
             : outMap.getNumResults() && llvm::is_contained(p.m, outMap.getDimPosition(
                                                                     outMap.getNumResults() - 1)))
      transpose(p);
    int64_t blocks = thin ? ceilDiv(p.cols, kThinCols) * p.batches : tiledBlocks(p, kTile);
    // The grid's y and z hold at most 65535 blocks each.
    int64_t tile = thin ? 0 : tileFor(p);
    if (p.batches > kMaxGridYZ || (!thin && ceilDiv(p.rows, tile) > kMaxGridYZ))
      return;
    if (leftToBlockReduce(p, blocks))
      return;
    // The output's fill first: it sits between a transpose and its product.
    p.filled = kiln::takeOutputFill(op);
    foldTransposedInputs(op);
    p.consumer = fusableConsumer(op, p.toConsumerLoops);
    if (thin)
      buildThin(p);
    else
      buildTiled(p, tile);
    if (p.consumer) {
      fused.insert(p.consumer);
      p.consumer.erase();
    }
    op.erase();
  }
};

/// Whether `op` is a product kiln-gpu-tile-matmul would tile, and the
/// Product it would see.
static FailureOr<Product> tiledProduct(linalg::GenericOp op) {
  FailureOr<Product> p = productOf(op);
  if (failed(p) || std::min(p->rows, p->cols) <= kThinRows ||
      !cast<MemRefType>(op.getDpsInitOperand(0)->get().getType()).hasStaticShape())
    return failure();
  return p;
}

/// The number of chunks to split `p`'s reduction into, or 1.
static int64_t chunksFor(const Product &p) {
  int64_t blocks = tiledBlocks(p, kTile);
  if (blocks >= kFewBlocks || p.k.size() != 1 || p.depth < kSplitDepth ||
      leftToBlockReduce(p, blocks) || p.batches * kMaxChunks > kMaxGridYZ)
    return 1;
  for (int64_t s = kMaxChunks; s > 1; --s)
    if (p.depth % s == 0 && p.depth / s >= kMinChunk)
      return s;
  return 1;
}

struct KilnGPUSplitKPass : kiln::impl::KilnGPUSplitKBase<KilnGPUSplitKPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> products;
    getOperation().walk([&](linalg::GenericOp op) { products.push_back(op); });
    for (linalg::GenericOp op : products)
      if (FailureOr<Product> p = tiledProduct(op); succeeded(p))
        if (int64_t chunks = chunksFor(*p); chunks > 1)
          split(*p, chunks);
  }

  /// out[o] (+)= sum_k A * B becomes partial[c, o] = sum over k in chunk c,
  /// then out[o] (+)= partial[0, o] + ... + partial[chunks - 1, o].
  void split(Product &p, int64_t chunks) {
    linalg::GenericOp op = p.op;
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    auto fill = dyn_cast_or_null<linalg::FillOp>(op->getPrevNode()); // before anything is added
    OpBuilder b(op);
    unsigned k = p.k.front(), c = op.getNumLoops(); // the chunk: a new last loop
    int64_t chunk = p.depth / chunks;
    Value out = op.getDpsInitOperand(0)->get();
    auto outType = cast<MemRefType>(out.getType());
    SmallVector<int64_t> partialShape{chunks};
    llvm::append_range(partialShape, outType.getShape());

    // The partial products read each operand through a view whose k
    // dimension is split into (chunk, index in it): c and k, each a loop of
    // its own that an operand names (so linalg knows their sizes).
    auto expanded = [&](OpOperand *operand, AffineMap &map) -> Value {
      AffineMap old = op.getMatchingIndexingMap(operand);
      auto at = llvm::find(old.getResults(), getAffineDimExpr(k, ctx));
      auto type = cast<MemRefType>(operand->get().getType());
      // k must be that dimension alone: elsewhere (A[m + k, k]) it would
      // now count within a chunk only.
      if (at == old.getResults().end() || !isStrided(type) ||
          llvm::count_if(old.getResults(), [&](AffineExpr e) { return e.isFunctionOfDim(k); }) != 1)
        return {};
      unsigned r = at - old.getResults().begin();
      SmallVector<int64_t> shape(type.getShape());
      shape[r] = chunk;
      shape.insert(shape.begin() + r, chunks);
      SmallVector<ReassociationIndices> groups;
      for (unsigned i = 0; i < type.getRank(); ++i)
        groups.push_back(i < r ? ReassociationIndices{i}
                         : i == r ? ReassociationIndices{i, i + 1}
                                  : ReassociationIndices{i + 1});
      if (failed(memref::ExpandShapeOp::computeExpandedType(type, shape, groups)))
        return {};
      SmallVector<AffineExpr> results(old.getResults());
      results[r] = getAffineDimExpr(k, ctx);
      results.insert(results.begin() + r, getAffineDimExpr(c, ctx));
      map = AffineMap::get(c + 1, 0, results, ctx);
      return b.create<memref::ExpandShapeOp>(loc, shape, operand->get(), groups);
    };
    AffineMap lhsMap, rhsMap;
    Value lhs = expanded(p.lhs, lhsMap), rhs = lhs ? expanded(p.rhs, rhsMap) : Value();
    if (!lhs || !rhs) {
      if (lhs)
        lhs.getDefiningOp()->erase();
      return;
    }
    Value partial = b.create<memref::AllocOp>(loc, MemRefType::get(partialShape, outType.getElementType()));
    Value zero = b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(0));
    b.create<linalg::FillOp>(loc, zero, partial);
    AffineMap outMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
    SmallVector<AffineExpr> partialResults{getAffineDimExpr(c, ctx)};
    llvm::append_range(partialResults, outMap.getResults());
    SmallVector<AffineMap> maps{lhsMap, rhsMap, AffineMap::get(c + 1, 0, partialResults, ctx)};
    SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
    iterators.push_back(utils::IteratorType::parallel);
    auto partials = b.create<linalg::GenericOp>(loc, TypeRange{}, ValueRange{lhs, rhs},
                                                ValueRange{partial}, maps, iterators);
    IRMapping body;
    op.getRegion().cloneInto(&partials.getRegion(), body);

    // The sum of the partials, chunk by chunk in order, element by element
    // into the output (a loop kiln-gpu-fuse-loops can join with an
    // elementwise consumer, a bias and activation): from the output's fill
    // value where a fill right before the product gives it (the fill goes),
    // else from the output's old value.
    Value start;
    if (fill && fill.hasPureBufferSemantics() && fill.getDpsInitOperand(0)->get() == out &&
        fill.getDpsInputOperand(0)->get().getType() == outType.getElementType() &&
        kiln::disjoint(out, p.lhs->get()) && kiln::disjoint(out, p.rhs->get()))
      start = fill.getDpsInputOperand(0)->get();
    unsigned rank = outType.getRank();
    SmallVector<Value> pieces;
    for (int64_t i = 0; i < chunks; ++i) {
      SmallVector<OpFoldResult> offsets(rank + 1, b.getIndexAttr(0)), sizes, strides(rank + 1, b.getIndexAttr(1));
      offsets[0] = b.getIndexAttr(i);
      sizes.push_back(b.getIndexAttr(1));
      for (int64_t size : outType.getShape())
        sizes.push_back(b.getIndexAttr(size));
      auto pieceType = cast<MemRefType>(memref::SubViewOp::inferRankReducedResultType(
          outType.getShape(), cast<MemRefType>(partial.getType()), offsets, sizes, strides));
      pieces.push_back(b.create<memref::SubViewOp>(loc, pieceType, partial, offsets, sizes, strides));
    }
    SmallVector<AffineMap> sumMaps(chunks + 1, AffineMap::getMultiDimIdentityMap(rank, ctx));
    SmallVector<utils::IteratorType> sumIterators(rank, utils::IteratorType::parallel);
    b.create<linalg::GenericOp>(loc, TypeRange{}, pieces, ValueRange{out}, sumMaps, sumIterators,
                                [&](OpBuilder &nb, Location nloc, ValueRange args) {
                                  Value total = start ? start : args.back();
                                  for (Value piece : args.drop_back())
                                    total = nb.create<arith::AddFOp>(nloc, total, piece);
                                  nb.create<linalg::YieldOp>(nloc, total);
                                });
    if (start)
      fill.erase();
    op.erase();
  }
};

} // namespace
