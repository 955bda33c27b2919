#!/usr/bin/env bash
# The GPU check, on a machine with an NVIDIA GPU and its driver (not part of CI, which has
# no GPU: scripts/check-cuda.sh only compiles and links there):
#   1. the CUDA toolkit: the machine's own (nvcc on PATH, or /usr/local/cuda), else the
#      pinned wheels of scripts/cuda-toolkit.sh;
#   2. one release build with --features cuda for the GPU's compute capability;
#   3. the CUDA tests of tests/it/cuda.rs on the GPU: logits and spans of the default model
#      against the CPU paths, batching under load. They must run, not skip;
#   4. the NER bench (benches/ner.rs) with VEIL_BENCH_DEVICE=cuda:0: p50/p99 per prompt size
#      and texts/s at concurrency 16, batched and one by one, then criterion's figures;
#   5. writes the figures into BENCHMARKS.md, between the `gpu-check` markers of the
#      "NER engine on a GPU" section (everything else in the file stays as it is).
# Output: the log of every step on stdout; the raw bench output also in
# target/cuda/gpu-check/. Env: VEIL_GPU_CHECK_OUT (a folder to copy the results to),
# CUDA_COMPUTE_CAP (default: nvidia-smi's), VEIL_GPU_BENCH=0 (tests only).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/cuda-toolkit.sh
. scripts/cuda-toolkit.sh

export CARGO_TARGET_DIR="${VEIL_CUDA_TARGET_DIR:-target/cuda}"
results="$CARGO_TARGET_DIR/gpu-check"
mkdir -p "$results"

echo "==> GPU"
if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu-check: no GPU here (nvidia-smi finds none): run scripts/check-cuda.sh for the build-only check" >&2
  exit 1
fi
gpu="$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -n 1 |
  awk -F', ' '{print $1 ", " $2 ", driver " $3}')"
echo "    $gpu"
if [ -z "${CUDA_COMPUTE_CAP:-}" ]; then
  CUDA_COMPUTE_CAP="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -n 1 | tr -d '.')"
fi
export CUDA_COMPUTE_CAP

echo "==> CUDA toolkit"
if command -v nvcc >/dev/null; then
  echo "    nvcc on PATH: $(command -v nvcc)"
  root="$(dirname "$(dirname "$(command -v nvcc)")")"
elif [ -x /usr/local/cuda/bin/nvcc ]; then
  root=/usr/local/cuda
  export PATH="$root/bin:$PATH"
  echo "    $root"
else
  root=""
fi
if [ -n "$root" ]; then
  export CUDA_ROOT="$root" CUDA_PATH="$root"
  libdir="$root/lib64"
  [ -d "$libdir" ] || libdir="$root/lib"
else
  echo "    no toolkit on this machine: the pinned wheels"
  cuda_toolkit_from_wheels
  libdir="$CUDA_TOOLKIT_LIB"
fi
# The runtime libraries the build links (cuBLAS, cuRAND, NVRTC, cudart); the driver's
# libcuda.so.1 comes from the system.
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
toolkit="$(nvcc --version | grep -o 'release [0-9.]*, V[0-9.]*')"
echo "    nvcc $toolkit, CUDA_COMPUTE_CAP=$CUDA_COMPUTE_CAP, CARGO_TARGET_DIR=$CARGO_TARGET_DIR"

echo "==> cargo build --release --features cuda (the CUDA tests and the NER bench)"
start=$SECONDS
cargo test --locked --release --features cuda --test it --no-run
if [ "${VEIL_GPU_BENCH:-1}" != 0 ]; then
  cargo bench --locked --features cuda --bench ner --no-run
fi
echo "    built in $((SECONDS - start)) s"

echo "==> CUDA tests on the GPU"
cargo test --locked --release --features cuda --test it cuda:: -- --nocapture --test-threads 1 2>&1 |
  tee "$results/tests.txt"
if grep -q 'skipped:' "$results/tests.txt"; then
  echo "gpu-check: a CUDA test skipped on a GPU machine (see above)" >&2
  exit 1
fi
if ! grep -q 'test result: ok. 3 passed' "$results/tests.txt"; then
  echo "gpu-check: the three CUDA tests did not all pass" >&2
  exit 1
fi

if [ "${VEIL_GPU_BENCH:-1}" = 0 ]; then
  echo "==> VEIL_GPU_BENCH=0: no bench, BENCHMARKS.md unchanged"
  exit 0
fi

echo "==> NER bench on cuda:0 (cargo bench --features cuda --bench ner)"
VEIL_BENCH_DEVICE=cuda:0 cargo bench --locked --features cuda --bench ner 2>&1 | tee "$results/bench.txt"

echo "==> BENCHMARKS.md: the GPU section"
python3 - "$results" "$gpu" "$toolkit" "$CUDA_COMPUTE_CAP" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" <<'PY'
import datetime, pathlib, re, sys

results, gpu, toolkit, cap, commit = sys.argv[1:]
bench = pathlib.Path(results, "bench.txt").read_text()
tests = pathlib.Path(results, "tests.txt").read_text()
rows = []
for m in re.finditer(r"latency\s+(\S+) \((\d+) B\): p50 ([\d.]+) ms\s+p99 ([\d.]+) ms", bench):
    rows.append(f"| {m[1]} ({m[2]} B) | {m[3]} ms | {m[4]} ms |")
conc = [f"- {m[1]}: {m[2]} texts/s, {m[3]} tokens/s"
        for m in re.finditer(r"concurrency 16, 1 KB, (\S+): (\d+) texts/s, (\d+) tokens/s", bench)]
crit = []
lines = bench.splitlines()
for i, line in enumerate(lines):
    m = re.search(r"time:\s+\[([^\]]+)\]", line)
    if m:
        name = line.split("time:")[0].strip() or lines[i - 1].strip()
        crit.append(f"{name:<24} [{m[1]}]")
model = re.search(r"ner model: (\S+)", bench)
parity = [l.strip() for l in tests.splitlines() if re.match(r"gpu_\w+: ", l.strip())]
if not rows or not conc:
    sys.exit("gpu-check: the bench printed no figures (see bench.txt)")
when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
body = "\n".join([
    f"Measured by `scripts/gpu-check.sh` on {when}, commit {commit}: {gpu}, CUDA {toolkit},",
    f"sm_{cap}, release build with `--features cuda`, `[detect] device = \"cuda:0\"`, F32,",
    f"model {model[1] if model else 'veil-pii'}. The CPU figures above are from the 2-vCPU",
    "development machine, these from the GPU machine; same prompts, same method.",
    "",
    "| prompt | p50 | p99 |",
    "|---|---:|---:|",
    *rows,
    "",
    "16 concurrent 1 KB requests, with dynamic batching and with batches of one:",
    "",
    *conc,
    "",
    "criterion, time per iteration (confidence interval: low, estimate, high):",
    "",
    "```",
    *crit,
    "```",
    "",
    "The CUDA tests on the same machine (tests/it/cuda.rs):",
    "",
    *[f"- {p}" for p in parity],
])
path = pathlib.Path("BENCHMARKS.md")
text = path.read_text()
begin, end = "<!-- gpu-check: begin -->", "<!-- gpu-check: end -->"
if begin not in text or end not in text:
    sys.exit("gpu-check: BENCHMARKS.md has no gpu-check markers")
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
path.write_text(f"{head}{begin}\n{body}\n{end}{tail}")
print(body)
PY

if [ -n "${VEIL_GPU_CHECK_OUT:-}" ]; then
  mkdir -p "$VEIL_GPU_CHECK_OUT"
  cp "$results"/*.txt BENCHMARKS.md "$VEIL_GPU_CHECK_OUT/"
fi
echo "gpu-check: done; BENCHMARKS.md updated (commit it)"
