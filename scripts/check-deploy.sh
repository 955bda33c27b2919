#!/usr/bin/env bash
# Lints the Dockerfiles and validates the deployment examples (run by scripts/test.sh after
# the Rust tests; runs alone too). The images themselves are not built: no registry here.
#   hadolint              Dockerfile, Dockerfile.cuda (.hadolint.yaml)
#   kubernetes-validate   deploy/kubernetes/**/*.yaml against the Kubernetes 1.29 and 1.37
#                         schemas it ships (offline, strict: unknown fields fail)
#   promtool              deploy/prometheus/alerts.yaml: check rules, and the unit tests in
#                         alerts_test.yaml (promtool comes from Debian's prometheus package,
#                         unpacked, not installed)
#   check_deploy.py       the rules' structure and metric names against src/, and every Veil
#                         config of the examples against the veil binary ($VEIL_BIN)
# Tools live in .venv-deploy/ (git-ignored) and are reused on the next run.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS=".venv-deploy"
REQS="scripts/deploy-requirements.txt"
VEIL_BIN="${VEIL_BIN:-target/debug/veil}"
passed=0   # each check below exits the script when it fails (set -e)

if [ ! -x "$TOOLS/bin/python" ]; then
  echo "--> creating $TOOLS"
  python3 -m venv "$TOOLS" 2>/dev/null || { rm -rf "$TOOLS"; python3 -m pip install --user -q virtualenv && python3 -m virtualenv -q "$TOOLS"; }
fi
if ! cmp -s "$REQS" "$TOOLS/.requirements"; then
  echo "--> pip install -r $REQS"
  "$TOOLS/bin/python" -m pip install -q --disable-pip-version-check -r "$REQS"
  cp "$REQS" "$TOOLS/.requirements"
fi

if [ ! -x "$TOOLS/bin/promtool" ] && command -v apt-get >/dev/null; then
  echo "--> promtool from Debian's prometheus package"
  tmp="$(mktemp -d)"
  if [ -z "$(apt-cache policy prometheus 2>/dev/null | awk '/Candidate:/ {print $2}' | grep -v '(none)')" ]; then
    apt-get update -qq
  fi
  (cd "$tmp" && apt-get download -qq prometheus 2>/dev/null) || true
  deb="$(find "$tmp" -maxdepth 1 -name 'prometheus_*.deb' | head -n 1)"
  if [ -z "$deb" ]; then
    echo "check-deploy: cannot download Debian's prometheus package (for promtool)" >&2
    exit 1
  fi
  dpkg-deb -x "$deb" "$tmp/x"
  cp "$tmp/x/usr/bin/promtool" "$TOOLS/bin/promtool"
  rm -rf "$tmp"
fi

echo "--> hadolint Dockerfile Dockerfile.cuda"
"$TOOLS/bin/hadolint" --config .hadolint.yaml Dockerfile Dockerfile.cuda
passed=$((passed + 1))

mapfile -t manifests < <(find deploy/kubernetes -name '*.yaml' | sort)
for version in 1.29 1.37; do
  echo "--> kubernetes-validate --strict -k $version (${#manifests[@]} files)"
  "$TOOLS/bin/kubernetes-validate" --strict --quiet -k "$version" "${manifests[@]}"
  passed=$((passed + 1))
done

if [ -x "$TOOLS/bin/promtool" ]; then
  echo "--> promtool check rules / test rules"
  "$TOOLS/bin/promtool" check rules deploy/prometheus/alerts.yaml
  "$TOOLS/bin/promtool" test rules deploy/prometheus/alerts_test.yaml
  passed=$((passed + 2))
else
  echo "--> promtool: skipped (no apt-get on this machine); the rule structure is still checked below"
fi

echo "--> alert rules use metrics Veil exports"
"$TOOLS/bin/python" scripts/check_deploy.py alerts deploy/prometheus/alerts.yaml
passed=$((passed + 1))

if [ ! -x "$VEIL_BIN" ]; then
  cargo build --locked --bin veil
  VEIL_BIN="target/debug/veil"
fi
echo "--> the examples' Veil configs load ($VEIL_BIN redact --config ...)"
"$TOOLS/bin/python" scripts/check_deploy.py configs "$VEIL_BIN" \
  deploy/docker/veil.toml deploy/docker/veil-cuda.toml \
  deploy/kubernetes/sidecar/configmap.yaml deploy/kubernetes/gpu/configmap.yaml
passed=$((passed + 1))
echo "deploy: $passed passed, 0 failed"
