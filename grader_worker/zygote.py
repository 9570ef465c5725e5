"""A warm parent inside the sandbox that forks one fresh Jupyter kernel per submission.

Starting Python, importing numpy/torch and ipykernel costs seconds; forking a process that already
did costs milliseconds. The zygote preloads those modules once, then, on request, forks a child that
drops to the sandbox uid with its limits, and becomes an ordinary IPython kernel on the connection
file it is given: real Jupyter semantics, a new process (and namespace) for every submission. A kernel
is never reused. Requests are JSON lines on stdin, replies JSON lines on stdout. Standard library
(plus what it preloads) only.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import select
import signal
import sys

from . import limits as limits_module

# Every kernel, forked or started cold. Plain tracebacks: the grader keeps only the error's type and
# message, and IPython's default context tracebacks cost up to 0.2 s each (they parse source files).
# No pause before each execute_reply (ipykernel sleeps 0.5 ms "to let output flush"): the grader reads
# a cell's outputs until the kernel's idle status, which the same IOPub thread sends after them.
KERNEL_OPTIONS = ["--HistoryManager.enabled=False", "--IPKernelApp.quiet=True", "--InteractiveShell.xmode=Plain",
                  "--IPythonKernel._execute_sleep=0"]


_on_demand: set[str] = set()  # what a ``preload`` request may ask for (the grader's list, given at start)


def _preload(modules: list[str]) -> dict:
    """Import modules once, for every kernel forked afterwards; then freeze them out of the garbage
    collector so that the children's collections do not touch (and copy) the shared pages."""
    loaded, failed = [], {}
    for name in modules:
        try:
            importlib.import_module(name)
            loaded.append(name)
        except Exception as exc:  # noqa: BLE001 - a missing optional module is reported, not fatal
            failed[name] = f"{type(exc).__name__}: {exc}"
    gc.freeze()
    return {"loaded": loaded, "failed": failed}


def _preload_request(request: dict) -> dict:
    """Import heavy libraries a submission is about to use (only those named at start, never its own)."""
    wanted = [name for name in request.get("modules", []) if name in _on_demand and name not in sys.modules]
    return _preload(wanted) if wanted else {"loaded": [], "failed": {}}


_children: set[int] = set()


def _spawn(request: dict) -> dict:
    """Fork a kernel; reply once its sockets are bound, so that the grader connects at once."""
    ready_read, ready_write = os.pipe()
    pid = os.fork()
    if pid:
        _children.add(pid)
        os.close(ready_write)
        started = select.select([ready_read], [], [], 30)[0] and os.read(ready_read, 1) == b"1"
        os.close(ready_read)
        return {"pid": pid, "started": bool(started)}
    try:  # the child: a new session, its own limits and uid, then a kernel
        _set_dumpable(True)  # (an ordinary process again; dropping to the sandbox's uid resets it as the system says)
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.closerange(3, ready_write)
        os.closerange(ready_write + 1, 65536)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        limits_module.apply(request["limits"])
        _die_with_parent()
        from ipykernel.kernelapp import IPKernelApp

        app = IPKernelApp.instance()
        app.initialize(["-f", request["connection_file"], *KERNEL_OPTIONS, "--IPKernelApp.capture_fd_output=False"])
        os.write(ready_write, b"1")
        os.close(ready_write)
        app.start()
    finally:
        os._exit(0)


def _set_dumpable(dumpable: bool) -> None:
    """PR_SET_DUMPABLE: a zygote that is not dumpable cannot be traced, nor its memory or environment
    read, by a process of the same uid: a student's code, where the grader is not root and students run
    with the grader's uid, must not take over the zygote that forks the next students' kernels."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, int(dumpable))  # PR_SET_DUMPABLE
    except (OSError, AttributeError):
        pass


def _die_with_parent() -> None:
    """The kernel is killed if the zygote dies (set after dropping privileges, which clears it)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _kill_children() -> None:
    for pid in list(_children):
        for kill in (os.killpg, os.kill):
            try:
                kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        _children.discard(pid)


def _poll(request: dict) -> dict:
    try:
        pid, status = os.waitpid(int(request["pid"]), os.WNOHANG)
    except ChildProcessError:
        _children.discard(int(request["pid"]))
        return {"returncode": -1}
    if pid == 0:
        return {"returncode": None}
    _children.discard(pid)  # reaped: its pid may be reused, never signal it again
    return {"returncode": os.waitstatus_to_exitcode(status)}


def _signal(request: dict) -> dict:
    try:
        os.killpg(int(request["pid"]), int(request["signal"]))
    except ProcessLookupError:
        pass
    return {}


def _reap(request: dict) -> dict:
    """Kill every process of the submission (daemons that left their session too) and, with ``wipe``,
    remove its IPC objects and empty the folders given (/tmp, /dev/shm, the home).

    ``uid``: the sandbox's own uid (the grader runs as root): this is done as that uid, so that the
    kill reaches its processes alone and the wipe whatever modes the student left. ``alone``: this zygote
    is alone in a pid namespace of its own (bubblewrap), so that killing "every process it may signal"
    kills only what its kernels started. Done here, with a temporary effective uid, not in a forked
    helper: a fork of a zygote that holds torch cost 15-20 ms per submission."""
    uid = request.get("uid")
    _kill_children()  # their sessions, even where no uid of their own marks them (no sandbox)
    with _acting_as(uid):
        if uid is not None or request.get("alone"):
            try:
                os.kill(-1, signal.SIGKILL)  # every process this (effective) uid may signal, except this one
            except ProcessLookupError:
                pass
        if request.get("wipe"):
            _remove_ipc_objects()
        for folder in request.get("wipe", []):
            _wipe(folder)
    while True:  # collect every zombie left
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                break
        except ChildProcessError:
            break
    return {}


class _acting_as:
    """The effective uid and gid ``uid`` for a while (the real and saved ones stay root's, so the way back
    is open); nothing when ``uid`` is None. The kill and the file and IPC permission checks use the
    effective ids, and processes of ``uid`` cannot signal or trace a process whose real uid is root."""

    def __init__(self, uid: int | None):
        self.uid = None if uid is None else int(uid)

    def __enter__(self) -> None:
        if self.uid is not None:
            os.setegid(self.uid)
            os.seteuid(self.uid)

    def __exit__(self, *exc: object) -> None:
        if self.uid is not None:
            os.seteuid(0)
            os.setegid(0)


def _wipe(folder: str) -> None:
    """Empty ``folder`` whatever the modes the student left (a folder without write permission is made
    writable by its owner, the uid this runs as, first)."""
    for root, dirs, _files in os.walk(folder):
        for name in dirs:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                try:
                    os.chmod(path, 0o700)
                except OSError:
                    pass
    for root, dirs, files in os.walk(folder, topdown=False):
        for name in files + dirs:
            path = os.path.join(root, name)
            try:
                os.rmdir(path) if name in dirs and not os.path.islink(path) else os.unlink(path)
            except OSError:
                pass


_IPC = {"shm": ("shmctl", 1), "sem": ("semctl", 1), "msg": ("msgctl", 1)}  # /proc/sysvipc table, call, column of the id


def _remove_ipc_objects() -> None:
    """Remove every System V shared memory segment, semaphore set and message queue this process may
    remove: in the slot's own IPC namespace, what the last student made (nothing survives to the next)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for table, (call, column) in _IPC.items():
        try:
            with open(f"/proc/sysvipc/{table}") as listing:
                rows = listing.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > column and fields[column].isdigit():
                function = getattr(libc, call)
                if call == "semctl":
                    function(int(fields[column]), 0, 0)  # IPC_RMID = 0
                else:
                    function(int(fields[column]), 0, None)


_HANDLERS = {"spawn": _spawn, "poll": _poll, "signal": _signal, "reap": _reap, "preload": _preload_request}


def main() -> None:
    config = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    _set_dumpable(False)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Imports here must never come from the student's folder (the working directory): each kernel puts
    # it back on its own sys.path, as IPython does.
    sys.path[:] = [p for p in sys.path if p not in ("", os.getcwd())]
    _on_demand.update(config.get("on_demand", []))
    ready = _preload(config.get("preload", []))
    out = sys.stdout
    out.write(json.dumps({"ready": True, **ready}) + "\n")
    out.flush()
    for line in sys.stdin:
        try:
            request = json.loads(line)
            reply = _HANDLERS[request["op"]](request)
        except Exception as exc:  # noqa: BLE001 - reply with the error; the grader decides
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()
    _kill_children()  # the grader went away


if __name__ == "__main__":
    main()
