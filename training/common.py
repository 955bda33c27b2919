"""Shared pieces for Veil's PII model training: label set, case feature, token alignment."""
import json

ENTITY_TYPES = [
    "PERSON", "ORGANIZATION", "LOCATION", "STREET_ADDRESS", "DATE_OF_BIRTH", "DATE", "AGE",
    "USERNAME", "PASSWORD", "NATIONAL_ID", "PASSPORT", "DRIVER_LICENSE", "MEDICAL_ID",
    "ACCOUNT_NUMBER", "OTHER_ID",
    # also caught by Veil's validated regexes; learned here as a bonus
    "EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "US_SSN", "IP_ADDRESS", "URL", "CRYPTO_ADDRESS", "API_KEY",
]
LABELS = ["O"] + [f"{p}-{t}" for t in ENTITY_TYPES for p in ("B", "I")]
LABEL2ID = {l: i for i, l in enumerate(LABELS)}
ID2LABEL = {i: l for i, l in enumerate(LABELS)}

CASE_FEATURE = "token_type_ids:none,lower,title,upper"


def case_id(s: str) -> int:
    """Case class of the ORIGINAL text of one token's span.

    Only letters that have case count (c.isupper() or c.islower()).
    0 = no cased letters (digits, punctuation, CJK, ...), 3 = all cased letters upper and
    at least 2 of them, 2 = first cased letter upper, 1 = otherwise (first cased letter lower).
    """
    cased = [c for c in s if c.isupper() or c.islower()]
    if not cased:
        return 0
    if len(cased) >= 2 and all(c.isupper() for c in cased):
        return 3
    if cased[0].isupper():
        return 2
    return 1


def read_jsonl(path, limit=None):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                out.append(json.loads(line))
                if limit and len(out) >= limit:
                    break
    return out


def encode_doc(tok, text, spans=None, max_len=128, stride=0, with_case=True):
    """Tokenize one document (tokenizers.Tokenizer without truncation) and cut it into
    windows of at most max_len tokens incl. [CLS]/[SEP].  Returns a list of dicts with
    input_ids, token_type_ids (case ids or zeros), labels (BIO ids, -100 for specials) and
    offsets."""
    enc = tok.encode(text, add_special_tokens=False)
    ids, offs = enc.ids, enc.offsets
    n = len(ids)
    labels = None
    if spans is not None:
        # char -> span index
        owner = [-1] * (len(text) + 1)
        for k, s in enumerate(spans):
            for c in range(s["start"], s["end"]):
                owner[c] = k
        labels = []
        prev_owner = -1
        for (a, b) in offs:
            o = -1
            for c in range(a, b):
                if owner[c] >= 0:
                    o = owner[c]
                    break
            if o < 0:
                labels.append(0)
                prev_owner = -1
            else:
                t = spans[o]["label"]
                if o != prev_owner:
                    labels.append(LABEL2ID.get("B-" + t, 0))
                else:
                    labels.append(LABEL2ID.get("I-" + t, 0))
                prev_owner = o
    cases = [case_id(text[a:b]) if with_case else 0 for (a, b) in offs]
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    body = max_len - 2
    step = body - stride if stride else body
    wins = []
    start = 0
    while True:
        end = min(start + body, n)
        w = {
            "input_ids": [cls_id] + ids[start:end] + [sep_id],
            "token_type_ids": [0] + cases[start:end] + [0],
            "offsets": [(0, 0)] + list(offs[start:end]) + [(0, 0)],
            "tok_start": start,
        }
        if labels is not None:
            lab = labels[start:end]
            # a window that starts inside an entity: make its first token a B-
            if lab and lab[0] > 0 and LABELS[lab[0]].startswith("I-"):
                lab = [LABEL2ID["B-" + LABELS[lab[0]][2:]]] + lab[1:]
            w["labels"] = [-100] + lab + [-100]
        wins.append(w)
        if end >= n:
            break
        start += step
    return wins
