"""Run a submission's code in a fresh, sandboxed Jupyter kernel and ask it for values.

A notebook runs cell by cell through nbclient (each cell with a timeout; an error in one cell does not
stop the others); module files are imported by the bridge. Afterwards the grader sends requests
(``get`` a name, ``call`` a function with grader-chosen inputs) and receives plain data. The kernel
talks over IPC sockets in a private folder, never TCP. A kernel is never reused between submissions.
"""

from __future__ import annotations

import json
import os
from queue import Empty
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client import KernelManager
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.kernelspec import KernelSpec
from nbclient import NotebookClient
from traitlets import Type
from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from grader_worker import wire
from grader_worker.bridge import MIME
from grader_worker.zygote import KERNEL_OPTIONS

from ..report import RunEvent
from .sandbox import Sandbox
from .zygote import Zygote


class InfrastructureError(RuntimeError):
    """The grader could not run the submission (no kernel, no sandbox): not the student's fault."""


@dataclass
class Outcome:
    """What came back for one request: a value, or why there is none."""

    value: Any = None
    missing: bool = False
    error: dict | None = None
    handle: int | None = None

    @property
    def ok(self) -> bool:
        return not self.missing and self.error is None


class SandboxedKernelManager(KernelManager):
    """A KernelManager whose kernel command runs inside the sandbox and is interrupted by message."""

    sandbox: Sandbox | None = None

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", self.connection_file, *KERNEL_OPTIONS, *(extra_arguments or [])]
        return self.sandbox.command(argv)

    async def _async_start_kernel(self, **kw: Any) -> None:
        """jupyter_client's start_kernel without the fixed 10 ms pause it adds for its own tests."""
        self._attempted_start = True
        kernel_cmd, kw = await self._async_pre_start_kernel(**kw)
        await self._async_launch_kernel(kernel_cmd, **kw)
        await self._async_post_start_kernel(**kw)

    start_kernel = run_sync(_async_start_kernel)

    def write_connection_file(self, **kwargs: Any) -> tuple[str, dict]:  # noqa: D102
        result = super().write_connection_file(**kwargs)
        if self.sandbox.uid is not None:
            os.chown(self.connection_file, self.sandbox.uid, self.sandbox.uid)
        return result


class VerifiedChannel(AsyncZMQSocketChannel):
    """A channel that drops (and counts) messages that fail their signature check or do not parse.

    Only the kernel's session holds the key, but the student's code runs inside that kernel and can
    write to its sockets: a forged message is the student's misbehaviour, not a broken grader."""

    dropped = 0

    async def get_msg(self, timeout: float | None = None) -> dict[str, Any]:  # noqa: D102
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not await self.socket.poll(None if left is None else int(left * 1000)):
                raise Empty
            try:
                return await self._recv()
            except Exception:  # noqa: BLE001 - a bad signature or a malformed message
                self.dropped += 1


class VerifiedClient(AsyncKernelClient):
    """The grader's kernel client: async (nbclient's timeouts need it), and deaf to forged messages."""

    shell_channel_class = iopub_channel_class = stdin_channel_class = control_channel_class = Type(VerifiedChannel)

    def dropped(self) -> int:
        channels = (self._shell_channel, self._iopub_channel, self._stdin_channel, self._control_channel)
        return sum(channel.dropped for channel in channels if channel is not None)


class CappedClient(NotebookClient):
    """nbclient that keeps at most ``output_limit`` bytes of the student's output, then drops the rest,
    and that interrupts a cell over its time limit once, then gives up on it (the kernel is killed)."""

    output_limit = 1024 * 1024
    interrupted = False

    async def _async_handle_timeout(self, timeout: int, cell: Any = None) -> None:  # noqa: D102 - nbclient hook
        if not self.interrupted:
            self.interrupted = True
            await ensure_async(self.km.interrupt_kernel())
            return None  # one more period of grace to unwind
        raise CellTimeoutError.error_from_timeout_and_cell("Cell execution timed out", timeout, cell)

    def output(self, outs, msg, display_id, cell_index):  # noqa: D102 - nbclient hook
        content = msg.get("content", {})
        if MIME in content.get("data", {}):
            return super().output(outs, msg, display_id, cell_index)
        size = len(json.dumps(content, default=str)) if msg["msg_type"] != "stream" else len(content.get("text", ""))
        self._output_bytes = getattr(self, "_output_bytes", 0) + size
        if self._output_bytes > self.output_limit:
            self._output_truncated = True
            return None
        return super().output(outs, msg, display_id, cell_index)


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
        self.client: CappedClient | None = None
        self.dead = False
        self.deadline: float | None = None
        self._dropped = 0

    # --- life cycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the kernel; a kernel that will not start is an InfrastructureError (retried once)."""
        if self.zygote is not None:
            self.zygote.receive(self.submission_dir)
        else:
            self.sandbox.prepare()
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
        km.client_class = f"{__name__}.VerifiedClient"
        self.client.kc = km.client()
        self.client.kc.start_channels()
        try:
            run_sync(_handshake)(self.client.kc, timeout=60)
        except RuntimeError as exc:
            log = (self._tmp / "kernel.log").read_text(errors="replace")[-2000:]
            raise InfrastructureError(f"{exc}; kernel log: {log}") from None
        self.dead = False

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
        self.client.timeout = int(timeout or self.cell_timeout)
        self.client.interrupted = False
        self.client.nb.cells.append(cell)
        index = len(self.client.nb.cells) - 1
        try:
            self.client.execute_cell(cell, index)
        except DeadKernelError:
            self.dead = True
            self.events.append(RunEvent(where=where, kind="crash", message="the kernel died (the code exited, crashed or ran out of memory)"))
            return
        except CellTimeoutError:
            self.events.append(RunEvent(where=where, kind="timeout", message=f"did not finish within {self.client.timeout} s, even after an interrupt; the kernel was stopped"))
            self._recover_from_hang()
            return
        except Exception as exc:  # noqa: BLE001 - e.g. a message with a bad signature: the student's kernel misbehaved
            self.events.append(RunEvent(where=where, kind="crash", message=f"the kernel broke the protocol ({type(exc).__name__}: {str(exc)[:200]}); it was stopped"))
            self._recover_from_hang()
            return
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

    def call(self, name: str, args: list, kwargs: dict | None = None, timeout: float | None = None,
             keep: bool = False, handle: int | None = None) -> Outcome:
        request: dict[str, Any] = {"op": "call", "args": wire.to_wire(list(args)), "kwargs": wire.to_wire(kwargs or {}), "keep": keep}
        request.update({"handle": handle, "attr": name} if handle is not None else {"name": name})
        return self._request(request, timeout=timeout or self.call_timeout, where=f"calling {name}")

    def _request(self, request: dict, timeout: float, where: str) -> Outcome:
        if self.dead or self.client is None:
            return Outcome(error={"type": "KernelDied", "message": "the student's kernel is no longer running (see the run log)"})
        code = f"__import__('grader_worker.bridge', fromlist=['serve']).serve({json.dumps(json.dumps(request))})"
        # (a plain cell: nbformat's new_code_cell validates it against the schema, a few ms per request)
        cell = nbformat.from_dict({"cell_type": "code", "metadata": {}, "source": code, "outputs": [], "execution_count": None})
        events_before = len(self.events)
        self._run_cell(cell, where, timeout=timeout)
        new_events = self.events[events_before:]
        del self.events[events_before:]
        for event in new_events:
            if event.kind in ("timeout", "crash"):
                self.events.append(event)
                return Outcome(error={"type": "Timeout" if event.kind == "timeout" else "KernelDied", "message": event.message})
        replies = [o["data"][MIME] for o in cell.get("outputs", []) if o.get("output_type") == "display_data" and MIME in o.get("data", {})]
        if not replies:
            message = new_events[0].message if new_events else "no reply from the student's kernel"
            return Outcome(error={"type": "NoReply", "message": message})
        return _outcome(replies[-1])


async def _handshake(kc: Any, timeout: float) -> None:
    """Wait until the kernel answers kernel_info and its IOPub channel delivers.

    What jupyter_client's ``wait_for_ready`` checks, without its fixed polling delays (which cost more
    than starting a kernel from the zygote).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg_id = kc.kernel_info()
        if await _shell_reply(kc, msg_id, wait=1.0) and await _iopub_delivers(kc, wait=1.0):
            return
        if not await kc.is_alive():
            raise RuntimeError("the kernel died before replying to kernel_info")
    raise RuntimeError(f"the kernel did not answer within {timeout:.0f} s")


async def _shell_reply(kc: Any, msg_id: str, wait: float) -> bool:
    try:
        while (await kc.get_shell_msg(timeout=wait))["parent_header"].get("msg_id") != msg_id:
            pass
    except Empty:
        return False
    return True


async def _iopub_delivers(kc: Any, wait: float) -> bool:
    """One message arrived on IOPub (the rest that kernel_info published is skipped by nbclient, which
    reads only the replies to its own requests)."""
    try:
        await kc.get_iopub_msg(timeout=wait)
    except Empty:
        return False
    return True


def _outcome(reply: Any) -> Outcome:
    """Validate a reply from the sandbox; it is student-controlled data."""
    if not isinstance(reply, dict):
        return Outcome(error={"type": "BadReply", "message": "malformed reply"})
    if reply.get("missing") is True:
        return Outcome(missing=True)
    if reply.get("ok") is True:
        if isinstance(reply.get("handle"), int):
            return Outcome(handle=reply["handle"])
        try:
            return Outcome(value=wire.from_wire(reply.get("value")))
        except wire.WireError as exc:
            return Outcome(error={"type": "WireError", "message": str(exc)})
    error = reply.get("error")
    if not isinstance(error, dict):
        return Outcome(error={"type": "BadReply", "message": "malformed error"})
    where = error.get("where") if isinstance(error.get("where"), dict) else None
    return Outcome(error={"type": str(error.get("type", "Error"))[:100], "message": str(error.get("message", ""))[:2000], "where": where})

