#!/usr/bin/env bash
# The GPU check: the CUDA tests of tests/it/cuda.rs (logits and spans of the default model on
# the GPU against the CPU paths, batching under load; they must run, not skip) and the NER
# bench (benches/ner.rs with VEIL_BENCH_DEVICE=cuda:0: p50/p99 per prompt size, texts/s at
# concurrency 16 batched and one by one, criterion's figures), whose figures it writes into
# BENCHMARKS.md between the `gpu-check` markers of "NER engine on a GPU" (nothing else in the
# file changes). CI has no GPU: scripts/check-cuda.sh compiles and links there.
#
#   scripts/gpu-check.sh [all]   on a GPU machine with the Rust toolchain: build, run, write.
#   scripts/gpu-check.sh build   anywhere with the Rust toolchain, no GPU needed: a release
#                                build with --features cuda of the two binaries, packed with
#                                the list of libraries they need into
#                                target/gpu-check/gpu-check.tar.gz (for a GPU machine that
#                                has CUDA but no Rust toolchain, like this project's: carry
#                                that file there with the repository).
#   scripts/gpu-check.sh run     on the GPU machine, no toolchain needed: unpacks it, runs the
#                                tests and the bench from the repository root, writes
#                                BENCHMARKS.md and copies the results (tests.txt, bench.txt,
#                                BENCHMARKS.md) to $VEIL_GPU_CHECK_OUT if set.
#   scripts/gpu-check.sh write DIR   here: BENCHMARKS.md's GPU section from the results
#                                `run` copied out (tests.txt, bench.txt, gpu.txt, build.txt).
#
# The CUDA toolkit for the build: the machine's own (nvcc on PATH, or /usr/local/cuda), else
# the pinned CUDA 13.0 wheels of scripts/cuda-toolkit.sh. CUDA_COMPUTE_CAP: nvidia-smi's
# where there is a GPU, else 90 (H100/H200). VEIL_GPU_BENCH=0: tests only.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/cuda-toolkit.sh
. scripts/cuda-toolkit.sh

export CARGO_TARGET_DIR="${VEIL_CUDA_TARGET_DIR:-target/cuda}"
stage="target/gpu-check"
mode="${1:-all}"

have_gpu() {
  command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1
}

# The toolkit to build with; sets CUDA_ROOT/CUDA_PATH/PATH and prints what it chose.
toolkit() {
  local root=""
  if command -v nvcc >/dev/null; then
    root="$(dirname "$(dirname "$(command -v nvcc)")")"
  elif [ -x /usr/local/cuda/bin/nvcc ]; then
    root=/usr/local/cuda
    export PATH="$root/bin:$PATH"
  fi
  if [ -n "$root" ]; then
    echo "    the machine's CUDA toolkit: $root"
    export CUDA_ROOT="$root" CUDA_PATH="$root"
  else
    echo "    no CUDA toolkit on this machine: the pinned wheels"
    cuda_toolkit_from_wheels
  fi
  if [ -z "${CUDA_COMPUTE_CAP:-}" ]; then
    if have_gpu; then
      CUDA_COMPUTE_CAP="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -n 1 | tr -d '.')"
    else
      CUDA_COMPUTE_CAP=90
    fi
  fi
  export CUDA_COMPUTE_CAP
  echo "    nvcc $(nvcc --version | grep -o 'release [0-9.]*, V[0-9.]*'), CUDA_COMPUTE_CAP=$CUDA_COMPUTE_CAP"
}

# The executable cargo built for a target (cargo's JSON messages on stdin).
executable() {
  python3 -c '
import json, sys
name = sys.argv[1]
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == name:
        print(m["executable"])
' "$1"
}

build() {
  echo "==> CUDA toolkit"
  toolkit
  echo "==> cargo build --release --features cuda: the CUDA tests and the NER bench (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
  local start=$SECONDS tests bench
  tests="$(cargo test --locked --release --features cuda --test it --no-run --message-format json-render-diagnostics | executable it)"
  bench="$(cargo bench --locked --features cuda --bench ner --no-run --message-format json-render-diagnostics | executable ner)"
  echo "    built in $((SECONDS - start)) s: $tests, $bench"
  rm -rf "$stage" && mkdir -p "$stage/bin"
  cp "$tests" "$stage/bin/cuda-tests"
  cp "$bench" "$stage/bin/ner-bench"
  echo "built at commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown) with CUDA $(nvcc --version | grep -o 'release [0-9.]*' | cut -d' ' -f2) for sm_$CUDA_COMPUTE_CAP" >"$stage/bin/build.txt"
  # What the binaries load at run time; `run` checks that the GPU machine has each.
  ldd "$stage/bin/cuda-tests" | awk '/=>/ {print $1}' | grep -E 'cu|nvrtc' | sort -u >"$stage/bin/needed.txt"
  tar -C "$stage" -czf "$stage/gpu-check.tar.gz" bin
  rm -rf "${stage:?}/bin"
  echo "    $stage/gpu-check.tar.gz ($(du -h "$stage/gpu-check.tar.gz" | cut -f1)); needs $(tr '\n' ' ' <<<"$(tar -xzOf "$stage/gpu-check.tar.gz" bin/needed.txt)")"
}

# The folders that hold the CUDA runtime libraries the binaries need (the driver's libcuda
# is the system's): a toolkit's lib64, else the NVIDIA wheels of the machine's Python.
runtime_libs() {
  local d dirs=()
  for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do
    [ -d "$d" ] && dirs+=("$d")
  done
  while IFS= read -r d; do dirs+=("$d"); done < <(python3 - <<'PYLIBS' 2>/dev/null
import glob, os, site, sysconfig
roots = set(site.getsitepackages() + [sysconfig.get_paths()["purelib"]])
for r in sorted(roots):
    for d in sorted(glob.glob(os.path.join(r, "nvidia", "*", "lib"))):
        print(d)
PYLIBS
  )
  if [ -n "${CUDA_TOOLKIT_LIB:-}" ]; then dirs+=("$CUDA_TOOLKIT_LIB"); fi
  local IFS=:
  echo "${dirs[*]}"
}

run() {
  local bin="$stage/bin" results="$stage/results"
  echo "==> GPU"
  if ! have_gpu; then
    echo "gpu-check: no GPU here (nvidia-smi finds none); scripts/check-cuda.sh is the build-only check" >&2
    exit 1
  fi
  rm -rf "$bin" "$results" && mkdir -p "$results"
  tar -C "$stage" -xzf "$stage/gpu-check.tar.gz"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -n 1 |
    awk -F', ' '{print $1 ", " $2 ", driver " $3}' >"$results/gpu.txt"
  cp "$bin/build.txt" "$results/build.txt"
  echo "    $(cat "$results/gpu.txt"); binaries $(cat "$results/build.txt")"
  local libs
  libs="$(runtime_libs)"
  export LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "    LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  if ldd "$bin/cuda-tests" | grep 'not found'; then
    echo "gpu-check: the libraries above are missing on this machine (needed: $(tr '\n' ' ' <"$bin/needed.txt"))" >&2
    exit 1
  fi

  echo "==> CUDA tests on the GPU"
  "$bin/cuda-tests" cuda:: --nocapture --test-threads 1 2>&1 | tee "$results/tests.txt"
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
  else
    echo "==> NER bench on cuda:0"
    VEIL_BENCH_DEVICE=cuda:0 "$bin/ner-bench" --bench 2>&1 | tee "$results/bench.txt"
    write "$results"
  fi
  if [ -n "${VEIL_GPU_CHECK_OUT:-}" ]; then
    mkdir -p "$VEIL_GPU_CHECK_OUT"
    cp "$results"/*.txt "$VEIL_GPU_CHECK_OUT/"
    [ "${VEIL_GPU_BENCH:-1}" = 0 ] || cp BENCHMARKS.md "$VEIL_GPU_CHECK_OUT/"
    echo "    results copied to $VEIL_GPU_CHECK_OUT"
  fi
}

# BENCHMARKS.md's GPU section from DIR/{tests,bench,gpu,build}.txt.
write() {
  local dir="$1"
  echo "==> BENCHMARKS.md: the GPU section, from $dir"
  python3 - "$dir" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" <<'PY'
import datetime, pathlib, re, sys

results, commit = sys.argv[1:]
bench = pathlib.Path(results, "bench.txt").read_text()
tests = pathlib.Path(results, "tests.txt").read_text()
gpu = pathlib.Path(results, "gpu.txt").read_text().strip()
built = pathlib.Path(results, "build.txt").read_text().strip()
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
    f"Measured by `scripts/gpu-check.sh` on {when} (results written at commit {commit}):",
    f"{gpu}; {built}; release build with `--features cuda`, `[detect] device = \"cuda:0\"`, F32,",
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
}

case "$mode" in
  all)
    build
    run
    ;;
  build) build ;;
  run) run ;;
  write)
    if [ -z "${2:-}" ]; then
      echo "usage: scripts/gpu-check.sh write DIR" >&2
      exit 2
    fi
    write "$2"
    ;;
  *)
    echo "usage: scripts/gpu-check.sh [all | build | run | write DIR]" >&2
    exit 2
    ;;
esac
echo "gpu-check: $mode done"
