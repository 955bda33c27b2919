#!/usr/bin/env bash
# Leak and over-masking of a veil binary on the labelled dev sets: ../shared/eval/dev.jsonl
# and every held-out split in ../shared/train/dev/, scored with ../shared/eval/score.py.
#
# Usage: bench/devsplits.sh [OUT_DIR]
# Environment: VEIL_BIN (default target/release/veil), VEIL_CONFIG (a config file for
# `veil detect`, default: none, i.e. the built-in defaults), SHARED (default ../shared).
# Prints a Markdown table (PERSON leak, all-label leak, over-masking per set) and writes
# predictions and score JSON to OUT_DIR (default a temporary directory).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${SHARED:-$ROOT/../shared}"
VEIL_BIN="${VEIL_BIN:-$ROOT/target/release/veil}"
OUT="${1:-$(mktemp -d "${TMPDIR:-/tmp}/veil-dev.XXXXXX")}"
mkdir -p "$OUT"
[ -x "$VEIL_BIN" ] || { echo "no veil binary at $VEIL_BIN (cargo build --release)" >&2; exit 1; }
SCORE="$SHARED/eval/score.py"
cfg=()
if [ -n "${VEIL_CONFIG:-}" ]; then cfg=(--config "$VEIL_CONFIG"); fi
sets=("$SHARED/eval/dev.jsonl")
for f in "$SHARED"/train/dev/*.jsonl; do sets+=("$f"); done
echo "| set | docs | PERSON leak | all-label leak | over-masking |"
echo "|---|---:|---:|---:|---:|"
for gold in "${sets[@]}"; do
    name="$(basename "$gold" .jsonl)"
    [ "$name" = "dev" ] && name="eval/dev"
    safe="${name//\//_}"
    pred="$OUT/$safe.pred.jsonl"
    "$VEIL_BIN" detect "${cfg[@]}" --jsonl "$gold" >"$pred"
    all="$(python3 "$SCORE" "$gold" "$pred" --quiet --json "$OUT/$safe.score.json")"
    leak="$(sed -n 's/.*leak_rate=\([0-9.]*\).*/\1/p' <<<"$all")"
    over="$(sed -n 's/.*overmask_rate=\([0-9.]*\).*/\1/p' <<<"$all")"
    if grep -q '"PERSON"' "$gold"; then
        p="$(python3 "$SCORE" "$gold" "$pred" --labels PERSON --quiet)"
        pleak="$(sed -n 's/.*leak_rate=\([0-9.]*\).*/\1/p' <<<"$p")"
    else
        pleak="—"
    fi
    echo "| $name | $(wc -l <"$gold") | $pleak | $leak | $over |"
done
echo >&2 "predictions and scores in $OUT"
