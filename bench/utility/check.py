#!/usr/bin/env python3
"""Validate the utility sets: ordinary.jsonl, public.jsonl, private.jsonl (beside this script).

Checks: every line is a JSON object with id, source, category, text, spans; ids are
"<group>-<n>" and unique across the three files; source is the group; spans have integer
start < end inside the text (Python str offsets = code points, end exclusive), hold no
leading/trailing whitespace, are sorted by start and do not overlap; labels are canonical;
ordinary.jsonl has no span at all and at least 300 prompts; public.jsonl has 40-60 prompts
and private.jsonl 60-90, each with at least one span; the .jsonl files match what
build.py makes from source/*.txt. Exit status 1 on any error.

    python3 bench/utility/check.py [--show-spans]
"""
import argparse
import collections
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

CANONICAL = {
    "PERSON", "ORGANIZATION", "LOCATION", "STREET_ADDRESS", "EMAIL", "PHONE", "CREDIT_CARD",
    "IBAN", "US_SSN", "NATIONAL_ID", "PASSPORT", "DRIVER_LICENSE", "IP_ADDRESS", "URL",
    "DATE_OF_BIRTH", "DATE", "AGE", "USERNAME", "PASSWORD", "API_KEY", "CRYPTO_ADDRESS",
    "MEDICAL_ID", "ACCOUNT_NUMBER", "OTHER_ID",
}
# group -> (min prompts, max prompts, spans required in every prompt, spans allowed)
RULES = {
    "ordinary": (300, None, False, False),
    "public": (40, 60, True, True),
    "private": (60, 90, True, True),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--show-spans", action="store_true", help="print every span's label and text")
    args = ap.parse_args()

    errors = []
    seen_ids = set()
    for group, (lo, hi, need_spans, spans_ok) in RULES.items():
        path = HERE / f"{group}.jsonl"
        if not path.exists():
            errors.append(f"{path.name}: missing")
            continue
        cats = collections.Counter()
        labels = collections.Counter()
        n_docs = 0
        for ln, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
            if not line.strip():
                continue
            where = f"{path.name}:{ln}"
            try:
                rec = json.loads(line)
            except ValueError as e:
                errors.append(f"{where}: bad JSON: {e}")
                continue
            if not isinstance(rec, dict):
                errors.append(f"{where}: not an object")
                continue
            n_docs += 1
            missing = [k for k in ("id", "source", "category", "text", "spans") if k not in rec]
            if missing:
                errors.append(f"{where}: missing keys {missing}")
                continue
            rid, text, spans = rec["id"], rec["text"], rec["spans"]
            if rid in seen_ids:
                errors.append(f"{where}: duplicate id {rid!r}")
            seen_ids.add(rid)
            head, _, num = str(rid).rpartition("-")
            if head != group or not num.isdigit():
                errors.append(f"{where}: id {rid!r} is not '{group}-<n>'")
            if rec["source"] != group:
                errors.append(f"{where}: source {rec['source']!r} != {group!r}")
            if not isinstance(rec["category"], str) or not rec["category"].strip():
                errors.append(f"{where}: empty category")
            if not isinstance(text, str) or not text.strip():
                errors.append(f"{where}: empty text")
                continue
            if text != text.strip():
                errors.append(f"{where}: text has leading/trailing whitespace")
            cats[rec["category"]] += 1
            if not isinstance(spans, list):
                errors.append(f"{where}: spans is not a list")
                continue
            if spans and not spans_ok:
                errors.append(f"{where}: {group} prompts must have no spans")
            if need_spans and not spans:
                errors.append(f"{where}: {group} prompt without any span")
            prev_end, prev_start = -1, -1
            for s in spans:
                try:
                    a, b, lab = s["start"], s["end"], s["label"]
                except (KeyError, TypeError):
                    errors.append(f"{where}: malformed span {s!r}")
                    continue
                if not (isinstance(a, int) and isinstance(b, int)) or not 0 <= a < b <= len(text):
                    errors.append(f"{where}: bad offsets {a}-{b} (text length {len(text)})")
                    continue
                if lab not in CANONICAL:
                    errors.append(f"{where}: label {lab!r} is not canonical")
                value = text[a:b]
                if value != value.strip():
                    errors.append(f"{where}: span {a}-{b} {value!r} has outer whitespace")
                if "value" in s and s["value"] != value:
                    errors.append(f"{where}: span {a}-{b} value {s['value']!r} != text {value!r}")
                if a < prev_start:
                    errors.append(f"{where}: spans not sorted by start")
                if a < prev_end:
                    errors.append(f"{where}: span {a}-{b} overlaps the previous one")
                prev_start, prev_end = a, b
                labels[lab] += 1
                if args.show_spans:
                    print(f"{rid}\t{lab}\t{value}")
        if n_docs < lo or (hi is not None and n_docs > hi):
            errors.append(f"{path.name}: {n_docs} prompts, want {lo}..{hi or 'any'}")
        print(f"{path.name}: {n_docs} prompts, {len(cats)} categories, {sum(labels.values())} spans"
              + (f" ({', '.join(f'{k} {v}' for k, v in labels.most_common())})" if labels else ""))

    # The committed .jsonl files must be what build.py makes from source/*.txt.
    try:
        import build
        for group in RULES:
            want = []
            for n, (cat, marked) in enumerate(build.parse(HERE / "source" / f"{group}.txt"), 1):
                text, spans = build.unmark(marked)
                want.append({"id": f"{group}-{n}", "source": group, "category": cat,
                             "text": text, "spans": spans})
            path = HERE / f"{group}.jsonl"
            if path.exists():
                have = [json.loads(l) for l in path.read_text(encoding="utf-8").split("\n") if l.strip()]
                if have != want:
                    errors.append(f"{path.name}: out of date with source/{group}.txt (run build.py)")
    except Exception as e:  # noqa: BLE001
        errors.append(f"could not compare with source/*.txt: {e}")

    for e in errors:
        print("error: " + e, file=sys.stderr)
    print("OK" if not errors else f"{len(errors)} error(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
