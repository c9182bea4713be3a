#!/usr/bin/env python3
"""make_golden.py: PyTorch reference tensors for the nn/ and kernels/ golden tests.

Builds, in PyTorch, the same networks that nn/config.c expands from configs/models/tiny/*.yaml
(same layer names, so the state_dict keys are the safetensors names the C model uses), runs
a training step and ten AdamW steps, and dumps everything the C tests compare against:
inputs, targets, initial weights, outputs, loss, parameter and input gradients, BN running
statistics, and the weights after the ten steps. Per-op cases (conv, convT, BN, pools,
upsampling, linear, losses, AdamW) get one small file each.

Run once (needs torch, safetensors, pyyaml; see tests/golden/README.md):
    .venv-bench/bin/python tests/golden/make_golden.py
The files land in tests/golden/data/ and are committed; `make test` never needs torch.
"""
import json
import math
import os
import sys

import torch
import torch.nn as tnn
import torch.nn.functional as F
import yaml
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "golden", "data")
torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)


# ----- networks, mirroring nn/config.c ------------------------------------------------------
class ConvBN(tnn.Module):
    def __init__(self, cin, cout, k, s, p):
        super().__init__()
        self.conv = tnn.Conv2d(cin, cout, k, s, p, bias=False)
        self.bn = tnn.BatchNorm2d(cout)


class Block(tnn.Module):
    """Basic block: names conv1 bn1 conv2 bn2 downsample.{0,1} as in the C expansion."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = tnn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(cout)
        self.conv2 = tnn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = tnn.Sequential(tnn.Conv2d(cin, cout, 1, stride, 0, bias=False), tnn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        sc = self.downsample(x) if self.downsample is not None else x
        return F.relu(y + sc)


class ResNetEncoder(tnn.Module):
    def __init__(self, cfg):
        super().__init__()
        inp, stem = cfg["input"], cfg.get("stem", {})
        width = cfg["width"]
        sc = stem.get("channels", width)
        k = stem.get("kernel", 7)
        self.input_name = inp.get("name", "image")
        self.stem = ConvBN(inp["channels"], sc, k, stem.get("stride", 2), k // 2)
        self.maxpool = stem.get("maxpool", True)
        c = sc
        for s, depth in enumerate(cfg["stages"]):
            cout = width << s
            blocks = []
            for b in range(depth):
                blocks.append(Block(c, cout, 2 if (s > 0 and b == 0) else 1))
                c = cout
            setattr(self, "layer%d" % (s + 1), tnn.Sequential(*blocks))
        self.n_stages = len(cfg["stages"])
        self.fc = tnn.Linear(c, cfg["features"])
        self.head = tnn.ModuleDict({h: tnn.Linear(cfg["features"], d) for h, d in cfg.get("heads", {}).items()})
        self.head_names = list(cfg.get("heads", {}).keys())

    def inputs(self):
        return [self.input_name]

    def forward(self, x):
        x = F.relu(self.stem.bn(self.stem.conv(x)))
        if self.maxpool:
            x = F.max_pool2d(x, 3, 2, 1)
        for s in range(self.n_stages):
            x = getattr(self, "layer%d" % (s + 1))(x)
        f = self.fc(x.mean(dim=(2, 3)))
        out = {"features": f}
        for h in self.head_names:
            out[h] = self.head[h](f)
        return out


class Up(tnn.Module):
    def __init__(self, cin, cout, k, s, p):
        super().__init__()
        self.convt = tnn.ConvTranspose2d(cin, cout, k, s, p, bias=False)
        self.bn = tnn.BatchNorm2d(cout)


class OutT(tnn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.convt = tnn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=True)


class Generator(tnn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cname = cfg["cond"].get("name", "features")
        self.zname = cfg["noise"].get("name", "noise")
        self.oname = cfg["output"].get("name", "image")
        cin = cfg["cond"]["dim"] + cfg["noise"]["dim"]
        base, minc, size = cfg["base_channels"], cfg.get("min_channels", 1), cfg["output"]["size"]
        self.ups = []
        setattr(self, "up0", Up(cin, base, 4, 1, 0))
        self.ups.append("up0")
        s, i, ch = 4, 1, base
        while s * 2 < size:
            nch = max(ch // 2, minc)
            setattr(self, "up%d" % i, Up(ch, nch, 4, 2, 1))
            self.ups.append("up%d" % i)
            ch, s, i = nch, s * 2, i + 1
        self.out = OutT(ch, cfg["output"]["channels"])

    def inputs(self):
        return [self.cname, self.zname]

    def forward(self, c, z):
        x = torch.cat([c, z], dim=1)
        for u in self.ups:
            m = getattr(self, u)
            x = F.relu(m.bn(m.convt(x)))
        return {self.oname: torch.tanh(self.out.convt(x))}


class Down(tnn.Module):
    def __init__(self, cin, cout, bn):
        super().__init__()
        self.conv = tnn.Conv2d(cin, cout, 4, 2, 1, bias=False)
        if bn:
            self.bn = tnn.BatchNorm2d(cout)


class OutC(tnn.Module):
    def __init__(self, cin):
        super().__init__()
        self.conv = tnn.Conv2d(cin, 1, 4, 1, 0, bias=True)


class Proj(tnn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.proj = tnn.Linear(cin, cout)


class Discriminator(tnn.Module):
    def __init__(self, cfg):
        super().__init__()
        img, cond = cfg["image"], cfg["cond"]
        self.iname, self.cname = img.get("name", "image"), cond.get("name", "features")
        self.size = img["size"]
        self.slope = cfg.get("slope", 0.2)
        maxc = cfg.get("max_channels", 65536)
        self.cond = Proj(cond["dim"], cond["channels"])
        ch = min(cfg["base_channels"], maxc)
        self.downs = ["down0"]
        self.down0 = Down(img["channels"] + cond["channels"], ch, False)
        s, i = self.size // 2, 1
        while s > 4:
            nch = min(ch * 2, maxc)
            setattr(self, "down%d" % i, Down(ch, nch, True))
            self.downs.append("down%d" % i)
            ch, s, i = nch, s // 2, i + 1
        self.out = OutC(ch)

    def inputs(self):
        return [self.iname, self.cname]

    def forward(self, x, c):
        t = self.cond.proj(c.flatten(1))[:, :, None, None].expand(-1, -1, self.size, self.size)
        x = torch.cat([x, t], dim=1)
        for d in self.downs:
            m = getattr(self, d)
            x = m.conv(x)
            if hasattr(m, "bn"):
                x = m.bn(x)
            x = F.leaky_relu(x, self.slope)
        return {"logit": self.out.conv(x)}


def build(cfg):
    t = cfg["template"]
    net = {"resnet_encoder": ResNetEncoder, "dcgan_generator": Generator,
           "dcgan_discriminator": Discriminator}[t](cfg)
    if cfg.get("init") == "dcgan":
        for name, mod in net.named_modules():
            if isinstance(mod, (tnn.Conv2d, tnn.ConvTranspose2d)):
                tnn.init.normal_(mod.weight, 0.0, 0.02)
                if mod.bias is not None:
                    tnn.init.zeros_(mod.bias)
            elif isinstance(mod, tnn.BatchNorm2d):
                tnn.init.normal_(mod.weight, 1.0, 0.02)
                tnn.init.zeros_(mod.bias)
    return net


def state(net):
    """state_dict without the num_batches_tracked counters, contiguous float32."""
    return {k: v.detach().clone().contiguous() for k, v in net.state_dict().items()
            if not k.endswith("num_batches_tracked")}


def input_shapes(net, cfg):
    t = cfg["template"]
    if t == "resnet_encoder":
        i = cfg["input"]
        return [(i["channels"], i["size"], i["size"])]
    if t == "dcgan_generator":
        return [(cfg["cond"]["dim"], 1, 1), (cfg["noise"]["dim"], 1, 1)]
    return [(cfg["image"]["channels"], cfg["image"]["size"], cfg["image"]["size"]), (cfg["cond"]["dim"], 1, 1)]


def losses(out, targets, disc):
    """Sum over outputs of the mean loss: MSE, or BCE on logits for a discriminator."""
    total = 0
    for k in sorted(out):
        if disc:
            total = total + F.binary_cross_entropy_with_logits(out[k], targets[k])
        else:
            total = total + F.mse_loss(out[k], targets[k])
    return total


ADAM = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)


def model_case(name, yaml_path, batch, seed):
    with open(yaml_path) as f:
        cfg = yaml.safe_load(f)
    torch.manual_seed(seed)
    net = build(cfg)
    disc = cfg["template"] == "dcgan_discriminator"
    d = {}
    for k, v in state(net).items():
        d["init." + k] = v
    names = net.inputs()
    xs = [torch.randn(batch, *s) for s in input_shapes(net, cfg)]
    for n_, x in zip(names, xs):
        d["input." + n_] = x
        x.requires_grad_(True)
    net.train()
    out = net(*xs)
    targets = {}
    for k, v in out.items():
        if disc:
            targets[k] = (torch.rand_like(v) > 0.5).float()
        else:
            targets[k] = torch.randn_like(v) * 0.5
        d["target." + k] = targets[k]
    loss = losses(out, targets, disc)
    loss.backward()
    for k, v in out.items():
        d["output." + k] = v.detach()
    d["loss"] = loss.detach().reshape(1)
    for n_, x in zip(names, xs):
        d["input_grad." + n_] = x.grad.detach().clone()
    for k, p in net.named_parameters():
        d["grad." + k] = p.grad.detach().clone()
    for k, v in state(net).items():
        if "running_" in k:
            d["step1." + k] = v
    # Ten AdamW steps on the same batch; decay on conv/linear weights only (two groups).
    decay = [p for k, p in net.named_parameters() if k.endswith("weight") and p.dim() > 1]
    other = [p for k, p in net.named_parameters() if not (k.endswith("weight") and p.dim() > 1)]
    opt = torch.optim.AdamW([{"params": decay}, {"params": other, "weight_decay": 0.0}], **ADAM)
    # The first step uses the gradients above (the forward already updated running stats).
    step_losses = [loss.item()]
    opt.step()
    for _ in range(9):
        opt.zero_grad()
        out = net(*xs)
        loss = losses(out, targets, disc)
        step_losses.append(loss.item())
        loss.backward()
        opt.step()
    d["step_losses"] = torch.tensor(step_losses)
    for k, v in state(net).items():
        d["final." + k] = v
    net.eval()
    with torch.no_grad():
        out = net(*[x.detach() for x in xs])
    for k, v in out.items():
        d["eval_output." + k] = v
    meta = {"model": cfg["name"], "batch": str(batch), "yaml": os.path.relpath(yaml_path, ROOT),
            "adamw": json.dumps({"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.01}),
            "torch": torch.__version__}
    save(name, d, meta)


def save(name, d, meta):
    d = {k: v.detach().contiguous().float() if v.dtype != torch.int32 else v.contiguous() for k, v in d.items()}
    path = os.path.join(OUT, name + ".safetensors")
    save_file(d, path, metadata=meta)
    print("%-40s %7d bytes, %d tensors" % (os.path.relpath(path, ROOT), os.path.getsize(path), len(d)))


# ----- per-op cases --------------------------------------------------------------------------
def grads_of(y, inputs, seed):
    g = torch.Generator().manual_seed(seed)
    dy = torch.randn(y.shape, generator=g)
    y.backward(dy)
    return dy


def op_conv(name, n, c, h, w, k, r, s, stride, pad, dil, groups, bias, seed):
    torch.manual_seed(seed)
    x = torch.randn(n, c, h, w, requires_grad=True)
    wt = (torch.randn(k, c // groups, r, s) * 0.3).requires_grad_(True)
    b = torch.randn(k, requires_grad=True) if bias else None
    y = F.conv2d(x, wt, b, stride, pad, dil, groups)
    dy = grads_of(y, None, seed + 1)
    d = {"x": x, "w": wt, "y": y, "dy": dy, "dx": x.grad, "dw": wt.grad}
    if bias:
        d.update(b=b, db=b.grad)
    meta = dict(n=n, c=c, h=h, w=w, k=k, r=r, s=s, stride_h=stride[0], stride_w=stride[1], pad_h=pad[0],
                pad_w=pad[1], dil_h=dil[0], dil_w=dil[1], groups=groups)
    save(name, d, {k_: str(v) for k_, v in meta.items()})


def op_convt(name, n, c, h, w, k, r, s, stride, pad, opad, dil, groups, bias, seed):
    torch.manual_seed(seed)
    x = torch.randn(n, c, h, w, requires_grad=True)
    wt = (torch.randn(c, k // groups, r, s) * 0.3).requires_grad_(True)
    b = torch.randn(k, requires_grad=True) if bias else None
    y = F.conv_transpose2d(x, wt, b, stride, pad, opad, groups, dil)
    dy = grads_of(y, None, seed + 1)
    d = {"x": x, "w": wt, "y": y, "dy": dy, "dx": x.grad, "dw": wt.grad}
    if bias:
        d.update(b=b, db=b.grad)
    meta = dict(n=n, c=c, h=h, w=w, k=k, r=r, s=s, stride_h=stride[0], stride_w=stride[1], pad_h=pad[0],
                pad_w=pad[1], opad_h=opad[0], opad_w=opad[1], dil_h=dil[0], dil_w=dil[1], groups=groups)
    save(name, d, {k_: str(v) for k_, v in meta.items()})


def op_bn(seed):
    torch.manual_seed(seed)
    n, c, h, w = 3, 5, 4, 6
    x = (torch.randn(n, c, h, w) * 2 + 1).requires_grad_(True)
    g = torch.randn(c).requires_grad_(True)
    b = torch.randn(c).requires_grad_(True)
    rm0, rv0 = torch.randn(c) * 0.1, torch.rand(c) + 0.5
    rm, rv = rm0.clone(), rv0.clone()
    y = F.batch_norm(x, rm, rv, g, b, training=True, momentum=0.1, eps=1e-5)
    dy = grads_of(y, None, seed + 1)
    save("op_bn_train", {"x": x, "gamma": g, "beta": b, "rm0": rm0, "rv0": rv0, "y": y, "dy": dy, "dx": x.grad,
                         "dgamma": g.grad, "dbeta": b.grad, "rm": rm, "rv": rv},
         dict(n=str(n), c=str(c), hw=str(h * w), eps="1e-5", momentum="0.1"))
    y = F.batch_norm(x.detach(), rm0, rv0, g.detach(), b.detach(), training=False, eps=1e-5)
    save("op_bn_eval", {"x": x, "gamma": g, "beta": b, "rm": rm0, "rv": rv0, "y": y},
         dict(n=str(n), c=str(c), hw=str(h * w), eps="1e-5"))


def op_pool(name, kind, n, c, h, w, r, s, stride, pad, seed):
    torch.manual_seed(seed)
    x = torch.randn(n, c, h, w, requires_grad=True)
    if kind == "max":
        y = F.max_pool2d(x, (r, s), stride, pad)
    else:
        y = F.avg_pool2d(x, (r, s), stride, pad, count_include_pad=True)
    dy = grads_of(y, None, seed + 1)
    save(name, {"x": x, "y": y, "dy": dy, "dx": x.grad},
         {k_: str(v) for k_, v in dict(n=n, c=c, h=h, w=w, r=r, s=s, stride_h=stride[0], stride_w=stride[1],
                                          pad_h=pad[0], pad_w=pad[1]).items()})


def op_upsample(seed):
    torch.manual_seed(seed)
    n, c, h, w = 2, 3, 5, 4
    x = torch.randn(n, c, h, w, requires_grad=True)
    y = F.interpolate(x, scale_factor=2, mode="nearest")
    dy = grads_of(y, None, seed + 1)
    save("op_upsample_nearest", {"x": x, "y": y, "dy": dy, "dx": x.grad}, dict(n="2", c="3", h="5", w="4", f="2"))
    x = torch.randn(n, c, h, w, requires_grad=True)
    y = F.interpolate(x, size=(9, 11), mode="bilinear", align_corners=False)
    dy = grads_of(y, None, seed + 2)
    save("op_upsample_bilinear", {"x": x, "y": y, "dy": dy, "dx": x.grad},
         dict(n="2", c="3", h="5", w="4", oh="9", ow="11"))


def op_linear_gap(seed):
    torch.manual_seed(seed)
    x = torch.randn(4, 7, requires_grad=True)
    wt = torch.randn(5, 7, requires_grad=True)
    b = torch.randn(5, requires_grad=True)
    y = F.linear(x, wt, b)
    dy = grads_of(y, None, seed + 1)
    save("op_linear", {"x": x, "w": wt, "b": b, "y": y, "dy": dy, "dx": x.grad, "dw": wt.grad, "db": b.grad},
         {"n": "4", "in": "7", "out": "5"})
    x = torch.randn(2, 3, 5, 5, requires_grad=True)
    y = x.mean(dim=(2, 3))
    dy = grads_of(y, None, seed + 2)
    save("op_gap", {"x": x, "y": y, "dy": dy, "dx": x.grad}, dict(n="2", c="3", hw="25"))


def op_losses(seed):
    torch.manual_seed(seed)
    d = {}
    p = torch.randn(37, requires_grad=True)
    t = torch.randn(37)
    d.update(pred=p, target=t)
    for nm, fn in (("l1", F.l1_loss), ("mse", F.mse_loss)):
        p.grad = None
        loss = fn(p, t)
        loss.backward()
        d["loss_" + nm] = loss.reshape(1)
        d["grad_" + nm] = p.grad.clone()
    lg = (torch.randn(37) * 3).requires_grad_(True)
    tb = (torch.rand(37) > 0.4).float()
    loss = F.binary_cross_entropy_with_logits(lg, tb)
    loss.backward()
    d.update(logits=lg, target01=tb, loss_bce=loss.reshape(1), grad_bce=lg.grad)
    z = (torch.randn(6, 5) * 2).requires_grad_(True)
    lab = torch.randint(0, 5, (6,), dtype=torch.int32)
    loss = F.cross_entropy(z, lab.long())
    loss.backward()
    d.update(ce_logits=z, ce_labels=lab, loss_ce=loss.reshape(1), grad_ce=z.grad)
    save("op_losses", d, {"n": "37", "ce_n": "6", "ce_k": "5"})


def op_adamw(seed):
    torch.manual_seed(seed)
    p = torch.randn(50, requires_grad=True)
    p0 = p.detach().clone()
    grads = torch.randn(10, 50)
    opt = torch.optim.AdamW([p], lr=1e-2, betas=(0.9, 0.99), eps=1e-6, weight_decay=0.1)
    for i in range(10):
        p.grad = grads[i].clone()
        opt.step()
    save("op_adamw", {"p0": p0, "grads": grads, "p10": p.detach()},
         dict(lr="1e-2", beta1="0.9", beta2="0.99", eps="1e-6", weight_decay="0.1", steps="10"))


def main():
    os.makedirs(OUT, exist_ok=True)
    tiny = os.path.join(ROOT, "configs", "models", "tiny")
    model_case("model_encoder", os.path.join(tiny, "encoder.yaml"), 4, 1)
    model_case("model_generator", os.path.join(tiny, "generator.yaml"), 4, 2)
    model_case("model_discriminator", os.path.join(tiny, "discriminator.yaml"), 4, 3)
    op_conv("op_conv", 2, 3, 7, 6, 4, 3, 3, (1, 1), (1, 1), (1, 1), 1, True, 10)
    op_conv("op_conv_s2", 2, 4, 9, 8, 6, 3, 2, (2, 1), (1, 0), (1, 1), 1, False, 11)
    op_conv("op_conv_dil_grp", 1, 4, 8, 8, 6, 3, 3, (1, 2), (2, 1), (2, 1), 2, True, 12)
    op_convt("op_convt", 2, 3, 4, 5, 4, 4, 4, (2, 2), (1, 1), (0, 0), (1, 1), 1, True, 20)
    op_convt("op_convt_opad", 1, 4, 3, 3, 6, 3, 3, (2, 2), (1, 0), (1, 1), (1, 1), 2, False, 21)
    op_bn(30)
    op_pool("op_maxpool", "max", 2, 3, 7, 7, 3, 3, (2, 2), (1, 1), 40)
    op_pool("op_avgpool", "avg", 2, 3, 6, 7, 3, 2, (2, 1), (1, 0), 41)
    op_upsample(50)
    op_linear_gap(60)
    op_losses(70)
    op_adamw(80)
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print("total %d bytes" % total)
    return 0


if __name__ == "__main__":
    sys.exit(main())
