#!/usr/bin/env python3
"""Run the Presidio + en_core_web_sm baseline over JSON lines {"id","text"} and write span
predictions in the eval format (one line per input, Unicode code point offsets):

    {"id": ..., "spans": [{"start", "end", "label", "score", "detector": "presidio"}]}

Presidio entity types are mapped to the canonical labels of /work/shared/eval (see LABEL_MAP;
None = dropped). Types not in the map become OTHER_ID. Presidio's own output is kept as is
(default score threshold 0, overlapping spans of different types allowed); the scorer takes
the union of predicted spans for leak/over-masking.

    nice -n 10 bench/presidio/.venv/bin/python bench/presidio/predict.py \
        --in /work/shared/eval/dev.jsonl --out bench/presidio/results/dev.pred.jsonl
"""
import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import build_analyzer  # noqa: E402

# Presidio entity type -> canonical eval label (None: drop the span).
LABEL_MAP = {
    "PERSON": "PERSON",
    "LOCATION": "LOCATION",          # spaCy GPE, LOC and FAC, via Presidio's mapping
    "GPE": "LOCATION",
    "ORGANIZATION": "ORGANIZATION",  # spaCy ORG; ignored by Presidio's stock config
    "NRP": None,                     # nationality/religion/political group: MISC in the gold set
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "CREDIT_CARD": "CREDIT_CARD",
    "IBAN_CODE": "IBAN",
    "US_SSN": "US_SSN",
    "IP_ADDRESS": "IP_ADDRESS",
    "URL": "URL",
    "DATE_TIME": "DATE",
    "CRYPTO": "CRYPTO_ADDRESS",
    "US_PASSPORT": "PASSPORT",
    "US_DRIVER_LICENSE": "DRIVER_LICENSE",
    "US_BANK_NUMBER": "ACCOUNT_NUMBER",
    "MEDICAL_LICENSE": "MEDICAL_ID",
    "UK_NHS": "MEDICAL_ID",
    "US_ITIN": "OTHER_ID",
    "MAC_ADDRESS": "OTHER_ID",
    "UUID": "OTHER_ID",
}
DEFAULT_LABEL = "OTHER_ID"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--in", dest="inp", default="/work/shared/eval/dev.jsonl")
    ap.add_argument("--out", required=True)
    ap.add_argument("--include-org", action="store_true",
                    help="turn spaCy ORG -> ORGANIZATION back on (stock Presidio ignores it)")
    args = ap.parse_args()

    analyzer, info = build_analyzer(include_org=args.include_org)
    print(f"analyzer: {info}", file=sys.stderr)
    n_docs = n_spans = 0
    unmapped = {}
    t0 = time.perf_counter()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.inp, encoding="utf-8") as fin, open(args.out, "w", encoding="utf-8") as fout:
        for line in fin:
            if not line.strip():
                continue
            doc = json.loads(line)
            text = doc["text"]
            spans = []
            for r in analyzer.analyze(text, language="en"):
                label = LABEL_MAP.get(r.entity_type, DEFAULT_LABEL)
                if r.entity_type not in LABEL_MAP:
                    unmapped[r.entity_type] = unmapped.get(r.entity_type, 0) + 1
                if label is None or r.end <= r.start:
                    continue
                spans.append({"start": r.start, "end": r.end, "label": label,
                              "score": round(float(r.score), 4), "detector": "presidio"})
            spans.sort(key=lambda s: (s["start"], s["end"], s["label"]))
            fout.write(json.dumps({"id": doc["id"], "spans": spans}, ensure_ascii=False) + "\n")
            n_docs += 1
            n_spans += len(spans)
    dt = time.perf_counter() - t0
    print(f"{n_docs} docs, {n_spans} spans in {dt:.1f} s ({n_docs / dt:.1f} docs/s)"
          + (f"; unmapped types -> {DEFAULT_LABEL}: {unmapped}" if unmapped else ""),
          file=sys.stderr)


if __name__ == "__main__":
    main()
