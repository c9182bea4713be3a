#!/usr/bin/env python3
"""summarize.py: the markdown table of a run.sh result file (JSON lines).

    summarize.py [--peak GFLOPS_PER_CORE] results.jsonl [more.jsonl ...]

With several files (repeated runs on a shared machine), each configuration keeps its
fastest run (best of the medians), the usual guard against other load.

One row per (mode, batch, threads): images/s of tryon and PyTorch and their ratio,
tryon's GFLOP/s and its share of the machine's FP32 peak (threads x per-core peak;
default 83.2 = Zen 4 at 2.6 GHz: two 256-bit FMA pipes = 32 flop/cycle), and the peak
RSS of each process (PyTorch's also as the increase over its RSS after import and model
build, since importing torch alone costs several hundred MB).
"""
import json
import sys


def main():
    args = sys.argv[1:]
    peak = 83.2
    if args and args[0] == "--peak":
        peak = float(args[1])
        args = args[2:]
    rows = [json.loads(line) for f in args for line in open(f) if line.strip().startswith("{")]
    best = {}
    for r in rows:
        key = (r["impl"], r["mode"], r["batch"], r["threads"])
        if key not in best or r["img_s"] > best[key]["img_s"]:
            best[key] = r
    ours = {k[1:]: r for k, r in best.items() if k[0] == "tryon"}
    torch = {k[1:]: r for k, r in best.items() if k[0] == "torch"}
    model = rows[0]["model"] if rows else "?"
    print("model %s; per run the median of %s timed iterations; best of %d run(s)" % (
        model, rows[0]["reps"] if rows else "?", len(args)))
    print()
    print("| mode | batch | threads | tryon img/s | torch img/s | ratio | tryon GFLOP/s (% peak) "
          "| tryon peak RSS MB | torch peak RSS MB (over base) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for key in sorted(ours, key=lambda k: (k[0] != "infer", k[1], k[2])):
        o, t = ours[key], torch.get(key)
        ratio = "%.2f" % (o["img_s"] / t["img_s"]) if t else "-"
        pct = 100.0 * o["gflop_s"] / (peak * key[2])
        tv = "%.1f" % t["img_s"] if t else "-"
        tm = "%.0f (+%.0f)" % (t["peak_rss_mb"], t["peak_rss_mb"] - t["base_rss_mb"]) if t else "-"
        print("| %s | %d | %d | %.1f | %s | %s | %.1f (%.0f%%) | %.0f | %s |" % (
            key[0], key[1], key[2], o["img_s"], tv, ratio, o["gflop_s"], pct, o["peak_rss_mb"], tm))


if __name__ == "__main__":
    main()
