#!/usr/bin/env python3
"""compare.py: PSNR and SSIM of rendered, denoised and peer-denoised crops against a reference.

    compare.py WORK_DIR > table.md

WORK_DIR/<crop>/ holds ref.radiance.pfm (the 4096-spp reference) and, per input <in> (an spp
count or "adaptive"), <in>.radiance.pfm (the render as it came out), <in>.ours.pfm (our
denoiser), <in>.oidn.pfm (Open Image Denoise) and <in>.spp.pfm. Every image is compared as the catalog PNG
shows it: the renderer's tone curve (raytrace/film.c: identity to 0.6, then 0.6 + 0.4 t /
(t + 0.4)), sRGB, 8-bit. PSNR over the RGB channels (peak 255); SSIM (Wang et al. 2004,
Gaussian window sigma 1.5, K1 0.01, K2 0.03) on Rec. 709 luma. Prints one Markdown table row
per crop and input, then the mean over the crops per input.
"""
import os
import sys

import numpy as np


def read_pfm(path):
    with open(path, "rb") as f:
        tag = f.readline().strip()
        w, h = map(int, f.readline().split())
        scale = float(f.readline())
        c = 3 if tag == b"PF" else 1
        data = np.frombuffer(f.read(), dtype="<f4" if scale < 0 else ">f4", count=w * h * c)
    return data.reshape(h, w, c)[::-1].astype(np.float64)


def display8(rad):
    x = np.where(rad > 0, rad, 0.0)
    t = x - 0.6
    tone = np.where(x <= 0.6, x, 0.6 + 0.4 * t / (t + 0.4))
    tone = np.clip(tone, 0.0, 1.0)
    srgb = np.where(tone <= 0.0031308, 12.92 * tone, 1.055 * np.power(tone, 1 / 2.4) - 0.055)
    return np.floor(np.clip(srgb, 0, 1) * 255.0 + 0.5)


def psnr(a, b):
    mse = np.mean((a - b) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def gauss_filter(img, sigma=1.5, radius=5):
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    k /= k.sum()
    out = np.apply_along_axis(lambda r: np.convolve(r, k, mode="valid"), 1, img)
    return np.apply_along_axis(lambda c: np.convolve(c, k, mode="valid"), 0, out)


def ssim(a, b):
    la = a @ np.array([0.2126, 0.7152, 0.0722])
    lb = b @ np.array([0.2126, 0.7152, 0.0722])
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_a, mu_b = gauss_filter(la), gauss_filter(lb)
    saa = gauss_filter(la * la) - mu_a ** 2
    sbb = gauss_filter(lb * lb) - mu_b ** 2
    sab = gauss_filter(la * lb) - mu_a * mu_b
    m = ((2 * mu_a * mu_b + c1) * (2 * sab + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (saa + sbb + c2))
    return float(m.mean())


def main():
    work = sys.argv[1]
    crops = sorted(d for d in os.listdir(work) if os.path.isfile(os.path.join(work, d, "ref.radiance.pfm")))
    order = lambda s: (s == "adaptive", int(s) if s.isdigit() else 0)
    rows, per_input = [], {}
    print("| crop | input | spp (mean) | PSNR raw | PSNR ours | PSNR OIDN | SSIM raw | SSIM ours | SSIM OIDN |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for crop in crops:
        d = os.path.join(work, crop)
        ref = display8(read_pfm(os.path.join(d, "ref.radiance.pfm")))
        inputs = sorted({f.split(".")[0] for f in os.listdir(d) if f.endswith(".ours.pfm")}, key=order)
        for inp in inputs:
            spp = read_pfm(os.path.join(d, inp + ".spp.pfm")).mean()
            vals = []
            for kind in ("radiance", "ours", "oidn"):
                img = display8(read_pfm(os.path.join(d, f"{inp}.{kind}.pfm")))
                vals.append((psnr(img, ref), ssim(img, ref)))
            per_input.setdefault(inp, []).append((spp, vals))
            print(f"| {crop} | {inp} | {spp:.1f} | " + " | ".join(f"{v[0]:.2f}" for v in vals) + " | "
                  + " | ".join(f"{v[1]:.4f}" for v in vals) + " |")
    print()
    print("Mean over the crops:")
    print()
    print("| input | spp (mean) | PSNR raw | PSNR ours | PSNR OIDN | SSIM raw | SSIM ours | SSIM OIDN |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for inp in sorted(per_input, key=order):
        rs = per_input[inp]
        spp = np.mean([r[0] for r in rs])
        m = [[np.mean([r[1][k][j] for r in rs]) for k in range(3)] for j in range(2)]
        print(f"| {inp} | {spp:.1f} | " + " | ".join(f"{x:.2f}" for x in m[0]) + " | "
              + " | ".join(f"{x:.4f}" for x in m[1]) + " |")


if __name__ == "__main__":
    main()
