#!/usr/bin/env bash
# Reproduce Veil's PII model end to end: venv, corpus, teacher, student, export, dev eval.
# CPU only; every heavy step runs under `nice -n 19` with 2 torch threads.
# Training is wall-clock budgeted (LR decays with elapsed time) because the build machine's
# 2 cores are shared; set the *_MIN variables to change the budgets.
set -euo pipefail
cd "$(dirname "$0")"
OUT=out
PY=$OUT/venv/bin/python
TEACHER_MIN=${TEACHER_MIN:-18}
LOGIT_MIN=${LOGIT_MIN:-25}
STUDENT_MIN=${STUDENT_MIN:-35}
ABLATION_MIN=${ABLATION_MIN:-4}
DEV=${DEV:-/work/shared/eval/dev.jsonl}
TRAIN=${TRAIN:-/work/shared/train}
REAL_TEACHER_MIN=${REAL_TEACHER_MIN:-22}
# a second teacher run on the real text, from the first (the shipped veil-pii-large is two runs)
REAL_TEACHER2_MIN=${REAL_TEACHER2_MIN:-20}
REAL_STUDENT_MIN=${REAL_STUDENT_MIN:-30}
REAL_SHARE=${REAL_SHARE:-0.15}
REAL_WEIGHTS=${REAL_WEIGHTS:-uner_ewt=2,gum=2,wikigold=2,re3d=2,europeana_fr=0.5,europeana_de=0.5}
# share of real documents also trained with their multi-word names cut to the surname
SURNAME_COPIES=${SURNAME_COPIES:-0.5}
mkdir -p $OUT/corpus $OUT/eval $OUT/logs

# 1. environment
if [ ! -x $PY ]; then python3 -m venv $OUT/venv; fi
$OUT/venv/bin/pip install -q -r requirements.txt

# 2. corpus (seeded)
[ -s $OUT/corpus/train.jsonl ] || nice -n 19 $PY gen_corpus.py --n 80000 --seed 13 --out $OUT/corpus/train.jsonl
[ -s $OUT/corpus/test.jsonl ]  || nice -n 19 $PY gen_corpus.py --n 2000 --seed 99 --out $OUT/corpus/test.jsonl
# real text without labels (Debian fortunes, WordNet glosses, translated man pages, Debian Reference)
[ -s $OUT/corpus/general.jsonl ] || $PY general_text.py --out $OUT/corpus/general.jsonl --debs $OUT/debs

# 3. teacher: all-MiniLM-L6-v2 + token classification head + case feature
nice -n 19 $PY train.py --minutes $TEACHER_MIN --steps 100000 --batch 16 --lr 1.5e-4 --limit 20000 \
  --out $OUT/teacher 2>&1 | tee $OUT/logs/teacher.log

# 4. student: 3 x 128 x 512, full vocab, distilled: teacher logits (KL, T=2) on synthetic and
#    general windows, plus hard labels (CE) on the synthetic ones
nice -n 5 $PY distill.py --teacher $OUT/teacher --out $OUT/student --layers ${S_LAYERS:-3} --hidden 128 --heads 2 \
  --inter ${S_INTER:-512} --limit 24000 --general-docs 8000 --alpha 0.7 --logit-minutes $LOGIT_MIN --minutes $STUDENT_MIN \
  --lr 1e-3 --batch 32 --logits-cache $OUT/teacher_logits.pt 2>&1 | tee $OUT/logs/student.log

# 5. real text: continue both models on the human-annotated training splits of $TRAIN (never
#    $TRAIN/dev) mixed with synthetic windows (share and per-source weights chosen on the dev
#    splits: see models/veil-pii/README.md). The frozen starting model keeps its reading where a
#    source annotates nothing (real_text.py, finetune.py).
if [ -d "$TRAIN" ]; then
  nice -n 10 $PY finetune.py --init $OUT/teacher --out $OUT/teacher-real --minutes $REAL_TEACHER_MIN --lr 5e-5 --batch 16 \
    --synthetic-share $REAL_SHARE --weights $REAL_WEIGHTS --surname-copies $SURNAME_COPIES 2>&1 | tee $OUT/logs/teacher-real.log
  nice -n 10 $PY finetune.py --init $OUT/teacher-real --out $OUT/teacher-real2 --minutes $REAL_TEACHER2_MIN --lr 5e-5 --batch 16 \
    --synthetic-share $REAL_SHARE --weights $REAL_WEIGHTS --surname-copies $SURNAME_COPIES 2>&1 | tee $OUT/logs/teacher-real2.log
  nice -n 10 $PY finetune.py --init $OUT/student --out $OUT/student-real --minutes $REAL_STUDENT_MIN --lr 3e-4 \
    --synthetic-share $REAL_SHARE --weights $REAL_WEIGHTS --surname-copies $SURNAME_COPIES 2>&1 | tee $OUT/logs/student-real.log
  STUDENT=$OUT/student-real TEACHER=$OUT/teacher-real2 LEX=(--from-train "$TRAIN")
else
  STUDENT=$OUT/student TEACHER=$OUT/teacher LEX=()
fi

# 6. export
nice -n 19 $PY export.py --student $STUDENT --teacher $TEACHER --out $OUT/veil-pii --min-score 0.34 --teacher-min-score 0.35 --label-min-score PERSON=0.2
# name lexicon (names.txt + veil_name_lexicon in config.json): Faker's names, plus the PERSON
# words of the training splits
nice -n 19 $PY name_lexicon.py $OUT/veil-pii --min-person 0.003 "${LEX[@]}"
nice -n 19 $PY name_lexicon.py $OUT/veil-pii-teacher --min-person 0.003 "${LEX[@]}"
cp "$TRAIN/THIRD_PARTY_NOTICES.md" $OUT/veil-pii/ 2>/dev/null || true
cp "$TRAIN/THIRD_PARTY_NOTICES.md" $OUT/veil-pii-teacher/ 2>/dev/null || true
# The common-word list of the utility rules (src/ner/scope/common.txt).
$PY common_words.py ../src/ner/scope/common.txt

# 7. evaluation on the held-out dev set (scoring only) and the synthetic test split
if [ -f "$DEV" ]; then
  nice -n 19 $PY predict_eval.py $OUT/veil-pii --gold "$DEV" --pred $OUT/eval/dev.student.jsonl --table | tee $OUT/eval/dev.student.txt
  nice -n 19 $PY predict_eval.py $OUT/veil-pii-teacher --gold "$DEV" --pred $OUT/eval/dev.teacher.jsonl | tee $OUT/eval/dev.teacher.txt
fi
# ... and as Veil runs it (patterns + model, Veil's windows), over a range of score thresholds
if [ -f "$DEV" ] && [ -x ../target/release/veil ]; then
  $PY score_veil.py $OUT/veil-pii --gold "$DEV" --min-score 0,0.2,0.3,0.4,0.5,0.6 | tee $OUT/eval/dev.veil.txt
fi
nice -n 19 $PY predict_eval.py $OUT/veil-pii --gold $OUT/corpus/test.jsonl --pred $OUT/eval/test.student.jsonl | tee $OUT/eval/test.student.txt

# 8. case-feature ablation: two CE-only students with the same budget, with / without case ids
if [ "${ABLATION:-1}" = 1 ]; then
  for v in case nocase; do
    flag=""; [ $v = nocase ] && flag="--no-case"
    nice -n 19 $PY distill.py --teacher $OUT/teacher --out $OUT/ablation_$v --alpha 0 --limit 40000 \
      --minutes $ABLATION_MIN $flag 2>&1 | tee $OUT/logs/ablation_$v.log
    [ -f "$DEV" ] && nice -n 19 $PY predict_eval.py $OUT/ablation_$v --gold "$DEV" --pred $OUT/eval/dev.ablation_$v.jsonl | tee $OUT/eval/dev.ablation_$v.txt
  done
fi
