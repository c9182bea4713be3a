#!/usr/bin/env python3
"""integrity_tests.py: what a demanding operator does to a farm, on small catalogs.

usage: integrity_tests.py CASE TRYON DEMO_DIR WORK_DIR

  badphotos  a catalog whose first persons are bad photos (white, 1x1, a garment photo as a
             person, feet cut off, a JPEG, a figure half the size, a person photo as a
             garment, a shoe): `tryon check` names each with its reason (the stature and
             the garment's outline with --estimate); under -np 3 the input failures are
             journaled once, no worker is suspended or excluded for them, the good pairs
             render, no OUT/inflight.log is left, a re-run names no phantom held pair
  resume     a deleted render, a replaced-by-a-link render, a flipped byte, a person photo
             whose bytes changed: each resumes as "rendered again", bytes as before (or new
             for the new photo), the link's target untouched
  merge      a part render with a flipped byte: `tryon merge` refuses and merges nothing;
             after the slice is re-rendered the merge succeeds
  links      symbolic links planted at OUT/journal.log and OUT/renders/<person>: refused with
             a message naming them, nothing written outside OUT
  bigphoto   a 4000x6000 person photo renders in bounded memory (peak RSS under 600 MB;
             it was about 1 GB)
Helpers come from farm_tests.py; only the Python standard library is used.
"""
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from farm_tests import TINY, check, journal_records, manifest, mpirun, render_hashes, run, write_catalog  # noqa: E402


def write_png(path, w, h, row_fn, channels=3):
    """An 8-bit RGB(A) PNG whose row y is row_fn(y) (bytes of w * channels)."""
    raw = b"".join(b"\x00" + row_fn(y) for y in range(h))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 6 if channels == 4 else 2, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 1)) +
                chunk(b"IEND", b""))


def read_png_rows(path):
    """Decode an 8-bit RGB/RGBA non-interlaced PNG: (w, h, channels, [row bytes])."""
    data = open(path, "rb").read()
    pos, idat = 8, b""
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            check(depth == 8 and ctype in (2, 6) and interlace == 0, f"{path}: 8-bit RGB(A) expected")
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    c = 4 if ctype == 6 else 3
    raw = zlib.decompress(idat)
    stride = w * c
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - c] if i >= c else 0
            b = prev[i]
            cc = prev[i - c] if i >= c else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - cc
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - cc)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else cc)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, c, rows


def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def setup(demo, work, name):
    base = os.path.join(work, name)
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(os.path.join(base, "img"))
    for sub in ("persons", "garments"):
        for f in os.listdir(os.path.join(demo, sub)):
            shutil.copy(os.path.join(demo, sub, f), os.path.join(base, "img", f))
    return base


SMALL = ("persons:\n  - id: ava\n    image: img/ava.png\n"
         "garments:\n  - id: tee\n    image: img/tee-red.png\n  - id: jeans\n    image: img/jeans-indigo.png\n"
         "pairs: all\n")


def case_badphotos(tryon, demo, work):
    base = setup(demo, work, "badphotos")
    write_png(os.path.join(base, "img", "white.png"), 64, 96, lambda y: b"\xff" * 64 * 3)
    write_png(os.path.join(base, "img", "one.png"), 1, 1, lambda y: b"\x80\x80\x80")
    # ava with her feet cut off: the photo's bottom 20% dropped
    w, h, c, rows = read_png_rows(os.path.join(base, "img", "ava.png"))
    write_png(os.path.join(base, "img", "ava-cut.png"), w, h * 4 // 5, lambda y: rows[y], c)
    # ava at half her size, cut out by an alpha channel, feet on the same floor line: read
    # through the assumed camera she is a child's height, which an adult catalog refuses
    # (her mask: coloured or dark pixels; the demo's backdrop is a light neutral grey)
    mask = [[max(r[x * c:x * c + 3]) - min(r[x * c:x * c + 3]) > 24 or sum(r[x * c:x * c + 3]) < 270 for x in range(w)]
            for r in rows]
    feet = max(y for y in range(h) if any(mask[y]))
    small = bytearray(w * h * 4)
    for y in range(0, h, 2):
        for x in range(0, w, 2):
            if mask[y][x]:
                ty, tx = feet - (feet - y) // 2, w // 4 + x // 2
                small[(ty * w + tx) * 4:(ty * w + tx) * 4 + 4] = rows[y][x * c:x * c + 3] + b"\xff"
    write_png(os.path.join(base, "img", "ava-small.png"), w, h, lambda y: bytes(small[y * w * 4:(y + 1) * w * 4]), 4)
    # a shoe's product photo (seen from the side: shaft and foot, an L): no garment type of ours
    write_png(os.path.join(base, "img", "shoe.png"), 256, 384, lambda y: b"".join(
        b"\x3c\x3c\x46" if (60 < x < 120 and 120 < y < 300) or (60 < x < 210 and 240 < y < 300) else b"\xe8\xe8\xe8"
        for x in range(256)))
    # a JPEG's first bytes (SOI, APP0 JFIF) under a .jpg name
    with open(os.path.join(base, "img", "cam.jpg"), "wb") as f:
        f.write(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(200))
    cat = write_catalog(base, (
        "persons:\n"
        "  - id: white\n    image: img/white.png\n"
        "  - id: one\n    image: img/one.png\n"
        "  - id: tee-as-person\n    image: img/tee-red.png\n"
        "  - id: ava\n    image: img/ava.png\n"
        "  - id: ava-cut\n    image: img/ava-cut.png\n"
        "  - id: cam\n    image: img/cam.jpg\n"
        "  - id: ava-small\n    image: img/ava-small.png\n"
        "garments:\n  - id: tee\n    image: img/tee-red.png\n  - id: jeans\n    image: img/jeans-indigo.png\n"
        "  - id: ben-as-garment\n    image: img/ben.png\n"
        "  - id: shoe\n    image: img/shoe.png\n"
        "pairs: all\n"))
    # `tryon check` reads the photos and names each problem the render meets, with its line
    p = run([tryon, "check", cat], 1)
    for photo, why in (("white.png", ""), ("one.png", ""), ("tee-red.png", "shows no head"),
                       ("ava-cut.png", "are the feet cut off?"), ("cam.jpg", "not a PNG file: a JPEG image"),
                       ("ben.png", "looks like a person photo")):
        check(any(line.startswith(cat + ":") and "img/" + photo in line and why in line
                  for line in p.stderr.splitlines()), f"tryon check names img/{photo} ({why}) with its line: " + p.stderr)
    check("6 problems" in p.stdout and "person ava:" not in p.stderr, "six problems, ava's photo is fine (check fits "
          "no body: ava-small's stature is the render's to refuse): " + p.stdout)
    run([tryon, "check", cat, "--files-only"], 1)
    # --estimate adds the checks on the estimates: ava-small's stature, the shoe's outline
    p = run([tryon, "check", cat, "--estimate"], 1)
    for photo, why in (("ava-small.png", "outside the 130-220 cm of an adult"), ("shoe.png", "its outline matches")):
        check(any(line.startswith(cat + ":") and "img/" + photo in line and why in line
                  for line in p.stderr.splitlines()), f"tryon check --estimate names img/{photo} ({why}): " + p.stderr)
    check("8 problems" in p.stdout and "person ava:" not in p.stderr and "garment tee:" not in p.stderr,
          "eight problems with the estimates, ava and the tee fine: " + p.stdout)
    out = os.path.join(work, "badphotos-out")
    shutil.rmtree(out, ignore_errors=True)
    p = run(mpirun(3, [tryon, "render", cat, "--out", out] + TINY), 1)
    check("2 ok, 26 failed" in p.stdout, "the good pairs render, the bad ones fail alone: " + p.stdout + p.stderr)
    check("no more work" not in p.stderr and "no new pairs" not in p.stderr,
          "no worker is suspended or excluded for bad photos: " + p.stderr)
    recs = {(r["person"], r["garment"]): r for r in manifest(out)}
    for (pid, gid), r in recs.items():
        if pid == "ava" and gid in ("tee", "jeans"):
            check(r["status"] == "ok", f"{pid}/{gid} ok")
            continue
        check(r["status"] == "failed" and r.get("fault") == "input", f"{pid}/{gid} is an input failure: {r}")
        check("attempts" not in r, f"{pid}/{gid} was not retried: {r}")
    check("img/tee-red.png" in recs[("tee-as-person", "tee")]["error"] and
          "shows no head" in recs[("tee-as-person", "tee")]["error"], "a garment photo as a person is named: " +
          recs[("tee-as-person", "tee")]["error"])
    check("looks like a person photo" in recs[("ava", "ben-as-garment")]["error"],
          "a person photo as a garment is named: " + recs[("ava", "ben-as-garment")]["error"])
    check("img/ava-cut.png: the figure meets the bottom edge" in recs[("ava-cut", "tee")]["error"],
          "a person whose feet are cut off is named: " + recs[("ava-cut", "tee")]["error"])
    check("img/cam.jpg: not a PNG file: a JPEG image" in recs[("cam", "tee")]["error"],
          "a JPEG is named as a JPEG: " + recs[("cam", "tee")]["error"])
    check("img/shoe.png: its outline matches" in recs[("ava", "shoe")]["error"] and
          "no template for" in recs[("ava", "shoe")]["error"], "a shoe is no garment of ours: " + recs[("ava", "shoe")]["error"])
    check("img/ava-small.png" in recs[("ava-small", "tee")]["error"] and
          "outside the 130-220 cm of an adult" in recs[("ava-small", "tee")]["error"],
          "an implausible stature fails the pair: " + recs[("ava-small", "tee")]["error"])
    check(not os.path.exists(os.path.join(out, "inflight.log")), "a run that ended normally leaves no inflight.log")
    p = run(mpirun(3, [tryon, "render", cat, "--out", out] + TINY), 1)
    check("previous run ended while" not in p.stderr, "the re-run names no phantom held pair: " + p.stderr)
    check("2 ok, 26 failed" in p.stdout, "the re-run keeps the verdicts: " + p.stdout)


def case_resume(tryon, demo, work):
    base = setup(demo, work, "verify")
    cat = write_catalog(base, SMALL)
    out = os.path.join(work, "verify-out")
    shutil.rmtree(out, ignore_errors=True)
    run([tryon, "render", cat, "--out", out] + TINY, 0)
    ref = render_hashes(out)
    tee, jeans = (os.path.join(out, "renders", "ava", g + ".png") for g in ("tee", "jeans"))
    # a deleted render, and one replaced by a link to an identical file outside OUT
    outside = os.path.join(work, "verify-outside.png")
    shutil.copy(jeans, outside)
    outside_sha = sha(outside)
    os.unlink(tee)
    os.unlink(jeans)
    os.symlink(outside, jeans)
    p = run([tryon, "render", cat, "--out", out] + TINY, 0)
    check("ava/tee is rendered again" in p.stderr and "is missing" in p.stderr, "the deleted render is named: " + p.stderr)
    check("ava/jeans is rendered again" in p.stderr and "symbolic link" in p.stderr, "the link is named: " + p.stderr)
    check(render_hashes(out) == ref, "the re-rendered bytes equal the first run's")
    check(not os.path.islink(jeans) and sha(outside) == outside_sha, "the link was replaced, its target untouched")
    # one byte flipped in the middle of a render
    data = bytearray(open(tee, "rb").read())
    data[len(data) // 2] ^= 0x40
    open(tee, "wb").write(bytes(data))
    p = run([tryon, "render", cat, "--out", out] + TINY, 0)
    check("ava/tee is rendered again" in p.stderr and "SHA-256" in p.stderr, "the changed render is named: " + p.stderr)
    check("ava/jeans" not in p.stderr, "the intact render is kept")
    check(render_hashes(out) == ref, "bytes as before after the flip")
    # the person photo's bytes change under the same path
    shutil.copy(os.path.join(base, "img", "ben.png"), os.path.join(base, "img", "ava.png"))
    p = run([tryon, "render", cat, "--out", out] + TINY, 0)
    check(p.stderr.count("the person photo img/ava.png changed") == 2, "both pairs of the changed photo: " + p.stderr)
    recs = manifest(out)
    check(all(r["inputs"]["person_sha256"] == sha(os.path.join(base, "img", "ava.png")) for r in recs),
          "the records carry the new photo's hash")
    check(render_hashes(out) != ref, "the renders show the new photo")
    # a run with nothing changed re-renders nothing
    n = len(journal_records(out))
    p = run([tryon, "render", cat, "--out", out] + TINY, 0)
    check("rendered again" not in p.stderr and len(journal_records(out)) == n, "an intact folder resumes as done")
    # the build is recorded; a resume by another build says so (and keeps the folder's record)
    job = json.load(open(os.path.join(out, "job.json")))
    check(job.get("build", "").startswith("0.") and "was started by build" not in p.stderr,
          "job.json records this build: " + str(job))
    job["build"] = "0.0.1+older Release cpu"
    open(os.path.join(out, "job.json"), "w").write(json.dumps(job, separators=(",", ":")) + "\n")
    p = run([tryon, "render", cat, "--out", out] + TINY, 0)
    check("was started by build 0.0.1+older Release cpu; this is build" in p.stderr, "another build is named: " + p.stderr)


def case_merge(tryon, demo, work):
    base = setup(demo, work, "merge")
    cat = write_catalog(base, SMALL)
    parts = os.path.join(work, "merge-parts")
    shutil.rmtree(parts, ignore_errors=True)
    for k in range(2):
        run([tryon, "render", cat, "--out", os.path.join(parts, f"part-{k}"), "--slice", f"{k}/2"] + TINY, 0)
    part1 = os.path.join(parts, "part-1")
    rec = manifest(part1)[0]
    render = os.path.join(part1, rec["output"])
    good = open(render, "rb").read()
    data = bytearray(good)
    data[-20] ^= 0x01
    open(render, "wb").write(bytes(data))
    out = os.path.join(work, "merge-out")
    shutil.rmtree(out, ignore_errors=True)
    p = run([tryon, "merge", os.path.join(parts, "part-0"), part1, "--out", out], 2)
    check(render in p.stderr and "SHA-256" in p.stderr and "nothing was merged" in p.stderr,
          "the tampered file is named and the merge refused: " + p.stderr)
    check(not os.path.exists(os.path.join(out, "journal.log")) and not os.path.exists(os.path.join(out, "renders")),
          "nothing was merged")
    # the slice re-rendered (resume re-renders what does not match), then the merge succeeds
    p = run([tryon, "render", cat, "--out", part1, "--slice", "1/2"] + TINY, 0)
    check("rendered again" in p.stderr and open(render, "rb").read() == good, "the slice's resume repairs it")
    run([tryon, "merge", os.path.join(parts, "part-0"), part1, "--out", out], 0)
    check(len(manifest(out)) == 2 and all(r["status"] == "ok" for r in manifest(out)), "the merge has both pairs")


def case_links(tryon, demo, work):
    base = setup(demo, work, "links")
    cat = write_catalog(base, "persons:\n  - id: ava\n    image: img/ava.png\n"
                              "garments:\n  - id: tee\n    image: img/tee-red.png\npairs: all\n")
    outside = os.path.join(work, "links-outside")
    shutil.rmtree(outside, ignore_errors=True)
    os.makedirs(outside)
    victim = os.path.join(outside, "victim.log")
    open(victim, "w").write("an operator's file\n")
    # OUT/journal.log planted as a link: refused at start, the target untouched
    out = os.path.join(work, "links-out1")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    os.symlink(victim, os.path.join(out, "journal.log"))
    p = run([tryon, "render", cat, "--out", out] + TINY, 3)
    check("journal.log is a symbolic link" in p.stderr, "the journal link is named: " + p.stderr)
    check(open(victim).read() == "an operator's file\n", "the link's target is untouched")
    # OUT/renders/<person> planted as a link to a folder outside: the pair fails, nothing outside
    out = os.path.join(work, "links-out2")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(os.path.join(out, "renders"))
    os.symlink(outside, os.path.join(out, "renders", "ava"))
    p = run([tryon, "render", cat, "--out", out, "--retries", "0"] + TINY, 1)
    rec = manifest(out)[0]
    check(rec["status"] == "failed" and "renders/ava is a symbolic link" in rec["error"],
          "the render link is named: " + json.dumps(rec))
    check(sorted(os.listdir(outside)) == ["victim.log"], "nothing was written outside OUT: " + str(os.listdir(outside)))


def case_bigphoto(tryon, demo, work):
    base = setup(demo, work, "big")
    w, h, c, rows = read_png_rows(os.path.join(demo, "persons", "ava.png"))
    W, H = 4000, 6000
    cols = [x * w // W for x in range(W)]
    scaled = [b"".join(row[i * c:(i + 1) * c] for i in cols) for row in rows]
    write_png(os.path.join(base, "img", "big.png"), W, H, lambda y: scaled[y * h // H], c)
    cat = write_catalog(base, "persons:\n  - id: big\n    image: img/big.png\n"
                              "garments:\n  - id: tee\n    image: img/tee-red.png\npairs: all\n")
    out = os.path.join(work, "big-out")
    shutil.rmtree(out, ignore_errors=True)
    # a fresh interpreter so the peak is this one render's
    probe = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:]); "
             "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    p = run([sys.executable, "-c", probe, tryon, "render", cat, "--out", out, "--threads", "1"] + TINY, 0)
    rc, kb = (int(v) for v in p.stdout.split()[-2:])
    check(rc == 0, "the 4000x6000 photo renders: " + p.stderr)
    check(kb < 600 * 1024, f"peak memory {kb // 1024} MB for a 24-megapixel photo (limit 600 MB)")
    r = manifest(out)[0]
    truth = {t["id"]: t for t in json.load(open(os.path.join(demo, "truth.json")))["persons"]}["ava"]
    check(abs(r["body"]["stature_cm"] - 100 * truth["stature_m"]) <= 2.0, f"stature within 2 cm: {r['body']}")


def main():
    case, tryon, demo, work = sys.argv[1:5]
    os.makedirs(work, exist_ok=True)
    globals()["case_" + case](tryon, demo, work)
    print("PASS", case)


if __name__ == "__main__":
    main()
