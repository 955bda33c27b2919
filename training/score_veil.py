#!/usr/bin/env python3
"""Score a model folder the way Veil runs it: `veil detect --jsonl` (patterns + model, Veil's
windowing and span rules) on a gold file, then the shared `score.py`, at one or more model
score thresholds.

    python score_veil.py out/veil-pii --gold /work/shared/eval/dev.jsonl --min-score 0.2,0.35,0.5

One `veil detect` run at min_score 0 gives every model span with its score; each threshold
then drops the model spans below it (pattern spans are kept), which is what
`[detect] min_score` does. Prints, per threshold, PERSON and STREET_ADDRESS leak, over-masking
and recall of the structured labels.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
STRUCT = ["EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "US_SSN", "IP_ADDRESS"]


def score(score_py, gold, pred, labels=None):
    cmd = [sys.executable, score_py, gold, pred, "--quiet"]
    if labels:
        cmd += ["--labels", labels]
    with tempfile.NamedTemporaryFile("r", suffix=".json") as js:
        subprocess.run(cmd + ["--json", js.name], check=True, stdout=subprocess.DEVNULL)
        return json.load(open(js.name))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--gold", required=True)
    ap.add_argument("--veil", default=os.path.join(HERE, "../target/release/veil"))
    ap.add_argument("--score-py", default=os.path.join(HERE, "../../shared/eval/score.py"))
    ap.add_argument("--min-score", default="0.35")
    ap.add_argument("--keep", help="write the min_score=0 predictions here")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "veil.toml")
        with open(cfg, "w") as f:
            f.write(f'[detect]\nmodel = "{os.path.abspath(a.model)}"\nmin_score = 0.0\n')
        raw = a.keep or os.path.join(tmp, "raw.jsonl")
        with open(a.gold, "rb") as inp, open(raw, "wb") as out:
            subprocess.run([a.veil, "detect", "--jsonl", "--config", cfg], stdin=inp, stdout=out, check=True)
        preds = [json.loads(l) for l in open(raw, encoding="utf-8") if l.strip()]
        print(f"{a.model}")
        print(f"{'min_score':>9} {'PERSON':>7} {'STREET':>7} {'overmask':>8}  recall " + "/".join(STRUCT))
        for t in [float(x) for x in a.min_score.split(",")]:
            path = os.path.join(tmp, f"pred_{t}.jsonl")
            with open(path, "w", encoding="utf-8") as f:
                for p in preds:
                    spans = [s for s in p["spans"] if not s["detector"].startswith("ner") or s["score"] >= t]
                    f.write(json.dumps({"id": p["id"], "spans": spans}) + "\n")
            res = score(a.score_py, a.gold, path)
            by = {r["label"]: r for r in res["per_label"]}
            num = lambda l, k: (by.get(l, {}).get(k) if by.get(l, {}).get(k) is not None else float("nan"))
            rec = "/".join(f"{num(l, 'recall'):.3f}" for l in STRUCT)
            print(f"{t:>9.2f} {num('PERSON', 'leak_rate'):>7.3f} {num('STREET_ADDRESS', 'leak_rate'):>7.3f} "
                  f"{res['overall']['overmask_rate']:>8.3f}  {rec}", flush=True)


if __name__ == "__main__":
    main()
