"""The sandbox a student's process runs in: bubblewrap where present, resource limits always.

Inside: the system and the Python installation read-only, the ``grader_worker`` package read-only,
the submission read-only at ``/submission``, a private writable home (``/home/student``, also the
working directory, filled with a copy of the submission), ``/tmp`` and ``/dev/shm``, each a tmpfs of
bounded size (``Limits.disk``: nothing the student writes reaches the host's disk), no network (a
new, empty network namespace), its own PID/IPC/UTS namespaces, and none of the grader's files:
rubrics, references, hidden cases and other submissions are simply not mounted. When the grader runs
as root the student's process drops to an unprivileged uid of its own, so per-user limits hold per
submission. Without bubblewrap the limits still apply and a warning says, once, that isolation is off.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import site
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import grader_worker

from .cgroups import Cgroup

HOME = "/home/student"
SUBMISSION = "/submission"
WORKER_ROOT = "/opt/dl-grader"
# The interpreter the sandbox runs, as a normal path (``sys.executable`` may hold ``..``, which the
# sandbox, seeing only the Python installation, cannot follow); symbolic links are kept (a venv's python).
PYTHON = os.path.abspath(sys.executable)
BASE_UID = 20000
UID_COUNT = 4096
_warned = False


@dataclass(frozen=True)
class Limits:
    """Resource limits for the student's processes (see ``grader_worker.limits``)."""

    address_space: int = 4096 * 2**20
    cpu_seconds: int = 600
    processes: int = 128
    file_size: int = 64 * 2**20
    open_files: int = 256
    core_size: int = 0
    disk: int = 256 * 2**20  # bytes of each writable tmpfs (home, /tmp; /dev/shm a quarter of it)


@dataclass
class Sandbox:
    """Where one submission's process runs and what it may see."""

    scratch: Path
    submission: Path
    ipc_dir: Path
    limits: Limits = field(default_factory=Limits)
    slot: int = 0
    use_bwrap: bool | None = None

    def __post_init__(self) -> None:
        if self.use_bwrap is None:
            self.use_bwrap = bwrap_available()
        if not self.use_bwrap:
            warn_sandbox_off()
        self._lease = UidLease(BASE_UID + self.slot) if os.getuid() == 0 and self.use_bwrap else None
        self._cgroup: Cgroup | None | bool = False  # made on first use

    @property
    def uid(self) -> int | None:
        """An unprivileged uid of this sandbox's own, when we are root and can isolate by uid."""
        return self._lease.uid if self._lease is not None else None

    def cgroup(self) -> Cgroup | None:
        """This sandbox's memory and pids cgroup, where the grader may make one (``grader.runner.cgroups``)."""
        if self._cgroup is False:
            owner = self.uid if self.uid is not None else f"{os.getpid()}-{id(self)}"
            self._cgroup = Cgroup.create(f"dl-grader-{owner}")
        return self._cgroup or None

    def confine(self, pids: list[int]) -> None:
        """Put the student's processes (host pids) under the cgroup's limits, where there is one."""
        cgroup = self.cgroup()
        if cgroup is None:
            return
        cgroup.limit(self.limits.address_space, self.limits.processes)
        for pid in pids:
            try:
                cgroup.add(pid)
            except ProcessLookupError:
                pass

    def close(self) -> None:
        """Remove the cgroup and give the uid back (after every process of it is gone)."""
        if self._cgroup:
            self._cgroup.remove()
        if self._lease is not None:
            self._lease.release()

    @property
    def home(self) -> str:
        return HOME if self.use_bwrap else str(self.scratch)

    @property
    def submission_path(self) -> str:
        return SUBMISSION if self.use_bwrap else str(self.submission)

    def prepare(self) -> None:
        """Create the writable folders, owned by the sandbox uid."""
        for folder in (self.scratch, self.ipc_dir):
            folder.mkdir(parents=True, exist_ok=True)
            if self.uid is not None:
                os.chown(folder, self.uid, self.uid)
            os.chmod(folder, 0o700)

    def command(self, argv: list[str], limited: bool = True, as_pid_1: bool = False) -> list[str]:
        """``argv`` wrapped so that it runs sandboxed and (unless ``limited`` is false) limited. ``as_pid_1``:
        ``argv`` is the first process of the sandbox's pid namespace (a zygote, which outlives the students
        it serves: no process of bubblewrap's own stays beside it, for a student's code to take over where
        it runs with the student's uid)."""
        inner = [PYTHON, "-m", "grader_worker.limits", json.dumps(self.limit_values()), "--", *argv] if limited else argv
        if not self.use_bwrap:
            return inner
        return ["bwrap", *self._bwrap_args(), *(["--as-pid-1"] if as_pid_1 else []), "--", *inner]

    def give(self, root: Path) -> None:
        """Make a folder tree the sandbox uid's own, so that the student's process may write there."""
        if self.uid is None:
            return
        os.chown(root, self.uid, self.uid)
        for path in root.rglob("*"):
            os.chown(path, self.uid, self.uid, follow_symlinks=False)

    def environment(self) -> dict[str, str]:
        home = self.home
        worker = WORKER_ROOT if self.use_bwrap else str(Path(grader_worker.__file__).parent.parent)
        env = {
            "HOME": home,
            "PATH": f"{Path(PYTHON).parent}:/usr/local/bin:/usr/bin:/bin",
            "PYTHONPATH": worker,
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0",
            "MPLBACKEND": "Agg",
            "MPLCONFIGDIR": f"{home}/.config/matplotlib",
            "IPYTHONDIR": f"{home}/.ipython",
            "JUPYTER_PLATFORM_DIRS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "LANG": "C.UTF-8",
            "TMPDIR": "/tmp" if self.use_bwrap else str(self.scratch),
        }
        for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # needed on some processors
            if name in os.environ:
                env[name] = os.environ[name]
        return env

    def limit_values(self) -> dict:
        """The limits as ``grader_worker.limits.apply`` takes them: rlimits, the uid to drop to, and (with
        bubblewrap) the home to fill from the read-only submission before dropping privileges."""
        values = {key: value for key, value in vars(self.limits).items() if key != "disk"}
        values["uid"] = self.uid
        if self.use_bwrap:
            values["home"] = {"from": SUBMISSION, "to": HOME}
        return values

    def _bwrap_args(self) -> list[str]:
        args = ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                "--die-with-parent", "--new-session", "--hostname", "sandbox", "--clearenv"]
        if os.getuid() == 0:  # only to fill the home and drop to self.uid (gone after the drop)
            args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_CHOWN"]
        else:
            args += ["--unshare-user"]
        for top in ("usr", "bin", "sbin", "lib", "lib32", "lib64"):
            path = Path("/") / top
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                args += ["--ro-bind", str(path), str(path)]
        for name in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "nsswitch.conf", "alternatives"):
            if (Path("/etc") / name).exists():
                args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
        # /tmp first: the interpreter, the grader or the slot's folders may live below it
        disk = str(self.limits.disk)
        args += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", disk, "--tmpfs", "/tmp",
                 "--perms", "1777", "--size", str(self.limits.disk // 4), "--tmpfs", "/dev/shm"]
        for root in _python_roots():
            args += _dirs_for(root) + ["--ro-bind", str(root), str(root)]
        for masked in _installed_private_packages():
            args += ["--tmpfs", str(masked)]
        worker = Path(grader_worker.__file__).parent
        args += _dirs_for(Path(WORKER_ROOT) / "grader_worker") + ["--ro-bind", str(worker), f"{WORKER_ROOT}/grader_worker"]
        args += ["--perms", "0755", "--dir", "/home"]
        args += ["--perms", "0700", "--size", disk, "--tmpfs", HOME, "--ro-bind", str(self.submission), SUBMISSION]
        args += _dirs_for(self.ipc_dir) + ["--bind", str(self.ipc_dir), str(self.ipc_dir)]
        # The sandbox's own root and /dev are folders bubblewrap made for the mounts above: read-only, or a
        # grader that is not root (every student then has its uid) would let one student leave files there
        # for the next in the slot. Only the home, /tmp, /dev/shm and the kernel's IPC folder stay writable.
        args += ["--remount-ro", "/dev", "--remount-ro", "/"]
        args += ["--chdir", HOME]
        for key, value in self.environment().items():
            args += ["--setenv", key, value]
        return args


def clear_folder(folder: Path) -> None:
    """Remove everything in ``folder`` (not the folder), whatever modes the student left on it."""
    for root, dirs, _files in os.walk(folder):
        for name in dirs:
            path = Path(root) / name
            if not path.is_symlink():
                path.chmod(0o700)
    for child in folder.iterdir():
        shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()


class UidLease:
    """An unprivileged uid held by one sandbox alone, through an exclusive lock on a file of its own.

    Slots number from 0 in every batch, so two batches on one machine (two TAs, a test run beside a
    grading run) would otherwise share uids, and clearing "every process of the uid" after one student
    would kill another batch's kernel. The lock goes with the process that holds it, even if it dies.
    """

    folder = Path(tempfile.gettempdir()) / "dl-grader-uids"

    def __init__(self, preferred: int):
        self.folder.mkdir(mode=0o700, exist_ok=True)
        start = preferred - BASE_UID
        for offset in range(UID_COUNT):
            uid = BASE_UID + (start + offset) % UID_COUNT
            fd = os.open(self.folder / str(uid), os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self.uid, self._fd = uid, fd
            return
        raise RuntimeError(f"all {UID_COUNT} sandbox uids from {BASE_UID} are in use")

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:
        self.release()


def _dirs_for(path: Path) -> list[str]:
    """bwrap creates missing parents 0700; make them traversable for the unprivileged uid."""
    args: list[str] = []
    for parent in reversed(path.parents):
        if str(parent) not in ("/", "/usr", "/tmp") and not str(parent).startswith("/usr/"):
            args += ["--perms", "0755", "--dir", str(parent)]
    return args


def _python_roots() -> list[Path]:
    """The interpreter's installation and environment, and nothing else of the host's file system."""
    roots = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}
    for directory in [*site.getsitepackages(), site.getusersitepackages()]:
        path = Path(directory).resolve()
        if path.is_dir() and not any(path.is_relative_to(r) for r in roots):
            roots.add(path)
    return sorted(r for r in roots if not r.is_relative_to("/usr"))


def _installed_private_packages() -> list[Path]:
    """Grader and reference packages installed (non-editable) into site-packages: hidden by an empty tmpfs."""
    found = []
    for directory in site.getsitepackages():
        for name in ("grader", "reference", "rubrics"):
            candidate = Path(directory) / name
            if candidate.is_dir():
                found.append(candidate)
    return found


def bwrap_available() -> bool:
    """bubblewrap is installed and can create its namespaces here (not disabled by the environment)."""
    if os.environ.get("GRADER_SANDBOX", "").lower() in ("off", "0", "none"):
        return False
    if shutil.which("bwrap") is None:
        return False
    return _bwrap_works()


_bwrap_ok: bool | None = None


def _bwrap_works() -> bool:
    global _bwrap_ok
    if _bwrap_ok is None:
        import subprocess

        probe = ["bwrap", "--ro-bind", "/", "/", "--unshare-net", "--unshare-pid", "--die-with-parent", "--", "true"]
        if os.getuid() != 0:
            probe.insert(1, "--unshare-user")
        try:
            _bwrap_ok = subprocess.run(probe, capture_output=True, timeout=10).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _bwrap_ok = False
    return _bwrap_ok


def warn_sandbox_off() -> None:
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(
            "SANDBOX OFF: bubblewrap (bwrap) is not available, so student code runs with resource limits "
            "only and can read what this user can read. Install bubblewrap for isolation.",
            RuntimeWarning,
            stacklevel=3,
        )
