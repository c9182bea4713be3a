#!/usr/bin/env python3
"""synth_tests.py: end-to-end tests of `tryon synth` (ctest runs one per case).

usage: synth_tests.py CASE TRYON CONFIG_DIR WORK_DIR

The cases synthesise a small config (3 persons, 3 garments, written by this script) at a
tiny size (test_worker_synth checks configs/synth/demo.yaml's content):
  mpi        -np 2 writes the same bytes as -np 1 (every PNG, truth.jsonl, truth.json,
             catalog.yaml); the index files list every image once, in index order, and
             the catalog passes `tryon check`; truth has measurements and landmarks
  resume     images deleted after a complete run are rendered again, the others are
             skipped (files untouched), and the result equals the uninterrupted run
  badconfig  bad configs fail with exit code 2 naming file:line, before rendering anything
  shards     shard mode (training data): -np 2 writes the same shard files and index.json as
             -np 1; shapes, counts, targets and metadata are consistent; the network input
             is letterboxed (mask inside, RGB zero outside the subject); a lost shard is
             rendered again, the others skipped, and the result equals the first run
  denoise    denoise mode (the denoiser's data): -np 2 writes the same shards as -np 1;
             10 x C x C inputs, 3 x C x C clean targets, the spp column; per window the
             inputs' sample counts are the listed ones then an adaptive count between 4 and
             64; the clean target is smoother than the 2-spp input (its mean absolute
             difference between neighbouring pixels is lower); bad denoise keys name
             file:line and denoise without shards is refused
Only the Python standard library is used.
"""
import hashlib
import json
import os
import shutil
import sys

from farm_tests import check, mpirun, run  # the shared harness helpers (same folder)

TINY = ["--size", "48x72", "--spp", "2", "--quiet"]


def tree_hashes(out):
    """sha256 of every file under out except the per-image truth/ parts, by relative path."""
    h = {}
    for root, _, files in os.walk(out):
        for f in files:
            path = os.path.join(root, f)
            rel = os.path.relpath(path, out)
            if not rel.startswith("truth" + os.sep):
                h[rel] = hashlib.sha256(open(path, "rb").read()).hexdigest()
    return h


def synth(tryon, cfg, out, n=1):
    cmd = [tryon, "synth", cfg, "--out", out] + TINY
    return run(mpirun(n, cmd) if n > 1 else cmd, 0)


SMALL = """seed: 3
persons:
  count: 3
  ids: [ann, bo, cy]
  alpha: 0.5
  height_hint: 0.5
garments:
  count: 3
  ids: [g-tee, g-skirt, g-jeans]
  types: [t-shirt, skirt, trousers]
  prints: [stripes, dots, logo]
  type_hint: 0.5
"""


def small_config(work):
    path = os.path.join(work, "small.yaml")
    open(path, "w").write(SMALL)
    return path


def case_mpi(tryon, cfgdir, work):
    cfg = small_config(work)
    hashes = {}
    for n in (1, 2):
        out = os.path.join(work, f"np{n}")
        shutil.rmtree(out, ignore_errors=True)
        synth(tryon, cfg, out, n)
        hashes[n] = tree_hashes(out)
    check(hashes[1] == hashes[2], "-np 1 and -np 2 write the same bytes: " +
          str(sorted(k for k in hashes[1] if hashes[1].get(k) != hashes[2].get(k))))
    check(len(hashes[1]) == 3 + 3 + 3, "6 PNGs and 3 index files: " + str(sorted(hashes[1])))
    out = os.path.join(work, "np1")
    lines = [json.loads(l) for l in open(os.path.join(out, "truth.jsonl")) if l.strip()]
    check([r["index"] for r in lines] == list(range(6)), "truth.jsonl lists images 0..5 in order")
    check([r["kind"] for r in lines] == ["person"] * 3 + ["garment"] * 3, "3 persons then 3 garments")
    for r in lines:
        check(os.path.exists(os.path.join(out, r["file"])), f"{r['file']} exists")
    check([g["print"]["kind"] for g in lines[3:]] == ["stripes", "dots", "logo"], "prints in turn")
    check([g["type"] for g in lines[3:]] == ["t-shirt", "skirt", "trousers"], "types in turn")
    for r in lines[:3]:
        check(set(r["measurements_cm"]) >= {"height", "chest", "waist", "hip"}, "person truth has measurements")
        check(abs(r["measurements_cm"]["height"] - 100 * r["stature_m"]) < 2, "measured height ~ stature")
    for g in lines[3:]:
        check(len(g["landmarks"]) >= 3, f"{g['id']}: landmarks in the truth")
        w, h = g["camera"]["width"], g["camera"]["height"]
        for name, (x, y) in g["landmarks"].items():
            check(0 <= x <= w and 0 <= y <= h, f"{g['id']} {name} inside the photo")
    truth = json.load(open(os.path.join(out, "truth.json")))
    check([p["id"] for p in truth["persons"]] == ["ann", "bo", "cy"], "truth.json persons")
    check(len(truth["garments"]) == 3, "truth.json garments")
    # the files and the catalog's structure: the tiny 48x72 photos here show a head a few
    # pixels wide, too small to read as persons (`tryon check` without --files-only says so)
    p = run([tryon, "check", os.path.join(out, "catalog.yaml"), "--files-only"], 0)
    check("9 pairs, 0 problems" in p.stdout, "the written catalog checks: " + p.stdout)


def case_resume(tryon, cfgdir, work):
    cfg = small_config(work)
    ref = os.path.join(work, "ref")
    shutil.rmtree(ref, ignore_errors=True)
    synth(tryon, cfg, ref)
    out = os.path.join(work, "resume")
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(ref, out)
    # lose two images (a person's PNG, a garment's truth part) and an index file
    os.remove(os.path.join(out, "persons", "bo.png"))
    os.remove(os.path.join(out, "truth", "g-skirt.json"))
    os.remove(os.path.join(out, "truth.jsonl"))
    kept = os.path.join(out, "persons", "ann.png")
    os.utime(kept, (1000000000, 1000000000))
    p = run([tryon, "synth", cfg, "--out", out] + TINY[:-1], 0)
    check("persons/bo.png\n" in p.stdout and "garments/g-skirt.png\n" in p.stdout,
          "the two lost images are rendered again: " + p.stdout)
    check("persons/ann.png (done)" in p.stdout, "a complete image is skipped: " + p.stdout)
    check(os.stat(kept).st_mtime == 1000000000, "a skipped image is not rewritten")
    check(tree_hashes(out) == tree_hashes(ref), "the resumed folder equals the uninterrupted run")


def case_badconfig(tryon, cfgdir, work):
    os.makedirs(work, exist_ok=True)
    cases = [
        ("seed: 1\npersons:\n  count: 2\ngarments:\n  count: 2\n  colour: red\n", ":6: unknown key 'colour'"),
        ("seed: 1\npersons:\n  count: 2\n  weight: [0.2, 3]\ngarments:\n  count: 2\n", ":4:"),
        ("seed: 1\npersons:\n  count: 2\ngarments:\n  count: 1\n  prints: [plaid]\n", ":6: unknown print 'plaid'"),
        ("seed: 1\npersons: [\n", "bad.yaml:"),
    ]
    for text, needle in cases:
        path = os.path.join(work, "bad.yaml")
        open(path, "w").write(text)
        out = os.path.join(work, "never")
        for cmd in ([tryon, "synth", path, "--out", out] + TINY,
                    mpirun(2, [tryon, "synth", path, "--out", out] + TINY)):
            p = run(cmd, 2)
            check(needle in p.stderr and "bad.yaml" in p.stderr, f"{needle!r} in: {p.stderr}")
        check(not os.path.exists(out), "nothing written for a bad config")
    run([tryon, "synth", "--out", os.path.join(work, "x")], 2)              # no config
    run([tryon, "synth", os.path.join(cfgdir, "demo.yaml")], 2)             # no --out
    run([tryon, "synth", os.path.join(cfgdir, "demo.yaml"), "--out", os.path.join(work, "x"), "--spp", "0"], 2)
    p = run([tryon, "synth", "--help"], 0)
    check("usage: tryon synth" in p.stdout, "synth --help prints its usage")


def read_st(path):
    """A safetensors file: ({name: (dtype, shape, bytes)}, metadata)."""
    b = open(path, "rb").read()
    n = int.from_bytes(b[:8], "little")
    head = json.loads(b[8:8 + n])
    meta = head.pop("__metadata__", {})
    data = b[8 + n:]
    return {k: (v["dtype"], v["shape"], data[v["data_offsets"][0]:v["data_offsets"][1]]) for k, v in head.items()}, meta


def case_shards(tryon, cfgdir, work):
    cfg = os.path.join(work, "shards.yaml")
    open(cfg, "w").write(SMALL + "shards: {size: 2, input: 32}\n")
    hashes = {}
    for n in (1, 2):
        out = os.path.join(work, f"np{n}")
        shutil.rmtree(out, ignore_errors=True)
        synth(tryon, cfg, out, n)
        hashes[n] = tree_hashes(out)
    check(hashes[1] == hashes[2], "-np 1 and -np 2 write the same shards: " +
          str(sorted(k for k in hashes[1] if hashes[1].get(k) != hashes[2].get(k))))
    want = {"index.json", "shards/persons-00000.st", "shards/persons-00001.st", "shards/garments-00000.st",
            "shards/garments-00001.st"}
    check(set(hashes[1]) == want, "four shards and the index, no PNG: " + str(sorted(hashes[1])))
    out = os.path.join(work, "np1")
    index = json.load(open(os.path.join(out, "index.json")))
    check(index["format"] == "tryon-shards-1" and index["input"] == [4, 32, 32], "index format and input shape")
    check(index["kinds"]["persons"]["count"] == 3 and index["kinds"]["garments"]["count"] == 3, "counts")
    check([s["count"] for s in index["shards"]] == [2, 1, 2, 1], "images per shard")
    check(index["kinds"]["garments"]["classes"][:2] == ["t-shirt", "long-sleeve"], "garment classes")
    ids = []
    for s in index["shards"]:
        t, meta = read_st(os.path.join(out, s["file"]))
        n, kind = s["count"], s["kind"]
        T = len(index["kinds"][kind]["targets"])
        check(t["input"][:2] == ("U8", [n, 4, 32, 32]), f"{s['file']}: input {t['input'][:2]}")
        check(t["target"][:2] == ("F32", [n, T]), f"{s['file']}: target {t['target'][:2]}")
        check(("label" in t) == (kind == "garments"), f"{s['file']}: labels only for garments")
        check(meta["kind"] == kind and meta["count"] == str(n) and meta["skipped"] == "", f"{s['file']}: metadata")
        truth = [json.loads(l) for l in meta["truth"].splitlines()]
        ids += [r["id"] for r in truth]
        px = t["input"][2]
        for i in range(n):
            img = px[i * 4 * 1024:(i + 1) * 4 * 1024]
            rgb, mask = img[:3 * 1024], img[3 * 1024:]
            inside = sum(1 for v in mask if v)
            check(20 < inside < 1024 * 0.6, f"{s['file']}[{i}]: the subject covers part of the square ({inside})")
            check(all(mask[y * 32 + x] == 0 for y in range(32) for x in (0, 31) if kind == "persons"),
                  f"{s['file']}[{i}]: letterbox columns outside the 2:3 photo are empty")
            check(all(rgb[c * 1024 + k] == 0 for c in range(3) for k in range(1024) if not mask[k]),
                  f"{s['file']}[{i}]: RGB is zero outside the subject")
        if kind == "garments":
            import struct
            labels = struct.unpack(f"<{n}i", t["label"][2])
            types = [index["kinds"]["garments"]["classes"][k] for k in labels]
            check(types == [r["type"] for r in truth], f"labels are the truth's types: {types}")
    check(ids == ["ann", "bo", "cy", "g-tee", "g-skirt", "g-jeans"], "every image once, in order: " + str(ids))
    # resume: a lost shard is made again, the others are kept
    lost = os.path.join(out, "shards", "persons-00001.st")
    os.remove(lost)
    os.remove(os.path.join(out, "index.json"))
    p = run([tryon, "synth", cfg, "--out", out] + TINY[:-1], 0)
    check("persons-00000.st (done)" in p.stdout and "persons-00001.st (1 images" in p.stdout,
          "only the lost shard is rendered: " + p.stdout)
    check(tree_hashes(out) == hashes[1], "the resumed folder equals the first run")
    bad = os.path.join(work, "bad.yaml")
    open(bad, "w").write(SMALL + "shards: {size: 0}\n")
    p = run([tryon, "synth", bad, "--out", os.path.join(work, "never")] + TINY, 2)
    check("bad.yaml:13:" in p.stderr and "shards.size" in p.stderr, "a bad shard size names file:line: " + p.stderr)


DENOISE = """seed: 9
catalog: false
shards: {size: 2}
denoise: {crop: 16, crops: 2, spp: [2, 8], reference_spp: 32, size: [96, 144]}
persons:
  count: 3
garments:
  count: 0
"""


def case_denoise(tryon, cfgdir, work):
    import struct
    cfg = os.path.join(work, "denoise.yaml")
    open(cfg, "w").write(DENOISE)
    hashes = {}
    for n in (1, 2):
        out = os.path.join(work, f"np{n}")
        shutil.rmtree(out, ignore_errors=True)
        run(mpirun(n, [tryon, "synth", cfg, "--out", out, "--quiet"]) if n > 1 else
            [tryon, "synth", cfg, "--out", out, "--quiet"], 0)
        hashes[n] = tree_hashes(out)
    check(hashes[1] == hashes[2], "-np 1 and -np 2 write the same denoise shards")
    check(set(hashes[1]) == {"index.json", "shards/denoise-00000.st", "shards/denoise-00001.st"},
          "two shards and the index: " + str(sorted(hashes[1])))
    out = os.path.join(work, "np1")
    index = json.load(open(os.path.join(out, "index.json")))
    check(index["input"] == [10, 16, 16] and index["kinds"] == {"denoise": {"count": 18, "targets": ["spp"],
                                                                          "clean": [3, 16, 16]}},
          "index: 10 x 16 x 16 inputs, 3 scenes x 2 windows x 3 inputs: " + json.dumps(index["kinds"]))
    plane = 16 * 16
    for s in index["shards"]:
        t, meta = read_st(os.path.join(out, s["file"]))
        n = s["count"]
        check(t["input"][:2] == ("U8", [n, 10, 16, 16]) and t["clean"][:2] == ("U8", [n, 3, 16, 16]) and
              t["target"][:2] == ("F32", [n, 1]), f"{s['file']}: shapes")
        spp = struct.unpack(f"<{n}f", t["target"][2])
        for w0 in range(0, n, 3):   # one window: 2 spp, 8 spp, adaptive
            check(spp[w0] == 2 and spp[w0 + 1] == 8 and 4 <= spp[w0 + 2] <= 64, f"window spp {spp[w0:w0 + 3]}")
            noisy = t["input"][2][w0 * 10 * plane:w0 * 10 * plane + 3 * plane]
            clean = t["clean"][2][w0 * 3 * plane:(w0 + 1) * 3 * plane]
            tv = lambda img: sum(abs(img[c * plane + y * 16 + x] - img[c * plane + y * 16 + x + 1])
                                 for c in range(3) for y in range(16) for x in range(15))
            check(tv(clean) <= tv(noisy), f"the clean target is smoother than the 2-spp input ({tv(clean)} vs {tv(noisy)})")
    for bad, needle in (("denoise: {crop: 20, spp: [2]}\n", "denoise.crop must be a multiple of 8"),
                        ("denoise: {crop: 16, spp: []}\n", "denoise.spp must list 1 to 8")):
        path = os.path.join(work, "bad.yaml")
        open(path, "w").write(DENOISE.replace(DENOISE.splitlines()[3] + "\n", bad))
        p = run([tryon, "synth", path, "--out", os.path.join(work, "never"), "--quiet"], 2)
        check("bad.yaml:4:" in p.stderr and needle in p.stderr, f"{needle!r} with file:line in: {p.stderr}")
    path = os.path.join(work, "bad.yaml")
    open(path, "w").write(DENOISE.replace("shards: {size: 2}\n", ""))
    p = run([tryon, "synth", path, "--out", os.path.join(work, "never"), "--quiet"], 2)
    check("give 'shards' too" in p.stderr, "denoise without shards is refused: " + p.stderr)


def main():
    case, tryon, cfgdir, work = sys.argv[1:5]
    os.makedirs(work, exist_ok=True)
    globals()["case_" + case](tryon, cfgdir, work)
    print("PASS", case)


if __name__ == "__main__":
    main()
