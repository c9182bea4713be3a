#!/usr/bin/env python3
"""bench_torch.py: PyTorch CPU side of bench/nn_vs_torch (the twin of nn_bench.c).

    bench_torch.py MODEL.yaml WEIGHTS.safetensors infer|train BATCH THREADS [REPS]

Builds the network with tests/golden/make_golden.py's PyTorch twins, loads the same
weights and inputs (written by nn_bench), and times eval inference under torch.inference_mode, or
one training step (zero_grad, forward, MSE of every output against zeros, backward,
AdamW with decay on weights only). Prints one JSON line like nn_bench: median seconds
over REPS after one warm-up, images/s, peak RSS (MB) of the process and, for reference,
the RSS right after importing torch and building the model.
"""
import json
import os
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "golden"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import yaml  # noqa: E402
from safetensors.torch import load_file  # noqa: E402

import make_golden  # noqa: E402


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def main():
    cfg_path, weights, mode, batch, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    reps = int(sys.argv[6]) if len(sys.argv) > 6 else 5
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    with open(cfg_path) as f:
        cfg = yaml.safe_load(f)
    net = make_golden.build(cfg)
    net.load_state_dict(load_file(weights), strict=False)
    missing = [k for k in net.state_dict() if not k.endswith("num_batches_tracked") and k not in load_file(weights)]
    assert not missing, missing
    shapes = make_golden.input_shapes(net, cfg)
    inputs = load_file("%s.in%d.safetensors" % (weights, batch))
    xs = [inputs[n].reshape(batch, *s) for n, s in zip(net.inputs(), shapes)]
    base_rss = rss_mb()
    train = mode == "train"
    if train:
        net.train()
        decay = [p for k, p in net.named_parameters() if k.endswith("weight") and p.dim() > 1]
        other = [p for k, p in net.named_parameters() if not (k.endswith("weight") and p.dim() > 1)]
        opt = torch.optim.AdamW([{"params": decay}, {"params": other, "weight_decay": 0.0}], lr=1e-3,
                                weight_decay=0.01)
    else:
        net.eval()
    times = []
    loss = 0.0
    for _ in range(reps + 1):
        t0 = time.perf_counter()
        if train:
            opt.zero_grad(set_to_none=True)
            out = net(*xs)
            total = 0
            for k in out:
                total = total + F.mse_loss(out[k], torch.zeros_like(out[k]))
            total.backward()
            opt.step()
            loss = total.item()
        else:
            with torch.inference_mode():
                net(*xs)
        times.append(time.perf_counter() - t0)
    med = sorted(times[1:])[reps // 2]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"impl": "torch", "model": cfg["name"], "mode": mode, "batch": batch, "threads": threads,
                      "reps": reps, "sec": round(med, 6), "img_s": round(batch / med, 3),
                      "peak_rss_mb": round(peak, 1), "base_rss_mb": round(base_rss, 1), "loss": loss,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
