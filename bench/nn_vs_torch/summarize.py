#!/usr/bin/env python3
"""summarize.py: the markdown table of a run.sh result file (JSON lines).

    summarize.py results.jsonl [PEAK_GFLOPS_PER_CORE]

One row per (mode, batch, threads): images/s of tryon and PyTorch and their ratio,
tryon's GFLOP/s and its share of the machine's FP32 peak (threads x per-core peak;
default 83.2 = Zen 4 at 2.6 GHz: two 256-bit FMA pipes = 32 flop/cycle), and the peak
RSS of each process (PyTorch's also as the increase over its RSS after import and model
build, since importing torch alone costs several hundred MB).
"""
import json
import sys


def main():
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip().startswith("{")]
    peak = float(sys.argv[2]) if len(sys.argv) > 2 else 83.2
    ours = {(r["mode"], r["batch"], r["threads"]): r for r in rows if r["impl"] == "tryon"}
    torch = {(r["mode"], r["batch"], r["threads"]): r for r in rows if r["impl"] == "torch"}
    model = rows[0]["model"] if rows else "?"
    print("model %s, medians of %s runs" % (model, rows[0]["reps"] if rows else "?"))
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
