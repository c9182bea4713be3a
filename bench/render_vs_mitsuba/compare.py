#!/usr/bin/env python3
"""compare.py: tryon's path tracer against Mitsuba 3 on the same scenes (issue 5).

Driven by run.sh (which makes the venv with mitsuba + numpy and builds scene_render).
Steps:
  1. scenes: writes the Cornell-like room (OBJ quads + JSON) here, and asks
     `scene_render assets` for the body and the dressed body in the studio (OBJ + JSON);
     one scene JSON is the single source for both renderers.
  2. agreement: each scene rendered at high spp by tryon (two seeds, for the noise floor)
     and by Mitsuba llvm_ad_rgb; the images are compared (metric below) and written as
     tone-mapped PNGs side by side (tryon | Mitsuba | 8x |difference|).
  3. timing: on one scene, tryon and both Mitsuba variants (scalar_rgb, llvm_ad_rgb) on
     2 threads render a ladder of spp; median of REPS timed runs after one warm-up; RMSE
     of each rung against a converged reference; time to reach Mitsuba-llvm's 64-spp RMSE.
  4. prints a table and writes RESULTS.md.

Conventions (both sides, see README.md): tryon max_depth d = number of surface hits ->
Mitsuba path max_depth d+1 (Mitsuba counts path vertices after the camera, emitter
included: max_depth 2 = direct light only); Mitsuba rr_depth = max_depth+1 for the
agreement renders (no Russian roulette, tryon's own RR after 3 bounces is unbiased), and
its default (5) for the timings; box pixel filter; twosided diffuse BSDFs; lights are
one-sided `rectangle` shapes with an `area` emitter and a black diffuse BSDF; textures are
8-bit sRGB PNGs decoded with the sRGB curve on both sides (Mitsuba bitmap raw=false,
bilinear, clamp; tryon img8_to_linear, bilinear clamp); OBJ uv (0,0) = image bottom-left on
both sides (Mitsuba's OBJ loader flips v, its bitmaps start at the top row). Meshes without
normals use face normals on both sides (Mitsuba face_normals=true).

Metric: each linear RGB image is box-downsampled by BLOCK x BLOCK pixels; mask = blocks with
no pixel on a light (reference fine pixel below half the smallest light radiance) and
channel value above 1e-3 x the image mean; MRE = mean over masked block-channels of
|tryon - mitsuba| / mitsuba. Also: RMSE at full resolution, and the relative error of the
mean (masked, downsampled) brightness.
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import time
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_PASS = 256  # most spp Mitsuba renders in one call
ENV_UP = 8  # environment map upsampling for Mitsuba (see mitsuba_dict)


# ----- files -----------------------------------------------------------------------------
def read_pfm(path):
    with open(path, "rb") as f:
        assert f.readline().strip() == b"PF"
        w, h = map(int, f.readline().split())
        scale = float(f.readline())
        data = np.frombuffer(f.read(), dtype="<f4" if scale < 0 else ">f4")
    return data.reshape(h, w, 3)[::-1].astype(np.float64)


def write_pfm(path, img):
    h, w, _ = img.shape
    with open(path, "wb") as f:
        f.write(b"PF\n%d %d\n-1.0\n" % (w, h))
        f.write(np.ascontiguousarray(img[::-1], dtype="<f4").tobytes())


def write_png(path, rgb8):
    h, w, _ = rgb8.shape
    raw = b"".join(b"\x00" + rgb8[y].tobytes() for y in range(h))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def tonemap8(x):
    """raytrace's tone curve (identity to 0.6, rational shoulder above), then sRGB 8-bit."""
    x = np.nan_to_num(np.maximum(x, 0.0))
    t = x - 0.6
    y = np.where(x <= 0.6, x, 0.6 + 0.4 * t / (np.maximum(t, 0) + 0.4))
    s = np.where(y <= 0.0031308, 12.92 * y, 1.055 * np.power(np.clip(y, 0, 1), 1 / 2.4) - 0.055)
    return np.clip(np.round(s * 255), 0, 255).astype(np.uint8)


# ----- the Cornell-like room -------------------------------------------------------------
def write_obj(path, quads):
    """quads: list of 4-corner lists (counter-clockwise seen from the lit side)."""
    with open(path, "w") as f:
        for q in quads:
            for p in q:
                f.write("v %.6f %.6f %.6f\n" % tuple(p))
        for i in range(len(quads)):
            b = 4 * i + 1
            f.write("f %d %d %d %d\n" % (b, b + 1, b + 2, b + 3))


def box_quads(cx, cz, sx, sy, sz, angle_deg):
    """An axis box on the floor (y = 0), rotated about y by angle: its 5 visible faces."""
    a = np.radians(angle_deg)
    R = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])

    def P(x, y, z):
        return list(R @ np.array([x * sx / 2, y * sy, z * sz / 2]) + np.array([cx, 0, cz]))

    return [[P(-1, 1, -1), P(-1, 1, 1), P(1, 1, 1), P(1, 1, -1)],   # top
            [P(-1, 0, 1), P(1, 0, 1), P(1, 1, 1), P(-1, 1, 1)],     # +z
            [P(1, 0, -1), P(-1, 0, -1), P(-1, 1, -1), P(1, 1, -1)], # -z
            [P(1, 0, 1), P(1, 0, -1), P(1, 1, -1), P(1, 1, 1)],     # +x
            [P(-1, 0, -1), P(-1, 0, 1), P(-1, 1, 1), P(-1, 1, -1)]] # -x


def make_cornell(d, res):
    """A 1 m room (x -0.5..0.5, y 0..1, z -0.5..0.5), open towards +z, red left wall, green
    right wall, a tall and a short box, one square ceiling light facing down."""
    os.makedirs(d, exist_ok=True)
    x0, x1, y1, z0, z1 = -0.5, 0.5, 1.0, -0.5, 0.5
    write_obj(os.path.join(d, "white.obj"), [
        [[x0, 0, z1], [x1, 0, z1], [x1, 0, z0], [x0, 0, z0]],      # floor
        [[x0, y1, z0], [x1, y1, z0], [x1, y1, z1], [x0, y1, z1]],  # ceiling
        [[x0, 0, z0], [x1, 0, z0], [x1, y1, z0], [x0, y1, z0]]])   # back wall
    write_obj(os.path.join(d, "red.obj"), [[[x0, 0, z1], [x0, 0, z0], [x0, y1, z0], [x0, y1, z1]]])
    write_obj(os.path.join(d, "green.obj"), [[[x1, 0, z0], [x1, 0, z1], [x1, y1, z1], [x1, y1, z0]]])
    write_obj(os.path.join(d, "boxes.obj"), box_quads(-0.17, -0.15, 0.28, 0.6, 0.28, 20) +
              box_quads(0.18, 0.12, 0.28, 0.3, 0.28, -18))
    s = 0.24  # light side; 1 cm under the ceiling; emits downwards: cross(edge_u, edge_v) = -y
    scene = {
        "name": "cornell",
        "camera": {"eye": [0, 0.5, 1.9], "target": [0, 0.5, 0], "up": [0, 1, 0], "vfov_deg": 38.0,
                   "width": res, "height": res},
        "meshes": [{"obj": "white.obj", "albedo": [0.73, 0.73, 0.73]},
                   {"obj": "red.obj", "albedo": [0.63, 0.065, 0.05]},
                   {"obj": "green.obj", "albedo": [0.14, 0.45, 0.09]},
                   {"obj": "boxes.obj", "albedo": [0.73, 0.73, 0.73], "subject": True}],
        "lights": [{"corner": [-s / 2, y1 - 0.01, -s / 2], "edge_u": [s, 0, 0], "edge_v": [0, 0, s],
                    "radiance": [17.0, 12.0, 4.0]}],
    }
    path = os.path.join(d, "cornell.json")
    with open(path, "w") as f:
        json.dump(scene, f, indent=1)
    return path


# ----- Mitsuba ---------------------------------------------------------------------------
def mitsuba_dict(mi, scene_path, spp, depth, rr_depth, sampler):
    sc = json.load(open(scene_path))
    d = os.path.dirname(os.path.abspath(scene_path))
    cam = sc["camera"]
    T = mi.ScalarTransform4f
    out = {
        "type": "scene",
        "integrator": {"type": "path", "max_depth": depth + 1, "rr_depth": rr_depth, "hide_emitters": False},
        "sensor": {
            "type": "perspective", "fov_axis": "y", "fov": cam["vfov_deg"],
            "to_world": T().look_at(origin=cam["eye"], target=cam["target"], up=cam["up"]),
            "film": {"type": "hdrfilm", "width": cam["width"], "height": cam["height"],
                     "rfilter": {"type": "box"}, "pixel_format": "rgb", "component_format": "float32"},
            "sampler": {"type": sampler, "sample_count": spp},
        },
    }
    for i, m in enumerate(sc["meshes"]):
        has_vn = any(line.startswith("vn ") for line in open(os.path.join(d, m["obj"])))
        if "texture" in m:
            refl = {"type": "bitmap", "filename": os.path.join(d, m["texture"]), "filter_type": "bilinear",
                    "wrap_mode": "clamp", "raw": False}
        else:
            refl = {"type": "rgb", "value": m["albedo"]}
        out["mesh%d" % i] = {"type": "obj", "filename": os.path.join(d, m["obj"]), "face_normals": not has_vn,
                             "bsdf": {"type": "twosided", "bsdf": {"type": "diffuse", "reflectance": refl}}}
    for i, l in enumerate(sc["lights"]):
        c, u, v = (np.array(l[k], dtype=np.float64) for k in ("corner", "edge_u", "edge_v"))
        n = np.cross(u, v)
        n /= np.linalg.norm(n)
        M = np.eye(4)
        M[:3, 0], M[:3, 1], M[:3, 2], M[:3, 3] = u / 2, v / 2, n, c + (u + v) / 2
        out["light%d" % i] = {"type": "rectangle", "to_world": T(M.tolist()),
                              "emitter": {"type": "area", "radiance": {"type": "rgb", "value": l["radiance"]}},
                              "bsdf": {"type": "diffuse", "reflectance": {"type": "rgb", "value": [0, 0, 0]}}}
    if "env" in sc:
        # tryon: u = 0.5 + atan2(x, -z) / 2pi, nearest pixel; Mitsuba's envmap: u = atan2(x, -z) / 2pi,
        # bilinear. Roll by half the width, then repeat each pixel ENV_UP x ENV_UP times so the
        # bilinear blend only touches a thin seam of each (piecewise-constant) tryon pixel.
        env = read_pfm(os.path.join(d, sc["env"]["pfm"]))
        env = np.roll(env, -env.shape[1] // 2, axis=1)
        env = np.repeat(np.repeat(env, ENV_UP, axis=0), ENV_UP, axis=1).astype(np.float32)
        out["env"] = {"type": "envmap", "bitmap": mi.Bitmap(env), "scale": float(sc["env"].get("scale", 1.0))}
    return out


def cmd_mitsuba(a):
    """Child process: one Mitsuba variant renders a spp list; JSON lines on stdout."""
    import mitsuba as mi
    mi.set_variant(a.variant)
    import drjit as dr
    dr.set_thread_count(a.threads)
    mi.set_log_level(mi.LogLevel.Error)
    spps = [int(s) for s in a.spp.split(",")]
    assert all(s <= MAX_PASS or s % MAX_PASS == 0 for s in spps), "spp above MAX_PASS must be a multiple of it"
    t0 = time.perf_counter()
    scene = mi.load_dict(mitsuba_dict(mi, a.scene, spps[0], a.depth, a.rr_depth, a.sampler))
    build_s = time.perf_counter() - t0
    for spp in spps:
        img = None
        for r in range(a.warmup + a.repeat):
            c0, t0 = time.process_time(), time.perf_counter()
            # llvm renders all samples as one wavefront: above MAX_PASS spp, average passes
            # of MAX_PASS spp with distinct seeds (memory); timed ladders stay below it
            npass = (spp + MAX_PASS - 1) // MAX_PASS
            img = sum(np.array(mi.render(scene, spp=spp // npass, seed=a.seed * 1000 + i), dtype=np.float64)
                      for i in range(npass)) / npass
            t = time.perf_counter() - t0
            cpu = time.process_time() - c0
            if r >= a.warmup:
                print(json.dumps({"renderer": "mitsuba-" + a.variant, "spp": spp, "rep": r - a.warmup,
                                  "seconds": t, "cpu_s": cpu, "build_s": build_s}), flush=True)
        write_pfm("%s_spp%d.pfm" % (a.out, spp), img.astype(np.float32))


# ----- running both ----------------------------------------------------------------------
class Runner:
    def __init__(self, a):
        self.a = a
        self.py = sys.executable

    def run(self, cmd):
        r = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
        if r.returncode != 0:
            sys.exit("failed: %s" % " ".join(cmd))
        # Mitsuba's log may share a line with a row (colour codes): parse from the first '{'
        return [json.loads(l[l.index("{"):]) for l in r.stdout.splitlines() if "{\"renderer\"" in l or
                l.startswith("{")]

    def tryon(self, scene, spps, out, seed=1, repeat=1, warmup=0):
        return self.run([self.a.bin, "render", scene, "--spp", ",".join(map(str, spps)), "--depth",
                         str(self.a.depth), "--seed", str(seed), "--threads", str(self.a.threads), "--repeat",
                         str(repeat), "--warmup", str(warmup), "--out", out])

    def mitsuba(self, variant, scene, spps, out, seed=1, repeat=1, warmup=0, rr_depth=None, sampler="independent"):
        return self.run([self.py, os.path.abspath(__file__), "mitsuba", "--variant", variant, "--scene", scene,
                         "--spp", ",".join(map(str, spps)), "--depth", str(self.a.depth), "--rr-depth",
                         str(rr_depth if rr_depth is not None else self.a.depth + 2), "--seed", str(seed),
                         "--threads", str(self.a.threads), "--repeat", str(repeat), "--warmup", str(warmup),
                         "--sampler", sampler, "--out", out])


def downsample(img, b):
    h, w, c = img.shape
    h2, w2 = h // b, w // b
    return img[:h2 * b, :w2 * b].reshape(h2, b, w2, b, c).mean(axis=(1, 3))


def compare(test, ref, light_min, block):
    """MRE (masked, downsampled), RMSE (full res), mean-brightness error; see the header."""
    on_light = downsample((ref.max(axis=2, keepdims=True) >= 0.5 * light_min).astype(np.float64), block) > 0
    t, r = downsample(test, block), downsample(ref, block)
    mask = (r > 1e-3 * r.mean()) & ~on_light
    mre = float(np.mean(np.abs(t[mask] - r[mask]) / r[mask]))
    rmse = float(np.sqrt(np.mean((test - ref) ** 2)))
    mean_err = float(t[mask].sum() / r[mask].sum() - 1.0)
    return {"mre": mre, "rmse": rmse, "mean_err": mean_err, "mask_frac": float(mask.mean())}


def median_times(rows, key="seconds"):
    by = {}
    for r in rows:
        by.setdefault(r["spp"], []).append(r[key])
    return {s: float(np.median(v)) for s, v in by.items()}


def time_to_rmse(ladder, target):
    """ladder: list of (seconds, rmse) by increasing spp; log-log interpolation."""
    pts = sorted(ladder)
    for (t0, e0), (t1, e1) in zip(pts, pts[1:]):
        if e0 >= target >= e1:
            f = (np.log(e0) - np.log(target)) / (np.log(e0) - np.log(e1))
            return float(np.exp(np.log(t0) + f * (np.log(t1) - np.log(t0))))
    if pts and target >= pts[0][1]:
        return pts[0][0] * (pts[0][1] / target) ** 2  # below the first rung: rmse ~ t^-1/2
    return float("nan")


def light_min(scene_path):
    return min(min(l["radiance"]) for l in json.load(open(scene_path))["lights"])


def side_by_side(path, a, b):
    d = np.abs(a - b) * 8
    gap = np.full((a.shape[0], 2, 3), 255, np.uint8)
    write_png(path, np.concatenate([tonemap8(a), gap, tonemap8(b), gap, tonemap8(d)], axis=1))


def main_run(a):
    R = Runner(a)
    work = os.path.abspath(a.work)
    os.makedirs(work, exist_ok=True)
    img_dir = os.path.join(HERE, "images") if a.images_in_repo else os.path.join(work, "images")
    os.makedirs(img_dir, exist_ok=True)
    scenes = {"cornell": make_cornell(os.path.join(work, "cornell"), 128)}
    adir = os.path.join(work, "assets")
    subprocess.run([a.bin, "assets", adir], check=True, stdout=subprocess.DEVNULL)
    chk = R.run([a.bin, "studio-check", adir])[0]
    scenes["body"] = os.path.join(adir, "studio_body.json")
    scenes["dressed"] = os.path.join(adir, "studio_dressed.json")
    only = a.scenes.split(",")
    old_path = os.path.join(work, "report.json")
    old_timing = json.load(open(old_path)).get("timing", {}) if a.reuse and os.path.exists(old_path) else {}
    for tm in old_timing.values():  # JSON made the spp keys strings
        for r in tm["renderers"].values():
            r["seconds"] = {int(k): v for k, v in r["seconds"].items()}
            r["rmse"] = {int(k): v for k, v in r["rmse"].items()}
    if not a.rev:
        a.rev = os.popen("git -C '%s' log -1 --format='%%h %%s' 2>/dev/null" % HERE).read().strip()[:72]
    mver = subprocess.run([sys.executable, "-c", "import mitsuba; print(mitsuba.__version__)"],
                          stdout=subprocess.PIPE, text=True).stdout.strip()
    report = {"uptime_start": os.popen("uptime").read().strip(), "studio_check": chk, "agree": {}, "timing": {},
              "args": vars(a), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "mitsuba": mver}

    # --- agreement at high spp ---
    for name in only:
        sp = scenes[name]
        o = os.path.join(work, name)
        hi = dict((k, int(v)) for k, v in (x.split("=") for x in a.hi_spp_for.split(",") if x)).get(name, a.hi_spp)
        t0 = time.time()
        todo = [(R.tryon, (sp, [hi], o + "_tryon_s1"), {"seed": 1}),
                (R.tryon, (sp, [hi], o + "_tryon_s2"), {"seed": 2}),
                (R.mitsuba, ("llvm_ad_rgb", sp, [hi], o + "_mts_llvm"), {"seed": 1}),
                (R.mitsuba, ("llvm_ad_rgb", sp, [hi], o + "_mts_llvm_s2"), {"seed": 2})]
        for fn, args, kw in todo:
            if not (a.reuse and os.path.exists("%s_spp%d.pfm" % (args[-1], hi))):
                fn(*args, **kw)
        t1 = read_pfm("%s_tryon_s1_spp%d.pfm" % (o, hi))
        t2 = read_pfm("%s_tryon_s2_spp%d.pfm" % (o, hi))
        m = read_pfm("%s_mts_llvm_spp%d.pfm" % (o, hi))
        m2 = read_pfm("%s_mts_llvm_s2_spp%d.pfm" % (o, hi))
        lm = light_min(sp)
        tryon_avg = 0.5 * (t1 + t2)
        res = {"spp": hi, "tryon_vs_mitsuba": compare(t1, m, lm, a.block),
               "tryon2_vs_mitsuba": compare(tryon_avg, m, lm, a.block),
               "noise_floor_tryon_s1_vs_s2": compare(t1, t2, lm, a.block),
               "noise_floor_mitsuba_s1_vs_s2": compare(m, m2, lm, a.block),
               "mitsuba2_vs_tryon2": compare(tryon_avg, 0.5 * (m + m2), lm, a.block),
               "seconds": time.time() - t0}
        # MRE that noise alone gives for one tryon image against one Mitsuba image: each
        # seed-vs-seed floor holds twice its renderer's variance
        res["noise_expected"] = float(np.sqrt(0.5 * (res["noise_floor_tryon_s1_vs_s2"]["mre"] ** 2 +
                                                     res["noise_floor_mitsuba_s1_vs_s2"]["mre"] ** 2)))
        report["agree"][name] = res
        side_by_side(os.path.join(img_dir, name + "_tryon_mitsuba_diff8.png"), t1, m)
        print("%-8s spp %5d  MRE %.4f (noise alone %.4f; 2+2 seeds %.4f)  "
              "mean %+.4f  RMSE %.4g  mask %.2f" % (name, hi, res["tryon_vs_mitsuba"]["mre"],
                                                     res["noise_expected"],
                                                     res["mitsuba2_vs_tryon2"]["mre"],
                                                     res["tryon_vs_mitsuba"]["mean_err"],
                                                     res["tryon_vs_mitsuba"]["rmse"],
                                                     res["tryon_vs_mitsuba"]["mask_frac"]), flush=True)
        if a.reuse and name in old_timing:
            report["timing"][name] = old_timing[name]
        elif not a.skip_timing and name in a.timing_scenes.split(","):
            report["timing"][name] = timing(R, a, sp, o, tryon_avg, 0.5 * (m + m2), hi)
    report["uptime_end"] = os.popen("uptime").read().strip()
    with open(os.path.join(work, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    write_results(report, os.path.join(HERE, "RESULTS.md") if a.write_results else os.path.join(work, "RESULTS.md"))


def timing(R, a, sp, o, tryon_hi, mts_hi, hi):
    """Ladder of spp on 2 threads for tryon and both Mitsuba variants; reference = the mean
    of tryon's two high-spp images and of Mitsuba llvm's two (weights 1/2, 1/2)."""
    ref = 0.5 * (tryon_hi + mts_hi)
    ladder = [int(s) for s in a.ladder.split(",")]
    out = {"ladder": ladder, "reps": a.reps, "ref_spp": hi, "uptime": os.popen("uptime").read().strip(), "renderers": {}}
    runs = [("tryon", lambda sp_, spps, p: R.tryon(sp_, spps, p, seed=3, repeat=a.reps, warmup=1)),
            ("mitsuba-llvm_ad_rgb", lambda sp_, spps, p: R.mitsuba("llvm_ad_rgb", sp_, spps, p, seed=3,
                                                                   repeat=a.reps, warmup=1, rr_depth=5)),
            ("mitsuba-scalar_rgb", lambda sp_, spps, p: R.mitsuba("scalar_rgb", sp_, spps, p, seed=3,
                                                                  repeat=a.reps, warmup=1, rr_depth=5)),
            # tryon draws from scrambled (0,2) Sobol points; Mitsuba's closest is ldsampler
            ("mitsuba-llvm_ad_rgb+ldsampler", lambda sp_, spps, p: R.mitsuba("llvm_ad_rgb", sp_, spps, p, seed=3,
                                                                             repeat=a.reps, warmup=1, rr_depth=5,
                                                                             sampler="ldsampler"))]
    for name, fn in runs:
        prefix = "%s_ladder_%s" % (o, name)
        # ldsampler rounds spp up to a square power of two: only those rungs
        lad = [s for s in ladder if s >= 4 and (s & (s - 1)) == 0 and s.bit_length() % 2 == 1] \
            if "ldsampler" in name else ladder
        rows = fn(sp, lad, prefix)
        med = median_times(rows)
        rm = {s: float(np.sqrt(np.mean((read_pfm("%s_spp%d.pfm" % (prefix, s)) - ref) ** 2))) for s in lad}
        cpu = [r["cpu_s"] / r["seconds"] for r in rows if "cpu_s" in r and r["seconds"] > 0.05]
        out["renderers"][name] = {"seconds": med, "rmse": rm, "all": rows, "cpu_s": median_times(rows, "cpu_s"),
                                  "cpu_per_wall": float(np.median(cpu)) if cpu else None}
        print("  %-22s " % name + "  ".join("%d:%.3fs/%.4g" % (s, med[s], rm[s]) for s in lad), flush=True)
    target = out["renderers"]["mitsuba-llvm_ad_rgb"]["rmse"][64] if 64 in ladder else None
    out["target_rmse"] = target
    out["time_to_target"] = {}
    out["cpu_to_target"] = {}
    for name, r in out["renderers"].items():
        out["cpu_to_target"][name] = time_to_rmse([(r["cpu_s"][s], r["rmse"][s]) for s in r["rmse"]], target) \
            if target else float("nan")
        out["time_to_target"][name] = time_to_rmse([(r["seconds"][s], r["rmse"][s]) for s in r["rmse"]], target) \
            if target else float("nan")
    print("  time to Mitsuba-llvm 64-spp RMSE %.4g: " % target +
          "  ".join("%s %.3fs" % kv for kv in out["time_to_target"].items()), flush=True)
    return out


def write_results(rep, path):
    a = rep["args"]
    L = ["# bench/render_vs_mitsuba: tryon's path tracer against Mitsuba 3", "",
         "Written by `bench/render_vs_mitsuba/run.sh` (compare.py) at %s, tryon at `%s`, Mitsuba %s. "
         "Machine load: start `%s`, end `%s`." % (rep["date"], a["rev"], rep["mitsuba"], rep["uptime_start"],
                                                  rep["uptime_end"]), "",
         "Options: `--hi-spp %d --hi-spp-for '%s' --ladder %s --reps %d --depth %d --block %d --threads %d`." % (
             a["hi_spp"], a["hi_spp_for"], a["ladder"], a["reps"], a["depth"], a["block"], a["threads"]), "",
         "Studio mirror check (scene_render studio-check: the exported studio vs rt_scene_add_studio, same "
         "seed): max relative pixel difference %s." % rep["studio_check"]["studio_check_max_rel_diff"], "",
         "## Agreement (tryon max_depth %d = Mitsuba path max_depth %d, no RR on Mitsuba)" %
         (a["depth"], a["depth"] + 1), "",
         "Metric: linear RGB, both images box-downsampled %dx%d; mask = blocks not touching a light and "
         "channel values above 1e-3 x image mean; MRE = mean |tryon - mitsuba| / mitsuba over masked "
         "block-channels. Noise alone = the MRE Monte Carlo noise gives by itself, from the same MRE between "
         "two seeds of each renderer: sqrt((tryon_floor^2 + mitsuba_floor^2) / 2). 2+2 seeds: the mean of two "
         "tryon seeds against the mean of two Mitsuba seeds. RMSE at full resolution. Mean = relative error of "
         "the masked mean brightness (tryon / Mitsuba - 1)." % (a["block"], a["block"]), "",
         "| scene | spp | MRE tryon vs Mitsuba llvm | noise alone | seed floors tryon / Mitsuba | MRE 2+2 seeds | "
         "mean brightness | RMSE | mask |",
         "|---|---|---|---|---|---|---|---|---|"]
    for n, r in rep["agree"].items():
        t = r["tryon_vs_mitsuba"]
        L.append("| %s | %d | %.2f%% | %.2f%% | %.2f%% / %.2f%% | %.2f%% | %+.2f%% | %.4g | %.0f%% |" % (
            n, r["spp"], 100 * t["mre"], 100 * r["noise_expected"], 100 * r["noise_floor_tryon_s1_vs_s2"]["mre"],
            100 * r["noise_floor_mitsuba_s1_vs_s2"]["mre"], 100 * r["mitsuba2_vs_tryon2"]["mre"],
            100 * t["mean_err"], t["rmse"], 100 * t["mask_frac"]))
    for n, tm in rep["timing"].items():
        L += ["", "## Timing on `%s` (%d threads, median of %d after a warm-up; load `%s`)" %
              (n, a["threads"], tm["reps"], tm["uptime"]), "",
              "Render-call wall time in seconds / RMSE against the converged reference (mean of tryon's and "
              "Mitsuba llvm's %d-spp images, two seeds each). Mitsuba: independent sampler, rr_depth 5 (default); tryon: "
              "its own sampler and RR (raytrace.h). Same resolution, spp and depth." % tm["ref_spp"], "",
              "| renderer | " + " | ".join("%d spp" % s for s in tm["ladder"]) + " | CPU/wall |",
              "|---|" + "---|" * (len(tm["ladder"]) + 1)]
        for name, r in tm["renderers"].items():
            L.append("| %s | " % name + " | ".join("%.3f / %.3g" % (r["seconds"][s], r["rmse"][s])
                                                 if s in r["rmse"] else "-" for s in tm["ladder"]) +
                     " | %s |" % ("%.2f" % r["cpu_per_wall"] if r["cpu_per_wall"] else "-"))
        tt = tm["time_to_target"]
        fastest = min(tt["mitsuba-llvm_ad_rgb"], tt["mitsuba-scalar_rgb"])
        best = min(v for k, v in tt.items() if k.startswith("mitsuba"))
        L += ["", "Time to reach Mitsuba llvm's 64-spp RMSE (%.4g), log-log interpolated:" % tm["target_rmse"], ""]
        ct = tm.get("cpu_to_target", {})
        for k, v in tt.items():
            L.append("- %s: %.3f s wall, %.3f s CPU" % (k, v, ct.get(k, float("nan"))))
        L.append("- tryon / faster Mitsuba variant (default independent sampler) = %.2f (goal: at most 0.5)" %
                 (tt["tryon"] / fastest))
        L.append("- tryon / fastest Mitsuba configuration here (incl. ldsampler) = %.2f" % (tt["tryon"] / best))
        if ct:
            L.append("- in CPU time (less sensitive to the shared machine's load): tryon / faster Mitsuba variant = "
                     "%.2f, tryon / fastest configuration = %.2f" % (
                         ct["tryon"] / min(ct["mitsuba-llvm_ad_rgb"], ct["mitsuba-scalar_rgb"]),
                         ct["tryon"] / min(v for k, v in ct.items() if k.startswith("mitsuba"))))
    with open(path, "w") as f:
        f.write("\n".join(L) + "\n")
    print("wrote", path)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("mitsuba")
    m.add_argument("--variant", required=True)
    m.add_argument("--scene", required=True)
    m.add_argument("--spp", required=True)
    m.add_argument("--depth", type=int, default=6)
    m.add_argument("--rr-depth", type=int, default=5)
    m.add_argument("--seed", type=int, default=1)
    m.add_argument("--threads", type=int, default=2)
    m.add_argument("--repeat", type=int, default=1)
    m.add_argument("--warmup", type=int, default=0)
    m.add_argument("--sampler", default="independent")
    m.add_argument("--out", required=True)
    r = sub.add_parser("run")
    r.add_argument("--bin", required=True, help="the scene_render executable")
    r.add_argument("--work", required=True, help="output folder (scenes, PFMs, report.json)")
    r.add_argument("--scenes", default="cornell,body,dressed")
    r.add_argument("--timing-scenes", default="dressed")
    r.add_argument("--hi-spp", type=int, default=4096)
    r.add_argument("--depth", type=int, default=6, help="tryon max_depth (Mitsuba max_depth = this + 1)")
    r.add_argument("--block", type=int, default=4)
    r.add_argument("--threads", type=int, default=2)
    r.add_argument("--ladder", default="1,2,4,8,16,32,64,128,256")
    r.add_argument("--reps", type=int, default=3)
    r.add_argument("--skip-timing", action="store_true")
    r.add_argument("--reuse", action="store_true", help="keep high-spp images (and the timing of a scene) already in --work")
    r.add_argument("--hi-spp-for", default="", help="per-scene high spp, e.g. dressed=2048")
    r.add_argument("--write-results", action="store_true", help="write bench/render_vs_mitsuba/RESULTS.md")
    r.add_argument("--images-in-repo", action="store_true", help="PNGs into bench/render_vs_mitsuba/images")
    r.add_argument("--rev", default="", help="what tryon revision this is (default: git log -1 of this folder)")
    a = p.parse_args()
    if a.cmd == "mitsuba":
        cmd_mitsuba(a)
    else:
        main_run(a)


if __name__ == "__main__":
    main()
