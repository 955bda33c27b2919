#!/usr/bin/env python3
"""Distil a small student BERT from the teacher, with a pruned WordPiece vocabulary.

1. vocab pruning: keep the special tokens, every single-character token and '##'+single
   character, and every token seen when tokenizing the corpus; rewrite tokenizer.json's
   WordPiece vocab (+ post-processor / added-token ids) and remap embedding rows.
2. student init: word/position/type embeddings = teacher embeddings projected on their top
   principal components (PCA to the student width); transformer layers random.
3. teacher logits are computed once per training window (cached, fp16); the student trains
   on KL(student/T || teacher/T) * T^2 (T=2) * alpha + CE(hard labels) * (1 - alpha).

    nice -n 19 python distill.py --teacher out/teacher --out out/student --layers 4 --hidden 128
"""
import argparse
import copy
import json
import os
import random
import time

import torch
import torch.nn.functional as F
from transformers import BertConfig, BertForTokenClassification

from common import CASE_FEATURE, ID2LABEL, LABEL2ID, LABELS, encode_doc, read_jsonl
from train import batches, build_windows, collate, load_tokenizer, token_f1

HERE = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------- vocab pruning
def prune_vocab(tok_json_path, keep_texts, out_path):
    """Returns (old_ids_kept_sorted, report).  Writes the pruned tokenizer.json."""
    tok = load_tokenizer(tok_json_path)
    tj = json.load(open(tok_json_path, encoding="utf-8"))
    vocab = tj["model"]["vocab"]
    keep = set()
    for t, i in vocab.items():
        core = t[2:] if t.startswith("##") else t
        if len(core) == 1 or (t.startswith("[") and t.endswith("]") and not t.startswith("[unused")):
            keep.add(i)
    for a in tj.get("added_tokens", []):
        keep.add(a["id"])
    for enc in tok.encode_batch(keep_texts, add_special_tokens=False):
        keep.update(enc.ids)
    old_sorted = sorted(keep)
    remap = {o: n for n, o in enumerate(old_sorted)}
    inv = {i: t for t, i in vocab.items()}
    tj["model"]["vocab"] = {inv[o]: remap[o] for o in old_sorted}
    for a in tj.get("added_tokens", []):
        a["id"] = remap[a["id"]]
    pp = tj.get("post_processor")
    if pp and pp.get("type") == "TemplateProcessing":
        for k, v in pp["special_tokens"].items():
            v["ids"] = [remap[i] for i in v["ids"]]
    tj["truncation"] = None
    tj["padding"] = None
    json.dump(tj, open(out_path, "w", encoding="utf-8"), ensure_ascii=False)
    return old_sorted, remap


def keep_vocab(tok_json_path, out_path):
    """The teacher's whole vocabulary (identity remap); tokenizer.json without truncation/padding."""
    tj = json.load(open(tok_json_path, encoding="utf-8"))
    tj["truncation"] = None
    tj["padding"] = None
    json.dump(tj, open(out_path, "w", encoding="utf-8"), ensure_ascii=False)
    n = len(tj["model"]["vocab"])
    return list(range(n)), {i: i for i in range(n)}


def verify_pruned(orig_path, pruned_path, remap, same_texts, unseen_texts):
    """Identical ids modulo remap on corpus-like texts; [UNK] rate on unseen text."""
    t0, t1 = load_tokenizer(orig_path), load_tokenizer(pruned_path)
    same = diff = 0
    for text in same_texts:
        a = [remap.get(i, -1) for i in t0.encode(text).ids]
        b = t1.encode(text).ids
        if a == b:
            same += 1
        else:
            diff += 1
    unk0, unk1 = t0.token_to_id("[UNK]"), t1.token_to_id("[UNK]")
    n0 = n1 = tot0 = tot1 = words_changed = 0
    for text in unseen_texts:
        e0, e1 = t0.encode(text, add_special_tokens=False), t1.encode(text, add_special_tokens=False)
        n0 += sum(1 for i in e0.ids if i == unk0)
        n1 += sum(1 for i in e1.ids if i == unk1)
        tot0 += len(e0.ids)
        tot1 += len(e1.ids)
    return {"identical_docs": same, "different_docs": diff,
            "unseen_unk_rate_orig": round(n0 / max(tot0, 1), 5), "unseen_unk_rate_pruned": round(n1 / max(tot1, 1), 5),
            "unseen_tokens_per_text_orig": round(tot0 / max(len(unseen_texts), 1), 2),
            "unseen_tokens_per_text_pruned": round(tot1 / max(len(unseen_texts), 1), 2)}


# ---------------------------------------------------------------- student
def pca_project(mat, k):
    mean = mat.mean(0, keepdim=True)
    U, S, V = torch.pca_lowrank(mat - mean, q=k, center=False, niter=4)
    return V[:, :k]  # (d, k)


def make_student(teacher, kept_old_ids, layers, hidden, heads, inter):
    tcfg = teacher.config
    cfg = BertConfig(vocab_size=len(kept_old_ids), hidden_size=hidden, num_hidden_layers=layers,
                     num_attention_heads=heads, intermediate_size=inter, max_position_embeddings=512,
                     type_vocab_size=4, pad_token_id=0, hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
                     num_labels=len(LABELS), id2label=ID2LABEL, label2id=LABEL2ID)
    cfg.veil_case_feature = CASE_FEATURE
    cfg.architectures = ["BertForTokenClassification"]
    st = BertForTokenClassification(cfg)
    te = teacher.bert.embeddings
    with torch.no_grad():
        W = te.word_embeddings.weight[torch.tensor(kept_old_ids)]
        P = pca_project(W, hidden)
        scale = 0.02 / max(float((W @ P).std()), 1e-6)  # match BERT init scale
        se = st.bert.embeddings
        se.word_embeddings.weight[:] = (W - W.mean(0, keepdim=True)) @ P * scale
        se.position_embeddings.weight[:] = (te.position_embeddings.weight - te.position_embeddings.weight.mean(0, keepdim=True)) @ P * scale
        se.token_type_embeddings.weight[:] = (te.token_type_embeddings.weight - te.token_type_embeddings.weight.mean(0, keepdim=True)) @ P * scale
    return st


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--teacher", default=os.path.join(HERE, "out/teacher"))
    ap.add_argument("--corpus", default=os.path.join(HERE, "out/corpus/train.jsonl"))
    ap.add_argument("--test", default=os.path.join(HERE, "out/corpus/test.jsonl"))
    ap.add_argument("--out", default=os.path.join(HERE, "out/student"))
    ap.add_argument("--limit", type=int, default=30000, help="synthetic docs to train on")
    ap.add_argument("--general", default=os.path.join(HERE, "out/corpus/general.jsonl"),
                    help="general_text.py output: real text without hand labels, learned from teacher logits only")
    ap.add_argument("--general-docs", type=int, default=10000, help="general documents to use (0: none)")
    ap.add_argument("--vocab-docs", type=int, default=80000, help="docs tokenized to choose the vocab")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--inter", type=int, default=512)
    ap.add_argument("--epochs", type=float, default=4)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--temp", type=float, default=2.0)
    ap.add_argument("--alpha", type=float, default=0.5, help="weight of the KL term")
    ap.add_argument("--max-len", type=int, default=128)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--minutes", type=float, default=None, help="student wall-clock budget (LR decays with time)")
    ap.add_argument("--logit-minutes", type=float, default=None,
                    help="wall-clock budget for teacher logits; windows without logits train on CE only")
    ap.add_argument("--init", help="continue from this student folder (a previous distill.py --out) instead of a new one")
    ap.add_argument("--no-case", action="store_true", help="ablation: student without the case feature")
    ap.add_argument("--prune-vocab", action="store_true",
                    help="keep only tokens seen in the corpus (smaller file, but words the synthetic corpus lacks "
                         "fall apart into pieces and look like names: measured 0.39 over-masking on dev vs 0.06 for "
                         "the teacher); default: keep the teacher's full vocabulary")
    ap.add_argument("--logits-cache", default=os.path.join(HERE, "out/teacher_logits.pt"))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)

    t_tok_path = os.path.join(a.teacher, "tokenizer.json")
    teacher = BertForTokenClassification.from_pretrained(a.teacher)
    teacher.eval()
    with_case = bool(getattr(teacher.config, "veil_case_feature", None))

    # 1. vocab
    t0 = time.time()
    vocab_docs = read_jsonl(a.corpus, a.vocab_docs)
    if a.prune_vocab:
        kept, remap = prune_vocab(t_tok_path, [d["text"] for d in vocab_docs], os.path.join(a.out, "tokenizer.json"))
    else:
        kept, remap = keep_vocab(t_tok_path, os.path.join(a.out, "tokenizer.json"))
    test_docs = read_jsonl(a.test)
    # unseen text: the synthetic test split (other seed) + hand-written odd words
    extra = ["Zbigniew Brzęczyszczykiewicz lives on Krzywoustego 17 in Szczebrzeszyn.",
             "Hyperparathyroidism, pneumonoultramicroscopicsilicovolcanoconiosis and Xochitlán.",
             "Oluwaseun Adebayo-Okonkwo met Nguyễn Thị Minh Khai at Łódź Fabryczna.",
             "Ksenia Wróblewska, ul. Świętokrzyska 12/4, 00-916 Warszawa"]
    vrep = verify_pruned(t_tok_path, os.path.join(a.out, "tokenizer.json"), remap,
                         [d["text"] for d in vocab_docs[:3000]], [d["text"] for d in test_docs] + extra)
    vrep["vocab_orig"] = teacher.config.vocab_size
    vrep["vocab_pruned"] = len(kept)
    print("vocab:", json.dumps(vrep), f"({time.time() - t0:.0f}s)", flush=True)
    json.dump(vrep, open(os.path.join(a.out, "vocab_report.json"), "w"), indent=1)

    # 2. windows (teacher ids) + cached teacher logits
    docs = vocab_docs[:a.limit]
    t_tok = load_tokenizer(t_tok_path)
    wins = build_windows(t_tok, docs, a.max_len, with_case)
    n_synth = len(wins)
    general = read_jsonl(a.general, a.general_docs) if a.general_docs and os.path.exists(a.general) else []
    for w in build_windows(t_tok, general, a.max_len, with_case):
        w["labels"] = [-100] * len(w["input_ids"])  # no hand labels: teacher logits only
        w["general"] = True
        wins.append(w)
    print(f"windows: {n_synth} synthetic ({len(docs)} docs), {len(wins) - n_synth} general ({len(general)} docs)", flush=True)
    test_wins = build_windows(load_tokenizer(os.path.join(a.out, "tokenizer.json")), test_docs[:1000], a.max_len, with_case)
    key = f"{a.teacher}|{a.corpus}|{a.limit}|{a.general}|{a.general_docs}|{a.max_len}|{len(wins)}|{a.logit_minutes}"
    cache = {"key": key, "logits": {}} if a.alpha == 0 else None
    if cache is None and os.path.exists(a.logits_cache):
        cache = torch.load(a.logits_cache)
        if cache.get("key") != key:
            cache = None
    if cache is None:
        t0 = time.time()
        logits = {}
        # random order (a time budget cuts both kinds evenly), length-sorted in blocks (less padding)
        order = list(range(len(wins)))
        random.Random(a.seed).shuffle(order)
        order = [i for b in range(0, len(order), 64 * 16)
                 for i in sorted(order[b:b + 64 * 16], key=lambda j: len(wins[j]["input_ids"]))]
        with torch.no_grad():
            for k in range(0, len(order), 64):
                if a.logit_minutes and time.time() - t0 > a.logit_minutes * 60:
                    break
                ids = order[k:k + 64]
                inp, tt, am, _ = collate(wins, ids, with_labels=False)
                lg = teacher(input_ids=inp, token_type_ids=tt, attention_mask=am).logits.half()
                for r, i in enumerate(ids):
                    logits[i] = lg[r, :len(wins[i]["input_ids"])].clone()
                if (k // 64) % 50 == 0:
                    print(f"teacher logits {k}/{len(wins)} {time.time() - t0:.0f}s", flush=True)
        cache = {"key": key, "logits": logits}
        torch.save(cache, a.logits_cache)
        print(f"teacher logits for {len(logits)}/{len(wins)} windows in {(time.time() - t0) / 60:.1f} min", flush=True)
    logits = cache["logits"]
    # general windows teach nothing without teacher logits
    keep = [i for i, w in enumerate(wins) if not w.get("general") or i in logits]
    remap_w = {o: n for n, o in enumerate(keep)}
    logits = {remap_w[i]: v for i, v in logits.items() if i in remap_w}
    wins = [wins[i] for i in keep]
    n_general = sum(1 for w in wins if w.get("general"))
    print(f"training windows: {len(wins)} ({n_general} general), with teacher logits: {len(logits)}", flush=True)
    # remap ids to the pruned vocab
    for w in wins:
        w["input_ids"] = [remap[i] for i in w["input_ids"]]
    for ws in (wins, test_wins):
        for w in ws:
            if a.no_case:
                w["token_type_ids"] = [0] * len(w["input_ids"])

    # 3. student
    if a.init:
        student = BertForTokenClassification.from_pretrained(a.init)
        assert student.config.vocab_size == len(kept), "--init student has another vocabulary"
    else:
        student = make_student(teacher, kept, a.layers, a.hidden, a.heads, a.inter)
    del teacher
    nparam = sum(p.numel() for p in student.parameters())
    print(f"student {a.layers}x{a.hidden} heads {a.heads} inter {a.inter}: {nparam / 1e6:.2f}M params", flush=True)
    student.train()
    if a.no_case:
        del student.config.veil_case_feature
    steps = int(a.epochs * len(wins) / a.batch)
    opt = torch.optim.AdamW(student.parameters(), lr=a.lr, weight_decay=0.01)
    warm = max(1, steps // 20)
    budget = a.minutes * 60 if a.minutes else None

    def lr_factor(s):
        if budget:
            return min((s + 1) / 50, max(0.0, 1.0 - (time.time() - t0) / budget))
        return min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm)))

    T = a.temp
    step, t0 = 0, time.time()
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor)
    while step < steps:
        for ids in batches(wins, a.batch, rng):
            inp, tt, am, lab = collate(wins, ids)
            tl = torch.zeros(inp.shape + (len(LABELS),))
            has = torch.zeros(inp.shape, dtype=torch.bool)
            for r, i in enumerate(ids):
                if i in logits:
                    tl[r, :len(wins[i]["input_ids"])] = logits[i].float()
                    has[r, :len(wins[i]["input_ids"])] = True
            out = student(input_ids=inp, token_type_ids=tt, attention_mask=am).logits
            m = lab != -100
            ce = F.cross_entropy(out[m], lab[m]) if m.any() else torch.zeros(())
            # KL on every real token that has teacher logits ([CLS]/[SEP] included: harmless)
            mk = has & (am > 0)
            if a.alpha > 0 and mk.any():
                kl = F.kl_div(F.log_softmax(out[mk] / T, -1), F.softmax(tl[mk] / T, -1), reduction="batchmean") * T * T
                loss = a.alpha * kl + (1 - a.alpha) * ce if m.any() else kl
            else:
                kl = torch.zeros(())
                loss = ce
            loss.backward()
            torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            if step % 200 == 0:
                el = time.time() - t0
                print(f"step {step}/{steps} loss {loss.item():.4f} (kl {kl.item():.3f} ce {ce.item():.3f}) {el / step:.3f}s/step {el / 60:.1f}m", flush=True)
            if step >= steps or (budget and time.time() - t0 >= budget):
                steps = step
                break
    train_s = time.time() - t0
    f1 = token_f1(student, test_wins)
    print(f"student done: {step} steps in {train_s / 60:.1f} min; synthetic test token-F1 {f1:.4f}", flush=True)
    prev = getattr(student.config, "veil_train", None) if a.init else None
    student.config.veil_train = {"continued_from": prev, "distilled_from": os.path.basename(a.teacher.rstrip("/")), "steps": step, "batch": a.batch,
                                 "lr": a.lr, "temperature": T, "alpha": a.alpha, "docs": len(docs),
                                 "windows_with_teacher_logits": len(logits),
                                 "general_windows": n_general, "general_docs": len(general), "case_feature": not a.no_case,
                                 "train_minutes": round(train_s / 60, 1), "synthetic_test_token_f1": round(f1, 4),
                                 "vocab": vrep}
    student.save_pretrained(a.out, safe_serialization=True)
    print("saved", a.out)


if __name__ == "__main__":
    main()
