"""The grader's side of the warm kernel parent (``grader_worker.zygote``), and its kernel provisioner.

One zygote per parallel job slot lives in its own sandbox for a whole batch. For each submission the
grader puts a copy of the submission into the slot's (otherwise empty) folders, asks the zygote for a
fresh kernel, grades, then has every process of the slot's uid killed and the folders wiped: one
student's files and processes are gone before the next student's arrive. jupyter_client drives the
kernel through ``grader.runner.provisioner.ZygoteProvisioner`` (the ``dl-grader-zygote`` kernel
provisioner). This module imports no Jupyter code: a command that starts no kernel (re-scoring from
transcripts, an answers file) does not pay for it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import ZygoteError
from .cgroups import host_pid
from .sandbox import PYTHON, Sandbox, clear_folder

# What a kernel's start and the grader's first request would import anyway (every module a fresh kernel
# imported, measured), numpy and its lazily loaded numpy.testing (assert_allclose in test cells): imported
# once when the zygote starts instead of in every kernel.
PRELOAD = ["numpy", "numpy.testing", "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.debugger",
           "ipykernel.comm", "IPython", "IPython.core.completer", "IPython.core.completerlib", "IPython.core.debugger",
           "IPython.core.oinspect", "IPython.extensions.storemagic", "IPython.utils.wildcard", "IPython.display",
           "faulthandler", "tornado.platform.asyncio", "pdb", "grader_worker.bridge"]
# The course's heavy libraries, imported into the zygote the first time a submission's source uses them
# (a numpy-only class never pays seconds and hundreds of MiB for torch). The source is only a hint: a
# library it hides is simply imported by the kernel itself. torch.optim's first step imports torch._dynamo.
ON_DEMAND = [
    (re.compile(rb"\b(?:import|from)\s+torch\b"), ["torch"]),
    (re.compile(rb"\boptim\b"), ["torch._dynamo"]),
    (re.compile(rb"\b(?:import|from)\s+matplotlib\b|%matplotlib"), ["matplotlib", "matplotlib.pyplot"]),
]
ON_DEMAND_NAMES = {name for _pattern, names in ON_DEMAND for name in names}
_SOURCE_SUFFIXES = {".ipynb", ".py"}
ZYGOTES: dict[int, Zygote] = {}  # by id(): the provisioner finds its zygote through its config


class Zygote:
    def __init__(self, slot: int = 0, preload: list[str] | None = None, use_bwrap: bool | None = None,
                 disk_mb: int | None = None):
        self.slot = slot
        self.root = Path(tempfile.mkdtemp(prefix=f"dl-grader-zygote{slot}-"))
        self.sandbox = Sandbox(scratch=self.root / "home", submission=self.root / "submission",
                               ipc_dir=self.root / "ipc", slot=slot, use_bwrap=use_bwrap)
        if disk_mb is not None:
            self.sandbox.limits = replace(self.sandbox.limits, disk=disk_mb * 2**20)
        (self.root / "submission").mkdir()
        self.sandbox.prepare()
        self.preload = PRELOAD if preload is None else preload
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self.info: dict = {}
        self.loaded: set[str] = set()
        self.kernels_started = 0

    def start(self) -> None:
        argv = [PYTHON, "-m", "grader_worker.zygote", json.dumps({"preload": self.preload, "on_demand": sorted(ON_DEMAND_NAMES)})]
        command = self.sandbox.command(argv, limited=False, as_pid_1=True)
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                         env=self.sandbox.environment(), cwd=self.sandbox.scratch, text=True, bufsize=1)
        line = self._process.stdout.readline()
        if not line:
            raise ZygoteError(f"the zygote did not start (exit code {self._process.poll()})")
        self.info = json.loads(line)
        self.loaded = set(self.info.get("loaded", []))
        ZYGOTES[id(self)] = self

    def request(self, **request: Any) -> dict:
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                raise ZygoteError("the zygote is not running")
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
            line = self._process.stdout.readline()
        if not line:
            raise ZygoteError("the zygote stopped answering")
        reply = json.loads(line)
        if "error" in reply:
            raise ZygoteError(reply["error"])
        return reply

    def receive(self, submission_dir: Path) -> None:
        """Give the slot a copy of one submission (read-only view and writable home copy).

        The heavy libraries its source uses are imported into the zygote first, while the slot's
        folders are still empty."""
        wanted = [] if self.loaded >= ON_DEMAND_NAMES else libraries_used(submission_dir)  # (no scan once all are in)
        if wanted and not set(wanted) <= self.loaded:
            reply = self.request(op="preload", modules=wanted)
            self.loaded.update(reply.get("loaded", []))
            self.loaded.update(reply.get("failed", {}))  # missing here: the kernel's own import reports it
        shutil.copytree(submission_dir, self.root / "submission", dirs_exist_ok=True)
        if not self.sandbox.use_bwrap:  # (with bubblewrap each kernel fills its tmpfs home from /submission)
            shutil.copytree(submission_dir, self.sandbox.scratch, dirs_exist_ok=True)
            self.sandbox.give(self.sandbox.scratch)

    def reset_processes(self) -> None:
        """Kill every process of the slot's submission (its kernel too)."""
        self.request(op="reap", uid=self.sandbox.uid, alone=self.sandbox.use_bwrap, wipe=[])

    def reset(self) -> None:
        """Kill whatever the last submission left running and wipe its files."""
        inside = ["/tmp", "/dev/shm", self.sandbox.home] if self.sandbox.use_bwrap else []
        self.request(op="reap", uid=self.sandbox.uid, alone=self.sandbox.use_bwrap, wipe=inside)
        for folder in (self.root / "submission", self.sandbox.scratch):
            clear_folder(folder)
        for leftover in self.sandbox.ipc_dir.iterdir():
            leftover.unlink(missing_ok=True)

    def close(self) -> None:
        ZYGOTES.pop(id(self), None)
        if self._process is not None:
            try:
                self._process.stdin.close()
                self._process.wait(timeout=5)
            except Exception:  # noqa: BLE001
                self._process.kill()
        self.sandbox.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def kernel_pids(self, pid_in_sandbox: int) -> list[int]:
        """The host pid of a kernel this zygote forked (the pid it reported is the sandbox's)."""
        if self._process is None:
            return []
        pid = host_pid(self._process.pid, pid_in_sandbox)
        return [pid] if pid is not None else []


def libraries_used(submission_dir: Path, limit: int = 64 * 2**20) -> list[str]:
    """The ON_DEMAND libraries the notebooks and modules of a submission import (a fast textual scan)."""
    wanted: list[str] = []
    budget = limit
    for path in sorted(submission_dir.rglob("*")):
        if path.suffix not in _SOURCE_SUFFIXES or not path.is_file() or path.is_symlink() or budget <= 0:
            continue
        with path.open("rb") as file:
            text = file.read(budget)
        budget -= len(text)
        for pattern, names in ON_DEMAND:
            if pattern.search(text):
                wanted += [name for name in names if name not in wanted]
    return wanted if "torch" in wanted else [name for name in wanted if not name.startswith("torch")]
