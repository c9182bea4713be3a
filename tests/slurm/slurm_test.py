#!/usr/bin/env python3
"""slurm_test.py: the slurm/ batch scripts on a real, private, one-node Slurm.

usage: slurm_test.py REPO TRYON WORK_DIR

Starts munged, slurmctld and slurmd on this machine in a private temporary folder (own
slurm.conf, munge key and socket, free ports), then through sbatch:
  1. slurm/render.sbatch on the demo's persons with its two cheapest garments (8 pairs,
     farm_tests.demo_subset); halfway through, SIGUSR1 to the batch shell
     (what --signal=B:USR1@... sends before the time limit): the job must drain, exit 75,
     requeue itself, resume and finish;
  2. slurm/submit-array.sh with 2 slices and the merge job chained with afterok.
Every output is checked: each pair once and ok, PNGs decode, renders byte-equal to a
plain `tryon render`, the merged gallery lists every pair. The daemons are stopped by PID.
Exit 77 (ctest SKIP) only when Slurm or munge is not installed or the daemons cannot start.
"""
import json
import os
import shutil
import socket
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "farm")]
import farm_tests      # noqa: E402  check, fail, run, png_size, manifest, render_hashes, demo_subset
import private_slurm   # noqa: E402

from farm_tests import check, fail  # noqa: E402

SKIP = 77
TINY = ["--size", "40x60", "--spp", "2", "--quiet"]


def skip(msg):
    print("SKIP:", msg)
    sys.exit(SKIP)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait(slurm, jobid, timeout):
    j = slurm.wait(jobid, timeout)
    if j is None:
        fail(f"job {jobid} did not finish in {timeout} s: {slurm.job(jobid)}" + slurm.tail_logs())
    return j


def main():
    repo, tryon, work = sys.argv[1:4]
    for tool in ("munged", "slurmctld", "slurmd", "sbatch", "scontrol", "sinfo"):
        if not shutil.which(tool):
            skip(f"{tool} is not installed (apt-get install slurm-wlm munge)")

    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    # the demo's persons with its two cheapest garments (8 pairs): the whole demo catalog
    # rendered three times takes many minutes of cloth simulation on 2 cores
    catalog, pairs = farm_tests.demo_subset(os.path.join(repo, "configs", "demo"), os.path.join(work, "catalog"))
    env_extra = {"TRYON_ROOT": repo, "TRYON": tryon}

    # the reference: a plain one-process render (one thread: on a busy 2-core machine two
    # OpenMP threads spin against the other processes and take several times longer)
    ref = os.path.join(work, "ref")
    farm_tests.run([tryon, "render", catalog, "--out", ref, "--threads", "1"] + TINY, 0)

    root = tempfile.mkdtemp(prefix="tryon-slurm-")
    # the node claims at least 4 CPUs (config_overrides) so a master and 2 workers fit on
    # a 2-core machine; the master mostly sleeps
    node = private_slurm.Node("localhost", "127.0.0.1", socket.gethostname(), cpus=max(4, os.cpu_count() or 1))
    slurm = private_slurm.Slurm(root, [node], (free_port(), free_port()))
    try:
        try:
            slurm.start()
        except private_slurm.Unavailable as e:
            skip(str(e))
        slurm.env.update(env_extra)
        common = ["--parsable", "--nodes=1", "--ntasks=3", "--ntasks-per-node=3", "--cpus-per-task=1",
                  "--time=10", "--chdir=" + work]

        # 1. render.sbatch, stopped halfway by SIGUSR1: drain, 75, requeue, resume
        out = os.path.join(work, "render")
        log = os.path.join(work, "render-%j.log")
        p = slurm.run(["sbatch"] + common + ["--output=" + log, os.path.join(repo, "slurm", "render.sbatch"),
                                             catalog, out] + TINY)
        check(p.returncode == 0, "sbatch render.sbatch: " + p.stderr)
        jobid = p.stdout.strip().split(";")[0]
        journal = os.path.join(out, "journal.log")
        t0 = time.time()
        while time.time() - t0 < 60:
            if os.path.exists(journal) and len(open(journal).read().splitlines()) >= 2:
                break
            time.sleep(0.1)
        check(slurm.job(jobid).get("JobState") == "RUNNING", "the render job was running when signalled")
        p = slurm.run(["scancel", "--batch", "--signal=USR1", jobid])
        check(p.returncode == 0, "scancel --signal=USR1: " + p.stderr)
        t0 = time.time()
        while True:
            j = slurm.job(jobid)
            if int(j.get("Restarts", "0")) >= 1 and j.get("JobState") in ("PENDING", "RUNNING"):
                break
            check(time.time() - t0 < 60, f"job {jobid} requeued itself after the signal: {j}" + slurm.tail_logs())
            time.sleep(0.1)
        # a requeued job waits cred_expire (10 s here, 120 s by default) before it may
        # start again on the same node: Slurm's own guard against a half-killed last run
        j = wait(slurm, jobid, 120)
        text = open(log.replace("%j", jobid)).read()
        check(j["JobState"] == "COMPLETED" and j.get("ExitCode") == "0:0", f"render job completed: {j}\n{text}" + slurm.tail_logs())
        check("status 75" in text and "requeueing" in text, "the log shows the drain (75) and the requeue:\n" + text)
        check("srun --mpi=pmix" in text or "mpirun" in text, "the log names the launcher")
        recs = farm_tests.manifest(out)
        check([(r["person"], r["garment"]) for r in recs] == pairs, "each pair once, in catalog order")
        check(all(r["status"] == "ok" for r in recs), "every pair ok after the requeue")
        check(len(open(journal).read().splitlines()) == len(pairs), "the journal has each pair once")
        for r in recs:
            check(farm_tests.png_size(os.path.join(out, r["output"])) == (40, 60, 4), "renders decode")
        check(farm_tests.render_hashes(out) == farm_tests.render_hashes(ref), "renders equal an uninterrupted one-process run")

        # 2. the array of 2 slices and the merge chained with afterok
        out = os.path.join(work, "array")
        p = slurm.run([os.path.join(repo, "slurm", "submit-array.sh"), catalog, out, "2"] + TINY,
                      extra_env={"SBATCH_EXTRA": " ".join(common[1:])})
        check(p.returncode == 0, "submit-array.sh: " + p.stdout + p.stderr)
        words = p.stdout.split()
        array_id, merge_id = words[2], words[-1]
        j = wait(slurm, merge_id, 120)
        check(j["JobState"] == "COMPLETED", f"merge job completed: {j} " + p.stdout)
        for k in (0, 1):
            t = slurm.job(f"{array_id}_{k}")
            check(t.get("JobState") == "COMPLETED", f"array task {k} completed: {t}")
            part = farm_tests.manifest(os.path.join(out, f"part-{k}"))
            check(len(part) == len(pairs) // 2, f"part-{k} holds its {len(pairs) // 2} pairs")
        recs = farm_tests.manifest(out)
        check([(r["person"], r["garment"]) for r in recs] == pairs, "the merged manifest lists each pair once")
        check(all(r["status"] == "ok" for r in recs), "every merged pair ok")
        check(farm_tests.render_hashes(out) == farm_tests.render_hashes(ref), "merged renders equal a one-process run")
        html = open(os.path.join(out, "index.html")).read()
        check(all(f"renders/{pid}/{gid}.png" in html for pid, gid in pairs), "the merged gallery shows every pair")
        s = json.load(open(os.path.join(out, "summary.json")))
        check(s["ok"] == len(pairs) and s["pending"] == 0, f"merged summary: {len(pairs)} ok")
    finally:
        slurm.stop()
        shutil.rmtree(root, ignore_errors=True)
    print("PASS slurm")


if __name__ == "__main__":
    main()
