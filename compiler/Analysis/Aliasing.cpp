//===- Aliasing.cpp - Which buffers may share bytes ------------------------===//
#include "compiler/Analysis/Aliasing.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Interfaces/LoopLikeInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

#include <numeric>

using namespace mlir;

namespace kiln {

namespace {

/// The element grid (Place::Grid) of a memref with a static shape and
/// strides whose first element is `first` elements from its base pointer
/// (by default its layout's offset); none where a size or stride (or the
/// default offset) is dynamic, a stride negative, or its elements not
/// whole bytes.
std::optional<Place::Grid> gridAt(MemRefType type, std::optional<int64_t> first = std::nullopt) {
  int64_t offset;
  SmallVector<int64_t> strides;
  if (!type.hasStaticShape() || !type.getElementType().isIntOrFloat() ||
      type.getElementTypeBitWidth() % 8 || failed(getStridesAndOffset(type, strides, offset)) ||
      (!first && ShapedType::isDynamic(offset)) || llvm::any_of(strides, ShapedType::isDynamic) ||
      llvm::any_of(strides, [](int64_t s) { return s < 0; }))
    return std::nullopt;
  int64_t width = type.getElementTypeBitWidth() / 8;
  Place::Grid grid{first.value_or(offset) * width, width, {}, {}};
  for (auto [size, stride] : llvm::zip(type.getShape(), strides))
    if (size != 1) { // a unit dimension's stride places nothing
      grid.sizes.push_back(size);
      grid.strides.push_back(stride * width);
    }
  return grid;
}

/// The bytes a grid covers: from its first element to one past its
/// farthest (none when it has no elements).
std::pair<int64_t, int64_t> span(const Place::Grid &grid) {
  int64_t last = grid.first;
  for (auto [size, stride] : llvm::zip(grid.sizes, grid.strides)) {
    if (size == 0)
      return {grid.first, grid.first};
    last += (size - 1) * stride;
  }
  return {grid.first, last + grid.width};
}

/// The bytes a static strided memref covers from its base pointer.
std::optional<std::pair<int64_t, int64_t>> ownBytes(MemRefType type) {
  if (std::optional<Place::Grid> grid = gridAt(type))
    return span(*grid);
  return std::nullopt;
}

/// Whether two grids of one buffer with the same element width and strides
/// certainly share no element. Their elements are a.first + sum i_k s_k and
/// b.first + sum j_k s_k; one is shared iff the first elements' distance is
/// sum (i_k - j_k) s_k for in-range indices. With each stride more than
/// twice the reach of the smaller ones (rows wider than two row blocks),
/// the distance has at most one such form, found outer stride first.
bool gridsDisjoint(const Place::Grid &a, const Place::Grid &b) {
  if (a.width != b.width || a.strides != b.strides || a.sizes.size() != b.sizes.size())
    return false;
  int64_t rest = b.first - a.first;
  if (rest % a.width)
    return false;
  // Dimensions by stride, largest first.
  SmallVector<unsigned> order(a.strides.size());
  std::iota(order.begin(), order.end(), 0);
  llvm::sort(order, [&](unsigned x, unsigned y) { return a.strides[x] > a.strides[y]; });
  for (size_t at = 0; at < order.size(); ++at) {
    unsigned k = order[at];
    int64_t stride = a.strides[k], reach = 0;
    for (size_t inner = at + 1; inner < order.size(); ++inner) {
      unsigned l = order[inner];
      reach += (std::max(a.sizes[l], b.sizes[l]) - 1) * a.strides[l];
    }
    if (stride <= 0 || stride <= 2 * reach)
      return false; // the distance may have several forms: not settled here
    // The one d with |rest - d * stride| <= reach, if any.
    int64_t d = llvm::divideFloorSigned(rest + reach, stride);
    if (std::abs(rest - d * stride) > reach || d < -(b.sizes[k] - 1) || d > a.sizes[k] - 1)
      return true;
    rest -= d * stride;
  }
  return rest != 0;
}

/// Whether `x` and `y` are equal views of one buffer: the same view op on
/// the same operands, or on equal views (a subview at the same dynamic
/// offset, made twice): the same elements, whatever the offset is.
bool equalViews(Value x, Value y) {
  if (x == y)
    return true;
  auto rx = dyn_cast<OpResult>(x), ry = dyn_cast<OpResult>(y);
  if (!rx || !ry || rx.getResultNumber() != ry.getResultNumber())
    return false;
  Operation *a = rx.getOwner(), *b = ry.getOwner();
  if (!isa<ViewLikeOpInterface>(a) || a->getNumRegions() || !isMemoryEffectFree(a))
    return false;
  return OperationEquivalence::isEquivalentTo(
      a, b,
      [](Value l, Value r) {
        return success(l == r || (isa<MemRefType>(l.getType()) && equalViews(l, r)));
      },
      /*markEquivalent=*/nullptr, OperationEquivalence::IgnoreLocations);
}

/// The element grid of `x` relative to the first element of `base`, of
/// which `x` is a chain of subviews at static offsets over static strides
/// (`base`'s own offset may be dynamic); none otherwise.
std::optional<Place::Grid> gridWithin(Value x, Value base) {
  int64_t shift = 0;
  for (Value v = x; v != base;) {
    auto sub = v.getDefiningOp<memref::SubViewOp>();
    SmallVector<int64_t> sourceStrides;
    int64_t sourceOffset;
    if (!sub || failed(getStridesAndOffset(sub.getSourceType(), sourceStrides, sourceOffset)))
      return std::nullopt;
    for (auto [at, stride] : llvm::zip(sub.getStaticOffsets(), sourceStrides)) {
      if (ShapedType::isDynamic(at) || (at && ShapedType::isDynamic(stride)))
        return std::nullopt;
      shift += at * stride;
    }
    v = sub.getSource();
  }
  auto type = dyn_cast<MemRefType>(x.getType());
  return type ? gridAt(type, shift) : std::nullopt;
}

/// The Places of `x` and `y` within the nearest view both are subviews of
/// (as if it were their root, its first element at byte 0: gridWithin),
/// when there is one and both grids are known.
std::optional<std::pair<Place, Place>> placesWithinCommonView(Value x, Value y) {
  SmallVector<Value> chain{x};
  while (auto sub = chain.back().getDefiningOp<memref::SubViewOp>())
    chain.push_back(sub.getSource());
  for (Value v = y;;) {
    if (llvm::is_contained(chain, v)) {
      std::optional<Place::Grid> gx = gridWithin(x, v), gy = gridWithin(y, v);
      if (!gx || !gy)
        return std::nullopt;
      return std::make_pair(Place{v, span(*gx), *gx}, Place{v, span(*gy), *gy});
    }
    auto sub = v.getDefiningOp<memref::SubViewOp>();
    if (!sub)
      return std::nullopt;
    v = sub.getSource();
  }
}

/// The buffer a loop threads through its iterations unchanged (an iteration
/// argument, or the loop's result, whose yielded value is that argument or an
/// inner loop's threading of it):
/// the loop's initial value. Otherwise null: each iteration may bring another.
Value threadedInit(Value v) {
  BlockArgument arg = dyn_cast<BlockArgument>(v);
  LoopLikeOpInterface loop;
  if (arg) {
    loop = dyn_cast_or_null<LoopLikeOpInterface>(arg.getOwner()->getParentOp());
  } else if (auto result = dyn_cast<OpResult>(v)) {
    loop = dyn_cast<LoopLikeOpInterface>(result.getOwner());
    if (loop)
      arg = loop.getTiedLoopRegionIterArg(result);
  }
  if (!loop || !arg)
    return {};
  OpOperand *init = loop.getTiedLoopInit(arg);
  OpOperand *yielded = loop.getTiedLoopYieldedValue(arg);
  if (!init || !yielded)
    return {};
  // What the body yields may itself be an inner loop's result threading it.
  Value back = yielded->get();
  while (back != arg) {
    Operation *inner = back.getDefiningOp();
    if (!inner || inner == loop.getOperation() || !loop->isProperAncestor(inner) ||
        !(back = threadedInit(back)))
      return {};
  }
  return init->get();
}

} // namespace

Place Place::of(Value memref) {
  Place place{memref, std::nullopt, std::nullopt};
  if (auto type = dyn_cast<MemRefType>(memref.getType())) {
    place.grid = gridAt(type);
    if (place.grid)
      place.bytes = span(*place.grid);
  }
  // Down the chain of views (and loops threading a buffer) to the root.
  // Subviews, casts, reshapes and reinterpret_casts keep their source's base
  // pointer (a layout's offset is counted from it); a memref.view starts a
  // new base `shift` bytes in.
  for (;;) {
    if (Value init = threadedInit(memref)) {
      if (!place.bytes)
        place.bytes = ownBytes(cast<MemRefType>(init.getType()));
      memref = init;
      continue;
    }
    auto view = memref.getDefiningOp<ViewLikeOpInterface>();
    if (!view)
      break;
    // A subview, cast or reshape holds elements of its source: where its own
    // layout is dynamic (a subview at a loop index), the source's range.
    bool within = isa<memref::SubViewOp, memref::CastOp, memref::CollapseShapeOp,
                      memref::ExpandShapeOp, memref::TransposeOp>(view.getOperation());
    if (!place.bytes && within)
      if (auto source = dyn_cast<MemRefType>(view.getViewSource().getType()))
        place.bytes = ownBytes(source);
    if (auto shifted = dyn_cast<memref::ViewOp>(view.getOperation())) {
      std::optional<int64_t> shift = getConstantIntValue(shifted.getByteShift());
      if (shift && place.bytes) {
        place.bytes = {{place.bytes->first + *shift, place.bytes->second + *shift}};
        if (place.grid)
          place.grid->first += *shift;
      } else {
        place.bytes.reset();
        place.grid.reset();
      }
    } else if (!within && !isa<memref::ReinterpretCastOp>(view.getOperation())) {
      place.bytes.reset();
      place.grid.reset();
    }
    memref = view.getViewSource();
  }
  place.root = memref;
  return place;
}

bool Place::distinctRoot() const {
  // A kernel's shared or private memory: no other buffer's bytes.
  if (auto type = dyn_cast<MemRefType>(root.getType()))
    if (auto space = dyn_cast_or_null<gpu::AddressSpaceAttr>(type.getMemorySpace()))
      if (space.getValue() != gpu::AddressSpace::Global)
        return true;
  if (auto arg = dyn_cast<BlockArgument>(root)) {
    Block *block = arg.getOwner();
    return block->isEntryBlock() && isa_and_nonnull<FunctionOpInterface>(block->getParentOp());
  }
  return isa_and_nonnull<memref::AllocOp, memref::AllocaOp>(root.getDefiningOp());
}

bool Place::disjointFrom(const Place &other) const {
  if (root != other.root)
    return distinctRoot() && other.distinctRoot();
  if (!bytes || !other.bytes)
    return false;
  return bytes->second <= other.bytes->first || other.bytes->second <= bytes->first ||
         (grid && other.grid && gridsDisjoint(*grid, *other.grid));
}

bool disjoint(Value x, Value y) {
  if (Place::of(x).disjointFrom(Place::of(y)))
    return true;
  auto within = placesWithinCommonView(x, y);
  return within && within->first.disjointFrom(within->second);
}

bool sameElements(Value x, Value y) {
  if (x == y)
    return true;
  if (auto within = placesWithinCommonView(x, y)) {
    const Place::Grid &a = *within->first.grid, &b = *within->second.grid;
    if (a.first == b.first && a.sizes == b.sizes && a.strides == b.strides &&
        cast<MemRefType>(x.getType()).getShape() == cast<MemRefType>(y.getType()).getShape())
      return true;
  }
  if (equalViews(x, y))
    return true;
  auto tx = dyn_cast<MemRefType>(x.getType()), ty = dyn_cast<MemRefType>(y.getType());
  if (!tx || !ty || tx.getShape() != ty.getShape() || tx.getElementType() != ty.getElementType() ||
      !ownBytes(tx) || !ownBytes(ty))
    return false; // (a range from a source's layout says nothing of the first element)
  // Static layouts (ownBytes): each range starts at the memref's own first
  // element, and the strides say where the others are.
  int64_t ox, oy;
  SmallVector<int64_t> sx, sy;
  if (failed(getStridesAndOffset(tx, sx, ox)) || failed(getStridesAndOffset(ty, sy, oy)) || sx != sy)
    return false;
  Place px = Place::of(x), py = Place::of(y);
  return px.root == py.root && px.bytes && py.bytes && px.bytes->first == py.bytes->first;
}

bool mayAccess(Operation *op, const Place &place, bool writesOnly) {
  WalkResult walk = op->walk([&](Operation *inner) {
    if (inner->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
      return WalkResult::advance(); // its nested ops say
    if (isa<gpu::BarrierOp>(inner))
      return WalkResult::advance(); // orders a block's threads, touches nothing
    auto effecting = dyn_cast<MemoryEffectOpInterface>(inner);
    if (!effecting)
      return WalkResult::interrupt();
    SmallVector<MemoryEffects::EffectInstance> effects;
    effecting.getEffects(effects);
    for (const MemoryEffects::EffectInstance &effect : effects) {
      if ((writesOnly && isa<MemoryEffects::Read>(effect.getEffect())) ||
          isa<MemoryEffects::Allocate>(effect.getEffect()))
        continue;
      Value touched = effect.getValue();
      if (!touched || !isa<MemRefType>(touched.getType()) || !place.disjointFrom(Place::of(touched)))
        return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return walk.wasInterrupted();
}

bool overwrites(Operation *op, Value buffer) {
  // A whole contiguous buffer whose bytes include `buffer`'s (the memory
  // plan hands a dead buffer's bytes to later ones, under other names).
  Place place = Place::of(buffer);
  auto covers = [&](Value out) {
    auto type = dyn_cast<MemRefType>(out.getType());
    Place outPlace = Place::of(out);
    return type && type.getLayout().isIdentity() && place.bytes && outPlace.bytes &&
           outPlace.root == place.root && outPlace.bytes->first <= place.bytes->first &&
           place.bytes->second <= outPlace.bytes->second;
  };
  if (auto fill = dyn_cast<linalg::FillOp>(op))
    return fill.hasPureBufferSemantics() && covers(fill.getDpsInitOperand(0)->get());
  auto generic = dyn_cast<linalg::GenericOp>(op);
  if (!generic || !generic.hasPureBufferSemantics() ||
      generic.getNumParallelLoops() != generic.getNumLoops())
    return false;
  bool writes = false;
  for (OpOperand &operand : generic->getOpOperands()) {
    if (!isa<MemRefType>(operand.get().getType()) || disjoint(operand.get(), buffer))
      continue;
    if (!generic.isDpsInit(&operand) || !covers(operand.get()) ||
        !generic.getMatchingIndexingMap(&operand).isIdentity() ||
        generic.payloadUsesValueFromOperand(&operand))
      return false;
    writes = true;
  }
  return writes;
}

bool escapes(Value buffer) {
  for (Operation *user : buffer.getUsers()) {
    if (user->hasTrait<OpTrait::IsTerminator>())
      return true;
    if (auto view = dyn_cast<ViewLikeOpInterface>(user))
      if (view.getViewSource() == buffer && escapes(view->getResult(0)))
        return true;
  }
  return false;
}

/// The ops from `from` up to (not including) `to` in one block (`to` null:
/// to its end): 1 if one overwrites `buffer` whole before any touches it, 0
/// if one touches it first, -1 if none does either.
static int firstAccess(Operation *from, Operation *to, Value buffer) {
  for (Operation *op = from; op && op != to; op = op->getNextNode()) {
    if (overwrites(op, buffer))
      return 1;
    if (mayAccess(op, buffer))
      return 0;
  }
  return -1;
}

bool unreadAfter(Operation *op, Value buffer) {
  int rest = firstAccess(op->getNextNode(), nullptr, buffer);
  if (rest >= 0)
    return rest;
  Operation *parent = op->getParentOp();
  if (isa_and_nonnull<FunctionOpInterface>(parent))
    return !escapes(buffer);
  auto loop = dyn_cast_or_null<scf::ForOp>(parent);
  if (!loop)
    return false;
  // The next iteration up to `op`, where what it left is gone (`op` writes
  // `buffer` whole, or the caller would not ask), then the loop's exit.
  return firstAccess(&loop.getBody()->front(), op, buffer) != 0 && unreadAfter(loop, buffer);
}

} // namespace kiln
