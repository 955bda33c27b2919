#!/usr/bin/env python3
"""Score detectors on the utility sets: how many prompts reach the provider unchanged.

A prompt reaches the provider unchanged when the detector predicted no span in it. For each
group (ordinary, public, private) and each system this prints the unchanged share, per
category for the ordinary group, and the false maskings (predicted spans that overlap no
gold span: on ordinary.jsonl that is every predicted span) counted by label and text. For
the private group (and the public one) it also runs /work/shared/eval/score.py and reports
its leak figures (on the public group "leak" is the share of public-figure/city characters
left as they were).

Standard library only. Predictions are the eval format, one line per prompt
({"id", "spans": [{"start", "end", "label", ...}]}), as `veil detect --jsonl` and
bench/presidio/predict.py write them; lines are matched to the gold prompts by id, and one
system may be given several files (one per group, say).

    python3 bench/utility/score.py --pred veil=results/veil-ordinary.pred.jsonl \\
        --pred veil=results/veil-public.pred.jsonl --pred presidio=... \\
        [--gold bench/utility/ordinary.jsonl ...] [--show-failures] [--json OUT.json]

Markdown goes to stdout, everything (with every changed prompt) to --json.
"""
import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_GOLD = [HERE / f"{g}.jsonl" for g in ("ordinary", "public", "private")]
DEFAULT_EVAL_SCORE = "/work/shared/eval/score.py"
LEAK_GROUPS = ("private", "public")


def load_jsonl(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError as e:
                    sys.exit(f"{path}:{n}: bad JSON: {e}")
    return rows


def pct(k, n):
    return f"{100.0 * k / n:.1f}% ({k}/{n})" if n else "-"


def overlaps(a, b, spans):
    return any(s["start"] < b and a < s["end"] for s in spans)


def run_eval_score(eval_score, gold_rows, pred_by_id, workdir, tag):
    """Run the shared scorer on one group; return its overall and per-label figures."""
    gpath = Path(workdir) / f"{tag}.gold.jsonl"
    ppath = Path(workdir) / f"{tag}.pred.jsonl"
    jpath = Path(workdir) / f"{tag}.score.json"
    with open(gpath, "w", encoding="utf-8") as f:
        for r in gold_rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    with open(ppath, "w", encoding="utf-8") as f:
        for r in gold_rows:
            f.write(json.dumps({"id": r["id"], "spans": pred_by_id[r["id"]]}, ensure_ascii=False) + "\n")
    proc = subprocess.run([sys.executable, eval_score, "--json", str(jpath), str(gpath), str(ppath)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{eval_score} failed ({proc.returncode}):\n{proc.stderr}")
    with open(jpath, encoding="utf-8") as f:
        data = json.load(f)
    data["last_line"] = proc.stdout.strip().splitlines()[-1]
    data["table"] = proc.stdout
    return data


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--gold", action="append", help="gold JSONL (repeatable; default: the three sets)")
    ap.add_argument("--pred", action="append", required=True, metavar="NAME=FILE",
                    help="predictions of system NAME (repeatable; a system may have several files)")
    ap.add_argument("--show-failures", action="store_true",
                    help="list every changed prompt with the predicted spans' labels and text")
    ap.add_argument("--json", help="write all figures and every changed prompt to this file")
    ap.add_argument("--eval-score", default=os.environ.get("EVAL_SCORE", DEFAULT_EVAL_SCORE),
                    help=f"path of the shared scorer (default {DEFAULT_EVAL_SCORE}; '' to skip)")
    ap.add_argument("--top", type=int, default=40, help="false-masking rows per system in the table")
    args = ap.parse_args()

    # Gold: group -> rows (group = the "source" field).
    groups = collections.OrderedDict()
    for path in args.gold or DEFAULT_GOLD:
        for r in load_jsonl(path):
            groups.setdefault(r["source"], []).append(r)
    gold_ids = {r["id"] for rows in groups.values() for r in rows}
    texts = {r["id"]: r["text"] for rows in groups.values() for r in rows}

    # Predictions: system -> id -> spans.
    systems = collections.OrderedDict()
    for spec in args.pred:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            sys.exit(f"--pred wants NAME=FILE, got {spec!r}")
        preds = systems.setdefault(name, {})
        for r in load_jsonl(path):
            if r["id"] in gold_ids:
                preds[r["id"]] = sorted(r.get("spans") or [], key=lambda s: (s["start"], s["end"]))

    result = {"systems": list(systems), "groups": {}}
    md = []
    names = list(systems)

    # Which groups each system covers: all of a group's ids, or none of them (else an error).
    covered = {}
    for name, preds in systems.items():
        for g, rows in groups.items():
            have = sum(r["id"] in preds for r in rows)
            if have and have != len(rows):
                sys.exit(f"{name}: predictions for {have} of {len(rows)} {g} prompts; "
                         "a missing line would count as unchanged")
            covered[name, g] = bool(have)

    # 1. Unchanged share per group.
    md.append("## Prompts that reach the provider unchanged\n")
    md.append("| group | prompts | " + " | ".join(names) + " |")
    md.append("|---|---:|" + "---:|" * len(names))
    per_doc = {}
    for g, rows in groups.items():
        gres = result["groups"].setdefault(g, {"prompts": len(rows), "systems": {}})
        cells = []
        for name in names:
            if not covered[name, g]:
                cells.append("-")
                continue
            preds = systems[name]
            changed = [r for r in rows if preds[r["id"]]]
            false_mask = [r for r in rows
                          if any(not overlaps(s["start"], s["end"], r["spans"]) for s in preds[r["id"]])]
            unchanged = len(rows) - len(changed)
            gres["systems"][name] = {
                "unchanged": unchanged, "unchanged_share": unchanged / len(rows),
                "prompts_with_false_mask": len(false_mask),
            }
            cells.append(pct(unchanged, len(rows)))
            for r in rows:
                per_doc[name, r["id"]] = preds[r["id"]]
        md.append(f"| {g} | {len(rows)} | " + " | ".join(cells) + " |")
    md.append("")
    md.append("On public and private, a prompt is \"changed\" as soon as anything in it is masked, "
              "gold or not; the next table counts masking outside the gold spans.\n")

    # 1b. Prompts with a masking outside every gold span (the false maskings).
    md.append("## Prompts with a false masking (a predicted span overlapping no gold span)\n")
    md.append("| group | prompts | " + " | ".join(names) + " |")
    md.append("|---|---:|" + "---:|" * len(names))
    for g, rows in groups.items():
        cells = []
        for name in names:
            s = result["groups"][g]["systems"].get(name)
            cells.append(pct(s["prompts_with_false_mask"], len(rows)) if s else "-")
        md.append(f"| {g} | {len(rows)} | " + " | ".join(cells) + " |")
    md.append("")

    # 2. Per category (every group, but the table is mainly for ordinary).
    for g, rows in groups.items():
        cats = collections.OrderedDict()
        for r in sorted(rows, key=lambda r: r["category"]):
            cats.setdefault(r["category"], []).append(r)
        gres = result["groups"][g]
        gres["per_category"] = {}
        lines = ["| category | prompts | " + " | ".join(names) + " |",
                 "|---|---:|" + "---:|" * len(names)]
        for cat, crs in cats.items():
            cells = []
            for name in names:
                if not covered[name, g]:
                    cells.append("-")
                    continue
                k = sum(not per_doc[name, r["id"]] for r in crs)
                gres["per_category"].setdefault(cat, {"prompts": len(crs)})[name] = k
                cells.append(pct(k, len(crs)))
            lines.append(f"| {cat} | {len(crs)} | " + " | ".join(cells) + " |")
        if g == "ordinary":
            md.append(f"## {g}: unchanged share per category\n")
            md.extend(lines)
            md.append("")

    # 3. Leak figures from the shared scorer.
    if args.eval_score:
        with tempfile.TemporaryDirectory() as tmp:
            for g in LEAK_GROUPS:
                if g not in groups:
                    continue
                title = ("private: leak figures (shared/eval/score.py)" if g == "private" else
                         "public: how much of the public-figure/city mentions is masked "
                         "(shared/eval/score.py)")
                md.append(f"## {title}\n")
                md.append("| system | leak rate | caught@50 | covered@100 | exact P | exact R | exact F1 | over-mask rate |")
                md.append("|---|---:|---:|---:|---:|---:|---:|---:|")
                per_label_rows = collections.OrderedDict()
                for name in names:
                    if not covered[name, g]:
                        continue
                    data = run_eval_score(args.eval_score, groups[g], systems[name], tmp, f"{name}-{g}")
                    o = data["overall"]
                    result["groups"][g]["systems"][name]["eval_score"] = {
                        "overall": o, "per_label": data["per_label"], "last_line": data["last_line"]}
                    f3 = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
                    md.append(f"| {name} | {f3(o['leak_rate'])} | {f3(o['caught50'])} | {f3(o['covered100'])} | "
                              f"{f3(o['precision'])} | {f3(o['recall'])} | {f3(o['f1'])} | {f3(o['overmask_rate'])} |")
                    for row in data["per_label"]:
                        per_label_rows.setdefault(row["label"], {"gold": row["gold"]})[name] = row
                md.append("")
                md.append("caught@50 per gold label (share of gold spans at least half masked, any label):\n")
                md.append("| label | gold | " + " | ".join(n for n in names if covered[n, g]) + " |")
                md.append("|---|---:|" + "---:|" * sum(covered[n, g] for n in names))
                for lab, d in per_label_rows.items():
                    if not d["gold"]:
                        continue
                    cells = []
                    for name in names:
                        if covered[name, g]:
                            row = d.get(name)
                            cells.append("-" if not row or row["caught50"] is None else f"{row['caught50']:.3f}")
                    md.append(f"| {lab} | {d['gold']} | " + " | ".join(cells) + " |")
                md.append("")

    # 4. False maskings by label and text, per system (ordinary + public: outside gold spans).
    failures = collections.defaultdict(list)
    missed_by_id = {}
    md.append("## False maskings on ordinary and public (spans that overlap no gold span), by label and text\n")
    for name in names:
        counts = collections.Counter()
        for g, rows in groups.items():
            if not covered[name, g]:
                continue
            for r in rows:
                spans = per_doc[name, r["id"]]
                if not spans:
                    continue
                false = [s for s in spans if not overlaps(s["start"], s["end"], r["spans"])]
                entry = {
                    "id": r["id"], "group": g, "category": r["category"],
                    "spans": [{"start": s["start"], "end": s["end"], "label": s["label"],
                               "text": r["text"][s["start"]:s["end"]],
                               "false": not overlaps(s["start"], s["end"], r["spans"]),
                               **({"detector": s["detector"]} if "detector" in s else {})}
                              for s in spans],
                }
                failures[name].append(entry)
                if g in ("ordinary", "public"):
                    for s in false:
                        counts[(s["label"], r["text"][s["start"]:s["end"]])] += 1
            for r in rows:
                # Gold spans less than half masked (non-whitespace characters, any label).
                cov = set()
                for s in per_doc[name, r["id"]]:
                    cov.update(range(s["start"], s["end"]))
                missed = []
                for gs in r["spans"]:
                    chars = [k for k in range(gs["start"], gs["end"]) if not r["text"][k].isspace()]
                    if chars and sum(k in cov for k in chars) < 0.5 * len(chars):
                        missed.append({"start": gs["start"], "end": gs["end"], "label": gs["label"],
                                       "text": r["text"][gs["start"]:gs["end"]]})
                if missed:
                    missed_by_id[name, r["id"]] = missed
        result.setdefault("false_maskings", {})[name] = [
            {"label": lab, "text": t, "count": c} for (lab, t), c in counts.most_common()]
        total = sum(counts.values())
        md.append(f"### {name}: {total} false spans, {len(counts)} distinct\n")
        by_label = collections.Counter()
        for (lab, _), c in counts.items():
            by_label[lab] += c
        if by_label:
            md.append("by label: " + ", ".join(f"{lab} {c}" for lab, c in by_label.most_common()) + "\n")
            shown = counts.most_common(args.top)
            md.append("| label | masked text | count |")
            md.append("|---|---|---:|")
            for (lab, t), c in shown:
                md.append(f"| {lab} | `{t.replace('|', '/').replace(chr(10), ' ')}` | {c} |")
            if len(counts) > len(shown):
                md.append(f"\n... {len(counts) - len(shown)} more in the JSON output")
        md.append("")
    result["changed_prompts"] = failures
    result["missed_gold_spans"] = collections.defaultdict(dict)
    for (name, rid), missed in missed_by_id.items():
        result["missed_gold_spans"][name][rid] = missed

    # 5. Failures (opt-in): every changed prompt of a group without gold spans; on the others,
    # the prompts with a false masking or a gold span left (mostly) unmasked.
    if args.show_failures:
        md.append("## Changed prompts\n")
        md.append("Ordinary: every changed prompt. Public and private: prompts with a false masking "
                  "or a gold span less than half masked (`missed`). Spans marked (gold) overlap a "
                  "gold span.\n")
        for name in names:
            for g, rows in groups.items():
                by_id = {e["id"]: e for e in failures[name] if e["group"] == g}
                entries = []
                for r in rows:
                    e = by_id.get(r["id"])
                    missed = missed_by_id.get((name, r["id"]), [])
                    has_false = e is not None and any(s["false"] for s in e["spans"])
                    if (e is not None and not r["spans"]) or has_false or missed:
                        entries.append((r, e, missed))
                if not entries:
                    continue
                n_changed = len(by_id)
                md.append(f"### {name}, {g}: {n_changed} changed, {len(entries)} listed\n")
                for r, e, missed in entries:
                    e = e or {"id": r["id"], "category": r["category"], "spans": []}
                    shown = "; ".join(f"{s['label']} `{s['text']}`" + ("" if s["false"] else " (gold)")
                                      for s in e["spans"])
                    if missed:
                        shown += ("; " if shown else "") + "missed: " + ", ".join(
                            f"{m['label']} `{m['text']}`" for m in missed)
                    snippet = " ".join(texts[e["id"]].split())
                    if len(snippet) > 110:
                        snippet = snippet[:107] + "..."
                    md.append(f"- `{e['id']}` ({e['category']}): {shown} — _{snippet}_")
                md.append("")

    print("\n".join(md))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, ensure_ascii=False, separators=(",", ":"))
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
