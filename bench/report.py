#!/usr/bin/env python3
"""Markdown report for bench/load.sh.

Reads the `VEIL_RESULT {...}` line that bench/post.lua's done() hook prints at the end of
each wrk run (files WORK/<scenario>_<direct|gateway>.txt) and the machine description from
REPORT_* environment variables, and prints a Markdown report on stdout.

Usage: report.py WORK_DIR
"""

import json
import os
import sys

MARK = "VEIL_RESULT "


def load(work, name):
    """The result dict of run `name`, or None if it did not run."""
    path = os.path.join(work, name + ".txt")
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith(MARK):
                    return json.loads(line[len(MARK):])
    except FileNotFoundError:
        return None
    return None


def ms(us):
    return "—" if us is None else f"{us / 1000:.3f} ms"


def diff_ms(direct, gateway):
    if direct is None or gateway is None:
        return "—"
    return f"{(gateway - direct) / 1000:+.3f} ms"


def rps(v):
    return "—" if v is None else f"{v:,.0f}"


def diff_pct(direct, gateway):
    if not direct or gateway is None:
        return "—"
    return f"{(gateway - direct) / direct * 100:+.1f} %"


def get(result, key):
    return None if result is None else result.get(key)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: report.py WORK_DIR")
    work = sys.argv[1]
    env = os.environ.get
    runs = {f"{s}_{t}": load(work, f"{s}_{t}") for s in "abcefg" for t in ("direct", "gateway")}

    lines = [
        f"## Veil load test, {env('REPORT_DATE', '?')}",
        "",
        f"- Machine: {env('REPORT_NPROC', '?')} CPUs, {env('REPORT_CPU', '?')}, "
        f"{env('REPORT_KERNEL', '?')}",
        f"- Commit: {env('REPORT_COMMIT', '?')}",
        f"- wrk {env('REPORT_WRK', '?')}, {env('REPORT_DURATION', '?')} per run; upstream: "
        "veil-mock (model `bench`, recording off); veil config: `[detect] model = \""
        + os.environ.get("REPORT_VEIL_MODEL", "none") + "\"`",
        "- Latencies are wrk's exact percentiles (done() hook), client, mock and veil on the "
        "same machine",
        "",
        "| Scenario | Metric | Direct to mock | Through Veil | Difference |",
        "|---|---|---:|---:|---:|",
    ]

    def latency_rows(label, scenario):
        d, g = runs[f"{scenario}_direct"], runs[f"{scenario}_gateway"]
        for i, (metric, key) in enumerate([("p50 latency", "p50_us"), ("p99 latency", "p99_us")]):
            dv, gv = get(d, key), get(g, key)
            lines.append(
                f"| {label if i == 0 else ''} | {metric} | {ms(dv)} | {ms(gv)} | {diff_ms(dv, gv)} |"
            )

    latency_rows("(a) 1 KB PII prompt, non-streaming, 1 connection", "a")
    d, g = runs["b_direct"], runs["b_gateway"]
    lines.append(
        "| (b) 1 KB PII prompt, non-streaming, 16 connections (2 threads) | requests/s | "
        f"{rps(get(d, 'rps'))} | {rps(get(g, 'rps'))} | {diff_pct(get(d, 'rps'), get(g, 'rps'))} |"
    )
    latency_rows("(c) streaming, 344 SSE content events, 1 connection", "c")
    hwm = env("REPORT_VEIL_HWM_KB") or ""
    hwm_text = f"{int(hwm) / 1024:.1f} MiB" if hwm.isdigit() else "—"
    lines.append(f"| (d) veil peak resident memory after the runs | VmHWM | — | {hwm_text} | |")
    optional = [
        ("(e) Responses API stream, 344 output_text deltas, 1 connection", "e"),
        ("(f) Chat Completions client → gemini-kind provider, stream (direct: Gemini's own stream)", "f"),
        ("(g) Chat Completions client → bedrock-kind provider, stream (direct: ConverseStream)", "g"),
    ]
    for label, scenario in optional:
        if runs[f"{scenario}_direct"] is not None or runs[f"{scenario}_gateway"] is not None:
            latency_rows(label, scenario)

    lines += [
        "",
        "| Run | Requests | Requests/s | Mean | Max | Socket errors | Non-2xx |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in runs.items():
        if r is None:
            continue
        lines.append(
            f"| {name} | {r['requests']} | {rps(r['rps'])} | {ms(r['mean_us'])} | "
            f"{ms(r['max_us'])} | {r['errors']} | {r['non2xx']} |"
        )
    bad = [n for n, r in runs.items() if r is not None and (r["errors"] or r["non2xx"])]
    if bad:
        lines += ["", f"**Warning:** errors in {', '.join(bad)}; those numbers are not comparable."]
    lines += ["", f"Raw wrk output: `{env('REPORT_WORK', '?')}`", ""]
    sys.stdout.write("\n".join(lines))


if __name__ == "__main__":
    main()
