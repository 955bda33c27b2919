#!/usr/bin/env python3
"""Write the name lexicon of a model folder: `names.txt` (given names and surnames) and
`veil_name_lexicon` in its config.json.

Veil turns a capitalized word of the list into a PERSON word when the model gives PERSON at
least `min_person` of its probability (see src/ner/lexicon.rs). The names come from Faker's
person providers in every locale it has (MIT licence). They are cut into words the way the
BERT pre-tokenizer cuts them ("Hauta-aho" -> "hauta", "aho"), because Veil matches words.
Dropped: words in scripts without case (the rule needs a capital), one-letter words, name
particles ("de", "van", "bin"), and words that are very common in English, German, Spanish or
French (Zipf frequency >= 5.5 in wordfreq: "will", "may", "mann", "white"), where the list would
only add doubt.

With `--from-train DIR`, the list also gets the words of the PERSON spans of the
human-annotated training splits (DIR/<source>.jsonl; never DIR/dev/), with the same filters
plus one learned from the data: a word is added only if, of its capitalized occurrences in
the training text, at least half (and at least two) are inside a PERSON span, and its Zipf
frequency is below 4.0 in English, German, Spanish and French ("Okonkwo" yes; "Paris", "God"
or "Secretary", which are more often something else, no). Words of role-only spans
("Borrower", see real_text.py) are not taken.

    python name_lexicon.py ../models/veil-pii --min-person 0.003 [--from-train ../../shared/train]
"""
import argparse
import importlib
import json
import os
import pkgutil
import re

PARTICLES = {"de", "da", "do", "dos", "das", "del", "della", "di", "du", "des", "la", "le", "van", "von", "der",
             "den", "ten", "ter", "zu", "bin", "binti", "ibn", "al", "el", "ben", "bat", "mac", "af", "av", "y", "e",
             "st", "mc", "jr", "sr"}
COMMON_ZIPF = 5.5
# Words from the training splits are noisier (OCR, one-off readings): stricter.
TRAIN_ZIPF = 4.0
LANGS = ("en", "de", "es", "fr")


def faker_names(prefixes=("first_names", "last_names")):
    """The names of Faker's person providers in every locale (attributes starting with one of
    `prefixes`), and the number of locales read."""
    from faker.providers import person
    out = set()
    locales = 0
    for m in pkgutil.iter_modules(person.__path__):
        try:
            mod = importlib.import_module("faker.providers.person." + m.name)
        except Exception:
            continue
        prov = getattr(mod, "Provider", None)
        if prov is None:
            continue
        locales += 1
        for attr in dir(prov):
            if not attr.startswith(prefixes):
                continue
            v = getattr(prov, attr, None)
            if isinstance(v, (list, tuple, set, dict)):
                out.update(str(x) for x in v)
    return out, locales


def words(name):
    # BERT's pre-tokenizer splits on whitespace and punctuation.
    return [w for w in re.split(r"[^\w]+", name) if w]


def train_person_words(train_dir, folder, zipf_frequency):
    """Capitalized words of PERSON spans that are a PERSON at least half the time they occur
    capitalized in the training text (module doc)."""
    import glob
    import sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from real_text import ANNOTATES, RoleFilter, load_sources
    roles = RoleFilter(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../src/ner/scope/common.txt"),
                       os.path.join(folder, "names.txt"))
    sources = [os.path.basename(p)[:-6] for p in glob.glob(os.path.join(train_dir, "*.jsonl"))]
    docs = load_sources([s for s in sources if s in ANNOTATES], train_dir)
    inside, total = {}, {}
    for src, ds in docs.items():
        for d in ds:
            text = d["text"]
            owner = [False] * len(text)
            for sp in d["spans"]:
                if sp["label"] == "PERSON" and not roles.is_role(text[sp["start"]:sp["end"]]):
                    for c in range(sp["start"], sp["end"]):
                        owner[c] = True
            for m in re.finditer(r"\w+", text):
                w = m.group(0)
                if not w[0].isupper():
                    continue
                lw = w.lower()
                total[lw] = total.get(lw, 0) + 1
                if owner[m.start()]:
                    inside[lw] = inside.get(lw, 0) + 1
    out = set()
    for lw, n in inside.items():
        if n < 2 or n * 2 < total[lw] or len(lw) < 2 or lw in PARTICLES or any(ch.isdigit() for ch in lw):
            continue
        if lw[0].lower() == lw[0].upper() or max(zipf_frequency(lw, l) for l in LANGS) >= TRAIN_ZIPF:
            continue
        out.add(lw)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", help="model folder to write names.txt and config.json into")
    ap.add_argument("--min-person", type=float, default=0.003)
    ap.add_argument("--from-train", help="also take PERSON span words from DIR/<source>.jsonl")
    a = ap.parse_args()
    from wordfreq import zipf_frequency

    names, locales = faker_names()
    kept = set()
    dropped_common = set()
    for n in names:
        for w in words(n):
            lw = w.lower()
            if len(lw) < 2 or lw in PARTICLES or any(ch.isdigit() for ch in lw):
                continue
            if lw[0].lower() == lw[0].upper():  # no case in this script
                continue
            if max(zipf_frequency(lw, l) for l in LANGS) >= COMMON_ZIPF:
                dropped_common.add(lw)
                continue
            kept.add(lw)
    faker_kept = len(kept)
    from_train = set()
    if a.from_train:
        from_train = train_person_words(a.from_train, a.folder, zipf_frequency) - kept
        kept |= from_train
    path = os.path.join(a.folder, "names.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"# Veil name lexicon: {faker_kept} given names and surnames from Faker's person providers "
                f"({locales} locales, MIT licence)")
        if from_train:
            f.write(f",\n# plus {len(from_train)} words of PERSON spans in the human-annotated training splits "
                    f"(CC BY / CC BY-SA / CC0 sources: see THIRD_PARTY_NOTICES.md)")
        f.write(",\n# lower-cased, one word a line; built by training/name_lexicon.py\n")
        for w in sorted(kept):
            f.write(w + "\n")
    cfg_path = os.path.join(a.folder, "config.json")
    cfg = json.load(open(cfg_path))
    cfg["veil_name_lexicon"] = {"file": "names.txt", "min_person": a.min_person}
    with open(cfg_path, "w") as f:
        json.dump(cfg, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"{path}: {len(kept)} words from {len(names)} Faker names in {locales} locales; "
          f"{len(dropped_common)} common words left out ({', '.join(sorted(dropped_common)[:12])}, ...)")


if __name__ == "__main__":
    main()
