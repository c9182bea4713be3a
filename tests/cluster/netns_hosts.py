"""netns_hosts.py: two test "hosts" on this one machine, made of Linux namespaces.

Each host is a network namespace (`ip netns`) plus its own UTS namespace (its own host
name: Open MPI and Slurm decide "same node" by host name, so without it both hosts would
look like one node and Open MPI would use shared memory between them). The two are joined
by one veth pair on a private subnet (10.213.0.0/24); nothing else is reachable from them
and no traffic leaves them. A command runs on a host through `nsenter` (Host.enter); the
file system is shared, as a cluster's shared file system would be.

Names carry the owning process's PID (netns `tryon-cl-<pid>-a`, folder /tmp/tryon-cl-<pid>),
so concurrent runs do not meet; clean_stale() removes what a killed run left (its
processes, namespaces, mounts, folder) when that PID no longer runs this test. Needs root
(CAP_SYS_ADMIN, CAP_NET_ADMIN) and iproute2. Only the Python standard library is used.
"""
import glob
import os
import re
import shutil
import signal
import subprocess
import time

from private_slurm import alive   # tests/slurm, on sys.path (cluster_test.py puts it there)

PREFIX = "tryon-cl"
SUBNET = "10.213.0.0/24"
OWNER = "cluster_test"          # what the owning process's command line contains


class Unavailable(Exception):
    """Namespaces cannot be made here (no root, no iproute2, a sandbox without them)."""


def _sh(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise Unavailable(f"{' '.join(cmd)}: {(p.stderr or p.stdout).strip()}")
    return p.stdout


class Host:
    """One namespace host. letter: 'a' or 'b'; addr: its IPv4 on the private subnet."""

    def __init__(self, root, tag, letter, index):
        self.letter = letter
        self.netns = f"{PREFIX}-{tag}-{letter}"
        self.uts = os.path.join(root, f"uts-{letter}")   # the UTS namespace, bind-mounted here
        self.addr = f"10.213.0.{index + 1}"
        self.hostname = f"cluster-{letter}"
        self.iface = f"tcl{tag}{letter}"[:15]             # interface names: 15 characters at most

    def enter(self):
        """Command prefix that runs a command on this host."""
        return ["nsenter", "--net=/run/netns/" + self.netns, "--uts=" + self.uts, "--"]

    def pids(self):
        """PIDs of every process in this host's network namespace."""
        return _pids_in("/run/netns/" + self.netns)

    def link_bytes(self):
        """(received, sent) bytes of this host's end of the veth pair (/proc/net/dev)."""
        p = subprocess.run(["nsenter", "--net=/run/netns/" + self.netns, "cat", "/proc/net/dev"],
                           capture_output=True, text=True)
        for line in p.stdout.splitlines():
            name, _, fields = line.partition(":")
            if name.strip() == self.iface:
                nums = fields.split()
                return int(nums[0]), int(nums[8])
        raise AssertionError(f"host {self.letter}: no counters for {self.iface} in /proc/net/dev")


def _pids_in(nspath):
    """PIDs in the network namespace bound at nspath, zombies left out (they hold nothing,
    and where PID 1 does not reap orphans they stay forever)."""
    try:
        want = os.stat(nspath).st_ino
    except OSError:
        return []
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.stat(f"/proc/{pid}/ns/net").st_ino == want and alive(pid):
                    out.append(int(pid))
            except OSError:
                pass
    return out


def _kill_all(nspath):
    """SIGKILL every process in a network namespace; wait until none is left (10 s)."""
    t0 = time.time()
    while time.time() - t0 < 10:
        pids = _pids_in(nspath)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)


def _alive_owner(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return OWNER.encode() in f.read()
    except OSError:
        return False


def _remove(root, netns_names):
    for name in netns_names:
        _kill_all("/run/netns/" + name)
    for name in netns_names:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True)
    for path in glob.glob(os.path.join(root, "uts-*")):
        subprocess.run(["umount", path], capture_output=True)
    shutil.rmtree(root, ignore_errors=True)


def clean_stale():
    """Remove the namespaces, processes, mounts and folders of runs whose owner is gone.
    Returns the tags (owner PIDs) removed."""
    tags = set()
    for path in glob.glob(f"/tmp/{PREFIX}-*"):
        m = re.fullmatch(rf"{PREFIX}-(\d+)", os.path.basename(path))
        if m:
            tags.add(m.group(1))
    p = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    names = [line.split()[0] for line in p.stdout.splitlines() if line.startswith(PREFIX + "-")]
    for name in names:
        m = re.fullmatch(rf"{PREFIX}-(\d+)-[a-z]", name)
        if m:
            tags.add(m.group(1))
    stale = [t for t in sorted(tags) if not _alive_owner(int(t))]
    for tag in stale:
        _remove(f"/tmp/{PREFIX}-{tag}", [n for n in names if n.startswith(f"{PREFIX}-{tag}-")])
    return stale


class Hosts:
    """Two hosts a and b joined by a veth pair; create() makes them, destroy() removes
    everything (processes in them included). root: /tmp/tryon-cl-<pid>, shared by both."""

    def __init__(self):
        self.tag = str(os.getpid())
        self.root = f"/tmp/{PREFIX}-{self.tag}"
        self.a = Host(self.root, self.tag, "a", 0)
        self.b = Host(self.root, self.tag, "b", 1)
        self.hosts = [self.a, self.b]

    def create(self):
        for tool in ("ip", "nsenter", "unshare", "umount"):
            if not shutil.which(tool):
                raise Unavailable(f"{tool} is not installed (apt-get install iproute2 util-linux)")
        if os.geteuid() != 0:
            raise Unavailable("network namespaces need root")
        _remove(self.root, [h.netns for h in self.hosts])   # our PID's leftovers are stale by definition
        os.makedirs(self.root)
        for h in self.hosts:
            _sh(["ip", "netns", "add", h.netns])
            open(h.uts, "w").close()
            _sh(["unshare", "--uts=" + h.uts, "hostname", h.hostname])
        a, b = self.hosts
        _sh(["ip", "link", "add", a.iface, "type", "veth", "peer", "name", b.iface])
        for h in self.hosts:
            _sh(["ip", "link", "set", h.iface, "netns", h.netns])
            _sh(["ip", "-n", h.netns, "addr", "add", h.addr + "/24", "dev", h.iface])
            _sh(["ip", "-n", h.netns, "link", "set", h.iface, "up"])
            _sh(["ip", "-n", h.netns, "link", "set", "lo", "up"])
        for h in self.hosts:
            name = subprocess.run(h.enter() + ["hostname"], capture_output=True, text=True).stdout.strip()
            if name != h.hostname:
                raise Unavailable(f"host {h.letter}: hostname {name!r} inside its UTS namespace")

    def destroy(self):
        _remove(self.root, [h.netns for h in self.hosts])
        subprocess.run(["ip", "link", "delete", self.a.iface], capture_output=True)
