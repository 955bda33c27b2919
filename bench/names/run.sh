#!/usr/bin/env bash
# Leak and over-masking on the names set (names.jsonl: made-up sentences, one group per way
# of writing a name that the real-text issue lists), for Veil and for Presidio + spaCy sm on
# the same file, scored with ../shared/eval/score.py; overall and per category.
#
#   bench/names/run.sh                          # target/release/veil, plus Presidio
#   VEIL_BIN=target/debug/veil PRESIDIO=0 bench/names/run.sh
#   VEIL_CONFIG=my.toml bench/names/run.sh      # passed on to `veil detect`
#
# Prints a Markdown table and writes predictions to bench/names/results/ (gitignored).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SHARED="${SHARED:-$ROOT/../shared}"
VEIL_BIN="${VEIL_BIN:-$ROOT/target/release/veil}"
PRESIDIO="${PRESIDIO:-1}"
OUT="$HERE/results"
mkdir -p "$OUT"
[ -x "$VEIL_BIN" ] || { echo "no veil binary at $VEIL_BIN (cargo build --release)" >&2; exit 1; }
python3 "$HERE/build.py"
git -C "$ROOT" diff --quiet -- bench/names/names.jsonl 2>/dev/null \
  || echo "note: names.jsonl differs from the committed file (source.txt changed?)" >&2
cfg=()
if [ -n "${VEIL_CONFIG:-}" ]; then cfg=(--config "$VEIL_CONFIG"); fi
"$VEIL_BIN" detect "${cfg[@]}" --jsonl "$HERE/names.jsonl" >"$OUT/veil.pred.jsonl"
systems=(veil)
if [ "$PRESIDIO" = 1 ]; then
  [ -x "$ROOT/bench/presidio/.venv/bin/python" ] || "$ROOT/bench/presidio/setup.sh" >&2
  nice -n 10 "$ROOT/bench/presidio/.venv/bin/python" "$ROOT/bench/presidio/predict.py" \
    --in "$HERE/names.jsonl" --out "$OUT/presidio.pred.jsonl" >&2
  systems+=(presidio)
fi
python3 - "$SHARED/eval/score.py" "$HERE/names.jsonl" "$OUT" "${systems[@]}" <<'PY'
import collections, json, subprocess, sys, tempfile, os
score, gold_path, out, systems = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
gold = [json.loads(l) for l in open(gold_path, encoding="utf-8")]
cats = list(collections.OrderedDict.fromkeys(g["category"] for g in gold))

def run(rows, pred, labels=None):
    with tempfile.TemporaryDirectory() as d:
        g, p = os.path.join(d, "g.jsonl"), os.path.join(d, "p.jsonl")
        ids = {r["id"] for r in rows}
        with open(g, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        with open(p, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(x, ensure_ascii=False) + "\n" for x in pred if x["id"] in ids)
        cmd = ["python3", score, g, p, "--quiet"] + (["--labels", labels] if labels else [])
        line = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        return {k: float(v) for k, v in (t.split("=") for t in line.split() if "=" in t)}

preds = {s: [json.loads(l) for l in open(os.path.join(out, f"{s}.pred.jsonl"), encoding="utf-8")] for s in systems}
print("| | sentences | " + " | ".join(f"{s} leak / over-masking" for s in systems) + " |")
print("|---|---:|" + "---|" * len(systems))
def row(name, rows, labels=None):
    cells = []
    for s in systems:
        r = run(rows, preds[s], labels)
        cells.append(f"{r['leak_rate']:.3f} / {r['overmask_rate']:.3f}")
    print(f"| {name} | {len(rows)} | " + " | ".join(cells) + " |")
row("**all labels**", gold)
row("**PERSON**", gold, "PERSON")
for c in cats:
    row(c, [g for g in gold if g["category"] == c])
PY
