//===- ParallelCodegen.cpp - LLVM optimization and codegen over all cores --===//
//
// LLVM's O3 pipeline and instruction selection take most of kilnc's time
// (a CNN's training step is a hundred functions: the outlined parallel
// loop bodies), and both work one function at a time. So the module is
// split by function into a fixed number of parts of about equal size, and
// each part is optimized and compiled on its own thread in an LLVMContext
// of its own (a context is not thread-safe), the way LLVM's LTO backends
// split code generation.
//
// - Each function with a symbol of its own is defined in exactly one part
//   and declared in the others; the descriptor and other exported globals
//   live in part 0.
// - Local constants (names, shapes) and local functions are copied into
//   every part that uses them: they are read-only, so copies behave as one.
// - The number of parts is fixed, not the number of cores: the objects are
//   the same whatever the core count of the machine that compiles them.
//
//===----------------------------------------------------------------------===//
#include "compiler/Target/ObjectEmitter.h"

#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/Bitcode/BitcodeWriter.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/PassTimingInfo.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Transforms/Utils/Cloning.h"

#include <atomic>
#include <mutex>
#include <thread>

namespace {

/// Which part defines each global value with a symbol of its own: the
/// largest functions first, each to the part with the fewest instructions
/// so far (ties to the lowest part); globals that are not functions to 0.
llvm::DenseMap<const llvm::GlobalValue *, unsigned> assignParts(llvm::Module &module,
                                                                unsigned parts) {
  llvm::DenseMap<const llvm::GlobalValue *, unsigned> owner;
  // (size, position in the module): equal sizes keep the module's order,
  // so the split is reproducible.
  std::vector<std::tuple<uint64_t, size_t, llvm::Function *>> functions;
  for (llvm::Function &f : module)
    if (!f.isDeclaration() && !f.hasLocalLinkage())
      functions.emplace_back(f.getInstructionCount(), functions.size(), &f);
  std::sort(functions.begin(), functions.end(), [](const auto &a, const auto &b) {
    return std::get<0>(a) != std::get<0>(b) ? std::get<0>(a) > std::get<0>(b)
                                            : std::get<1>(a) < std::get<1>(b);
  });
  std::vector<uint64_t> load(parts, 0);
  for (auto [size, position, f] : functions) {
    unsigned lightest = std::min_element(load.begin(), load.end()) - load.begin();
    owner[f] = lightest;
    load[lightest] += size + 1;
  }
  for (llvm::GlobalVariable &g : module.globals())
    if (!g.isDeclaration() && !g.hasLocalLinkage())
      owner[&g] = 0;
  return owner;
}

/// Optimizes and compiles one part, given as bitcode, in its own context.
std::string compilePart(llvm::StringRef bitcode, const kiln::CPUTarget &cpu, std::string &error) {
  llvm::LLVMContext ctx;
  auto module = llvm::parseBitcodeFile(llvm::MemoryBufferRef(bitcode, "kiln-part"), ctx);
  if (!module) {
    error = llvm::toString(module.takeError());
    return {};
  }
  auto tm = kiln::createTargetMachine(cpu, error);
  if (!tm)
    return {};
  kiln::optimizeForTarget(**module, *tm);
  llvm::SmallVector<char, 0> object;
  llvm::raw_svector_ostream os(object);
  llvm::legacy::PassManager pm;
  if (tm->addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::ObjectFile)) {
    error = "the target cannot emit object files";
    return {};
  }
  pm.run(**module);
  return std::string(object.begin(), object.end());
}

} // namespace

std::vector<std::string> kiln::compileInParts(llvm::Module &module, const CPUTarget &cpu,
                                              unsigned parts) {
  // LLVM's pass timers are process-wide and not thread-safe.
  if (llvm::TimePassesIsEnabled)
    parts = 1;
  auto owner = assignParts(module, parts);
  std::vector<std::string> bitcode(parts);
  for (unsigned p = 0; p < parts; ++p) {
    llvm::ValueToValueMapTy map;
    auto part = llvm::CloneModule(module, map, [&](const llvm::GlobalValue *gv) {
      if (gv->hasLocalLinkage())
        return true;
      auto it = owner.find(gv);
      return it != owner.end() && it->second == p;
    });
    llvm::raw_string_ostream os(bitcode[p]);
    llvm::WriteBitcodeToFile(*part, os);
  }

  std::vector<std::string> objects(parts), errors(parts);
  std::atomic<unsigned> next{0};
  auto work = [&] {
    for (unsigned p; (p = next++) < parts;)
      objects[p] = compilePart(bitcode[p], cpu, errors[p]);
  };
  unsigned threads = std::clamp(std::thread::hardware_concurrency(), 1u, parts);
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t)
    pool.emplace_back(work);
  work();
  for (std::thread &t : pool)
    t.join();
  for (unsigned p = 0; p < parts; ++p)
    if (objects[p].empty()) {
      llvm::errs() << "kilnc: error: compiling part " << p << " of the model's code: "
                   << (errors[p].empty() ? "no object produced" : errors[p]) << "\n";
      return {};
    }
  return objects;
}
