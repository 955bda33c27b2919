#!/usr/bin/env python3
"""Continue training a model folder on human-annotated real text plus the synthetic corpus.

    nice -n 19 python finetune.py --init ../models/veil-pii --out out/ft-student \
        --synthetic out/corpus/train.jsonl --synthetic-share 0.4 --minutes 25 --lr 3e-4

Real text comes from ../shared/train/<source>.jsonl (never train/dev/ or eval/), mapped to
Veil's labels by real_text.py: tokens inside a span get cross-entropy on their B-/I- label.
Tokens outside every span are O for the labels the source annotates; for the others the
source says nothing, so the target there is the reference model's (the model we continue
from, frozen) distribution restricted to O and the labels the source does not annotate. On
MISC and role-word PERSON spans the target is the reference's distribution. Without that
reference (--reference none) the loss is the plain partial-label -log P(allowed), and the
model drifts: measured on bench/utility, it starts to call "qty" a PASSWORD and "Hinduism"
an ORGANIZATION. Synthetic windows keep their
hard labels, so the structured labels (IDs, e-mail, phone, ...) the real sources never
annotate are not forgotten.

Every epoch draws each real source's windows `weight` times (fractional weights sample) and
adds synthetic windows so that they are `--synthetic-share` of the epoch. LR warms up over 50
steps and then decays linearly with elapsed wall-clock time (--minutes), as in distill.py.
"""
import argparse
import os
import random
import time

import torch

from common import LABELS, encode_doc, read_jsonl
from real_text import (ANNOTATES, IGNORE, PARTIAL, UNLABELLED, RoleFilter, load_sources, partial_mask, prepare_doc,
                       surname_variant, token_targets)
from train import batches, load_tokenizer, save_folder

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def real_windows(tok, sources, roles, max_len, surname_copies=0.0, rng=None):
    """Windows of every real source; with `surname_copies` p, a doc with a multi-word PERSON
    span also gets, with probability p, a copy with those names cut to their surnames."""
    out = {}
    for s, docs in sources.items():
        ws = []
        if surname_copies > 0 and "PERSON" in ANNOTATES[s]:
            docs = docs + [v for v in map(surname_variant, docs) if v is not None and rng.random() < surname_copies]
        for d in docs:
            text, spans = prepare_doc(d, s, roles)
            for w in encode_doc(tok, text, None, max_len=max_len):
                w["labels"] = token_targets(w.pop("offsets"), spans)
                w["src"] = s
                ws.append(w)
        out[s] = ws
    return out


def synthetic_windows(tok, docs, max_len):
    ws = []
    for d in docs:
        for w in encode_doc(tok, d["text"], d["spans"], max_len=max_len):
            del w["offsets"]
            w["src"] = "synthetic"
            ws.append(w)
    return ws


def epoch_order(real, synth, weights, share, rng):
    idx = []
    for s, ws in real.items():
        w = weights.get(s, 1.0)
        whole, frac = int(w), w - int(w)
        for _ in range(whole):
            idx += [(s, i) for i in range(len(ws))]
        idx += [(s, i) for i in range(len(ws)) if rng.random() < frac]
    n_syn = int(len(idx) * share / max(1e-9, 1 - share)) if share < 1 else len(synth)
    idx += [("synthetic", rng.randrange(len(synth))) for _ in range(min(n_syn, 10 * len(synth)))] if synth else []
    rng.shuffle(idx)
    return idx


def loss_fn(logits, targets, src_masks, src_ids, ref_logits=None):
    """Mean over supervised tokens of: CE on hard targets; on PARTIAL tokens, CE against the
    reference model's distribution restricted to the allowed labels (without a reference:
    the partial-label NLL -log P(allowed)); on UNLABELLED tokens, CE against the reference's
    whole distribution (no loss without a reference)."""
    logp = torch.log_softmax(logits, -1)
    hard = targets >= 0
    total = torch.zeros(())
    n = int(hard.sum())
    if n:
        total = total - logp.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)[hard].sum()
    part = targets == PARTIAL
    if part.any():
        allowed = src_masks[src_ids].unsqueeze(1).expand_as(logits)  # (B, L, C)
        if ref_logits is None:
            la = torch.logsumexp(logp.masked_fill(~allowed, float("-inf")), -1)
            total = total - la[part].sum()
        else:
            q = torch.softmax(ref_logits.masked_fill(~allowed, float("-inf")), -1)
            total = total - (q * logp).sum(-1)[part].sum()
        n += int(part.sum())
    unl = targets == UNLABELLED
    if ref_logits is not None and unl.any():
        q = torch.softmax(ref_logits, -1)
        total = total - (q * logp).sum(-1)[unl].sum()
        n += int(unl.sum())
    return total / max(n, 1)


def kd_loss(logits, teacher_logits, attn, temp):
    """T^2 * KL(teacher/T || student/T), averaged over the window's real tokens."""
    lt = torch.log_softmax(teacher_logits / temp, -1)
    ls = torch.log_softmax(logits / temp, -1)
    kl = (lt.exp() * (lt - ls)).sum(-1)
    m = attn.bool()
    return kl[m].sum() / max(int(m.sum()), 1) * temp * temp


def collate(srcs, rows):
    """Padded tensors of `rows` (windows) and each row's source index in `srcs`."""
    L = max(len(w["input_ids"]) for w in rows)
    B = len(rows)
    inp = torch.zeros((B, L), dtype=torch.long)
    tt = torch.zeros((B, L), dtype=torch.long)
    am = torch.zeros((B, L), dtype=torch.long)
    tg = torch.full((B, L), IGNORE, dtype=torch.long)
    src = torch.zeros(B, dtype=torch.long)
    for r, w in enumerate(rows):
        m = len(w["input_ids"])
        inp[r, :m] = torch.tensor(w["input_ids"])
        tt[r, :m] = torch.tensor(w["token_type_ids"])
        am[r, :m] = 1
        tg[r, :m] = torch.tensor(w["labels"])
        src[r] = srcs.index(w["src"])
    return inp, tt, am, tg, src


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--init", required=True, help="model folder to continue from (exported or HF)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--sources", default=",".join(ANNOTATES), help="real sources, comma-separated")
    ap.add_argument("--weights", default="", help="per-source epoch weights, e.g. gum=2,sec_filings=0.5")
    ap.add_argument("--synthetic", default=os.path.join(HERE, "out/corpus/train.jsonl"))
    ap.add_argument("--synthetic-docs", type=int, default=30000)
    ap.add_argument("--synthetic-share", type=float, default=0.4, help="share of each epoch's windows")
    ap.add_argument("--minutes", type=float, required=True)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--max-len", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--reference", default=None,
                    help="frozen model whose reading is kept where the real text says nothing (default: --init; 'none')")
    ap.add_argument("--teacher", default=None,
                    help="a larger model (same vocabulary and labels) distilled into this one on every window: "
                         "the loss becomes (1 - kd_alpha) * the loss above + kd_alpha * T^2 * KL(teacher/T || model/T)")
    ap.add_argument("--kd-alpha", type=float, default=0.5)
    ap.add_argument("--kd-temp", type=float, default=2.0)
    ap.add_argument("--surname-copies", type=float, default=0.0,
                    help="probability that a real doc with a multi-word PERSON span also trains as a copy whose "
                         "names are cut to their surnames (real_text.surname_variant)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    from transformers import BertForTokenClassification

    model = BertForTokenClassification.from_pretrained(a.init).float()
    assert model.config.num_labels == len(LABELS)
    ref_dir = a.reference or a.init
    ref = None if ref_dir == "none" else BertForTokenClassification.from_pretrained(ref_dir).float().eval()
    teacher = None
    if a.teacher:
        teacher = BertForTokenClassification.from_pretrained(a.teacher).float().eval()
        assert teacher.config.num_labels == len(LABELS)
        assert teacher.config.vocab_size == model.config.vocab_size, "teacher and model must share the vocabulary"
    tok_path = os.path.join(a.init, "tokenizer.json")
    tok = load_tokenizer(tok_path)
    names = [s for s in a.sources.split(",") if s]
    weights = {k: float(v) for k, v in (x.split("=") for x in a.weights.split(",") if x)}
    roles = RoleFilter(os.path.join(ROOT, "src/ner/scope/common.txt"), os.path.join(a.init, "names.txt"))
    t0 = time.time()
    real = real_windows(tok, load_sources(names), roles, a.max_len, a.surname_copies, rng)
    synth = synthetic_windows(tok, read_jsonl(a.synthetic, a.synthetic_docs), a.max_len) if a.synthetic_share > 0 else []
    pool = dict(real, synthetic=synth)
    srcs = names + ["synthetic"]
    masks = torch.zeros((len(srcs), len(LABELS)), dtype=torch.bool)
    for k, s in enumerate(srcs):
        if s == "synthetic":
            masks[k, 0] = True  # unused: synthetic windows have hard labels only
        else:
            masks[k, partial_mask(s)] = True
    counts = {s: len(ws) for s, ws in pool.items()}
    print(f"windows {counts} ({time.time() - t0:.0f}s)", flush=True)

    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.01)
    budget = a.minutes * 60
    t0 = time.time()
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / 50, max(0.0, 1.0 - (time.time() - t0) / budget)))
    model.train()
    step, epoch, done = 0, 0, False
    while not done:
        order = epoch_order(real, synth, weights, a.synthetic_share, rng)
        epoch_wins = [pool[src_name][i] for src_name, i in order]
        for ids in batches(epoch_wins, a.batch, rng):
            inp, tt, am, tg, src = collate(srcs, [epoch_wins[i] for i in ids])
            ref_logits = None
            if ref is not None:
                with torch.no_grad():
                    ref_logits = ref(input_ids=inp, token_type_ids=tt, attention_mask=am).logits
            logits = model(input_ids=inp, token_type_ids=tt, attention_mask=am).logits
            loss = loss_fn(logits, tg, masks, src, ref_logits)
            if teacher is not None:
                with torch.no_grad():
                    t_logits = teacher(input_ids=inp, token_type_ids=tt, attention_mask=am).logits
                loss = (1 - a.kd_alpha) * loss + a.kd_alpha * kd_loss(logits, t_logits, am, a.kd_temp)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            if step % 100 == 0:
                el = time.time() - t0
                print(f"epoch {epoch} step {step} loss {loss.item():.4f} {el / step:.3f}s/step {el / 60:.1f}m", flush=True)
            if time.time() - t0 >= budget:
                done = True
                break
        epoch += 1
    train_min = (time.time() - t0) / 60
    prev = getattr(model.config, "veil_train", None)
    model.config.veil_train = {
        "continued_from": prev, "finetuned_on_real_text": True, "init": os.path.basename(a.init.rstrip("/")),
        "sources": names, "source_weights": weights, "synthetic_share": a.synthetic_share,
        "synthetic_docs": a.synthetic_docs, "windows": counts, "steps": step, "epochs": epoch,
        "batch": a.batch, "lr": a.lr, "train_minutes": round(train_min, 1),
        "reference": os.path.basename(ref_dir.rstrip("/")),
        "teacher": os.path.basename(a.teacher.rstrip("/")) if a.teacher else None,
        "kd_alpha": a.kd_alpha if a.teacher else None, "kd_temp": a.kd_temp if a.teacher else None,
        "surname_copies": a.surname_copies, "seed": a.seed,
        "loss": "CE inside spans; outside them CE against the reference model restricted to O and the labels "
                "the source does not annotate; CE against the reference on MISC and role-word PERSON spans",
    }
    save_folder(model, a.out, tok_path)
    print(f"saved {a.out}: {step} steps, {epoch} epochs, {train_min:.1f} min", flush=True)


if __name__ == "__main__":
    main()
