#!/usr/bin/env bash
# The whole test suite: formatting, lints, Rust unit + integration tests, the
# end-to-end test that drives the built binary with the official OpenAI and Anthropic
# Python SDKs, and the deployment checks (scripts/check-deploy.sh). Needs only the Rust
# toolchain, Python 3 and the package registries.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> cargo fmt --check"
cargo fmt --all -- --check

echo "==> cargo clippy"
cargo clippy --all-targets --locked -- -D warnings

echo "==> cargo test"
cargo test --locked --all-targets

echo "==> Python SDK end-to-end tests"
VENV=".venv-test"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV" 2>/dev/null || { rm -rf "$VENV"; python3 -m pip install --user -q virtualenv && python3 -m virtualenv -q "$VENV"; }
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r tests/python/requirements.txt
cargo build --locked --bin veil --bin veil-mock
VEIL_BIN="target/debug/veil" VEIL_MOCK_BIN="target/debug/veil-mock" \
  "$VENV/bin/python" -m unittest discover -s tests/python -p 'test_*.py' -v

echo "==> Deployment checks: Dockerfile lint, Kubernetes manifests, Prometheus rules"
VEIL_BIN="target/debug/veil" ./scripts/check-deploy.sh
