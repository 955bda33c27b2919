"""Human-annotated real text (../shared/train) for training: label mapping and partial labels.

Each source annotates only some of Veil's labels (see ../shared/train/README.md, "annotates").
A stretch of text without a span means "none of *this source's* labels", so a token outside
every span is not a hard `O`: it may be `O` or any label the source does not annotate (a date
in fiction, an e-mail address in a forum post). `partial_mask` gives that allowed set per
source, and the fine-tuning loss (finetune.py) is -log of the summed probability of the
allowed labels on such tokens, plain cross-entropy on tokens inside a span. finetune.py
sharpens that with the reference model (the one it continues from): on such a token the
target is the reference model's distribution restricted to the allowed set, so what the
source cannot say (is this lower-case "qty" a password?) keeps the reference's answer
instead of drifting.

Spans that are not used as positives (their tokens are UNLABELLED: finetune.py keeps the
reference model's reading there):
- `MISC`: the source annotated it, but it is not personal data (nationalities, titles of works,
  document references): neither PII nor non-PII.
- A PERSON span made only of ordinary role words ("Borrower", "the Lender", "Foreign
  Secretary"): sec_filings and re3d annotate defined terms and title-only references as persons.
  Such a span names nobody, and learning it as PERSON would mask ordinary words elsewhere.
  Spans like "Foreign Secretary Boris Johnson" stay: they contain a name.

The held-out splits (`train/dev/`) and `eval/` are never read here: `load_sources` refuses them.
"""
import json
import os

from common import ENTITY_TYPES, LABEL2ID

TRAIN_DIR = os.environ.get("VEIL_TRAIN_DIR", "/work/shared/train")

# What each source annotates, from ../shared/train/README.md ("annotates" column).
ANNOTATES = {
    "uner_ewt": {"PERSON", "ORGANIZATION", "LOCATION"},
    "gum": {"PERSON", "ORGANIZATION", "LOCATION"},
    "litbank": {"PERSON", "ORGANIZATION", "LOCATION"},
    "sec_filings": {"PERSON", "ORGANIZATION", "LOCATION"},
    "wikigold": {"PERSON", "ORGANIZATION", "LOCATION"},
    "re3d": {"PERSON", "ORGANIZATION", "LOCATION", "DATE"},
    "europeana_fr": {"PERSON", "ORGANIZATION", "LOCATION"},
    "europeana_de": {"PERSON", "ORGANIZATION", "LOCATION"},
    "sgd": {"PERSON", "ORGANIZATION", "LOCATION", "STREET_ADDRESS", "PHONE", "DATE"},
}
# Source labels -> Veil labels (MISC handled separately: no loss).
LABEL_MAP = {"PERSON": "PERSON", "ORGANIZATION": "ORGANIZATION", "LOCATION": "LOCATION",
             "STREET_ADDRESS": "STREET_ADDRESS", "PHONE": "PHONE", "DATE": "DATE"}
# Sources whose PERSON spans include defined terms and title-only references.
ROLE_SOURCES = {"sec_filings", "re3d"}

IGNORE = -100   # no loss (special tokens)
PARTIAL = -1    # outside every span: O or a label the source does not annotate
UNLABELLED = -2 # inside a MISC or role-only span: the source says nothing about PII here


def _words(path):
    out = set()
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                w = line.strip()
                if w and not w.startswith("#"):
                    out.add(w.lower())
    return out


class RoleFilter:
    """Is a PERSON span only role words? A word is a role word when it is a common lower-case
    English word (Veil's own list, src/ner/scope/common.txt) and not a known name part
    (the model's names.txt): "borrower", "secretary", "foreign" yes; "cook", "davis" no."""

    def __init__(self, common_path, names_path):
        self.common = _words(common_path) | {"the", "a", "an", "of", "for", "and", "its", "our", "said"}
        self.names = _words(names_path)
        if not self.names:
            # a folder without names.txt yet (training/run_all.sh): Faker's names, as the lexicon takes them
            from name_lexicon import faker_names, words
            self.names = {w.lower() for n in faker_names()[0] for w in words(n)}

    def is_role(self, text):
        words = [w.strip(".,;:'\"()").lower() for w in text.split()]
        words = [w for w in words if w]
        return bool(words) and all(w in self.common and w not in self.names for w in words)


def load_sources(names, train_dir=TRAIN_DIR):
    """{source: [doc]} from train_dir/<source>.jsonl; refuses held-out paths."""
    out = {}
    for s in names:
        path = os.path.realpath(os.path.join(train_dir, s + ".jsonl"))
        if "/dev/" in path or "/eval/" in path:
            raise SystemExit(f"refusing to train on held-out data: {path}")
        with open(path, encoding="utf-8") as f:
            out[s] = [json.loads(l) for l in f if l.strip()]
    return out


def prepare_doc(doc, source, roles):
    """(text, spans) with Veil labels for positives and an `ignore` flag for spans without loss."""
    spans = []
    for sp in doc["spans"]:
        lab = sp["label"]
        text = doc["text"][sp["start"]:sp["end"]]
        ignore = lab not in LABEL_MAP or (lab == "PERSON" and source in ROLE_SOURCES and roles.is_role(text))
        spans.append({"start": sp["start"], "end": sp["end"], "label": LABEL_MAP.get(lab, "MISC"), "ignore": ignore})
    return doc["text"], spans


def surname_variant(doc):
    """A copy of `doc` in which every PERSON span of two or more capitalized words is cut to
    its last word ("Colette Heald said" -> "Heald said", "Mr. J. Pemberton" -> "Pemberton"),
    the way later mentions in news and court text name a person; None when no span changes.
    Offsets of every span are moved to match."""
    text, spans = doc["text"], sorted(doc["spans"], key=lambda sp: sp["start"])
    out, new_spans, pos, shift, changed = [], [], 0, 0, False
    for sp in spans:
        value = text[sp["start"]:sp["end"]]
        words = value.split()
        cut = (sp["label"] == "PERSON" and len(words) >= 2 and sp["start"] >= pos
               and all(w[:1].isupper() for w in words[-1:]) and words[-1][:1].isalpha())
        if cut:
            keep = value.rstrip()
            keep = keep[keep.rfind(" ") + 1:]
            out.append(text[pos:sp["start"]])
            start = sp["start"] - shift
            out.append(keep)
            new_spans.append({**sp, "start": start, "end": start + len(keep)})
            shift += len(value) - len(keep)
            pos = sp["end"]
            changed = True
        elif sp["start"] >= pos:
            new_spans.append({**sp, "start": sp["start"] - shift, "end": sp["end"] - shift})
    out.append(text[pos:])
    if not changed:
        return None
    return {**doc, "text": "".join(out), "spans": new_spans}


def token_targets(offsets, spans):
    """Per token (offsets from the tokenizer, (0, 0) for specials): a label id, PARTIAL or IGNORE."""
    owner = {}
    for k, s in enumerate(spans):
        for c in range(s["start"], s["end"]):
            owner[c] = k
    out, prev = [], -1
    for (a, b) in offsets:
        if a == b:
            out.append(IGNORE)
            prev = -1
            continue
        o = next((owner[c] for c in range(a, b) if c in owner), -1)
        if o < 0:
            out.append(PARTIAL)
        elif spans[o]["ignore"]:
            out.append(UNLABELLED)
        else:
            t = spans[o]["label"]
            out.append(LABEL2ID[("I-" if o == prev else "B-") + t])
        prev = o
    return out


def partial_mask(source):
    """Label ids a token outside every span of `source` may have: O and every B-/I- label
    the source does not annotate."""
    ann = ANNOTATES[source]
    ids = [LABEL2ID["O"]]
    for t in ENTITY_TYPES:
        if t not in ann:
            ids += [LABEL2ID["B-" + t], LABEL2ID["I-" + t]]
    return ids
