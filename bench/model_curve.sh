#!/usr/bin/env bash
# The size/window curve of the model card: for each model folder and window, the leak on the
# dev splits (bench/devsplits.sh) beside the detection time of the 1 KB prompt of
# bench/ner_texts.json through `veil detect` with one inference thread.
#
# Usage: bench/model_curve.sh MODEL_DIR[,MODEL_DIR...] [WINDOWS]
#   WINDOWS: comma-separated text tokens per window (default 64,126,254; 126 + [CLS]/[SEP]
#   is the 128-token window the models were trained on)
# Environment: VEIL_BIN (default target/release/veil), REPEAT (copies of the 1 KB prompt
# timed per run, default 200; a run of one copy is timed too and taken off, so model loading
# does not count), RUNS (timed runs, the median is reported, default 3).
# Prints a Markdown table. The time is the NER path of one request at concurrency 1 (tokenize,
# windows, forward pass, decode) without the gateway: the gateway adds its own ~0.2 ms.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VEIL_BIN="${VEIL_BIN:-$ROOT/target/release/veil}"
REPEAT="${REPEAT:-200}"
RUNS="${RUNS:-3}"
IFS=, read -r -a models <<<"${1:?usage: bench/model_curve.sh MODEL_DIR[,MODEL_DIR...] [WINDOWS]}"
IFS=, read -r -a windows <<<"${2:-64,126,254}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/veil-curve.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
python3 - "$ROOT/bench/ner_texts.json" "$REPEAT" >"$tmp/1kb.jsonl" <<'PY'
import json, sys
text = json.load(open(sys.argv[1]))["1kb"]
for i in range(int(sys.argv[2])):
    print(json.dumps({"id": f"t{i}", "text": text}))
PY
head -n 1 "$tmp/1kb.jsonl" >"$tmp/one.jsonl"
echo "| model | layers × hidden | window (tokens) | ms per 1 KB prompt | PERSON leak uner_ewt / gum / litbank / wikigold / sgd | eval/dev PERSON leak | over-masking eval/dev |"
echo "|---|---|---:|---:|---|---:|---:|"
for m in "${models[@]}"; do
  shape="$(python3 -c "import json,sys; c=json.load(open(sys.argv[1]+'/config.json')); print(f\"{c['num_hidden_layers']} × {c['hidden_size']}\")" "$m")"
  for w in "${windows[@]}"; do
    cfg="$tmp/$(basename "$m")-$w.toml"
    printf '[detect]\nmodel = "%s"\nwindow = %s\nthreads = 1\n' "$m" "$w" >"$cfg"
    times=()
    for _ in $(seq "$RUNS"); do
      # start-up (model load) is timed on one copy and taken off
      s=$(date +%s.%N); "$VEIL_BIN" detect --jsonl --config "$cfg" "$tmp/one.jsonl" >/dev/null; o=$(date +%s.%N)
      "$VEIL_BIN" detect --jsonl --config "$cfg" "$tmp/1kb.jsonl" >/dev/null
      e=$(date +%s.%N)
      times+=("$(python3 -c "print((($e - $o) - ($o - $s)) * 1000 / ($REPEAT - 1))")")
    done
    ms="$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p")"
    VEIL_BIN="$VEIL_BIN" VEIL_CONFIG="$cfg" "$ROOT/bench/devsplits.sh" "$tmp/pred-$(basename "$m")-$w" >"$tmp/dev.md"
    leak() { awk -F'|' -v s=" $1 " '$2 == s {gsub(/ /, "", $4); print $4}' "$tmp/dev.md"; }
    over() { awk -F'|' -v s=" $1 " '$2 == s {gsub(/ /, "", $6); print $6}' "$tmp/dev.md"; }
    printf '| %s | %s | %s | %.2f | %s / %s / %s / %s / %s | %s | %s |\n' "$(basename "$m")" "$shape" "$w" "$ms" \
      "$(leak uner_ewt)" "$(leak gum)" "$(leak litbank)" "$(leak wikigold)" "$(leak sgd)" "$(leak eval/dev)" "$(over eval/dev)"
  done
done
