#!/usr/bin/env python3
"""farm_tests.py: end-to-end tests of `tryon` under mpirun (ctest runs one per case).

usage: farm_tests.py CASE TRYON DEMO_DIR WORK_DIR

Each case renders the demo catalog (configs/demo) at a tiny size and checks the outputs:
  cli          --help/info/check answers and usage errors
  mpi          -np 3: every pair rendered, manifest/summary/contact/index consistent
  determinism  the sha256 of every PNG is equal for -np 1, 2 and 4
  resume       SIGKILL the whole job mid-run, run again: each pair once, bytes as uninterrupted
  badinput     bad catalogs fail up front naming file:line; bad images fail alone
Only the Python standard library is used.
"""
import hashlib
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
import zlib

TINY = ["--size", "40x60", "--spp", "2", "--quiet"]


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def run(cmd, expect=None, timeout=900):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    if expect is not None and p.returncode != expect:
        fail(f"{' '.join(cmd)} exited {p.returncode}, expected {expect}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    return p


def mpirun(n, args):
    return ["mpirun", "-np", str(n), "--oversubscribe", "--bind-to", "none"] + args


def png_size(path):
    """Decode a PNG's chunks fully (CRC and zlib) and return (w, h, channels)."""
    data = open(path, "rb").read()
    check(data[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: not a PNG")
    pos, idat, w = 8, b"", None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
        check(zlib.crc32(kind + body) == crc, f"{path}: bad CRC in {kind}")
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    chans = {0: 1, 2: 3, 6: 4}[ctype]
    raw = zlib.decompress(idat)
    check(len(raw) == h * (1 + w * chans), f"{path}: pixel data has the wrong size")
    return w, h, chans


def manifest(out):
    with open(os.path.join(out, "manifest.jsonl")) as f:
        return [json.loads(line) for line in f if line.strip()]


def demo_pairs(demo):
    truth = json.load(open(os.path.join(demo, "truth.json")))
    return [(p["id"], g["id"]) for p in truth["persons"] for g in truth["garments"]]


def render_hashes(out):
    h = {}
    for rec in manifest(out):
        if rec["status"] == "ok":
            path = os.path.join(out, rec["output"])
            h[(rec["person"], rec["garment"])] = hashlib.sha256(open(path, "rb").read()).hexdigest()
    return h


def case_cli(tryon, demo, work):
    p = run([tryon, "--help"], 0)
    check("render" in p.stdout and "check" in p.stdout, "--help lists the commands")
    for cmd in ("render", "check", "synth", "info"):
        p = run([tryon, cmd, "--help"], 0)
        check("usage: tryon " + cmd in p.stdout, f"{cmd} --help prints its usage")
    p = run([tryon, "info"], 0)
    for word in ("mpi:", "cpu:", "cuda:", "assets:", "present"):
        check(word in p.stdout, f"info mentions {word}")
    p = run([tryon, "check", os.path.join(demo, "catalog.yaml")], 0)
    check("16 pairs, 0 problems" in p.stdout, "check counts the demo pairs: " + p.stdout)
    run([tryon, "nonsense"], 2)
    run([tryon, "render", os.path.join(demo, "catalog.yaml")], 2)   # no --out
    p = run([tryon, "render", os.path.join(demo, "catalog.yaml"), "--out", work, "--preset", "fancy"], 2)
    check("unknown preset 'fancy'" in p.stderr, "an unknown preset is named")


def case_mpi(tryon, demo, work):
    out = os.path.join(work, "np3")
    shutil.rmtree(out, ignore_errors=True)
    p = run(mpirun(3, [tryon, "render", os.path.join(demo, "catalog.yaml"), "--out", out] + TINY), 0)
    check("16 ok, 0 failed" in p.stdout, "summary line: " + p.stdout)
    recs = manifest(out)
    pairs = demo_pairs(demo)
    check([(r["person"], r["garment"]) for r in recs] == pairs, "manifest lists every pair once, in catalog order")
    ranks = set()
    for r in recs:
        check(r["status"] == "ok", f"pair {r['person']}/{r['garment']} ok: {r.get('error')}")
        path = os.path.join(out, r["output"])
        check(png_size(path) == (40, 60, 4), f"{path} is a 40x60 RGBA PNG")
        data = open(path, "rb").read()
        check(hashlib.sha256(data).hexdigest() == r["sha256"] and len(data) == r["bytes"], "checksum in the record")
        check(set(r["seconds"]) >= {"load", "segment", "body", "garment", "render", "encode", "total"}, "stage times")
        ranks.add(r["rank"])
    check(ranks <= {1, 2} and ranks, f"only worker ranks render (saw {ranks})")
    # the estimates against the truth the demo photos were made from
    truth = json.load(open(os.path.join(demo, "truth.json")))
    tp = {p["id"]: p for p in truth["persons"]}
    tg = {g["id"]: g for g in truth["garments"]}
    for r in recs:
        p, g = tp[r["person"]], tg[r["garment"]]
        check(abs(r["body"]["stature_cm"] - 100 * p["stature_m"]) <= 3.0, f"{r['person']}: stature within 3 cm")
        check(abs(r["body"]["phenotype"]["gender"] - p["gender"]) <= 0.25, f"{r['person']}: gender within 0.25")
        check(abs(r["body"]["phenotype"]["weight"] - p["weight"]) <= 0.2, f"{r['person']}: weight within 0.2")
        check(r["body"]["iou"] >= 0.9, f"{r['person']}: silhouette IoU {r['body']['iou']} >= 0.9")
        check(r["garment_info"]["type"] == g["type"], f"{r['garment']}: type {g['type']}")
        for est, true in zip(r["garment_info"]["color_srgb"], g["color_srgb"]):
            check(abs(est - true) <= 0.06, f"{r['garment']}: colour {r['garment_info']['color_srgb']} within 0.06 "
                  f"of {g['color_srgb']}")
    s = json.load(open(os.path.join(out, "summary.json")))
    check(s["total"] == 16 and s["ok"] == 16 and s["failed"] == 0 and s["pending"] == 0, "summary counts 16 ok")
    check((s["render"]["width"], s["render"]["height"], s["render"]["spp"]) == (40, 60, 2),
          "summary reports the settings rendered with")
    journal = open(os.path.join(out, "journal.log")).read().splitlines()
    check(len(journal) == 16, "journal has one line per pair")
    sheets = sorted(f for f in os.listdir(os.path.join(out, "contact")) if f.endswith(".png"))
    check(sheets, "a contact sheet exists")
    for f in sheets:
        png_size(os.path.join(out, "contact", f))
    html = open(os.path.join(out, "index.html")).read()
    for pid, gid in pairs:
        check(f"renders/{pid}/{gid}.png" in html, f"index.html shows {pid}/{gid}")
    # a second run finds everything done and renders nothing
    p = run(mpirun(2, [tryon, "render", os.path.join(demo, "catalog.yaml"), "--out", out] + TINY), 0)
    check(len(open(os.path.join(out, "journal.log")).read().splitlines()) == 16, "a re-run renders nothing new")


def case_determinism(tryon, demo, work):
    hashes = {}
    for n in (1, 2, 4):
        out = os.path.join(work, f"det{n}")
        shutil.rmtree(out, ignore_errors=True)
        cmd = [tryon, "render", os.path.join(demo, "catalog.yaml"), "--out", out] + TINY
        run(mpirun(n, cmd), 0)
        hashes[n] = render_hashes(out)
        check(len(hashes[n]) == 16, f"-np {n} rendered 16 pairs")
    check(hashes[1] == hashes[2] == hashes[4], "PNG bytes are equal for -np 1, 2 and 4")
    # and across thread counts within a rank
    out = os.path.join(work, "det1t1")
    shutil.rmtree(out, ignore_errors=True)
    run([tryon, "render", os.path.join(demo, "catalog.yaml"), "--out", out, "--threads", "1"] + TINY, 0)
    check(render_hashes(out) == hashes[1], "PNG bytes do not depend on the thread count")


def case_resume(tryon, demo, work):
    args = ["--size", "64x96", "--spp", "4", "--quiet"]
    ref = os.path.join(work, "resume-ref")
    shutil.rmtree(ref, ignore_errors=True)
    run([tryon, "render", os.path.join(demo, "catalog.yaml"), "--out", ref] + args, 0)
    out = os.path.join(work, "resume")
    shutil.rmtree(out, ignore_errors=True)
    cmd = mpirun(3, [tryon, "render", os.path.join(demo, "catalog.yaml"), "--out", out] + args)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    journal = os.path.join(out, "journal.log")
    t0 = time.time()
    lines = 0
    while time.time() - t0 < 600:
        if os.path.exists(journal):
            lines = len(open(journal).read().splitlines())
            if lines >= 3:
                break
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    check(proc.poll() is None, "the job was still running when killed (make the case slower if this fails)")
    # the whole job: mpirun and every rank (Open MPI gives ranks their own process group)
    os.killpg(proc.pid, signal.SIGKILL)
    subprocess.run(["pkill", "-KILL", "-f", out + " "], check=False)
    proc.wait()
    t0 = time.time()
    while subprocess.run(["pgrep", "-f", out + " "], stdout=subprocess.DEVNULL).returncode == 0:
        check(time.time() - t0 < 30, "the killed ranks went away")
        time.sleep(0.05)
    done_before = len(open(journal).read().splitlines())
    check(3 <= done_before < 16, f"killed mid-run ({done_before} pairs journaled)")
    p = run(mpirun(3, [tryon, "render", os.path.join(demo, "catalog.yaml"), "--out", out] + args), 0)
    recs = manifest(out)
    check([(r["person"], r["garment"]) for r in recs] == demo_pairs(demo), "each pair once in the final manifest")
    check(all(r["status"] == "ok" for r in recs), "all ok after resume")
    check(render_hashes(out) == render_hashes(ref), "outputs equal an uninterrupted run")


def write_catalog(folder, text):
    path = os.path.join(folder, "catalog.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def case_badinput(tryon, demo, work):
    base = os.path.join(work, "bad")
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(os.path.join(base, "img"))
    for sub in ("persons", "garments"):
        for f in os.listdir(os.path.join(demo, sub)):
            shutil.copy(os.path.join(demo, sub, f), os.path.join(base, "img", f))
    good = open(os.path.join(base, "img", "ava.png"), "rb").read()
    open(os.path.join(base, "img", "truncated.png"), "wb").write(good[: len(good) // 2])
    huge = bytearray(good[:64])
    huge[16:24] = struct.pack(">II", 100000, 100000)
    open(os.path.join(base, "img", "huge.png"), "wb").write(bytes(huge))
    open(os.path.join(base, "img", "text.png"), "w").write("this is not a png\n")
    outside = os.path.join(work, "outside.png")
    shutil.copy(os.path.join(base, "img", "ava.png"), outside)

    # structural errors: refused before rendering, naming file and line
    head = "persons:\n  - id: ava\n    image: img/ava.png\ngarments:\n  - id: tee\n    image: img/tee-red.png\n"
    cases = [
        (head + "pairs: all\ncolour: red\n", ":8: unknown key 'colour'"),
        ("persons:\n  - id: ava\n    image: img/ava.png\n  - id: ava\n    image: img/ben.png\n"
         "garments:\n  - id: tee\n    image: img/tee-red.png\npairs: all\n", ":4:"),
        ("persons:\n  - id: 'a b/c'\n    image: img/ava.png\ngarments:\n  - id: tee\n    image: img/tee-red.png\n"
         "pairs: all\n", ":2:"),
        (head + "pairs: [\n", "catalog.yaml:"),
    ]
    for text, needle in cases:
        cat = write_catalog(base, text)
        for cmd in ([tryon, "check", cat], [tryon, "render", cat, "--out", os.path.join(work, "never")] + TINY):
            p = run(cmd, 2)
            check(needle in p.stderr and "catalog.yaml" in p.stderr, f"{needle!r} in: {p.stderr}")
        check(not os.path.exists(os.path.join(work, "never", "renders")), "nothing rendered")

    # image errors: each names the file and line; the other pairs render
    text = ("persons:\n"
            "  - id: ava\n    image: img/ava.png\n"
            "  - id: trunc\n    image: img/truncated.png\n"
            "  - id: huge\n    image: img/huge.png\n"
            "  - id: text\n    image: img/text.png\n"
            "  - id: missing\n    image: img/nobody.png\n"
            "  - id: escape\n    image: ../outside.png\n"
            "garments:\n  - id: tee\n    image: img/tee-red.png\n  - id: jeans\n    image: img/jeans-indigo.png\n"
            "pairs: all\n")
    cat = write_catalog(base, text)
    p = run([tryon, "check", cat], 1)
    for line, what in ((7, "huge.png"), (9, "text.png"), (11, "nobody.png"), (13, "outside.png")):
        check(f"catalog.yaml:{line}" in p.stderr and what in p.stderr, f"check names {what} at line {line}: {p.stderr}")
    out = os.path.join(work, "badout")
    shutil.rmtree(out, ignore_errors=True)
    p = run(mpirun(3, [tryon, "render", cat, "--out", out] + TINY), 1)
    check("2 ok, 10 failed" in p.stdout, "summary line counts the failures: " + p.stdout)
    recs = {(r["person"], r["garment"]): r for r in manifest(out)}
    check(len(recs) == 12, "every pair in the manifest")
    for g in ("tee", "jeans"):
        check(recs[("ava", g)]["status"] == "ok", "good pairs render")
        check(recs[("trunc", g)]["status"] == "failed" and "truncated.png" in recs[("trunc", g)]["error"],
              "a truncated PNG fails its pairs with its name")
        for pid in ("huge", "text", "missing", "escape"):
            check(recs[(pid, g)]["status"] == "failed" and recs[(pid, g)]["error"], f"{pid} fails with a reason")
    check("catalog.yaml:" in recs[("huge", "tee")]["error"], "the manifest error names the YAML line")


def main():
    case, tryon, demo, work = sys.argv[1:5]
    os.makedirs(work, exist_ok=True)
    globals()["case_" + case](tryon, demo, work)
    print("PASS", case)


if __name__ == "__main__":
    main()
