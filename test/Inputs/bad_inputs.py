"""The bad-input corpus: model files, data files, checkpoints and command lines
that Kiln must refuse.

bad_inputs.py KILNC WORKDIR

Each case must end with exit status 1 and its error as the first line of
stderr: "FILE:LINE:COL: error: ..." or "...error: FILE...: ..." naming the file
at fault (an option's name for a bad command line), matching the case's
expected message; no other line may say "error" for the runtime's cases (one
clear line), and nothing may be half-written: kilnc leaves no output file, and a
run that fails leaves the checkpoint it was told to write byte-identical and no
temporary file beside it. Prints one line per case and a summary; exits 1 if
any case failed. SHOW=1 also prints the first line of each case's stderr.
"""
import gzip
import json
import os
import re
import struct
import subprocess
import sys

kilnc, work = sys.argv[1], os.path.abspath(sys.argv[2])
os.makedirs(work, exist_ok=True)
os.chdir(work)


def write(path, data):
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    return path


def run(argv):
    return subprocess.run(argv, capture_output=True, timeout=120)


# --- The models the data, checkpoint and command-line cases run against ---

TINY = """model tiny {{
  input x: f32[batch, 3]
  label y: i32[batch]
  loss = softmax_cross_entropy(dense(x, {classes}), y)
  optimizer = adam(lr = 0.1)
  train {{ batch = 2 }}
  data {{ train = csv("{work}/good.csv") split = 0.5 standardize = true }}
}}
"""
IMG = """model img {{
  input x: f32[batch, 4]
  label y: i32[batch]
  loss = softmax_cross_entropy(dense(x, 2), y)
  optimizer = sgd(lr = 0.1)
  train {{ batch = 1 }}
  data {{ train = idx(images = "{work}/i.gz", labels = "{work}/l.gz")
         test = idx(images = "{work}/i.gz", labels = "{work}/l.gz") }}
}}
"""
WORDS = """model words {{
  input w: i32[batch, 4]
  label y: i32[batch]
  loss = softmax_cross_entropy(dense(flatten(embedding(w, 4, 2)), 2), y)
  optimizer = sgd(lr = 0.1)
  train {{ batch = 2 }}
  data {{ train = text("{work}/a.txt", "{work}/b.txt") vocabulary = "abc" split = 0.5 }}
}}
"""
# tiny with other layers: the same shapes (relu), other parameter names (deep).
RELU = TINY.replace("dense(x, {classes})", "dense(relu(x), {classes})")
DEEP = TINY.replace("dense(x, {classes})", "dense(dense(x, 4), {classes})")

write("good.csv", "1,2,3,0\n4,5,6,1\n1,1,1,0\n2,2,2,1\n")


def idx(magic_type, dims, payload):
    head = bytes([0, 0, magic_type, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims)
    return gzip.compress(head + payload)


GOOD_IMAGES = idx(0x08, [2, 2, 2], bytes(range(8)))
GOOD_LABELS = idx(0x08, [2], bytes([0, 1]))
write("i.gz", GOOD_IMAGES)
write("l.gz", GOOD_LABELS)
write("a.txt", "ab\nba\naab\n")
write("b.txt", "cc\nca\nccc\n")

exes = {}
for name, text in [("tiny", TINY.format(classes=2, work=work)), ("tiny3", TINY.format(classes=3, work=work)),
                   ("relu", RELU.format(classes=2, work=work)), ("deep", DEEP.format(classes=2, work=work)),
                   ("img", IMG.format(work=work)), ("words", WORDS.format(work=work))]:
    src = write(f"{name}.kiln", text)
    r = run([kilnc, src, "-o", name])
    if r.returncode != 0:
        sys.exit(f"cannot build the corpus's model {name}:\n{r.stderr.decode()}")
    exes[name] = os.path.join(work, name)

for name in ("tiny", "tiny3", "relu", "deep"):
    r = run([exes[name], "train", "--epochs", "1", "--checkpoint", f"{name}.safetensors"])
    if r.returncode != 0:
        sys.exit(f"cannot train {name}:\n{r.stderr.decode()}")
GOOD_CKPT = open("tiny.safetensors", "rb").read()


def ckpt_edit(edit):
    """tiny's checkpoint with its JSON header changed by edit(header)."""
    n = struct.unpack("<Q", GOOD_CKPT[:8])[0]
    header = json.loads(GOOD_CKPT[8:8 + n])
    edit(header)
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + GOOD_CKPT[8 + n:]


def set_meta(key, value):
    return lambda h: h["__metadata__"].__setitem__(key, value)


# --- The corpus ---
# model cases: (name, file bytes, expected message after "FILE:LINE:COL: error: " or "FILE: error: ")
# run cases: (name, model, argv after the executable, {file: bytes} written first,
#             the file the message must name, expected message)

MODEL_HEAD = "model m {\n  input x: f32[batch, 4]\n  label y: i32[batch]\n"
MODEL_TAIL = "  optimizer = sgd(lr = 0.1)\n}\n"


def body(lines):
    return MODEL_HEAD + lines + MODEL_TAIL


GOOD_LOSS = "  loss = softmax_cross_entropy(dense(x, 2), y)\n"

model_cases = [
    ("empty file", b"", r"1:1: error: expected 'model', found end of file \(nothing defines a model\)"),
    ("only a comment", b"// nothing here\n", r"2:1: error: expected 'model', found end of file"),
    ("non-UTF-8 byte", body("  h = dense(x, 2)\xff\n" + GOOD_LOSS).encode("latin-1"),
     r"4:18: error: unexpected character '\\xff'"),
    ("NUL byte", body("  h = dense(x,\x00 2)\n" + GOOD_LOSS).encode(), r"4:15: error: unexpected character '\\x00'"),
    ("missing closing brace", (MODEL_HEAD + GOOD_LOSS + "  optimizer = sgd(lr = 0.1)\n").encode(),
     r"6:1: error: expected '}' to close the model, found end of file"),
    ("unterminated string", body(GOOD_LOSS + '  data { train = csv("d.csv) }\n').encode(),
     r"5:22: error: unterminated string"),
    ("unknown layer", body("  h = dense2(x, 2)\n" + GOOD_LOSS).encode(), r"4:7: error: unknown function 'dense2'; did you mean 'dense'\?"),
    ("unknown name", body("  loss = softmax_cross_entropy(dense(z, 2), y)\n").encode(), r"4:38: error: unknown name 'z'"),
    ("shape mismatch", body("  h = dense(x, 3)\n  loss = mse(h, y)\n").encode(),
     r"5:10: error: 'mse' expects two f32 tensors of the same shape, got f32\[32, 3\] and i32\[32\]"),
    ("too few arguments", body("  loss = softmax_cross_entropy(dense(x), y)\n").encode(), r"4:32: error: 'dense' takes 2 positional arguments, got 1"),
    ("too many arguments", body("  loss = softmax_cross_entropy(dense(x, 2, 3), y)\n").encode(), r"4:32: error: 'dense' takes 2 positional arguments, got 3"),
    ("unknown keyword", body("  loss = softmax_cross_entropy(dense(x, 2, bias = true, speed = 3), y)\n").encode(),
     r"4:57: error: 'dense' has no argument 'speed'"),
    ("duplicate binding", body("  h = dense(x, 2)\n  h = dense(x, 2)\n" + GOOD_LOSS).encode(),
     r"5:3: error: 'h' is already defined"),
    ("duplicate input", ("model m {\n  input x: f32[batch, 4]\n  input x: f32[batch, 4]\n  label y: i32[batch]\n"
                         + GOOD_LOSS + MODEL_TAIL).encode(), r"3:9: error: 'x' is already defined"),
    ("negative dimension", body(GOOD_LOSS).replace("f32[batch, 4]", "f32[batch, -4]").encode(),
     r"2:23: error: a dimension must be 'batch' or an integer in \[1, 999999999\], found '-4'"),
    ("zero dimension", body(GOOD_LOSS).replace("f32[batch, 4]", "f32[batch, 0]").encode(),
     r"2:23: error: a dimension must be 'batch' or an integer in \[1, 999999999\], found '0'"),
    ("huge dimension", body(GOOD_LOSS).replace("f32[batch, 4]", "f32[batch, 1e12]").encode(),
     r"2:23: error: a dimension must be 'batch' or an integer in \[1, 999999999\], found '1e12'"),
    ("too many elements", body(GOOD_LOSS.replace("(x", "(flatten(x)")).replace(
        "f32[batch, 4]", "f32[batch, 100000, 100000, 100]").encode(), r"2:12: error: 'x' would hold more than 2\^40 values"),
    ("units not an integer", body("  loss = softmax_cross_entropy(dense(x, 2.5), y)\n").encode(),
     r"4:41: error: 'dense' expects a positive integer number of units"),
    ("deep nesting", body("  h = " + "relu(" * 1000 + "x" + ")" * 1000 + "\n" + GOOD_LOSS).encode(),
     r"4:1287: error: calls nest more than 256 deep here"),
    ("no loss", body("  h = dense(x, 2)\n").encode(), r"1:1: error: model 'm' has no 'loss = ...' statement"),
    ("label of the wrong type", body(GOOD_LOSS).replace("label y: i32[batch]", "label y: f32[batch, 2]").encode(),
     r"4:45: error: 'softmax_cross_entropy' expects class labels of type i32\[batch\], got f32\[32, 2\]"),
    ("unknown optimizer", body(GOOD_LOSS).replace("sgd(", "sgdd(").encode(), r"5:15: error: the optimizer must be one of sgd, adam, adamw, rmsprop, adagrad.*did you mean 'sgd'\?"),
    ("negative learning rate", body(GOOD_LOSS).replace("lr = 0.1", "lr = -1").encode(), r"5:24: error: 'lr' must be in \[0, 1e\+06\], got -1"),
    ("batch of zero", body(GOOD_LOSS + "  train { batch = 0 }\n").encode(), r"5:19: error: 'batch' must be in \[1, 1.04858e\+06\], got 0"),
    ("too large for memory", ("model big {\n  input x: f32[batch, 100000]\n  label y: i32[batch]\n"
                              "  loss = softmax_cross_entropy(dense(x, 20000), y)\n" + MODEL_TAIL).encode(),
     r"error: the model needs 14.9 GiB at run time \(parameters 7.5 GiB, state 0.0 GiB, workspace 7.5 GiB\), more than --memory-limit=8"),
]

# Checkpoint files are written as ck.safetensors and loaded by eval.
run_cases = [
    # CSV data (tiny: 3 features, then the label; 2 classes)
    ("CSV missing", "tiny", ["train", "--data-train", "nope.csv"], {}, "nope.csv", r"cannot open: No such file"),
    ("CSV empty", "tiny", ["train", "--data-train", "d.csv"], {"d.csv": b""}, "d.csv", r"no data rows"),
    ("CSV missing field", "tiny", ["train", "--data-train", "d.csv"], {"d.csv": "1,2,3,0\n4,5,1\n"}, "d.csv:2",
     r"3 values where earlier rows have 4"),
    ("CSV extra field", "tiny", ["train", "--data-train", "d.csv"], {"d.csv": "1,2,3,0\n4,5,6,7,1\n"}, "d.csv:2",
     r"5 values where earlier rows have 4"),
    ("CSV too few columns for the model", "tiny", ["train", "--data-train", "d.csv"],
     {"d.csv": "1,2,0\n4,5,1\n"}, "d.csv", r"rows have 2 feature values, the model's inputs take 3"),
    ("CSV non-numeric", "tiny", ["train", "--data-train", "d.csv"], {"d.csv": "1,2,3,0\n4,five,6,1\n"}, "d.csv:2",
     r"column 2: 'five' is not a finite number"),
    ("CSV NaN", "tiny", ["train", "--data-train", "d.csv"], {"d.csv": "1,2,3,0\n4,nan,6,1\n"}, "d.csv:2",
     r"'nan' is not a finite number"),
    ("CSV Inf", "tiny", ["train", "--data-train", "d.csv"], {"d.csv": "1,2,3,0\n4,5,inf,1\n"}, "d.csv:2",
     r"'inf' is not a finite number"),
    ("CSV overflow to Inf", "tiny", ["train", "--data-train", "d.csv"], {"d.csv": "1,2,3,0\n4,5,1e40,1\n"},
     "d.csv:2", r"'1e40' is not a finite number"),
    ("CSV label out of range", "tiny", ["train", "--data-train", "d.csv"], {"d.csv": "1,2,3,0\n4,5,6,2\n"},
     "d.csv", r"row 2: label 2 is not a class of this model \(0..1\)"),
    ("CSV negative label", "tiny", ["train", "--data-train", "d.csv"], {"d.csv": "1,2,3,-1\n4,5,6,1\n"},
     "d.csv", r"row 1: label -1 is not a class"),
    ("CSV fractional label", "tiny", ["train", "--data-train", "d.csv"], {"d.csv": "1,2,3,0.5\n4,5,6,1\n"},
     "d.csv", r"row 1: label 0.5 is not a class"),
    ("CSV corrupt gzip", "tiny", ["train", "--data-train", "d.csv.gz"],
     {"d.csv.gz": gzip.compress(b"1,2,3,0\n4,5,6,1\n" * 50)[:30] + b"garbage"}, "d.csv.gz", r"corrupt gzip data"),
    ("CSV binary junk", "tiny", ["train", "--data-train", "d.csv"], {"d.csv": b"\x00\x01\x02\xff\xfe\n"}, "d.csv:1",
     r"a NUL byte: not a text file"),
    # IDX data (img: 2x2 images, 2 classes)
    ("IDX truncated", "img", ["train", "--data-train", "t.gz", "--data-train-labels", "l.gz"],
     {"t.gz": idx(0x08, [2, 2, 2], bytes(range(3)))}, "t.gz", r"file is truncated: expected 8 bytes of the IDX data, got 3"),
    ("IDX wrong magic", "img", ["train", "--data-train", "t.gz", "--data-train-labels", "l.gz"],
     {"t.gz": gzip.compress(b"\x01\x02\x08\x03" + GOOD_IMAGES[4:])}, "t.gz",
     r"not an IDX file of unsigned bytes with 3 dimensions \(magic 01020803\)"),
    ("IDX not unsigned bytes", "img", ["train", "--data-train", "t.gz", "--data-train-labels", "l.gz"],
     {"t.gz": idx(0x0D, [2, 2, 2], bytes(32))}, "t.gz",
     r"not an IDX file of unsigned bytes with 3 dimensions \(magic 00000d03\)"),
    ("IDX counts disagree", "img", ["train", "--data-train", "i.gz", "--data-train-labels", "t.gz"],
     {"t.gz": idx(0x08, [3], bytes([0, 1, 0]))}, "t.gz", r"3 labels for 2 images in i.gz"),
    ("IDX image size differs from the model's", "img", ["train", "--data-train", "t.gz", "--data-train-labels", "l.gz"],
     {"t.gz": idx(0x08, [2, 3, 3], bytes(18))}, "t.gz",
     r"images have 9 values each, the model's input has 4"),
    ("IDX label out of range", "img", ["train", "--data-train", "i.gz", "--data-train-labels", "t.gz"],
     {"t.gz": idx(0x08, [2], bytes([0, 7]))}, "t.gz", r"label 7 of item 1 is not a class of this model \(0..1\)"),
    ("IDX header claims 4 GB", "img", ["train", "--data-train", "t.gz", "--data-train-labels", "l.gz"],
     {"t.gz": idx(0x08, [0xFFFF, 0xFFFF, 1], b"")}, "t.gz",
     r"file is truncated: expected 4294836225 bytes of the IDX data, got 0"),
    ("IDX truncated gzip", "img", ["train", "--data-train", "t.gz", "--data-train-labels", "l.gz"],
     {"t.gz": GOOD_IMAGES[:len(GOOD_IMAGES) - 6]}, "t.gz", r"the gzip data ends early \(a truncated file\)"),
    # Text data (words: vocabulary "abc", lines of at most 4 characters)
    ("text invalid UTF-8", "words", ["train", "--data-train", "t.txt,b.txt"], {"t.txt": b"ab\n\xc3(\n"}, "t.txt:2",
     r"byte 1 is not valid UTF-8"),
    ("text outside the vocabulary", "words", ["train", "--data-train", "t.txt,b.txt"], {"t.txt": "ab\nabz\n"},
     "t.txt:2", r"character 'z' \(U\+007A\) of 'abz' is not in the vocabulary"),
    ("text line too long", "words", ["train", "--data-train", "t.txt,b.txt"], {"t.txt": "ab\naaaaa\n"}, "t.txt:2",
     r"'aaaaa' has 5 characters, the input 'w' holds 4 \(truncate = true keeps the last ones\)"),
    ("text empty file", "words", ["train", "--data-train", "t.txt,b.txt"], {"t.txt": ""}, "t.txt", r"no lines of text"),
    ("text wrong file count", "words", ["train", "--data-train", "a.txt"], {}, "a.txt",
     r"a text source has one file per class: 1 file for the 2 classes of model 'words'"),
    # Checkpoints (tiny's, loaded by eval)
    ("checkpoint missing", "tiny", ["eval", "--checkpoint", "none.safetensors"], {}, "none.safetensors",
     r"cannot open: No such file"),
    ("checkpoint empty", "tiny", ["eval", "--checkpoint", "ck.safetensors"], {"ck.safetensors": b""},
     "ck.safetensors", r"not a safetensors file \(shorter than 8 bytes\)"),
    ("checkpoint truncated", "tiny", ["eval", "--checkpoint", "ck.safetensors"],
     {"ck.safetensors": GOOD_CKPT[:100]}, "ck.safetensors", r"corrupt checkpoint: header length \d+ does not fit"),
    ("checkpoint truncated data", "tiny", ["eval", "--checkpoint", "ck.safetensors"],
     {"ck.safetensors": GOOD_CKPT[:-10]}, "ck.safetensors",
     r"tensor 'kiln:input_std' has data offsets outside the file or of the wrong size"),
    ("checkpoint header length huge", "tiny", ["eval", "--checkpoint", "ck.safetensors"],
     {"ck.safetensors": struct.pack("<Q", 1 << 62) + GOOD_CKPT[8:]}, "ck.safetensors", r"corrupt checkpoint: header length"),
    ("checkpoint header not JSON", "tiny", ["eval", "--checkpoint", "ck.safetensors"],
     {"ck.safetensors": GOOD_CKPT[:8] + b"#" + GOOD_CKPT[9:]}, "ck.safetensors",
     r"corrupt checkpoint header: expected '{' at byte 8"),
    ("checkpoint of another model (other shapes)", "tiny", ["eval", "--checkpoint", "tiny3.safetensors"], {},
     "tiny3.safetensors",
     r"checkpoint of a different architecture: it has 'loss = softmax_cross_entropy\(dense\(x, 3\), y\)' where"),
    ("checkpoint of another model (other names)", "tiny", ["eval", "--checkpoint", "deep.safetensors"], {},
     "deep.safetensors", r"checkpoint of a different architecture: it has 'loss = softmax_cross_entropy\(dense\(dense"),
    ("checkpoint of another model (same shapes)", "tiny", ["eval", "--checkpoint", "relu.safetensors"], {},
     "relu.safetensors", r"checkpoint of a different architecture: it has .*dense\(relu\(x\), 2\)"),
    ("checkpoint missing a tensor", "tiny", ["eval", "--checkpoint", "ck.safetensors"],
     {"ck.safetensors": ckpt_edit(lambda h: h.pop("loss.bias"))}, "ck.safetensors",
     r"checkpoint has no tensor 'loss.bias'"),
    ("checkpoint tensor of another dtype", "tiny", ["eval", "--checkpoint", "ck.safetensors"],
     {"ck.safetensors": ckpt_edit(lambda h: h["loss.bias"].__setitem__("dtype", "F16"))}, "ck.safetensors",
     r"tensor 'loss.bias' has dtype F16, expected F32"),
    ("checkpoint offsets out of range", "tiny", ["eval", "--checkpoint", "ck.safetensors"],
     {"ck.safetensors": ckpt_edit(lambda h: h["loss.bias"].__setitem__("data_offsets", [24, 4000]))},
     "ck.safetensors",
     r"tensor 'loss.bias' has data offsets outside the file or of the wrong size"),
    ("checkpoint epoch count corrupt", "tiny", ["eval", "--checkpoint", "ck.safetensors"],
     {"ck.safetensors": ckpt_edit(set_meta("kiln_epochs_done", "-3"))}, "ck.safetensors",
     r"corrupt checkpoint header: bad kiln_epochs_done '-3'"),
    ("resume from a corrupt checkpoint", "tiny", ["train", "--resume", "ck.safetensors"],
     {"ck.safetensors": GOOD_CKPT[:50]}, "ck.safetensors", r"corrupt checkpoint"),
    # Command lines
    ("unknown command", "tiny", ["fly"], {}, "", r"unknown command 'fly'"),
    ("unknown flag", "tiny", ["train", "--speed", "3"], {}, "", r"unknown flag '--speed' \(see --help\)"),
    ("flag without value", "tiny", ["predict", "--limit"], {}, "", r"--limit needs a value \(see --help\)"),
    ("epochs not a number", "tiny", ["train", "--epochs", "many"], {}, "", r"--epochs expects an integer >= 0, got 'many'"),
    ("negative epochs", "tiny", ["train", "--epochs", "-2"], {}, "", r"--epochs expects an integer >= 0, got '-2'"),
    ("learning rate NaN", "tiny", ["train", "--lr", "nan"], {}, "", r"--lr expects a positive number, got 'nan'"),
    ("threads not a number", "tiny", ["train", "--threads", "0x"], {}, "", r"--threads expects an integer >= 1, got '0x'"),
    ("batch differs from the compiled one", "tiny", ["train", "--batch", "7"], {}, "",
     r"compiled for batch 2; recompile with 'kilnc --batch 7'"),
    ("predict input with too few columns", "tiny", ["predict", "--checkpoint", "tiny.safetensors", "--input", "p.csv"],
     {"p.csv": "1,2\n"}, "p.csv", r"rows have 2 values, the model's inputs take 3"),
]

failures = 0


def report(name, problems):
    global failures
    if problems:
        failures += 1
        print(f"FAIL {name}: " + "; ".join(problems))
    else:
        print(f"ok   {name}")


for name, data, message in model_cases:
    src = write("case.kiln", data)
    out = os.path.join(work, "case.out")
    if os.path.exists(out):
        os.remove(out)
    extra = ["--memory-limit=8"] if "memory" in name else []
    r = run([kilnc, src, "-o", out] + extra)
    err = r.stderr.decode(errors="replace")
    first = err.splitlines()[0] if err else ""
    problems = []
    if r.returncode != 1:
        problems.append(f"exit {r.returncode}, not 1")
    if not first.startswith(src + ":") or not re.search(message, first):
        problems.append(f"first line {first[:300]!r} is not {src}:...{message}")
    if os.path.exists(out):
        problems.append("an output file was written")
    report("model: " + name, problems)
    if os.environ.get("SHOW"): print("    ", first)

for name, model, args, files, names, message in run_cases:
    for path, data in files.items():
        write(path, data)
    # Every run is told to save its checkpoint over a good one, which must
    # survive a failure untouched.
    keep = os.path.join(work, "keep.safetensors")
    write(keep, GOOD_CKPT)
    argv = [exes[model]] + args
    if args[0] == "train" and "--checkpoint" not in args:
        argv += ["--checkpoint", keep]
    r = run(argv)
    err = r.stderr.decode(errors="replace")
    lines = err.splitlines()
    first = lines[0] if lines else ""
    problems = []
    if r.returncode != 1:
        problems.append(f"exit {r.returncode}, not 1")
    if "error:" not in first or names not in first or not re.search(message, first):
        problems.append(f"first line {first[:300]!r} does not name {names!r} with {message!r}")
    if sum("error" in line for line in lines) != 1:
        problems.append(f"{len(lines)} lines of errors: {err[:300]!r}")
    if model == "tiny" and open(keep, "rb").read() != GOOD_CKPT:
        problems.append("the checkpoint was changed")
    if [f for f in os.listdir(work) if ".tmp." in f]:
        problems.append("a temporary file was left")
    report("run: " + name, problems)
    if os.environ.get("SHOW"): print("    ", first)

total = len(model_cases) + len(run_cases)
print(f"{total} bad inputs, {failures} not refused as they should be")
sys.exit(1 if failures else 0)
