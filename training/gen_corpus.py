#!/usr/bin/env python3
"""Seeded, reproducible synthetic PII corpus for Veil's token-classification model.

Output: JSON lines {"text", "spans": [{"start","end","label"}], "lang", "domain"} with Python
str (code point) offsets, end exclusive.  Char spans are the tokenizer-agnostic format;
train.py converts them to token BIO tags.

    python gen_corpus.py --n 60000 --seed 13 --out out/corpus/train.jsonl
    python gen_corpus.py --n 2000 --seed 99 --out out/corpus/test.jsonl
"""
import argparse
import json
import random
import re
import string
import sys
import warnings

warnings.filterwarnings("ignore")

from faker import Faker

from templates import TEMPLATES, NEGATIVES, STRUCT_KEYS, TWEET_TEMPLATES
from values import Ctx, LANG_OF_LOCALE, LOCALES

PH = re.compile(r"\{(@?[A-Za-z_0-9]+)\}")


def render(template, ctx, case_fn, lit_fn):
    """Fill a template; returns (text, spans)."""
    out, spans, pos = [], [], 0
    i = 0
    for m in PH.finditer(template):
        lit = template[i:m.start()]
        lit = lit_fn(case_fn(lit, False))
        out.append(lit)
        pos += len(lit)
        val, label = ctx.get(m.group(1))
        val = case_fn(val, label == "PERSON" or label == "USERNAME")
        out.append(val)
        if label and val.strip():
            # strip surrounding whitespace from the span
            a = pos + (len(val) - len(val.lstrip()))
            b = pos + len(val.rstrip())
            spans.append({"start": a, "end": b, "label": label})
        pos += len(val)
        i = m.end()
    lit = lit_fn(case_fn(template[i:], False))
    out.append(lit)
    return "".join(out), spans


def safe_lower(s):
    r = s.lower()
    return r if len(r) == len(s) else s


def safe_upper(s):
    r = s.upper()
    return r if len(r) == len(s) else s


def make_case_fn(rng, domain):
    r = rng.random()
    lowish = domain in ("chat", "social")
    if r < (0.22 if lowish else 0.05):
        return lambda s, is_name: safe_lower(s), "lower"
    if r < (0.25 if lowish else 0.08):
        return lambda s, is_name: safe_upper(s), "upper"
    if r < (0.40 if lowish else 0.12):
        return (lambda s, is_name: safe_lower(s) if is_name else s), "lowernames"
    if r < 0.15 and not lowish:
        return (lambda s, is_name: safe_upper(s) if is_name else s), "uppernames"
    return (lambda s, is_name: s), "asis"


def make_lit_fn(rng, domain):
    r = rng.random()
    if domain in ("social", "news", "chat") and r < 0.12:
        # pre-tokenized style text ("ca n't", "word .") as found in NLP corpora
        def f(s):
            s = re.sub(r"([.,!?;:()\"])", r" \1 ", s)
            s = re.sub(r"n't\b", " n't", s)
            s = re.sub(r"'(s|re|ll|m|ve|d)\b", r" '\1", s)
            return re.sub(r"[ ]{2,}", " ", s)
        return f
    if domain in ("social", "chat") and r < 0.25:
        return lambda s: s.replace(". ", " ").replace("?", "??") if rng.random() < 0.5 else s
    return lambda s: s


def gen_struct(rng, ctx, lang):
    """JSON / CSV / key-value / log / code snippets built from field lists."""
    fields = rng.sample(STRUCT_KEYS, k=rng.randint(2, 6))
    keys_lang = lang if rng.random() < 0.5 else "en"
    kind = rng.choice(["json", "json", "kv", "csv", "log", "yaml", "code", "sql", "xml"])
    items = []
    for f in fields:
        names = f["keys"].get(keys_lang) or f["keys"]["en"]
        key = rng.choice(names)
        if rng.random() < 0.3:
            key = key.lower().replace(" ", "_")
        elif rng.random() < 0.2:
            key = key.upper().replace(" ", "_")
        items.append((key, f["ph"]))
    # add some non-PII fields
    for _ in range(rng.randint(0, 3)):
        items.insert(rng.randint(0, len(items)), rng.choice([
            ("status", "{status}"), ("id", "{n}"), ("created_at", "{ts}"), ("amount", "{amount}"),
            ("version", "{ver}"), ("count", "{n}"), ("plan", "{plan}"), ("role", "{job}"),
            ("priority", "{prio}"), ("retries", "{small}"), ("timeout_ms", "{n}"),
        ]))
    if kind == "json":
        sep = ",\n  " if rng.random() < 0.5 else ", "
        body = sep.join(f'"{k}": "{v}"' if not v in ("{n}", "{small}") else f'"{k}": {v}' for k, v in items)
        tpl = ("{\n  " + body + "\n}") if sep.startswith(",\n") else "{" + body + "}"
        pre = rng.choice(["", "", "Parse this JSON: ", "Why does this payload fail validation?\n",
                          "request body:\n", "Here is the user record:\n", "Convert to CSV:\n",
                          "¿Puedes validar este JSON?\n", "Bitte prüfe dieses JSON:\n"])
        tpl = pre + tpl
    elif kind == "kv":
        sep = rng.choice([": ", " = ", ":\t", ": "])
        join = rng.choice(["\n", "\n", "; ", " | "])
        tpl = join.join(f"{k}{sep}{v}" for k, v in items)
    elif kind == "csv":
        d = rng.choice([",", ";", "\t", "|"])
        tpl = d.join(k for k, _ in items) + "\n" + d.join(v for _, v in items)
        if rng.random() < 0.5:
            # second row, second persona ({@X} = another person's X)
            tpl += "\n" + d.join(v.replace("{", "{@") if v[1].isupper() else v for _, v in items)
    elif kind == "log":
        lvl = rng.choice(["INFO", "WARN", "ERROR", "DEBUG"])
        tpl = "{ts} " + lvl + " [" + rng.choice(["auth", "api", "billing", "worker-3", "gateway"]) + "] " + \
            rng.choice(["login ok", "user updated", "request failed", "payment declined", "profile saved", "lookup"]) + \
            " " + " ".join(f"{k.replace(' ', '_')}={v}" for k, v in items)
    elif kind == "yaml":
        tpl = "\n".join(f"{k.replace(' ', '_')}: {v}" for k, v in items)
    elif kind == "code":
        var = rng.choice(["user", "customer", "patient", "payload", "data", "row", "record"])
        style = rng.random()
        if style < 0.4:
            tpl = f"{var} = {{\n" + "\n".join(f"    '{k.replace(' ', '_')}': '{v}'," for k, v in items) + "\n}"
        elif style < 0.7:
            tpl = f"const {var} = {{ " + ", ".join(f"{k.replace(' ', '_')}: \"{v}\"" for k, v in items) + " };"
        else:
            tpl = "\n".join(f"{var}.set_{k.replace(' ', '_').lower()}(\"{v}\");" for k, v in items)
        tpl = rng.choice(["", "", "Fix the bug in this code:\n", "```python\n", "Refactor this:\n"]) + tpl
    elif kind == "sql":
        cols = ", ".join(k.replace(" ", "_") for k, _ in items)
        vals = ", ".join(f"'{v}'" for _, v in items)
        tpl = f"INSERT INTO {rng.choice(['users', 'customers', 'patients', 'employees', 'accounts'])} ({cols}) VALUES ({vals});"
    else:
        tpl = "<record>" + "".join(f"<{k.replace(' ', '_')}>{v}</{k.replace(' ', '_')}>" for k, v in items) + "</record>"
    return tpl


def gen_example(rng, fakers):
    locale = pick_locale(rng)
    lang = LANG_OF_LOCALE(locale, rng)
    ctx = Ctx(rng, fakers, locale, lang)
    r = rng.random()
    if r < 0.14:
        domain = "struct"
        tpl = gen_struct(rng, ctx, lang)
    elif r < 0.26:
        domain = "social"
        parts = [rng.choice(TWEET_TEMPLATES) for _ in range(rng.choices([1, 2, 3], [0.6, 0.25, 0.15])[0])]
        tpl = "\n".join(parts)
    elif r < 0.33:
        domain = "negative"
        tpl = " ".join(rng.choice(NEGATIVES) for _ in range(rng.randint(1, 3)))
    else:
        pool = TEMPLATES[lang]
        domain = rng.choice(list(pool.keys()))
        k = rng.choices([1, 2, 3], [0.55, 0.3, 0.15])[0]
        parts = rng.sample(pool[domain], k=min(k, len(pool[domain])))
        if rng.random() < 0.25:
            parts.insert(rng.randint(0, len(parts)), rng.choice(NEGATIVES))
        tpl = rng.choice([" ", " ", "\n", "\n\n"]).join(parts)
    case_fn, case_mode = make_case_fn(rng, domain)
    lit_fn = make_lit_fn(rng, domain)
    text, spans = render(tpl, ctx, case_fn, lit_fn)
    return {"text": text, "spans": spans, "lang": lang, "domain": domain, "locale": locale, "case": case_mode}


_LOC_NAMES = None
_LOC_W = None


def pick_locale(rng):
    global _LOC_NAMES, _LOC_W
    if _LOC_NAMES is None:
        _LOC_NAMES = [l for l, _ in LOCALES]
        _LOC_W = [w for _, w in LOCALES]
    return rng.choices(_LOC_NAMES, weights=_LOC_W)[0]


def check(ex):
    t = ex["text"]
    last = -1
    for s in ex["spans"]:
        assert 0 <= s["start"] < s["end"] <= len(t), ex
        assert s["start"] >= last, ex
        last = s["end"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=60000)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    Faker.seed(a.seed)
    fakers = {}
    n_sp = 0
    with open(a.out, "w", encoding="utf-8") as f:
        for i in range(a.n):
            ex = gen_example(rng, fakers)
            check(ex)
            n_sp += len(ex["spans"])
            f.write(json.dumps(ex, ensure_ascii=False) + "\n")
            if (i + 1) % 10000 == 0:
                print(f"{i + 1} examples", file=sys.stderr)
    print(f"wrote {a.n} examples, {n_sp} spans -> {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
