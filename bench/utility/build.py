#!/usr/bin/env python3
"""Build the utility sets (ordinary.jsonl, public.jsonl, private.jsonl) from source/*.txt.

Source format: a prompt starts with a line "=== <category>" and runs to the next such line;
leading/trailing blank lines are dropped, everything else (indentation, tabs, blank lines
inside code) is kept. Lines before the first prompt are comments. Spans are written inline
as ⟦LABEL|text⟧; the markers are removed and the span offsets (Python str offsets, i.e.
Unicode code points, end exclusive) computed from what remains.

    python3 bench/utility/build.py        # rewrites the three .jsonl files beside this script
"""
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MARK = re.compile(r"⟦([A-Z_]+)\|(.*?)⟧", re.S)
GROUPS = ("ordinary", "public", "private")


def parse(path):
    prompts, cat, buf = [], None, []

    def flush():
        if cat is not None:
            prompts.append((cat, "\n".join(buf).strip()))

    for line in path.read_text(encoding="utf-8").split("\n"):
        if line.startswith("=== "):
            flush()
            cat, buf = line[4:].strip(), []
        elif cat is not None:
            buf.append(line)
    flush()
    return prompts


def unmark(marked):
    out, spans, pos = [], [], 0
    n = 0
    for m in MARK.finditer(marked):
        out.append(marked[pos:m.start()])
        n += len(marked[pos:m.start()])
        value = m.group(2)
        spans.append({"start": n, "end": n + len(value), "label": m.group(1)})
        out.append(value)
        n += len(value)
        pos = m.end()
    out.append(marked[pos:])
    text = "".join(out)
    if "⟦" in text or "⟧" in text:
        raise ValueError("unbalanced span marker in: " + marked[:80])
    return text, spans


def main():
    for group in GROUPS:
        src = HERE / "source" / f"{group}.txt"
        rows = []
        for n, (cat, marked) in enumerate(parse(src), 1):
            text, spans = unmark(marked)
            rows.append({"id": f"{group}-{n}", "source": group, "category": cat,
                         "text": text, "spans": spans})
        out = HERE / f"{group}.jsonl"
        with open(out, "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"{out.name}: {len(rows)} prompts, {sum(len(r['spans']) for r in rows)} spans",
              file=sys.stderr)


if __name__ == "__main__":
    main()
