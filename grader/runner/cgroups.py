"""Memory and process-count cgroups around a student's processes, where the grader may make them.

RLIMIT_AS bounds each process's address space, but not what lives outside it: files in a tmpfs,
memfds, SysV shared memory, page cache. A memory cgroup counts all of them together, and a pids
cgroup bounds processes whatever uid they run as. Where the grader runs as root and a hierarchy is
writable (cgroup v2 with the memory and pids controllers, or v1's memory and pids hierarchies, as on
hosts that mount both), each kernel is moved into a cgroup of its sandbox before the student's code
runs; everything it starts stays there. Elsewhere ``Cgroup.create`` gives None and the rlimits remain
the only bound (README, "The sandbox and its limits").
"""

from __future__ import annotations

import os
from collections import deque
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "pids")


class Cgroup:
    """One sandbox's cgroup: a folder per hierarchy (v1: memory and pids; v2: one)."""

    def __init__(self, folders: dict[str, Path], version: int):
        self.folders = folders
        self.version = version

    @classmethod
    def create(cls, name: str) -> Cgroup | None:
        """A new cgroup named ``name`` below the grader's own, or None where none can be made."""
        if os.getuid() != 0 or os.environ.get("GRADER_CGROUPS", "").lower() in ("off", "0", "none"):
            return None
        own = _own_cgroups()
        for make in (_make_v2, _make_v1):
            try:
                made = make(own, name)
            except OSError:
                made = None
            if made is not None:
                return made
        return None

    def _file(self, controller: str, v1: str, v2: str) -> Path:
        return self.folders[controller if self.version == 1 else "unified"] / (v1 if self.version == 1 else v2)

    def limit(self, memory_bytes: int, pids: int) -> None:
        """At most ``memory_bytes`` of memory (with tmpfs, memfd and page cache; no swap) and ``pids`` tasks."""
        self._file("memory", "memory.limit_in_bytes", "memory.max").write_text(str(memory_bytes))
        if self.version == 1:
            swap = self._file("memory", "memory.memsw.limit_in_bytes", "")
            if swap.exists():
                try:
                    swap.write_text(str(memory_bytes))
                except OSError:
                    pass
        else:
            for name, value in (("memory.swap.max", "0"), ("memory.oom.group", "1")):
                try:
                    (self.folders["unified"] / name).write_text(value)
                except OSError:
                    pass
        self._file("pids", "pids.max", "pids.max").write_text(str(pids))

    def add(self, pid: int) -> None:
        """Move the process ``pid`` (of the host's pid namespace) into this cgroup."""
        for folder in set(self.folders.values()):
            (folder / "cgroup.procs").write_text(str(pid))

    def oom_kills(self) -> int:
        """How many processes the memory limit has killed so far."""
        path = self._file("memory", "memory.oom_control", "memory.events")
        try:
            for line in path.read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except (OSError, ValueError):
            pass
        if self.version == 1:  # older kernels count only how often the limit was hit
            try:
                return int(self._file("memory", "memory.failcnt", "").read_text())
            except (OSError, ValueError):
                return 0
        return 0

    def remove(self) -> None:
        """Remove the cgroup (its processes must be gone)."""
        for folder in set(self.folders.values()):
            try:
                folder.rmdir()
            except OSError:
                pass


def available() -> bool:
    """Whether sandboxes here get cgroups (made and removed again to find out)."""
    probe = Cgroup.create(f"dl-grader-probe-{os.getpid()}")
    if probe is None:
        return False
    probe.remove()
    return True


def _own_cgroups() -> dict[str, str]:
    """This process's cgroup path per hierarchy (``unified`` for v2)."""
    found: dict[str, str] = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in (controllers.split(",") if controllers else ["unified"]):
            found[controller] = path
    return found


def _v2_mount() -> Path | None:
    for candidate in (ROOT, ROOT / "unified"):
        if (candidate / "cgroup.controllers").exists():
            return candidate
    return None


def _make_v2(own: dict[str, str], name: str) -> Cgroup | None:
    mount = _v2_mount()
    if mount is None or "unified" not in own:
        return None
    parent = mount / own["unified"].lstrip("/")
    if not set(CONTROLLERS) <= set((parent / "cgroup.controllers").read_text().split()):
        return None
    (parent / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in CONTROLLERS))
    folder = parent / name
    folder.mkdir(exist_ok=True)
    return Cgroup({"unified": folder}, 2)


def _make_v1(own: dict[str, str], name: str) -> Cgroup | None:
    folders = {}
    for controller in CONTROLLERS:
        mount = ROOT / controller
        if controller not in own or not (mount / "cgroup.procs").exists():
            return None
        folders[controller] = mount / own[controller].lstrip("/") / name
    for folder in folders.values():
        folder.mkdir(exist_ok=True)
    return Cgroup(folders, 1)


def host_pid(root: int, pid_in_sandbox: int) -> int | None:
    """The host pid of the process that is ``pid_in_sandbox`` in the pid namespace below ``root``
    (a process of the host: the sandbox's bubblewrap), found among ``root``'s descendants."""
    queue = deque([root])
    seen = set()
    while queue:
        pid = queue.popleft()
        if pid in seen:
            continue
        seen.add(pid)
        nspid = _nspid(pid)
        if nspid and nspid[-1] == pid_in_sandbox and (len(nspid) > 1 or pid == pid_in_sandbox):
            return pid
        queue.extend(children(pid))
    return None


def children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(child) for child in (task / "children").read_text().split()]
    except OSError:
        pass
    return found


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    found, queue = [], deque([pid])
    while queue:
        current = queue.popleft()
        if current not in found:
            found.append(current)
            queue.extend(children(current))
    return found


def _nspid(pid: int) -> list[int]:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("NSpid:"):
                return [int(part) for part in line.split()[1:]]
    except (OSError, ValueError):
        pass
    return []
