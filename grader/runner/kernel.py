"""Run a submission's code in a fresh, sandboxed Jupyter kernel and ask it for values.

A notebook runs cell by cell through nbclient (each cell with a timeout; an error in one cell does not
stop the others); module files are imported by the bridge. Afterwards the grader sends requests
(``get`` a name, ``call`` a function with grader-chosen inputs) and receives plain data. The kernel
talks over IPC sockets in a private folder, never TCP. A kernel is never reused between submissions.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.kernelspec import KernelSpec
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from grader_worker.bridge import MIME

from ..checks.outcome import Call, Outcome, Survey
from ..errors import InfrastructureError
from ..report import RunEvent
from .messages import INLINE_REQUEST_BYTES, case, outcome, read_checkpoint, request_file, shipped
from .jupyter import MAX_MESSAGE_BYTES, CappedClient, OverBudget, SandboxedKernelManager, VerifiedClient, handshake
from .cgroups import descendants
from .sandbox import Sandbox
from .zygote import Zygote




@dataclass
class KernelSession:
    """One submission's kernel: start it, run its code, answer requests, shut it down."""

    submission_dir: Path
    notebook: Path | None = None
    modules: list[Path] = field(default_factory=list)
    cell_timeout: float = 30
    call_timeout: float = 10
    output_limit: int = 1024 * 1024
    slot: int = 0
    events: list[RunEvent] = field(default_factory=list)
    use_bwrap: bool | None = None
    zygote: Zygote | None = None
    memory_mb: int | None = None
    disk_mb: int | None = None
    total_timeout: float | None = None

    def __post_init__(self) -> None:
        self._tmp = Path(tempfile.mkdtemp(prefix="dl-grader-"))
        if self.zygote is not None:
            self.sandbox = self.zygote.sandbox
        else:
            self.sandbox = Sandbox(scratch=self._tmp / "home", submission=self.submission_dir.resolve(),
                                   ipc_dir=self._tmp / "ipc", slot=self.slot, use_bwrap=self.use_bwrap)
        if self.memory_mb is not None:
            self.sandbox.limits = replace(self.sandbox.limits, address_space=self.memory_mb * 2**20)
        if self.disk_mb is not None and self.zygote is None:  # (a zygote's folders are sized when it starts)
            self.sandbox.limits = replace(self.sandbox.limits, disk=self.disk_mb * 2**20)
        self.client: CappedClient | None = None
        self.dead = False
        self._oom_kills = 0
        self._sent: set[str] = set()  # the shared data this kernel holds (by key)
        self.deadline: float | None = None
        self._dropped = 0

    # --- life cycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the kernel; a kernel that will not start is an InfrastructureError (retried once)."""
        if self.zygote is not None:
            self.zygote.receive(self.submission_dir)
        else:
            self.sandbox.prepare()
            if not self.sandbox.use_bwrap:  # (with bubblewrap the home is a tmpfs the sandbox fills itself)
                shutil.copytree(self.submission_dir, self.sandbox.scratch, dirs_exist_ok=True)
                self.sandbox.give(self.sandbox.scratch)
        last: Exception | None = None
        for _attempt in range(2):
            try:
                self._start_kernel()
                if self.total_timeout is not None:
                    self.deadline = time.monotonic() + self.total_timeout
                return
            except Exception as exc:  # noqa: BLE001
                last = exc
                self._stop_kernel()
        raise InfrastructureError(f"the Jupyter kernel did not start: {last}")

    def _start_kernel(self) -> None:
        self._sent = set()
        km = SandboxedKernelManager(transport="ipc", ip=str(self.sandbox.ipc_dir / "kernel"))
        km.sandbox = self.sandbox
        km.connection_file = str(self.sandbox.ipc_dir / "kernel.json")
        metadata = {"kernel_provisioner": {"provisioner_name": "dl-grader-zygote", "config": {"zygote_id": id(self.zygote)}}} if self.zygote else {}
        km._kernel_spec = KernelSpec(argv=[], display_name="sandboxed python", language="python",
                                     interrupt_mode="message", env={}, metadata=metadata)
        nb = nbformat.v4.new_notebook()
        self.client = CappedClient(nb, km=km, timeout=self.cell_timeout, allow_errors=True,
                                   interrupt_on_timeout=True, startup_timeout=60, iopub_timeout=4,
                                   shutdown_kernel="immediate", record_timing=False)
        self.client.output_limit = self.output_limit
        self._log = open(self._tmp / "kernel.log", "wb")  # noqa: SIM115 - closed in close()
        km.start_kernel(env=self.sandbox.environment(), cwd=str(self.sandbox.scratch),
                        stdout=self._log, stderr=self._log)
        km.client_class = f"{VerifiedClient.__module__}.VerifiedClient"
        self.client.kc = km.client()
        self.client.kc.start_channels()
        try:
            run_sync(handshake)(self.client.kc, timeout=60)
        except RuntimeError as exc:
            log = (self._tmp / "kernel.log").read_text(errors="replace")[-2000:]
            raise InfrastructureError(f"{exc}; kernel log: {log}") from None
        self.sandbox.confine(self._kernel_pids(km))  # before any of the student's code runs
        cgroup = self.sandbox.cgroup()
        self._oom_kills = cgroup.oom_kills() if cgroup is not None else 0
        self.dead = False

    def _kernel_pids(self, km: SandboxedKernelManager) -> list[int]:
        provisioner = km.provisioner
        if self.zygote is not None:
            return self.zygote.kernel_pids(provisioner.zygote_pid) if provisioner.zygote_pid else []
        process = getattr(provisioner, "process", None)
        return descendants(process.pid) if process is not None else []

    def _died_of_memory(self) -> bool:
        cgroup = self.sandbox.cgroup()
        return cgroup is not None and cgroup.oom_kills() > self._oom_kills

    def _stop_kernel(self) -> None:
        client = self.client
        if client is None:
            return
        try:
            if client.kc is not None:
                client.kc.stop_channels()
            if client.km is not None and client.km.has_kernel and self.zygote is None:
                client.km.shutdown_kernel(now=True)  # (a zygote's reset kills every process of the slot)
        except Exception:  # noqa: BLE001 - best effort; the tmp folder is removed anyway
            pass
        try:
            if client.km is not None:
                client.km.cleanup_resources()
        except Exception:  # noqa: BLE001
            pass
        self.client = None

    def close(self) -> None:
        self._stop_kernel()
        if getattr(self, "_log", None) is not None:
            self._log.close()
        if self.zygote is not None:
            self.zygote.reset()
        else:
            self.sandbox.close()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> KernelSession:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- running the student's code -----------------------------------------------------------------

    def run_notebook(self, nb: nbformat.NotebookNode) -> None:
        """Execute every code cell in order; record errors, timeouts and crashes as events."""
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            if self.dead:
                self.events.append(RunEvent(where=f"cell {index + 1}", kind="crash", message="not run: the kernel died earlier"))
                continue
            self._run_cell(cell, f"cell {index + 1}")

    def _run_cell(self, cell: nbformat.NotebookNode, where: str, timeout: float | None = None) -> None:
        assert self.client is not None
        if self.deadline is not None and time.monotonic() > self.deadline:
            self.dead = True
            self.events.append(RunEvent(where=where, kind="timeout", message="not run: the submission's total time limit was reached"))
            self._recover_from_hang()
            return
        limit = timeout or self.cell_timeout
        if self.deadline is not None:  # (the submission's total time limit cuts a long cell or batch short too)
            limit = min(limit, max(1.0, self.deadline - time.monotonic()))
        self.client.timeout = max(1, round(limit))
        self.client.interrupted = False
        self.client.nb.cells.append(cell)
        index = len(self.client.nb.cells) - 1
        try:
            self.client.execute_cell(cell, index)
        except DeadKernelError:
            self.dead = True
            if self._died_of_memory():
                self.events.append(RunEvent(where=where, kind="limit", message=(
                    f"the kernel was stopped: the code used more than its {self.sandbox.limits.address_space // 2**20} MiB of "
                    "memory (counting files in its home, /tmp and /dev/shm, and shared memory)")))
            else:
                self.events.append(RunEvent(where=where, kind="crash", message="the kernel died (the code exited, crashed or ran out of memory)"))
            return
        except OverBudget as exc:
            self.events.append(RunEvent(where=where, kind="limit", message=f"{exc}; the rest was dropped and the kernel stopped"))
            self._recover_from_hang()
            return
        except CellTimeoutError:
            self.events.append(RunEvent(where=where, kind="timeout", message=f"did not finish within {self.client.timeout} s, even after an interrupt; the kernel was stopped"))
            self._recover_from_hang()
            return
        except Exception as exc:  # noqa: BLE001 - e.g. a message with a bad signature: the student's kernel misbehaved
            self.events.append(RunEvent(where=where, kind="crash", message=f"the kernel broke the protocol ({type(exc).__name__}: {str(exc)[:200]}); it was stopped"))
            self._recover_from_hang()
            return
        oversized = self.client.kc.oversized()
        if oversized:
            self.events.append(RunEvent(where=where, kind="limit", message=(
                f"output dropped: the kernel sent a message over {MAX_MESSAGE_BYTES // 2**20} MiB "
                f"({oversized} time{'s' if oversized > 1 else ''}); what it held was not received")))
        dropped = self.client.kc.dropped()
        if dropped > self._dropped:
            self.events.append(RunEvent(where=where, kind="warning", message=f"{dropped - self._dropped} message(s) from the kernel failed their signature check (forged by the code?) and were ignored"))
            self._dropped = dropped
        if getattr(self.client, "_output_truncated", False) and not getattr(self, "_truncation_noted", False):
            self._truncation_noted = True
            self.events.append(RunEvent(where=where, kind="limit", message=f"output beyond {self.output_limit // 1024} KiB was dropped"))
        if self.client.interrupted:  # whatever the code did with the KeyboardInterrupt, it ran out of time
            self.events.append(RunEvent(where=where, kind="timeout", message=f"did not finish within {self.client.timeout} s and was interrupted"))
            return
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                message = f"{output.get('ename')}: {output.get('evalue')}"[:500]
                self.events.append(RunEvent(where=where, kind="error", message=message))

    def _recover_from_hang(self) -> None:
        """A kernel that ran out of time (or misbehaved) is stopped; later requests report it dead."""
        self.dead = True
        if self.zygote is not None:
            self.zygote.reset_processes()  # its kernel and everything the student started
        self._stop_kernel()

    def load_modules(self, paths: list[Path]) -> None:
        inside = [f"{self.sandbox.submission_path}/{p.relative_to(self.submission_dir).as_posix()}" for p in paths]
        reply = self._request({"op": "load_modules", "paths": inside}, timeout=self.cell_timeout, where="import")
        if not reply.ok:
            return
        for result in reply.value:
            if not result.get("ok"):
                error = result.get("error") or {}
                where = error.get("where") or {}
                line = f", line {where.get('line')}" if where.get("line") else ""
                code = f": {where.get('code')}" if where.get("code") else ""
                self.events.append(RunEvent(where=f"{Path(result['path']).name}{line}", kind="error",
                                            message=f"import failed: {error.get('type')}: {error.get('message')}{code}"))

    # --- requests -----------------------------------------------------------------------------------

    def get(self, name: str, keep: bool = False) -> Outcome:
        return self._request({"op": "get", "name": name, "keep": keep}, timeout=self.call_timeout, where=f"reading {name}")

    def survey(self, names: list[str], callables: list[str]) -> Survey:
        """The answers and which functions exist, in one round trip (what the checks will ask for)."""
        reply = self._request({"op": "survey", "names": list(names), "callables": list(callables)}, timeout=self.call_timeout,
                              where="reading the answers", parse=lambda raw: raw if _is_survey_reply(raw) else outcome(raw))
        if isinstance(reply, Outcome):  # no usable answer to the request: each is asked for on its own
            return Survey()
        return Survey({name: outcome(reply["many"][name]) for name in names if name in reply["many"]},
                      {name: reply["has"][name] is not False for name in callables if name in reply["has"]})  # (in doubt, the call says why)

    def has(self, name: str, handle: int | None = None) -> bool:
        """Whether the student's code has a callable ``name`` (a method of a kept object, with ``handle``)."""
        request: dict[str, Any] = {"op": "has"}
        request.update({"handle": handle, "attr": name} if handle is not None else {"name": name})
        reply = self._request(request, timeout=self.call_timeout, where=f"looking for {name}")
        return not reply.ok or reply.value is not False  # (when in doubt, the call itself says why)

    def call(self, name: str, args: list, kwargs: dict | None = None, timeout: float | None = None,
             keep: bool = False, handle: int | None = None, budget: float | None = None) -> Outcome:
        request: dict[str, Any] = {"op": "call", "args": self._shipped(list(args)), "kwargs": self._shipped(kwargs or {}), "keep": keep}
        request.update({"handle": handle, "attr": name} if handle is not None else {"name": name})
        if budget is not None:
            request["budget"] = budget
        return self._request(request, timeout=timeout or self.call_timeout, where=f"calling {name}")

    def call_many(self, calls: list[tuple[str, Call]], timeout: float | None = None) -> list[Outcome]:
        """Each call (a name and its ``Call``) in one round trip, each within ``timeout``."""
        each = timeout or self.call_timeout
        checkpoint = self.sandbox.ipc_dir / f"checkpoint-{uuid.uuid4().hex}.json"
        request = {"op": "call_many", "each": each, "cases": [case(name, call, self._shipped) for name, call in calls],
                   "checkpoint": str(checkpoint)}
        names = sorted({name for name, _call in calls})
        try:
            reply, failure = self._exchange(request, timeout=each * len(calls) + 2, where=f"calling {', '.join(names)}")
            if failure is not None:  # the functions done before the kernel died or hung still count
                reply = read_checkpoint(checkpoint)
        finally:
            for leftover in (checkpoint, checkpoint.with_name(checkpoint.name + ".part")):
                leftover.unlink(missing_ok=True)
        done = reply.get("many") if isinstance(reply, dict) and isinstance(reply.get("many"), list) else None
        if done is None:  # the batch as a whole failed: so did every call
            return [failure or outcome(reply)] * len(calls)
        outcomes = [outcome(item) for item in done[:len(calls)]]
        rest = failure or Outcome(error={"type": "NoReply", "message": "no reply for this case"})
        return outcomes + [rest] * (len(calls) - len(outcomes))

    def update(self, handle: int, attr: str, value: Any, timeout: float | None = None) -> Outcome:
        request = {"op": "update", "handle": handle, "attr": attr, "value": self._shipped(value)}
        return self._request(request, timeout=timeout or self.call_timeout, where=f"setting {attr}")

    def seed(self, seed: int, threads: int = 1) -> Outcome:
        return self._request({"op": "seed", "seed": int(seed), "threads": int(threads)}, timeout=30, where="seeding")

    def import_problems(self) -> list[str]:
        return [f"{event.where}: {event.message.removeprefix('import failed: ')}" for event in self.events
                if event.message.startswith("import failed")]

    def _shipped(self, value: Any) -> Any:
        """``value`` as plain data, each large array sent once per kernel (``messages.shipped``)."""
        return shipped(value, self._sent)

    def _request(self, request: dict, timeout: float, where: str, parse: Any = None) -> Any:
        """The reply to ``request`` (``parse``d; by default an ``Outcome``), or an ``Outcome`` that says why none came."""
        reply, failure = self._exchange(request, timeout, where)
        return failure if failure is not None else (parse or outcome)(reply)

    def _exchange(self, request: dict, timeout: float, where: str) -> tuple[Any, Outcome | None]:
        """Run one request in the kernel: the last reply it sent (raw, student-controlled), and what went wrong, if anything."""
        if self.dead or self.client is None:
            return None, Outcome(error={"type": "KernelDied", "message": "the student's kernel is no longer running (see the run log)"})
        payload = json.dumps(request)
        carrier = request_file(self.sandbox.ipc_dir, payload) if len(payload) > INLINE_REQUEST_BYTES else None
        if carrier is None:
            code = f"__import__('grader_worker.bridge', fromlist=['serve']).serve({json.dumps(payload)})"
        else:
            code = f"__import__('grader_worker.bridge', fromlist=['serve_file']).serve_file({json.dumps(str(carrier))})"
        # (a plain cell: nbformat's new_code_cell validates it against the schema, a few ms per request)
        cell = nbformat.from_dict({"cell_type": "code", "metadata": {}, "source": code, "outputs": [], "execution_count": None})
        events_before = len(self.events)
        try:
            self._run_cell(cell, where, timeout=timeout)
        finally:
            if carrier is not None:
                carrier.unlink(missing_ok=True)
        new_events = self.events[events_before:]
        del self.events[events_before:]
        self.events += [event for event in new_events if event.kind in ("timeout", "crash", "limit")]  # (the run log keeps these)
        replies = [o["data"][MIME] for o in cell.get("outputs", []) if o.get("output_type") == "display_data" and MIME in o.get("data", {})]
        reply = replies[-1] if replies else None
        for event in new_events:
            if event.kind in ("timeout", "crash") or (event.kind == "limit" and self.dead):  # (a memory or byte limit)
                return reply, Outcome(error={"type": "Timeout" if event.kind == "timeout" else "KernelDied", "message": event.message})
        if reply is None:
            message = new_events[0].message if new_events else "no reply from the student's kernel"
            return None, Outcome(error={"type": "NoReply", "message": message})
        return reply, None


def _is_survey_reply(raw: Any) -> bool:
    """Whether a raw reply has the shape of a survey's (its items are checked one by one afterwards)."""
    return isinstance(raw, dict) and isinstance(raw.get("many"), dict) and isinstance(raw.get("has"), dict)
