#!/usr/bin/env python3
"""slurm_test.py: the slurm/ batch scripts on a real, private, one-node Slurm.

usage: slurm_test.py REPO TRYON WORK_DIR

Starts munged, slurmctld and slurmd on this machine in a private temporary folder (own
slurm.conf, munge key and socket, free ports), then through sbatch:
  1. slurm/render.sbatch on the demo catalog; halfway through, SIGUSR1 to the batch shell
     (what --signal=B:USR1@... sends before the time limit): the job must drain, exit 75,
     requeue itself, resume and finish;
  2. slurm/submit-array.sh with 2 slices and the merge job chained with afterok.
Every output is checked: each pair once and ok, PNGs decode, renders byte-equal to a
plain `tryon render`, the merged gallery lists every pair. The daemons are stopped by PID.
Exit 77 (ctest SKIP) only when Slurm or munge is not installed or the daemons cannot start.
"""
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77
TINY = ["--size", "40x60", "--spp", "2", "--quiet"]


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def skip(msg):
    print("SKIP:", msg)
    sys.exit(SKIP)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Slurm:
    """A private munged + slurmctld + slurmd; stop() kills them by PID."""

    def __init__(self, root):
        self.root = root
        self.pidfiles = []
        self.env = dict(os.environ)

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def start(self):
        for d in ("munge", "munge-run", "state", "spool", "log"):
            os.makedirs(self.path(d), exist_ok=True)
        os.chmod(self.path("munge"), 0o700)
        os.chmod(self.path("munge-run"), 0o755)
        key = self.path("munge", "munge.key")
        with open(key, "wb") as f:
            f.write(os.urandom(1024))
        os.chmod(key, 0o400)
        sock = self.path("munge-run", "munge.sock")
        self.pidfiles.append(self.path("munged.pid"))
        p = subprocess.run(["munged", "--force", "--key-file=" + key, "--socket=" + sock,
                            "--pid-file=" + self.path("munged.pid"), "--log-file=" + self.path("log", "munged.log"),
                            "--seed-file=" + self.path("munge", "seed")], capture_output=True, text=True)
        if p.returncode != 0:
            skip("munged did not start: " + p.stderr.strip())
        host = socket.gethostname()
        # the node claims at least 4 CPUs (config_overrides) so a master and 2 workers fit
        # on a 2-core machine; the master mostly sleeps
        cpus = max(4, os.cpu_count() or 1)
        conf = f"""ClusterName=tryontest
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={sock},cred_expire=10
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
StateSaveLocation={self.path("state")}
SlurmdSpoolDir={self.path("spool")}
SlurmctldPidFile={self.path("slurmctld.pid")}
SlurmdPidFile={self.path("slurmd.pid")}
SlurmctldLogFile={self.path("log", "slurmctld.log")}
SlurmdLogFile={self.path("log", "slurmd.log")}
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
ReturnToService=2
SwitchType=switch/none
MailProg=/bin/true
MinJobAge=600
KillWait=5
SlurmdParameters=config_overrides
NodeName=localhost NodeAddr=127.0.0.1 NodeHostname={host} CPUs={cpus} Boards=1 SocketsPerBoard=1 CoresPerSocket={cpus} ThreadsPerCore=1 RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
"""
        with open(self.path("slurm.conf"), "w") as f:
            f.write(conf)
        self.env["SLURM_CONF"] = self.path("slurm.conf")
        for name, cmd in (("slurmctld", ["slurmctld", "-c"]), ("slurmd", ["slurmd", "-N", "localhost"])):
            self.pidfiles.append(self.path(name + ".pid"))
            p = subprocess.run(cmd, env=self.env, capture_output=True, text=True)
            if p.returncode != 0:
                skip(f"{name} did not start: {p.stderr.strip()} (log: {self.path('log', name + '.log')})")
        t0 = time.time()
        while time.time() - t0 < 30:
            p = subprocess.run(["sinfo", "-h", "-o", "%T"], env=self.env, capture_output=True, text=True)
            if p.stdout.strip() == "idle":
                return
            time.sleep(0.3)
        skip("the Slurm node did not become idle in 30 s: " + self.tail_logs())

    def tail_logs(self):
        text = ""
        for name in ("slurmctld.log", "slurmd.log"):
            try:
                text += f"\n--- {name}\n" + "".join(open(self.path("log", name)).readlines()[-15:])
            except OSError:
                pass
        return text

    def stop(self):
        for pf in reversed(self.pidfiles):
            try:
                pid = int(open(pf).read().split()[0])
            except (OSError, ValueError, IndexError):
                continue
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
            else:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def run(self, cmd, extra_env=None):
        return subprocess.run(cmd, env=dict(self.env, **(extra_env or {})), capture_output=True, text=True)

    def job(self, jobid):
        p = self.run(["scontrol", "-o", "show", "job", str(jobid)])
        fields = {}
        for tok in p.stdout.split():
            if "=" in tok:
                k, v = tok.split("=", 1)
                fields.setdefault(k, v)
        return fields

    def wait(self, jobid, timeout):
        t0 = time.time()
        while time.time() - t0 < timeout:
            j = self.job(jobid)
            if j.get("JobState") in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY"):
                return j
            time.sleep(0.3)
        fail(f"job {jobid} did not finish in {timeout} s: {self.job(jobid)}" + self.tail_logs())


def manifest(out):
    with open(os.path.join(out, "manifest.jsonl")) as f:
        return [json.loads(line) for line in f if line.strip()]


def hashes(out):
    return {(r["person"], r["garment"]): hashlib.sha256(open(os.path.join(out, r["output"]), "rb").read()).hexdigest()
            for r in manifest(out) if r["status"] == "ok"}


def main():
    repo, tryon, work = sys.argv[1:4]
    for tool in ("munged", "slurmctld", "slurmd", "sbatch", "scontrol", "sinfo"):
        if not shutil.which(tool):
            skip(f"{tool} is not installed (apt-get install slurm-wlm munge)")
    sys.path.insert(0, os.path.join(repo, "tests", "farm"))
    import farm_tests  # png_size, demo_pairs

    demo = os.path.join(repo, "configs", "demo")
    catalog = os.path.join(demo, "catalog.yaml")
    pairs = farm_tests.demo_pairs(demo)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    env_extra = {"TRYON_ROOT": repo, "TRYON": tryon}

    # the reference: a plain one-process render
    ref = os.path.join(work, "ref")
    farm_tests.run([tryon, "render", catalog, "--out", ref] + TINY, 0)

    root = tempfile.mkdtemp(prefix="tryon-slurm-")
    slurm = Slurm(root)
    try:
        slurm.start()
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
        j = slurm.wait(jobid, 120)
        text = open(log.replace("%j", jobid)).read()
        check(j["JobState"] == "COMPLETED" and j.get("ExitCode") == "0:0", f"render job completed: {j}\n{text}" + slurm.tail_logs())
        check("status 75" in text and "requeueing" in text, "the log shows the drain (75) and the requeue:\n" + text)
        check("srun --mpi=pmix" in text or "mpirun" in text, "the log names the launcher")
        recs = manifest(out)
        check([(r["person"], r["garment"]) for r in recs] == pairs, "each pair once, in catalog order")
        check(all(r["status"] == "ok" for r in recs), "every pair ok after the requeue")
        check(len(open(journal).read().splitlines()) == len(pairs), "the journal has each pair once")
        for r in recs:
            check(farm_tests.png_size(os.path.join(out, r["output"])) == (40, 60, 4), "renders decode")
        check(hashes(out) == hashes(ref), "renders equal an uninterrupted one-process run")

        # 2. the array of 2 slices and the merge chained with afterok
        out = os.path.join(work, "array")
        p = slurm.run([os.path.join(repo, "slurm", "submit-array.sh"), catalog, out, "2"] + TINY,
                      extra_env={"SBATCH_EXTRA": " ".join(common[1:])})
        check(p.returncode == 0, "submit-array.sh: " + p.stdout + p.stderr)
        words = p.stdout.split()
        array_id, merge_id = words[2], words[-1]
        j = slurm.wait(merge_id, 120)
        check(j["JobState"] == "COMPLETED", f"merge job completed: {j} " + p.stdout)
        for k in (0, 1):
            t = slurm.job(f"{array_id}_{k}")
            check(t.get("JobState") == "COMPLETED", f"array task {k} completed: {t}")
            part = manifest(os.path.join(out, f"part-{k}"))
            check(len(part) == len(pairs) // 2, f"part-{k} holds its {len(pairs) // 2} pairs")
        recs = manifest(out)
        check([(r["person"], r["garment"]) for r in recs] == pairs, "the merged manifest lists each pair once")
        check(all(r["status"] == "ok" for r in recs), "every merged pair ok")
        check(hashes(out) == hashes(ref), "merged renders equal a one-process run")
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
