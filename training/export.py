#!/usr/bin/env python3
"""Export the student (and the teacher, for reference) as standard HF token-classification
folders: config.json, tokenizer.json (no truncation/padding), model.safetensors (F16 by
default, `--dtype f32` for full precision).

    python export.py --student out/student --teacher out/teacher --out out/veil-pii
"""
import argparse
import json
import os
import shutil

import torch
from safetensors import safe_open

from common import CASE_FEATURE, ID2LABEL, LABEL2ID, LABELS

HERE = os.path.dirname(os.path.abspath(__file__))
FILES = ["config.json", "tokenizer.json", "model.safetensors"]
MAX_BYTES = 60 * 1024 * 1024


def export(src, dst, want_case=True, dtype="f32", min_score=None, label_min_score=None):
    os.makedirs(dst, exist_ok=True)
    for f in FILES:
        shutil.copyfile(os.path.join(src, f), os.path.join(dst, f))
    cfg = json.load(open(os.path.join(dst, "config.json")))
    cfg["architectures"] = ["BertForTokenClassification"]
    cfg["model_type"] = "bert"
    cfg["id2label"] = {str(i): l for i, l in ID2LABEL.items()}
    cfg["label2id"] = dict(LABEL2ID)
    cfg["num_labels"] = len(LABELS)
    cfg["max_position_embeddings"] = 512
    # Windows (special tokens included) the model was trained on; Veil cuts texts to this.
    cfg["veil_max_window"] = 128
    assert cfg["type_vocab_size"] == 4, cfg["type_vocab_size"]
    if want_case:
        cfg["veil_case_feature"] = CASE_FEATURE
    cfg.pop("torch_dtype", None)
    cfg["dtype"] = "float16" if dtype == "f16" else "float32"
    if min_score is not None:
        # Veil drops model spans scoring below this unless [detect] min_score is set
        cfg["veil_min_score"] = min_score
    if label_min_score:
        # ... and below these for their label (replacing veil_min_score for it)
        cfg["veil_label_min_score"] = label_min_score
    json.dump(cfg, open(os.path.join(dst, "config.json"), "w"), indent=2, ensure_ascii=False)
    tj = json.load(open(os.path.join(dst, "tokenizer.json"), encoding="utf-8"))
    tj["truncation"] = None
    tj["padding"] = None
    assert tj["model"]["type"] == "WordPiece"
    assert len(tj["model"]["vocab"]) == cfg["vocab_size"], (len(tj["model"]["vocab"]), cfg["vocab_size"])
    json.dump(tj, open(os.path.join(dst, "tokenizer.json"), "w", encoding="utf-8"), ensure_ascii=False)
    with safe_open(os.path.join(dst, "model.safetensors"), "pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    for k, t in tensors.items():
        assert t.dtype == torch.float32, (k, t.dtype)
    assert any(k.startswith("classifier.") for k in tensors)
    if dtype == "f16":
        # half the file; Veil widens to F32 at load (measured: same dev-set scores)
        from safetensors.torch import save_file
        save_file({k: t.half().contiguous() for k, t in tensors.items()}, os.path.join(dst, "model.safetensors"),
                  metadata={"format": "pt"})
    total = sum(os.path.getsize(os.path.join(dst, x)) for x in FILES)
    print(f"{dst}: {total / 1e6:.1f} MB  (vocab {cfg['vocab_size']}, {cfg['num_hidden_layers']}x{cfg['hidden_size']}, "
          f"heads {cfg['num_attention_heads']}, inter {cfg['intermediate_size']})")
    return total


def smoke(folder):
    from predict_eval import load_model, predict_doc
    model, tok, use_case, id2label = load_model(folder)
    text = "Hi, I'm Maria Fernández, born 12/03/1988, living at 221B Baker Street, London NW1 6XE. My user is mfern88."
    spans = predict_doc(model, tok, text, use_case, id2label)
    print("  smoke:", [(text[s["start"]:s["end"]], s["label"]) for s in spans])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--student", default=os.path.join(HERE, "out/student"))
    ap.add_argument("--teacher", default=os.path.join(HERE, "out/teacher"))
    ap.add_argument("--out", default=os.path.join(HERE, "out/veil-pii"))
    ap.add_argument("--dtype", choices=["f32", "f16"], default="f16", help="weights on disk")
    ap.add_argument("--min-score", type=float, default=None, help="written as veil_min_score")
    ap.add_argument("--teacher-min-score", type=float, default=None, help="the teacher's veil_min_score")
    ap.add_argument("--label-min-score", default="", help="per-label thresholds, e.g. PERSON=0.2 (veil_label_min_score)")
    a = ap.parse_args()
    torch.set_num_threads(2)
    label_min = {k: float(v) for k, v in (x.split("=") for x in a.label_min_score.split(",") if x)}
    n = export(a.student, a.out, dtype=a.dtype, min_score=a.min_score, label_min_score=label_min)
    assert n <= MAX_BYTES, f"student folder is {n} bytes > 60 MB"
    smoke(a.out)
    if os.path.isdir(a.teacher):
        export(a.teacher, a.out + "-teacher", dtype=a.dtype, min_score=a.teacher_min_score, label_min_score=label_min)
        smoke(a.out + "-teacher")


if __name__ == "__main__":
    main()
