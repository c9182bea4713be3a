"""private_slurm.py: a private Slurm for the tests (munged, one slurmctld, a slurmd per node).

Imported by tests/slurm/slurm_test.py (one node on this machine's own network) and
tests/cluster/cluster_test.py (two nodes, each in its own network and UTS namespace).
Every daemon lives under one private folder (slurm.conf, munge key and socket, state,
spools, logs, pid files); each node says how a command enters it (`enter`, a command
prefix such as nsenter; empty for this machine), and the daemons and the client commands
(sbatch, scontrol) run through it. stop() kills the daemons by the PIDs in their pid files.
Only the Python standard library is used.
"""
import os
import signal
import subprocess
import time

FINAL_STATES = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL",
                "DEADLINE", "PREEMPTED")


class Unavailable(Exception):
    """Slurm or munge cannot run here (not installed, a daemon did not start): a skip, not a failure."""


class Node:
    """One Slurm node: its NodeName, the address slurmd listens on, the host name its
    processes see, the command prefix that runs a command on it, and the CPUs it claims."""

    def __init__(self, name, addr, hostname, enter=(), cpus=1):
        self.name = name
        self.addr = addr
        self.hostname = hostname
        self.enter = list(enter)
        self.cpus = cpus


class Slurm:
    """munged + slurmctld (on nodes[0]) + a slurmd per node; stop() kills them by PID.

    root: the private folder (created by the caller, removed by the caller).
    ports: (SlurmctldPort, SlurmdPort). conf_extra: more slurm.conf lines (timeouts).
    cred_expire: seconds a job's credential lives; a requeued job waits that long (plus
    one) before it may start again, Slurm's guard against a half-killed last run (120 s by
    default; the backfill pass that then starts it runs every second here). kill_wait:
    seconds from SIGTERM to SIGKILL when a job or step is ended. pmix_timeout (mpi.conf
    PMIxTimeout): how long a slurmstepd waits in a PMIx collective for the other nodes
    (a step whose node died holds its PMIx socket that long).
    The client commands (run(), job(), wait()) run on nodes[0], the controller's node."""

    def __init__(self, root, nodes, ports, conf_extra="", cred_expire=10, kill_wait=5, pmix_timeout=300):
        self.root = root
        self.pmix_timeout = pmix_timeout
        self.cred_expire = cred_expire
        self.kill_wait = kill_wait
        self.nodes = nodes
        self.ports = ports
        self.conf_extra = conf_extra
        self.pidfiles = []
        # Open MPI's session folders are named by host name and job: private ones, so that
        # two private Slurms on one machine (both counting jobs from 1) do not meet
        self.env = dict(os.environ, OMPI_MCA_orte_tmpdir_base=self.path("tmp"))

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def _daemon(self, name, cmd, pidfile):
        self.pidfiles.append(pidfile)
        p = subprocess.run(cmd, env=self.env, capture_output=True, text=True)
        if p.returncode != 0:
            raise Unavailable(f"{name} did not start: {p.stderr.strip()} (logs in {self.path('log')})")

    def _conf(self, sock):
        ctld = self.nodes[0]
        names = ",".join(n.name for n in self.nodes)
        lines = [f"""ClusterName=tryontest
SlurmctldHost={ctld.hostname}({ctld.addr})
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={sock},cred_expire={self.cred_expire}
SlurmctldPort={self.ports[0]}
SlurmdPort={self.ports[1]}
StateSaveLocation={self.path("state")}
SlurmdSpoolDir={self.path("spool", "%n")}
TmpFS={self.path("tmp", "%n")}
SlurmctldPidFile={self.path("slurmctld.pid")}
SlurmdPidFile={self.path("slurmd.%n.pid")}
SlurmctldLogFile={self.path("log", "slurmctld.log")}
SlurmdLogFile={self.path("log", "slurmd.%n.log")}
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
ReturnToService=2
SwitchType=switch/none
MailProg=/bin/true
MinJobAge=600
KillWait={self.kill_wait}
SlurmdParameters=config_overrides"""]
        if self.conf_extra:
            lines.append(self.conf_extra.strip())
        for n in self.nodes:
            lines.append(f"NodeName={n.name} NodeAddr={n.addr} NodeHostname={n.hostname} CPUs={n.cpus} Boards=1 "
                         f"SocketsPerBoard=1 CoresPerSocket={n.cpus} ThreadsPerCore=1 RealMemory=1000 State=UNKNOWN")
        lines.append(f"PartitionName=debug Nodes={names} Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO")
        return "\n".join(lines) + "\n"

    def start(self):
        """Start munged, slurmctld and every slurmd; return when every node is idle.
        Raises Unavailable when a daemon does not start or the nodes do not come up."""
        # per node: its spool and its TmpFS (PMIx's per-step folders are named by job and
        # step only, so nodes or concurrent private Slurms sharing one /tmp would collide)
        for d in ["munge", "munge-run", "state", "log"] + [os.path.join(k, n.name) for n in self.nodes
                                                            for k in ("spool", "tmp")]:
            os.makedirs(self.path(d), exist_ok=True)
        os.chmod(self.path("munge"), 0o700)
        os.chmod(self.path("munge-run"), 0o755)
        key = self.path("munge", "munge.key")
        with open(key, "wb") as f:
            f.write(os.urandom(1024))
        os.chmod(key, 0o400)
        # a Unix socket in the shared folder: every node reaches the one munged
        sock = self.path("munge-run", "munge.sock")
        ctld = self.nodes[0]
        self._daemon("munged", ctld.enter + [
            "munged", "--force", "--key-file=" + key, "--socket=" + sock, "--pid-file=" + self.path("munged.pid"),
            "--log-file=" + self.path("log", "munged.log"), "--seed-file=" + self.path("munge", "seed")],
            self.path("munged.pid"))
        with open(self.path("slurm.conf"), "w") as f:
            f.write(self._conf(sock))
        with open(self.path("mpi.conf"), "w") as f:
            f.write(f"PMIxTimeout={self.pmix_timeout}\n")
        self.env["SLURM_CONF"] = self.path("slurm.conf")
        self._daemon("slurmctld", ctld.enter + ["slurmctld", "-c"], self.path("slurmctld.pid"))
        for n in self.nodes:
            self._daemon("slurmd " + n.name, n.enter + ["slurmd", "-N", n.name], self.path(f"slurmd.{n.name}.pid"))
        t0 = time.time()
        while time.time() - t0 < 30:
            if all(s == "idle" for s in self.node_states().values()) and len(self.node_states()) == len(self.nodes):
                return
            time.sleep(0.3)
        raise Unavailable("the Slurm nodes did not become idle in 30 s: " + self.tail_logs())

    def node_states(self):
        """{NodeName: state} as sinfo reports it (idle, alloc, down*, ...)."""
        p = self.run(["sinfo", "-h", "-N", "-o", "%N %T"])
        return dict(line.split() for line in p.stdout.splitlines() if len(line.split()) == 2)

    def tail_logs(self, lines=15):
        text = ""
        for name in sorted(os.listdir(self.path("log"))) if os.path.isdir(self.path("log")) else ():
            if name.startswith("slurm"):
                with open(self.path("log", name), errors="replace") as f:
                    text += f"\n--- {name}\n" + "".join(f.readlines()[-lines:])
        return text

    def stop(self):
        """SIGTERM each daemon by its pid file (slurmds first, munged last); SIGKILL after 5 s."""
        for pf in reversed(self.pidfiles):
            try:
                with open(pf) as f:
                    pid = int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                continue
            stop_pid(pid)

    def run(self, cmd, extra_env=None):
        """Run a client command (sbatch, scontrol, ...) on the controller's node."""
        return subprocess.run(self.nodes[0].enter + cmd, env=dict(self.env, **(extra_env or {})),
                              capture_output=True, text=True)

    def job(self, jobid):
        """scontrol's fields of one job as a dict (first occurrence of each key)."""
        p = self.run(["scontrol", "-o", "show", "job", str(jobid)])
        fields = {}
        for tok in p.stdout.split():
            if "=" in tok:
                k, v = tok.split("=", 1)
                fields.setdefault(k, v)
        return fields

    def wait(self, jobid, timeout, until=None):
        """Poll the job until until(fields) holds (default: a final state); return its fields,
        or None after `timeout` seconds."""
        until = until or (lambda j: j.get("JobState") in FINAL_STATES)
        t0 = time.time()
        while time.time() - t0 < timeout:
            j = self.job(jobid)
            if until(j):
                return j
            time.sleep(0.2)
        return None


def alive(pid):
    """Whether pid runs (a zombie does not: where PID 1 does not reap orphans, the
    daemons' forked parents stay zombies forever)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def stop_pid(pid, grace=5.0):
    """SIGTERM pid, SIGKILL it if it is still there after `grace` seconds."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    t0 = time.time()
    while time.time() - t0 < grace:
        if not alive(pid):
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
