#!/usr/bin/env python3
"""make_catalog.py: a synthetic catalog of P persons x G garments for scheduler benchmarks.

usage: make_catalog.py DEMO_DIR OUT_DIR P G

Every entry points at one demo photo (copied into OUT_DIR), so the catalog parses and
validates like a real one; with `tryon render --simulate` nothing is rendered.
"""
import os
import shutil
import sys


def main():
    demo, out, p, g = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    for sub, name in (("persons", "ava.png"), ("garments", "tee-red.png")):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
        shutil.copy(os.path.join(demo, sub, name), os.path.join(out, sub, name))
    with open(os.path.join(out, "catalog.yaml"), "w") as f:
        f.write("seed: 11\npersons:\n")
        for i in range(p):
            f.write(f"  - id: p{i:05d}\n    image: persons/ava.png\n")
        f.write("garments:\n")
        for i in range(g):
            f.write(f"  - id: g{i:05d}\n    image: garments/tee-red.png\n")
        f.write("pairs: all\n")


if __name__ == "__main__":
    main()
