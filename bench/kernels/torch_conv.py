"""torch_conv.py: PyTorch CPU on the conv layers of conv_bench.c (same shapes, batches,
thread counts and passes), printed in the same tab-separated format; with --merge it
reads conv_bench's output and prints one table of medians and ratios.

    .venv-bench/bin/python bench/kernels/torch_conv.py [--reps 5] > torch.tsv
    build/bench_kernels/kcpu_conv_bench 5 > c.tsv
    .venv-bench/bin/python bench/kernels/torch_conv.py --merge c.tsv torch.tsv

A ratio below 1 means ours is faster. The thread-CPU columns (1 thread only) exclude the
time a run spent descheduled, so they stay comparable when other processes share the
cores; wall-clock medians with 2 threads need an otherwise idle machine.

Passes: fwd = conv2d with bias; bwd_data = the input gradient; bwd_filter = the weight and
bias gradients (aten.convolution_backward with the matching output mask, as autograd
calls it). Times are medians of --reps runs after one warm-up.
"""
import argparse
import statistics
import sys
import time

LAYERS = [  # name, c, h, w, k, r, stride, pad  (as conv_bench.c)
    ("stem_3-32_7x7s2_128", 3, 128, 128, 32, 7, 2, 3),
    ("3x3_32-64_32", 32, 32, 32, 64, 3, 1, 1),
    ("3x3s2_64-128_32", 64, 32, 32, 128, 3, 2, 1),
    ("3x3_128-128_16", 128, 16, 16, 128, 3, 1, 1),
    ("1x1_64-256_32", 64, 32, 32, 256, 1, 1, 0),
    ("1x1_256-64_32", 256, 32, 32, 64, 1, 1, 0),
]
BATCHES = [1, 8, 32]


def bench_torch(reps):
    import torch

    torch.manual_seed(0)
    print("impl\tlayer\tbatch\tthreads\tpass\tmedian_ms\tgflops\tcpu_ms")
    for name, c, h, w, k, r, stride, pad in LAYERS:
        for n in BATCHES:
            x = torch.rand(n, c, h, w) - 0.5
            wt = torch.rand(k, c, r, r) - 0.5
            b = torch.rand(k) - 0.5
            oh = (h + 2 * pad - r) // stride + 1
            ow = (w + 2 * pad - r) // stride + 1
            dy = torch.rand(n, k, oh, ow) - 0.5
            flops = 2.0 * n * k * oh * ow * c * r * r
            conv = torch.ops.aten.convolution_backward

            def fwd():
                return torch.nn.functional.conv2d(x, wt, b, stride, pad)

            def bwd_data():
                return conv(dy, x, wt, [k], [stride] * 2, [pad] * 2, [1, 1], False, [0, 0], 1,
                            [True, False, False])

            def bwd_filter():
                return conv(dy, x, wt, [k], [stride] * 2, [pad] * 2, [1, 1], False, [0, 0], 1,
                            [False, True, True])

            for threads in (1, 2):
                torch.set_num_threads(threads)
                for pname, fn in (("fwd", fwd), ("bwd_data", bwd_data), ("bwd_filter", bwd_filter)):
                    with torch.no_grad():
                        fn()
                        ts, cs = [], []
                        for _ in range(reps):
                            t0, c0 = time.perf_counter(), time.thread_time()
                            fn()
                            ts.append(time.perf_counter() - t0)
                            cs.append(time.thread_time() - c0)
                    med = statistics.median(ts)
                    cpu = f"{statistics.median(cs) * 1e3:.3f}" if threads == 1 else "-"
                    print(f"torch\t{name}\t{n}\t{threads}\t{pname}\t{med * 1e3:.3f}\t{flops / med / 1e9:.1f}\t{cpu}")
                    sys.stdout.flush()


def merge(paths):
    rows = {}
    for p in paths:
        with open(p) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) != 8 or parts[0] == "impl":
                    continue
                impl, layer, n, th, pas, ms, _, cpu = parts
                rows[(layer, int(n), int(th), pas, impl)] = float(ms)
                if cpu != "-":
                    rows[(layer, int(n), int(th), pas, impl + "_cpu")] = float(cpu)
    keys = sorted({k[:4] for k in rows}, key=lambda k: ([l[0] for l in LAYERS].index(k[0]), k[1], k[3], k[2]))
    print("| layer | batch | pass | threads | ref ms | cpu ms | torch ms | cpu/torch | ref/cpu "
          "| cpu thread-CPU ms | torch thread-CPU ms | cpu/torch (CPU time) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    fmt = lambda v: f"{v:.3f}" if v is not None else "-"
    for layer, n, th, pas in keys:
        ref = rows.get((layer, n, th, pas, "ref")) if th == 1 else None
        cpu = rows.get((layer, n, th, pas, "cpu"))
        tor = rows.get((layer, n, th, pas, "torch"))
        cc = rows.get((layer, n, th, pas, "cpu_cpu"))
        tc = rows.get((layer, n, th, pas, "torch_cpu"))
        ratio = f"{cpu / tor:.2f}" if cpu and tor else "-"
        speed = f"{ref / cpu:.0f}x" if ref and cpu else "-"
        cratio = f"{cc / tc:.2f}" if cc and tc else "-"
        print(f"| {layer} | {n} | {pas} | {th} | {fmt(ref)} | {fmt(cpu)} | {fmt(tor)} | {ratio} | {speed} "
              f"| {fmt(cc)} | {fmt(tc)} | {cratio} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--merge", nargs="+", metavar="TSV", help="print a table from conv_bench/torch_conv outputs")
    a = ap.parse_args()
    if a.merge:
        merge(a.merge)
    else:
        bench_torch(a.reps)


if __name__ == "__main__":
    main()
