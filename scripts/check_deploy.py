#!/usr/bin/env python3
"""Checks of the deployment examples that need Veil's own knowledge (scripts/check-deploy.sh).

alerts  FILE                 the Prometheus rule file's structure, and that every metric it
                             uses is one Veil exports (a string literal under src/).
configs VEIL_BIN FILE...     every Veil config in the examples (a ConfigMap's veil.toml, or a
                             .toml file) is accepted by `veil redact --config`, after two
                             substitutions a CPU test build needs: placeholder key hashes
                             become 64 hex digits, and device "cuda:N" becomes "cpu".
"""

import pathlib
import re
import subprocess
import sys
import tempfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
METRIC = re.compile(r"\b((?:gateway|veil)_[a-z0-9_]+)")
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")


def fail(msg):
    print(f"check_deploy: {msg}", file=sys.stderr)
    sys.exit(1)


def exported_metrics():
    names = set()
    for path in (ROOT / "src").rglob("*.rs"):
        names.update(re.findall(r'"((?:gateway|veil)_[a-z0-9_]+)"', path.read_text(encoding="utf-8")))
    return names


def check_alerts(path):
    doc = yaml.safe_load(pathlib.Path(path).read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or not isinstance(doc.get("groups"), list) or not doc["groups"]:
        fail(f"{path}: expected a mapping with a non-empty `groups` list")
    known = exported_metrics()
    seen = set()
    count = 0
    for g, group in enumerate(doc["groups"]):
        where = f"{path}: groups[{g}]"
        if not isinstance(group, dict) or not group.get("name") or not isinstance(group.get("rules"), list):
            fail(f"{where}: needs `name` and a `rules` list")
        for r, rule in enumerate(group["rules"]):
            where = f"{path}: groups[{g}].rules[{r}]"
            if not isinstance(rule, dict) or not isinstance(rule.get("alert"), str):
                fail(f"{where}: needs `alert` (this file holds alerting rules only)")
            name = rule["alert"]
            if name in seen:
                fail(f"{where}: duplicate alert {name}")
            seen.add(name)
            if not isinstance(rule.get("expr"), str) or not rule["expr"].strip():
                fail(f"{where} ({name}): needs `expr`")
            if rule.get("labels", {}).get("severity") not in ("critical", "warning", "info"):
                fail(f"{where} ({name}): labels.severity must be critical, warning or info")
            ann = rule.get("annotations", {})
            if not ann.get("summary") or not ann.get("description"):
                fail(f"{where} ({name}): needs annotations.summary and annotations.description")
            used = METRIC.findall(rule["expr"])
            if not used:
                fail(f"{where} ({name}): uses no Veil metric")
            for m in used:
                base = next((m[: -len(s)] for s in HISTOGRAM_SUFFIXES if m.endswith(s) and m[: -len(s)] in known), m)
                if base not in known:
                    fail(f"{where} ({name}): {m} is not a metric Veil exports (no \"{base}\" in src/)")
            count += 1
    print(f"  {path}: {count} alerts, every metric they use is exported by Veil")


def veil_configs(path):
    """(label, TOML text) for each Veil config in `path`."""
    p = pathlib.Path(path)
    if p.suffix == ".toml":
        return [(str(p), p.read_text(encoding="utf-8"))]
    out = []
    for doc in yaml.safe_load_all(p.read_text(encoding="utf-8")):
        if isinstance(doc, dict) and doc.get("kind") == "ConfigMap":
            for key, text in (doc.get("data") or {}).items():
                if key.endswith(".toml"):
                    out.append((f"{p} ({doc['metadata']['name']}: {key})", text))
    return out


def check_configs(veil_bin, paths):
    n = 0
    for path in paths:
        for label, text in veil_configs(path):
            text = re.sub(r'sha256 = "REPLACE[^"]*"', 'sha256 = "' + "0" * 64 + '"', text)
            text = re.sub(r'device = "cuda[^"]*"', 'device = "cpu"', text)
            with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
                f.write(text)
            try:
                run = subprocess.run(
                    [veil_bin, "redact", "--config", f.name],
                    input="",
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
            finally:
                pathlib.Path(f.name).unlink()
            if run.returncode != 0:
                fail(f"{label}: veil does not accept this config:\n{run.stderr.strip()}")
            print(f"  {label}: accepted by veil")
            n += 1
    if n == 0:
        fail("no Veil config found")


def main(argv):
    if len(argv) >= 2 and argv[0] == "alerts":
        for path in argv[1:]:
            check_alerts(path)
    elif len(argv) >= 3 and argv[0] == "configs":
        check_configs(argv[1], argv[2:])
    else:
        fail(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
