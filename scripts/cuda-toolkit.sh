# shellcheck shell=bash
# Sourced by scripts/check-cuda.sh and scripts/gpu-check.sh (not run alone): the CUDA 13.0
# toolkit that `cargo build --features cuda` needs, from pinned PyPI wheels.
#
# cuda_toolkit_from_wheels installs the wheels into $VEIL_CUDA_VENV (default .venv-cuda/,
# git-ignored, reused while the pins are unchanged) and gives them a toolkit's link layout:
# lib/libX.so links to the wheels' libX.so.N, and lib/stubs/libcuda.so, a link stub for the
# driver library (the toolkit ships one; no wheel does). The stub is generated from the
# driver API that cudarc binds: every function returns CUDA_ERROR_STUB_LIBRARY (34), as the
# toolkit's stub does, and its soname is libcuda.so.1, so a binary linked against it loads
# the real driver wherever there is one. It then exports CUDA_ROOT, CUDA_PATH, NVCC, PATH
# CUDA_TOOLKIT_LIB (the folder of the runtime libraries, for LD_LIBRARY_PATH) and
# CUDA_TOOLKIT_VENV (the venv).
#
# The pins: an unpinned nvcc pulls a newer NVVM whose PTX the 13.0 ptxas rejects; the -cu12
# nvcc wheel has no nvcc binary; cudarc 0.19 knows CUDA up to 13.4; 13.0 is what the GPU
# machines' driver runs. cuBLAS 13.1.0.3, cuRAND 10.4.0.35 and NVRTC 13.0.88 are the
# versions of the CUDA 13.0 update 2 release.
VEIL_CUDA_WHEELS=(
  nvidia-cuda-nvcc==13.0.88
  nvidia-nvvm==13.0.88
  nvidia-cuda-crt==13.0.88
  nvidia-cuda-runtime==13.0.96
  nvidia-cuda-cccl==13.0.85
  nvidia-cublas==13.1.0.3
  nvidia-curand==10.4.0.35
  nvidia-cuda-nvrtc==13.0.88
)

cuda_toolkit_from_wheels() {
  local venv="${VEIL_CUDA_VENV:-.venv-cuda}"
  local stamp="$venv/.veil-cuda-wheels"
  if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "${VEIL_CUDA_WHEELS[*]}" ]; then
    echo "--> installing the CUDA 13.0 toolkit wheels into $venv (about 1.2 GB, once): ${VEIL_CUDA_WHEELS[*]}"
    rm -rf "$venv"
    python3 -m venv "$venv" 2>/dev/null || {
      rm -rf "$venv"
      python3 -m pip install --user -q virtualenv && python3 -m virtualenv -q "$venv"
    }
    "$venv/bin/python" -m pip install --disable-pip-version-check --progress-bar off "${VEIL_CUDA_WHEELS[@]}"
    echo "${VEIL_CUDA_WHEELS[*]}" >"$stamp"
  else
    echo "--> CUDA toolkit wheels already in $venv (${VEIL_CUDA_WHEELS[*]})"
  fi
  local site
  site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  local c="$site/nvidia/cu13"
  if [ ! -x "$c/bin/nvcc" ]; then
    echo "cuda-toolkit: $c/bin/nvcc is missing (delete $venv and rerun)" >&2
    return 1
  fi

  echo "--> link layout in $c/lib: libX.so links and the libcuda.so stub"
  local lib real
  for lib in cublas cublasLt curand nvrtc cudart; do
    real="$(find "$c/lib" -maxdepth 1 -name "lib$lib.so.[0-9]*" | sort | head -n 1)"
    if [ -z "$real" ]; then
      echo "cuda-toolkit: no lib$lib.so.N in $c/lib" >&2
      return 1
    fi
    ln -sfn "$(basename "$real")" "$c/lib/lib$lib.so"
  done
  if [ ! -f "$c/lib/stubs/libcuda.so" ]; then
    local cudarc bindings
    cudarc="$(cargo metadata --locked --format-version 1 --features cuda |
      python3 -c 'import json, sys; print(next(p["manifest_path"] for p in json.load(sys.stdin)["packages"] if p["name"] == "cudarc"))')"
    bindings="$(dirname "$cudarc")/src/driver/sys/mod.rs"
    mkdir -p "$c/lib/stubs"
    grep -oE '^pub unsafe fn cu[A-Za-z0-9_]+' "$bindings" | awk '{print $4}' | sort -u |
      awk '{print "int " $1 "(void) { return 34; }"}' >"$c/lib/stubs/libcuda-stub.c"
    echo "    stub: $(wc -l <"$c/lib/stubs/libcuda-stub.c") driver functions from $bindings"
    cc -shared -fPIC -O0 -Wl,-soname,libcuda.so.1 -o "$c/lib/stubs/libcuda.so" "$c/lib/stubs/libcuda-stub.c"
  fi
  export CUDA_ROOT="$c" CUDA_PATH="$c" NVCC="$c/bin/nvcc" PATH="$c/bin:$PATH" CUDA_TOOLKIT_LIB="$c/lib"
  export CUDA_TOOLKIT_VENV="$venv"
}
