# -*- Python -*-
import os
import shutil

import lit.formats
from lit.llvm import llvm_config

config.name = "Kiln"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".kiln", ".test"]
config.excludes = ["Inputs", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.kiln_obj_root, "test")

# A hung test fails after 10 minutes instead of eating CI's budget; lit's
# --timeout overrides it. (Needs python3-psutil.)
if lit_config.maxIndividualTestTime == 0:
    lit_config.maxIndividualTestTime = 600

llvm_config.with_system_environment(["HOME", "TMPDIR"])
llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.kiln_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

# A sanitizer build (KILN_SANITIZE): programs linked against its runtime need
# the sanitizers' runtimes; MLIR's libraries are not instrumented, so their
# containers' annotations would look like overflows. A finding is fatal.
if config.kiln_link_flags:
    config.available_features.add("sanitizers")
    config.c_compiler += " " + config.kiln_link_flags
    config.cxx_compiler += " " + config.kiln_link_flags
    config.environment["ASAN_OPTIONS"] = "detect_container_overflow=0:abort_on_error=0"
    config.environment["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
config.substitutions.append(("%cc", config.c_compiler))
config.substitutions.append(("%cxx", config.cxx_compiler))
config.substitutions.append(("%kiln_src", config.kiln_src_root))
config.substitutions.append(("%kiln_lib", config.kiln_lib_dir))
config.substitutions.append(("%kiln_obj", config.kiln_obj_root))
config.substitutions.append(("%debpython", "/usr/bin/python3"))
config.substitutions.append(("%kiln_tools", config.kiln_tools_dir))
# The stand-in CUDA driver (runtime/tests/fake_cuda.c) for KILN_CUDA_DRIVER.
config.substitutions.append(
    ("%fake_cuda", os.path.join(config.kiln_obj_root, "lib", "libkiln-fake-cuda.so")))

# Real data sets come from Debian packages; tests that train on them need them.
if os.path.exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"):
    config.available_features.add("fashion-mnist")
if os.path.exists("/usr/lib/python3/dist-packages/sklearn/datasets/data/breast_cancer.csv"):
    config.available_features.add("sklearn-data")
if all(os.path.exists("/usr/share/dict/" + f)
       for f in ("american-english", "ngerman", "french", "spanish", "italian")):
    config.available_features.add("wordlists")
if os.path.exists("/usr/lib/python3/dist-packages/torch/__init__.py"):
    config.available_features.add("torch")
# x86 CPU features this host lacks (Linux's names), for tests of programs
# compiled for a CPU that has them.
try:
    flags = next((l.split(":", 1)[1].split() for l in open("/proc/cpuinfo")
                  if l.startswith("flags")), [])
    if flags and "avx512_fp16" not in flags:
        config.available_features.add("cpu-without-avx512fp16")
except OSError:
    pass
ptxas = shutil.which("ptxas") or "/usr/local/cuda/bin/ptxas"
if os.path.exists(ptxas):
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))

# GPU tests run where a CUDA device answers and report UNSUPPORTED elsewhere.
import subprocess
probe = os.path.join(config.kiln_tools_dir, "kiln-cuda")
if os.path.exists(probe) and subprocess.run([probe, "probe"], capture_output=True).returncode == 0:
    config.available_features.add("cuda-device")
