#!/usr/bin/env python3
"""Build names.jsonl (the eval format of /work/shared/eval) from source.txt, with the parser
of the utility sets (bench/utility/build.py: "=== <category>" lines, spans as ⟦LABEL|text⟧).

    python3 bench/names/build.py
"""
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "utility"))
from build import parse, unmark  # noqa: E402


def main():
    rows = []
    for n, (cat, marked) in enumerate(parse(HERE / "source.txt"), 1):
        text, spans = unmark(marked)
        rows.append({"id": f"names-{n}", "source": "names", "category": cat, "text": text, "spans": spans})
    with open(HERE / "names.jsonl", "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"names.jsonl: {len(rows)} sentences, {sum(len(r['spans']) for r in rows)} spans", file=sys.stderr)


if __name__ == "__main__":
    main()
