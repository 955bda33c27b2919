#!/usr/bin/env bash
# The whole test suite: formatting, lints, Rust unit + integration tests, the
# end-to-end test that drives the built binary with the official OpenAI and Anthropic
# Python SDKs, the deployment checks (scripts/check-deploy.sh) and the CUDA build check
# (scripts/check-cuda.sh: the `cuda` feature compiled and linked without a GPU). Needs
# only the Rust toolchain, Python 3 and the package registries.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> cargo fmt --check"
cargo fmt --all -- --check

echo "==> cargo clippy"
cargo clippy --all-targets --locked -- -D warnings

echo "==> cargo test"
cargo test --locked --all-targets
# veil-mock is its own crate (mock/), so `cargo test` builds it only as a test harness;
# the SDK tests and the UI check need the binary (the same profile; seconds).
cargo build --locked --bin veil-mock

echo "==> Python SDK end-to-end tests"
step=$SECONDS
VENV=".venv-test"
REQS="tests/python/requirements.txt"
if [ ! -x "$VENV/bin/python" ]; then
  echo "--> creating $VENV"
  python3 -m venv "$VENV" 2>/dev/null || { rm -rf "$VENV"; python3 -m pip install --user -q virtualenv && python3 -m virtualenv -q "$VENV"; }
fi
if ! cmp -s "$REQS" "$VENV/.requirements"; then
  echo "--> pip install -r $REQS ($(tr '\n' ' ' <"$REQS"))"
  "$VENV/bin/python" -m pip install --disable-pip-version-check --progress-bar off -r "$REQS"
  cp "$REQS" "$VENV/.requirements"
else
  echo "--> $REQS already installed in $VENV"
fi
# The binaries built above (`veil` by `cargo test` for the integration tests, `veil-mock`
# after it; same profile, same features): no second build.
for bin in veil veil-mock; do
  if [ ! -x "target/debug/$bin" ]; then
    echo "test.sh: target/debug/$bin is missing after cargo test" >&2
    exit 1
  fi
done
VEIL_BIN="target/debug/veil" VEIL_MOCK_BIN="target/debug/veil-mock" \
  "$VENV/bin/python" -m unittest discover -s tests/python -p 'test_*.py' -v
echo "--> SDK tests done in $((SECONDS - step)) s"

echo "==> Audit review page in headless Chromium (scripts/check-ui.sh)"
UI_SCREENSHOT="target/ui-check.png" VEIL_BIN="target/debug/veil" VEIL_MOCK_BIN="target/debug/veil-mock" ./scripts/check-ui.sh

echo "==> Deployment checks: Dockerfile lint, Kubernetes manifests, Prometheus rules"
VEIL_BIN="target/debug/veil" ./scripts/check-deploy.sh

echo "==> CUDA feature: clippy, compile and link without a GPU (scripts/check-cuda.sh)"
./scripts/check-cuda.sh
