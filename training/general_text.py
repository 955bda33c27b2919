#!/usr/bin/env python3
"""General (non-synthetic) text for distillation: real sentences the student must learn to
leave alone, labelled by the teacher's soft predictions, never by hand.

The synthetic corpus teaches what personal data looks like, but a small student trained only on
it tags every unfamiliar ordinary word ("orchestra", "founded") as a name. This script gathers
real running text in English, German, Spanish, French and Italian from Debian packages (the
build machine reaches the Debian archive; nothing here comes from ../shared/eval):

- fortune cookies (`fortunes`, `fortunes-min`, `fortunes-de`, `fortunes-es`, `fortunes-it`):
  quotes, jokes, anecdotes and literature, many with real people's names in attributions;
- WordNet 3.0 glosses and example sentences (`wordnet-base`): definitions of ordinary words;
- translated manual pages (`manpages-de`, `manpages-fr`, `manpages-es`) and the Debian
  Reference (`debian-reference-{en,de,fr,es}`): technical prose, commands, paths, versions.

Output: JSON lines `{"text", "spans": null, "lang", "domain": "general/<source>"}`. `spans` is
null on purpose: these documents have no hand labels; distill.py trains on them with the
teacher's logits only.

    python general_text.py --out out/corpus/general.jsonl [--debs out/debs]
"""
import argparse
import glob
import gzip
import html
import json
import os
import random
import re
import subprocess

PACKAGES = ["fortunes-min", "fortunes", "fortunes-de", "fortunes-es", "fortunes-it", "wordnet-base",
            "manpages-de", "manpages-fr", "manpages-es",
            "debian-reference-en", "debian-reference-de", "debian-reference-fr", "debian-reference-es"]


def fetch(debs):
    """apt-get download + dpkg-deb -x into debs/x (skipped when already there)."""
    root = os.path.join(debs, "x")
    if os.path.isdir(os.path.join(root, "usr/share/wordnet")):
        return root
    os.makedirs(debs, exist_ok=True)
    for p in PACKAGES:
        if not glob.glob(os.path.join(debs, p + "_*.deb")):
            subprocess.run(["apt-get", "download", p], cwd=debs, check=True, stdout=subprocess.DEVNULL)
    for f in sorted(glob.glob(os.path.join(debs, "*.deb"))):
        subprocess.run(["dpkg-deb", "-x", f, root], check=True)
    return root


def squeeze(s):
    return re.sub(r"[ \t]+", " ", s).strip()


def chunks(paragraphs, rng, lo=120, hi=900):
    """Join neighbouring paragraphs into documents of lo..hi characters."""
    out, cur = [], ""
    for p in paragraphs:
        p = p.strip()
        if not p:
            continue
        if len(cur) + len(p) > hi and len(cur) >= lo:
            out.append(cur)
            cur = ""
        cur = (cur + ("\n\n" if rng.random() < 0.5 else "\n") + p) if cur else p
        if len(cur) >= hi:
            out.append(cur[:hi * 2])
            cur = ""
    if len(cur) >= lo:
        out.append(cur)
    return out


def fortunes(root, rng):
    lang_dirs = {"en": ["usr/share/games/fortunes"], "de": ["usr/share/games/fortunes-de", "usr/share/games/fortunes/de"],
                 "es": ["usr/share/games/fortunes/es"], "it": ["usr/share/games/fortunes/it"]}
    skip = re.compile(r"(\.dat|\.u8|\.pdat)$")
    ascii_art = {"art", "ascii-art", "asciiart", "banner"}
    for lang, dirs in lang_dirs.items():
        seen = set()
        for d in dirs:
            for f in sorted(glob.glob(os.path.join(root, d, "*"))):
                base = os.path.basename(f)
                if os.path.isdir(f) or os.path.islink(f) or skip.search(base) or base in ascii_art or f in seen:
                    continue
                seen.add(f)
                text = open(f, encoding="utf-8", errors="replace").read()
                cookies = [squeeze_lines(c) for c in re.split(r"^%\s*$", text, flags=re.M)]
                # most cookies are short: join a few into one document
                for doc in chunks([c for c in cookies if 20 <= len(c) <= 1500], rng, lo=150, hi=700):
                    yield {"text": doc, "lang": lang, "domain": "general/fortune"}


def squeeze_lines(s):
    lines = [squeeze(l) for l in s.strip("\n").split("\n")]
    return "\n".join(l for l in lines)


def wordnet(root, rng):
    glosses = []
    for pos in ("noun", "verb", "adj", "adv"):
        path = os.path.join(root, "usr/share/wordnet/data." + pos)
        for line in open(path, encoding="utf-8", errors="replace"):
            if line.startswith("  ") or "|" not in line:
                continue
            gloss = line.split("|", 1)[1].strip()
            parts = [p.strip().strip('"') for p in gloss.split(";") if p.strip()]
            if parts:
                s = parts[0]
                s = s[0].upper() + s[1:] + "."
                ex = [p for p in parts[1:] if len(p) > 15]
                glosses.append(" ".join([s] + [e[0].upper() + e[1:] + ("" if e.endswith((".", "!", "?")) else ".") for e in ex[:2]]))
    rng.shuffle(glosses)
    for doc in chunks(glosses, rng, lo=200, hi=700):
        yield {"text": doc, "lang": "en", "domain": "general/wordnet"}


ROFF_ESC = [(r"\\f[BIRPCW1-4]|\\f\(..|\\f\[[^\]]*\]", ""), (r"\\-", "-"), (r"\\\(em|\\\(en", "-"),
            (r"\\\(aq", "'"), (r"\\\(dq|\\\(lq|\\\(rq|\\\(Bq", '"'), (r"\\&|\\:|\\/|\\,|\\%|\\c", ""),
            (r"\\\*\(..|\\\*\[[^\]]*\]|\\\*.", ""), (r"\\s[-+]?\d", ""), (r"\\e", "\\\\"), (r"\\ ", " "),
            (r"\\\(.." , ""), (r"\\\[[^\]]*\]", "")]


def roff_text(src):
    paras, cur = [], []
    for line in src.split("\n"):
        if line.startswith(('.\\"', "'\\\"")):
            continue
        if line.startswith((".", "'")):
            m = re.match(r"[.'](B|I|BI|IB|BR|RB|IR|RI|SM|SB)\s+(.*)", line)
            if m:
                cur.append(m.group(2).replace('"', ""))
                continue
            if re.match(r"[.'](PP|P|LP|SH|SS|TP|IP|HP|sp|br)\b", line):
                if cur:
                    paras.append(" ".join(cur))
                    cur = []
            continue
        cur.append(line)
    if cur:
        paras.append(" ".join(cur))
    out = []
    for p in paras:
        for pat, rep in ROFF_ESC:
            p = re.sub(pat, rep, p)
        p = squeeze(p)
        if len(p) >= 40 and sum(c.isalpha() for c in p) > 0.6 * len(p):
            out.append(p)
    return out


def manpages(root, rng):
    for lang in ("de", "fr", "es"):
        files = sorted(glob.glob(os.path.join(root, "usr/share/man", lang, "man*", "*.gz")))
        rng.shuffle(files)
        for f in files:
            try:
                src = gzip.open(f, "rt", encoding="utf-8", errors="replace").read()
            except OSError:
                continue
            for doc in chunks(roff_text(src), rng, lo=150, hi=800):
                yield {"text": doc, "lang": lang, "domain": "general/manpage"}


def reference(root, rng):
    for f in sorted(glob.glob(os.path.join(root, "usr/share/debian-reference/*.html"))):
        lang = f.rsplit(".", 2)[-2]
        src = open(f, encoding="utf-8", errors="replace").read()
        src = re.sub(r"(?s)<(script|style|pre)\b.*?</\1>", " ", src)
        paras = []
        for p in re.findall(r"(?s)<p\b[^>]*>(.*?)</p>", src):
            t = squeeze(html.unescape(re.sub(r"<[^>]+>", "", p)).replace("\n", " "))
            if len(t) >= 40:
                paras.append(t)
        for doc in chunks(paras, rng, lo=150, hi=800):
            yield {"text": doc, "lang": lang, "domain": "general/reference"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--debs", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "out/debs"))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--max-per-source", type=int, default=12000)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    root = fetch(a.debs)
    docs, counts = [], {}
    for gen in (fortunes, wordnet, manpages, reference):
        part = list(gen(root, rng))
        rng.shuffle(part)
        part = part[:a.max_per_source]
        for d in part:
            d["spans"] = None
            counts[(d["domain"], d["lang"])] = counts.get((d["domain"], d["lang"]), 0) + 1
        docs += part
    rng.shuffle(docs)
    with open(a.out, "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    for k in sorted(counts):
        print(f"{k[0]:20s} {k[1]}  {counts[k]}")
    print(f"{len(docs)} documents, {sum(len(d['text']) for d in docs) / 1e6:.1f} M characters -> {a.out}")


if __name__ == "__main__":
    main()
