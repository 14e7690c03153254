//===- Aliasing.h - Which buffers may share bytes --------------------------===//
//
// One answer, for every pass that moves a read or a write past another (the
// in-place optimizer update on the CPU, the GPU kernels' fusions): where a
// memref's bytes lie. A memref is a view of a root buffer (a function argument
// or an allocation) through subviews, casts, reshapes, reinterpret_casts and
// memref.views; its byte range relative to that root is known when its own
// layout is static and every memref.view on the way shifts by a constant.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPILER_ANALYSIS_ALIASING_H
#define KILN_COMPILER_ANALYSIS_ALIASING_H

#include "llvm/ADT/SmallVector.h"
#include "mlir/IR/Operation.h"
#include "mlir/IR/Value.h"

#include <optional>
#include <utility>

namespace kiln {

/// The buffer a memref's elements lie in, and their byte range [first, second)
/// from the root's start when known (an empty view has an empty range).
struct Place {
  mlir::Value root;
  std::optional<std::pair<int64_t, int64_t>> bytes;
  /// Where each element lies, when the memref's own static layout says (in
  /// bytes from the root's start: the first element, and per dimension its
  /// size and stride): views of one buffer interleaved by rows (a tensor's
  /// column blocks) share a byte range but no element.
  struct Grid {
    int64_t first, width;
    llvm::SmallVector<int64_t> sizes, strides;
  };
  std::optional<Grid> grid;

  static Place of(mlir::Value memref);
  /// Whether the root is a buffer of its own: an entry-block argument of a
  /// function (the ABI passes distinct buffers), an allocation, or a
  /// kernel's shared or private memory.
  bool distinctRoot() const;
  /// Whether no byte of `other` may be one of this place's.
  bool disjointFrom(const Place &other) const;
};

/// Whether two memrefs certainly share no byte: by their Places, or, for
/// two subviews at static offsets of one view whose own offset is dynamic
/// (column blocks of a recurrent step's slice of a stacked tensor), by
/// their element grids relative to that view.
bool disjoint(mlir::Value x, mlir::Value y);

/// Whether two memrefs name the same bytes at every index: one root, the
/// same static shape and strides, the same first byte (an arena slice and a
/// view of a larger buffer that the memory plan put at the same offset); or
/// two equal views of one buffer, or subviews of one view at the same
/// static offsets.
bool sameElements(mlir::Value x, mlir::Value y);

/// Whether `op`, or an op nested in it, may read or write (with
/// `writesOnly`: write) a byte of `place`, by the memory effects ops declare:
/// an op without declared effects (a view, arithmetic) touches nothing, an
/// allocation only makes new memory, and an op that cannot say what it
/// touches (no effect interface, an effect naming no memref) may touch
/// anything. The one question every pass that moves memory operations past
/// others asks.
bool mayAccess(mlir::Operation *op, const Place &place, bool writesOnly = false);
inline bool mayAccess(mlir::Operation *op, mlir::Value memref, bool writesOnly = false) {
  return mayAccess(op, Place::of(memref), writesOnly);
}

/// Whether `op` writes every element of `buffer` without reading any byte
/// of it first: a fill, or an all-parallel generic writing it through the
/// identity map without reading its old value or anything overlapping.
/// (The value `buffer` held before `op` is then unseen after it.)
bool overwrites(mlir::Operation *op, mlir::Value buffer);

/// Whether `buffer`, or a view of it, leaves its function or loop body
/// (returned or yielded): then its contents are seen after the last op there.
bool escapes(mlir::Value buffer);

/// Whether what `buffer` holds right after `op` is never read: on every way
/// on (the rest of `op`'s block, then, in an scf.for body, the next
/// iterations up to `op` and what follows the loop, up to the function's
/// end) an op overwrites it whole before any op touches it, and it does not
/// leave the function. `op` itself is the caller's to vouch for: that it
/// reads of `buffer` only what it wrote there (a copy into it, a loop whose
/// iterations do). Inside any other op's region: assumed read.
bool unreadAfter(mlir::Operation *op, mlir::Value buffer);

} // namespace kiln

#endif // KILN_COMPILER_ANALYSIS_ALIASING_H
