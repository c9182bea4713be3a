"""torch_ops.py: PyTorch CPU on the ops of ops_bench.c (same shapes, thread counts), in the
same tab-separated format; with --merge it reads ops_bench's output and prints one table.

    .venv-bench/bin/python bench/kernels/torch_ops.py [--reps 7] > torch_ops.tsv
    build/bench_kernels/kcpu_ops_bench 7 > ops.tsv
    .venv-bench/bin/python bench/kernels/torch_ops.py --merge ops.tsv torch_ops.tsv

Activation (32, 64, 32, 32). bn_fwd_train is F.batch_norm(training=True) with running
stats; bn_bwd is aten.native_batch_norm_backward (input, weight and bias gradients);
relu_bwd is aten.threshold_backward; maxpool is 3x3 stride 2 pad 1 with indices; AdamW
is torch.optim.AdamW (foreach=False, the per-parameter loop) over 1M parameters.
Ratios below 1 mean ours is faster; the thread-CPU columns (1 thread) exclude time spent
descheduled when other processes share the cores.
"""
import argparse
import statistics
import sys
import time

N, C, H, W = 32, 64, 32, 32
NP = 1 << 20
OPS = ["bn_fwd_train", "bn_bwd", "relu_fwd", "relu_bwd", "leaky_relu_fwd", "sigmoid_fwd", "maxpool3x3s2_fwd",
       "maxpool3x3s2_bwd", "bilinear_x2_fwd", "adamw_1M"]


def bench(reps):
    import torch
    import torch.nn.functional as F

    torch.manual_seed(0)
    x = torch.rand(N, C, H, W) * 4 - 2
    dy = torch.rand(N, C, H, W) * 4 - 2
    gamma, beta = torch.rand(C) + 0.5, torch.rand(C) + 0.5
    rm, rv = torch.zeros(C), torch.ones(C)
    _, mean, invstd = torch.ops.aten.native_batch_norm(x, gamma, beta, rm, rv, True, 0.1, 1e-5)
    y, idx = F.max_pool2d(x, 3, 2, 1, return_indices=True)
    dyp = torch.rand_like(y)
    p = torch.nn.Parameter(torch.rand(NP) * 0.01)
    p.grad = torch.rand(NP) * 0.01
    opt = torch.optim.AdamW([p], lr=1e-3, weight_decay=0.01, foreach=False)
    opt.step()
    fns = {
        "bn_fwd_train": lambda: F.batch_norm(x, rm, rv, gamma, beta, True, 0.1, 1e-5),
        "bn_bwd": lambda: torch.ops.aten.native_batch_norm_backward(dy, x, gamma, rm, rv, mean, invstd, True, 1e-5,
                                                                    [True, True, True]),
        "relu_fwd": lambda: torch.relu(x),
        "relu_bwd": lambda: torch.ops.aten.threshold_backward(dy, x, 0.0),
        "leaky_relu_fwd": lambda: F.leaky_relu(x, 0.2),
        "sigmoid_fwd": lambda: torch.sigmoid(x),
        "maxpool3x3s2_fwd": lambda: F.max_pool2d(x, 3, 2, 1, return_indices=True),
        "maxpool3x3s2_bwd": lambda: torch.ops.aten.max_pool2d_with_indices_backward(dyp, x, [3, 3], [2, 2], [1, 1],
                                                                                    [1, 1], False, idx),
        "bilinear_x2_fwd": lambda: F.interpolate(x, size=(2 * H, 2 * W), mode="bilinear", align_corners=False),
        "adamw_1M": opt.step,
    }
    print("impl\top\tthreads\tmedian_ms\tgb_per_s\tcpu_ms")
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for op in OPS:
            fn = fns[op]
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
            print(f"torch\t{op}\t{threads}\t{med * 1e3:.3f}\t-\t{cpu}")
            sys.stdout.flush()


def merge(paths):
    rows = {}
    for p in paths:
        with open(p) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) != 6 or parts[0] == "impl":
                    continue
                impl, op, th, ms, _, cpu = parts
                rows[(op, int(th), impl)] = float(ms)
                if cpu != "-":
                    rows[(op, int(th), impl + "_cpu")] = float(cpu)
    fmt = lambda v: f"{v:.3f}" if v is not None else "-"
    print("| op | threads | ref ms | cpu ms | torch ms | cpu/torch | cpu thread-CPU ms | torch thread-CPU ms "
          "| cpu/torch (CPU time) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for op in OPS:
        for th in (1, 2):
            ref = rows.get((op, th, "ref"))
            cpu, tor = rows.get((op, th, "cpu")), rows.get((op, th, "torch"))
            cc, tc = rows.get((op, th, "cpu_cpu")), rows.get((op, th, "torch_cpu"))
            ratio = f"{cpu / tor:.2f}" if cpu and tor else "-"
            cratio = f"{cc / tc:.2f}" if cc and tc else "-"
            print(f"| {op} | {th} | {fmt(ref)} | {fmt(cpu)} | {fmt(tor)} | {ratio} | {fmt(cc)} | {fmt(tc)} | {cratio} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--merge", nargs="+", metavar="TSV")
    a = ap.parse_args()
    if a.merge:
        merge(a.merge)
    else:
        bench(a.reps)


if __name__ == "__main__":
    main()
