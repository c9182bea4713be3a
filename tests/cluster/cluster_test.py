#!/usr/bin/env python3
"""cluster_test.py: the slurm/ batch scripts on a real two-node cluster made on this machine.

usage: cluster_test.py REPO TRYON WORK_DIR CASE...     (CASE: render train kill hostfail)
       cluster_test.py --probe      exit 0 if the cluster can be made here, else 77 and why

Two hosts, cluster-a and cluster-b, each a network + UTS namespace joined by a veth pair
on 10.213.0.0/24 (netns_hosts.py); one munged and slurmctld on cluster-a, a slurmd on each
(tests/slurm/private_slurm.py). Open MPI goes between them over TCP only (btl tcp,self on
the private subnet; srun --mpi=pmix launches the ranks). One cluster start-up for the
cases named on the command line:
  render    slurm/render.sbatch over both nodes (a master and a worker on cluster-a, a
            worker on cluster-b): the ranks run on two hosts with two host names,
            cluster-b's results crossed the veth, every pair once and ok, PNG bytes equal
            to a plain one-host `tryon render`;
  train     slurm/train.sbatch over both nodes (one rank each, TRYON_DEVICE=cpu): weights
            bytes equal to a one-host `mpirun -np 2` run;
  kill      render.sbatch, and cluster-b's ranks SIGKILLed mid-run (its slurmd and
            slurmstepd live, as after the OOM killer): the step ends with 137, the script
            requeues the job, the re-run completes: each pair once in the journal and
            manifest, bytes equal;
  hostfail  render.sbatch, and all of cluster-b SIGKILLed mid-run (slurmd, slurmstepd,
            ranks: a host lost): Slurm marks the node DOWN, the job ends with NODE_FAIL and
            Slurm requeues it; the host comes back (slurmd restarted on an emptied local
            /tmp and spool, as after a reboot) and the re-run completes the same way.
(Killing cluster-b's slurmstepd with its ranks while its slurmd lives is not a case: srun
then never hears that the tasks ended and the job hangs; here it still ran 150 s later.)
The catalog is the demo catalog's four persons with its two cheapest garments to drape
(8 pairs at 40x60, 2 spp): the whole demo catalog takes minutes of cloth simulation on
2 cores. Exit 77 (ctest SKIP) when namespaces cannot be made or Slurm is not installed.
Everything is removed at the end (daemons, namespaces, mounts, folder), and what a killed
run left is removed at the start (every process of a run lives in its namespaces: the
one-host references run on cluster-a, outside Slurm). Only the Python standard library is used.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "slurm"), os.path.join(HERE, "..", "farm")]
import farm_tests      # noqa: E402  check, fail, run, mpirun, png_size, manifest, render_hashes, demo_subset
import netns_hosts     # noqa: E402
import private_slurm   # noqa: E402
import train_tests     # noqa: E402  the tiny training data, model and config

from farm_tests import check, fail  # noqa: E402

SKIP = 77
TINY = ["--size", "40x60", "--spp", "2", "--quiet"]
# Open MPI between the hosts: TCP on the private subnet only (no shared memory, no UCX)
MPI_ENV = {"OMPI_MCA_pml": "ob1", "OMPI_MCA_btl": "tcp,self",
           "OMPI_MCA_btl_tcp_if_include": netns_hosts.SUBNET, "OMPI_MCA_oob_tcp_if_include": netns_hosts.SUBNET}
# short Slurm timeouts: a lost node is DOWN after 5 s without an answer
SLURM_TIMEOUTS = "SlurmdTimeout=5\nMessageTimeout=5\n"


def skip(msg):
    print("SKIP:", msg)
    sys.exit(SKIP)


def rank_hosts(hosts, tryon, seen):
    """Add {MPI rank: host name the process sees} for every tryon rank running now."""
    for h in hosts.hosts:
        for pid in h.pids():
            try:
                argv0 = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")[0].decode()
                env = dict(kv.split(b"=", 1) for kv in open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
                           if b"=" in kv)
            except OSError:
                continue
            rank = env.get(b"PMIX_RANK", env.get(b"OMPI_COMM_WORLD_RANK"))
            if argv0 != tryon or rank is None:
                continue
            p = subprocess.run(["nsenter", "--target", str(pid), "--uts", "hostname"], capture_output=True, text=True)
            if p.returncode == 0:
                seen[int(rank)] = p.stdout.strip()


def journal(out):
    path = os.path.join(out, "journal.log")
    return [json.loads(line) for line in open(path).read().splitlines()] if os.path.exists(path) else []


def check_render(out, pairs, ref, what):
    recs = farm_tests.manifest(out)
    check([(r["person"], r["garment"]) for r in recs] == pairs, f"{what}: each pair once, in catalog order")
    check(all(r["status"] == "ok" for r in recs), f"{what}: every pair ok: {[r for r in recs if r['status'] != 'ok']}")
    check(sorted((r["person"], r["garment"]) for r in journal(out)) == sorted(pairs), f"{what}: the journal has each pair once")
    for r in recs:
        check(farm_tests.png_size(os.path.join(out, r["output"])) == (40, 60, 4), f"{what}: {r['output']} decodes")
    check(farm_tests.render_hashes(out) == ref, f"{what}: PNG bytes equal the one-host render")


class Cluster:
    """The two hosts, the private Slurm on them and the job submission of the cases."""

    def __init__(self, repo, tryon, work):
        self.repo, self.tryon, self.work = repo, tryon, work
        self.hosts = netns_hosts.Hosts()
        self.slurm = None
        self.catalog, self.pairs, self.ref = None, None, None   # the render cases' catalog, its pairs, reference hashes

    def start(self):
        self.hosts.create()
        nodes = [private_slurm.Node(h.hostname, h.addr, h.hostname, h.enter(), cpus=2) for h in self.hosts.hosts]
        self.slurm = private_slurm.Slurm(os.path.join(self.hosts.root, "slurm"), nodes, (6817, 6818),
                                         SLURM_TIMEOUTS, cred_expire=5, kill_wait=2, pmix_timeout=5)
        self.slurm.start()
        self.slurm.env.update(MPI_ENV, TRYON_ROOT=self.repo, TRYON=self.tryon)

    def stop(self):
        """Stop the daemons, keep their logs in WORK_DIR/slurm-log, remove the hosts."""
        if self.slurm:
            self.slurm.stop()
            keep = os.path.join(self.work, "slurm-log")
            shutil.rmtree(keep, ignore_errors=True)
            shutil.copytree(self.slurm.path("log"), keep)
        self.hosts.destroy()

    def on_a(self, cmd):
        """Run a plain one-host command (the references) on cluster-a, outside Slurm; it must
        exit 0. Inside the namespace, a test killed meanwhile leaves no process behind that
        writes into the next run's WORK_DIR: the next start's clean_stale() kills it."""
        return farm_tests.run(self.hosts.a.enter() + cmd, 0)

    def submit(self, script, args, name, sbatch_opts):
        log = os.path.join(self.work, name + "-%j.log")
        p = self.slurm.run(["sbatch", "--parsable", "--time=10", "--chdir=" + self.work, "--output=" + log]
                           + sbatch_opts + [os.path.join(self.repo, "slurm", script)] + args)
        check(p.returncode == 0, f"sbatch {script}: {p.stderr}")
        jobid = p.stdout.strip().split(";")[0]
        return jobid, log.replace("%j", jobid)

    def wait(self, jobid, timeout, until=None, what="finished"):
        j = self.slurm.wait(jobid, timeout, until)
        if j is None:
            fail(f"job {jobid} {what} within {timeout} s: {self.slurm.job(jobid)}" + self.slurm.tail_logs())
        return j

    def kill_on(self, host, spare=()):
        """SIGKILL every process on host whose command does not start with one of `spare`."""
        killed = []
        for pid in host.pids():
            try:
                cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if cmd and not any(cmd.startswith(s) for s in spare):
                os.kill(pid, signal.SIGKILL)
                killed.append(cmd.split()[0])
        return killed

    def reboot(self, host, node, jobid):
        """host comes back after a crash, once the job's steps on the other host have ended
        (a real reboot takes that long; a requeued run that starts while the last one's
        slurmstepd still exits on cluster-a fails to launch: PMIx's socket of that job and
        step is still taken). Nothing of host runs, its local /tmp and its spool are empty
        (a stale PMIx socket of the killed step would fail the next launch there too), and
        its slurmd starts again."""
        t0 = time.time()
        while any(cmd.startswith(f"slurmstepd: [{jobid}.") for cmd in host_cmds(self.hosts.a)):
            check(time.time() - t0 < 60, f"job {jobid}'s steps on cluster-a ended: {host_cmds(self.hosts.a)}")
            time.sleep(0.1)
        while host.pids():
            self.kill_on(host)
            check(time.time() - t0 < 70, f"every process on {host.hostname} gone")
            time.sleep(0.05)
        for sub in ("tmp", "spool"):
            path = self.slurm.path(sub, node)
            shutil.rmtree(path)
            os.makedirs(path)
        p = subprocess.run(host.enter() + ["slurmd", "-N", node], env=self.slurm.env, capture_output=True, text=True)
        check(p.returncode == 0, f"slurmd on {node} started again: {p.stderr}")
        return time.time() - t0


RENDER_OPTS = ["--nodes=2", "--ntasks=3", "--ntasks-per-node=2", "--cpus-per-task=1"]


def case_render(c):
    out = os.path.join(c.work, "render")
    shutil.rmtree(out, ignore_errors=True)
    b = c.hosts.b
    rx0, tx0 = b.link_bytes()
    jobid, log = c.submit("render.sbatch", [c.catalog, out] + TINY, "render", RENDER_OPTS)
    seen = {}
    j = c.wait(jobid, 120, lambda j: rank_hosts(c.hosts, c.tryon, seen) or j.get("JobState") in private_slurm.FINAL_STATES)
    text = open(log).read()
    check(j["JobState"] == "COMPLETED" and j.get("ExitCode") == "0:0", f"render job completed: {j}\n{text}" + c.slurm.tail_logs())
    check(j.get("NodeList") == "cluster-a,cluster-b", f"the job ran on both nodes: {j.get('NodeList')}")
    check("srun --mpi=pmix" in text, "the log names the launcher: " + text)
    check(seen == {0: "cluster-a", 1: "cluster-a", 2: "cluster-b"},
          f"ranks 0 and 1 on cluster-a, rank 2 on cluster-b, by the host name each rank sees: {seen}")
    check_render(out, c.pairs, c.ref, "render")
    from_b = [r for r in farm_tests.manifest(out) if r["rank"] == 2]
    check(from_b, "cluster-b's worker rendered pairs")
    # each result is a JSON record of about 1.2 KB sent to the master on cluster-a: the
    # veth is the only way between the hosts, so at least 1 KB per pair went over it
    rx1, tx1 = b.link_bytes()
    check(tx1 - tx0 >= 1000 * len(from_b), f"cluster-b sent {tx1 - tx0} bytes over the veth for {len(from_b)} results")
    check(rx1 - rx0 > 0, "cluster-b received its work over the veth")
    return f"{len(c.pairs)} pairs, {len(from_b)} from cluster-b, {tx1 - tx0} bytes sent by cluster-b"


def case_train(c):
    data_cfg = os.path.join(c.work, "data.yaml")
    # train_tests' data with 4 persons, not 12: one shard of 4 to train on and none held
    # out (the weights are compared, not the validation loss; each person costs seconds)
    text = train_tests.DATA.replace("count: 12", "count: 4")
    check(text != train_tests.DATA, "train_tests.DATA has 12 persons")
    with open(data_cfg, "w") as f:
        f.write(text)
    data = os.path.join(c.work, "data")
    shutil.rmtree(data, ignore_errors=True)
    c.on_a([c.tryon, "synth", data_cfg, "--out", data, "--quiet", "--threads", "1"])
    with open(os.path.join(c.work, "model.yaml"), "w") as f:
        f.write(train_tests.MODEL)
    cfg = os.path.join(c.work, "train.yaml")
    with open(cfg, "w") as f:
        text = train_tests.TRAIN.format(steps=20)
        check("val_shards: 1" in text, "train_tests.TRAIN holds out one shard")
        f.write(text.replace("val_shards: 1", "val_shards: 0"))
    ref = os.path.join(c.work, "train-ref")
    shutil.rmtree(ref, ignore_errors=True)
    c.on_a(farm_tests.mpirun(2, [c.tryon, "train", cfg, "--out", ref, "--threads", "1", "--device", "cpu"]))
    out = os.path.join(c.work, "train")
    shutil.rmtree(out, ignore_errors=True)
    c.slurm.env["TRYON_DEVICE"] = "cpu"
    jobid, log = c.submit("train.sbatch", [cfg, out], "train",
                          ["--nodes=2", "--ntasks-per-node=1", "--cpus-per-task=1", "--gpus-per-task=0"])
    j = c.wait(jobid, 120)
    text = open(log).read()
    check(j["JobState"] == "COMPLETED" and j.get("ExitCode") == "0:0", f"train job completed: {j}\n{text}" + c.slurm.tail_logs())
    check(j.get("NodeList") == "cluster-a,cluster-b", f"the job ran on both nodes: {j.get('NodeList')}")
    check("on 2 ranks" in text, "the training ran on 2 ranks: " + text[-2000:])
    a, b = (train_tests.sha(os.path.join(o, "model.safetensors")) for o in (out, ref))
    check(a == b, "weights over 2 nodes equal a one-host run with 2 ranks")
    return "20 steps on 2 ranks, weights equal"


def start_and_wait_for_b(c, out, name):
    """Submit render.sbatch; return (jobid, log) once 2 results are journaled and a rank
    runs on cluster-b."""
    jobid, log = c.submit("render.sbatch", [c.catalog, out] + TINY, name, RENDER_OPTS)

    def ready(j):
        seen = {}
        rank_hosts(c.hosts, c.tryon, seen)
        return len(journal(out)) >= 2 and 2 in seen or j.get("JobState") in private_slurm.FINAL_STATES
    j = c.wait(jobid, 120, ready, "had 2 results with a rank on cluster-b")
    check(j["JobState"] == "RUNNING", f"the job was running when cluster-b was hit: {j}")
    return jobid, log


def check_requeued_run(c, jobid, log, out, restarts, what):
    j = c.wait(jobid, 150)
    text = open(log).read()
    check(j["JobState"] == "COMPLETED" and j.get("ExitCode") == "0:0" and j.get("Restarts") == str(restarts),
          f"{what}: the job completed on run {restarts}: {j}\n{text}" + c.slurm.tail_logs())
    check("the previous run ended while rank 2 held" in text or "rank 2 holds 0" in text,
          f"{what}: the re-run named the pairs rank 2 held")
    check_render(out, c.pairs, c.ref, what)
    check(not os.path.exists(os.path.join(out, "inflight.log")), f"{what}: the complete run removed the assignment log")
    return text


def case_kill(c):
    """cluster-b's ranks SIGKILLed (the OOM killer, a crashed process; its slurmd and
    slurmstepd live): the step ends, the script requeues the job, the re-run completes."""
    out = os.path.join(c.work, "kill")
    shutil.rmtree(out, ignore_errors=True)
    jobid, log = start_and_wait_for_b(c, out, "kill")
    killed = c.kill_on(c.hosts.b, spare=("slurmd", "slurmstepd"))
    check(killed == [c.tryon], f"killed cluster-b's tryon rank: {killed}")
    done = len(journal(out))
    check(done < len(c.pairs), f"killed mid-run ({done} of {len(c.pairs)} journaled)")
    text = check_requeued_run(c, jobid, log, out, 1, "kill")
    check("cluster-b: task 2: Killed" in text, "the log names the killed task:\n" + text)
    check("a rank was killed (status 137): requeueing" in text, "the log shows status 137 and the requeue:\n" + text)
    return f"{done} of {len(c.pairs)} pairs done when cluster-b's rank died; 2 runs"


def case_hostfail(c):
    """cluster-b lost whole (slurmd, slurmstepd and ranks SIGKILLed): Slurm marks it DOWN
    after SlurmdTimeout, the job ends with NODE_FAIL and Slurm requeues it; cluster-b comes
    back (reboot) and the second run completes."""
    out = os.path.join(c.work, "hostfail")
    shutil.rmtree(out, ignore_errors=True)
    jobid, log = start_and_wait_for_b(c, out, "hostfail")
    killed = c.kill_on(c.hosts.b)
    check("slurmd" in killed and c.tryon in killed, f"cluster-b lost everything: {killed}")
    done = len(journal(out))
    check(done < len(c.pairs), f"killed mid-run ({done} of {len(c.pairs)} journaled)")
    t0 = time.time()
    c.wait(jobid, 60, lambda j: int(j.get("Restarts", "0")) >= 1, "was requeued by Slurm after the node failed")
    lost = time.time() - t0
    check(c.slurm.node_states().get("cluster-b", "").startswith("down"), f"cluster-b is down: {c.slurm.node_states()}")
    back = c.reboot(c.hosts.b, "cluster-b", jobid)
    text = check_requeued_run(c, jobid, log, out, 1, "hostfail")
    check("Node failure on cluster-b" in text and "DUE TO NODE FAILURE" in text, "the log shows the node failure:\n" + text)
    return (f"{done} of {len(c.pairs)} pairs done when cluster-b died; requeued {lost:.1f} s later; "
            f"cluster-b back after {back:.1f} s more; 2 runs")


def host_cmds(host):
    """The argv[0] of every process on host (slurmstepd writes its job and step there)."""
    cmds = []
    for pid in host.pids():
        try:
            cmds.append(open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")[0].decode())
        except OSError:
            pass
    return cmds


CASES = {"render": case_render, "train": case_train, "kill": case_kill, "hostfail": case_hostfail}


def check_tools():
    for tool in ("munged", "slurmctld", "slurmd", "sbatch", "scontrol", "sinfo", "srun"):
        if not shutil.which(tool):
            skip(f"{tool} is not installed (apt-get install slurm-wlm munge)")


def probe():
    """`--probe`: exit 0 when the cluster can be made here, else print why and exit 77."""
    check_tools()
    hosts = netns_hosts.Hosts()
    try:
        hosts.create()
    except netns_hosts.Unavailable as e:
        skip(f"network namespaces cannot be made here: {e}")
    finally:
        hosts.destroy()
    sys.exit(0)


def main():
    if sys.argv[1:] == ["--probe"]:
        probe()
    repo, tryon, work = (os.path.abspath(a) for a in sys.argv[1:4])
    names = sys.argv[4:]
    check(names and all(n in CASES for n in names),
          f"usage: cluster_test.py REPO TRYON WORK_DIR {'|'.join(CASES)}... | cluster_test.py --probe")
    check_tools()
    stale = netns_hosts.clean_stale()
    if stale:
        print("removed what killed runs left:", ", ".join(f"{netns_hosts.PREFIX}-{t}" for t in stale))
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    c = Cluster(repo, tryon, work)
    # a TERM (ctest's timeout, Ctrl-C) still stops the daemons and removes the namespaces
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("cluster_test: terminated"))
    try:
        t0 = time.time()
        try:
            c.start()
        except (netns_hosts.Unavailable, private_slurm.Unavailable) as e:
            skip(f"no two-node test cluster here: {e}")
        print(f"cluster: {c.hosts.a.hostname} {c.hosts.a.addr}, {c.hosts.b.hostname} {c.hosts.b.addr}, "
              f"Slurm up ({time.time() - t0:.1f} s)", flush=True)
        t0 = time.time()
        c.catalog, c.pairs = farm_tests.demo_subset(os.path.join(repo, "configs", "demo"), os.path.join(work, "catalog"))
        check(len(c.pairs) >= 4, f"at least 4 pairs to render: {c.pairs}")
        # one thread, as each rank has (two OpenMP threads on a busy 2-core machine spin
        # against the other processes and took three times longer here)
        ref_out = os.path.join(work, "ref")
        c.on_a([tryon, "render", c.catalog, "--out", ref_out, "--threads", "1"] + TINY)
        c.ref = farm_tests.render_hashes(ref_out)
        check(len(c.ref) == len(c.pairs), "the one-host reference rendered every pair")
        print(f"reference: one-host render of {len(c.pairs)} pairs ({time.time() - t0:.1f} s)", flush=True)
        for name in names:
            t0 = time.time()
            print(f"case {name}: ...", flush=True)
            what = CASES[name](c)
            print(f"PASS {name}: {what} ({time.time() - t0:.1f} s)", flush=True)
    finally:
        c.stop()
    print("PASS cluster:", " ".join(names))


if __name__ == "__main__":
    main()
