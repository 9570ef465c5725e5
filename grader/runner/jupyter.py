"""jupyter_client and nbclient, adapted to a sandboxed, untrusted kernel.

``SandboxedKernelManager`` starts the kernel inside the sandbox; ``VerifiedClient`` drops messages
that fail their signature check (the student's code can write to the kernel's sockets) and holds the
submission's byte budget: no message over ``MAX_MESSAGE_BYTES`` is ever received (zmq refuses it as
its bytes arrive), and all messages together may carry at most the budget, after which the kernel
is stopped. ``CappedClient`` keeps a bounded amount of output (replies included, comm and widget
messages never), and interrupts a cell over its time limit once. ``handshake`` waits for a fresh
kernel without jupyter_client's fixed polling delays.
"""

from __future__ import annotations

import json
import os
import time
from queue import Empty
from typing import Any

from jupyter_client import KernelManager
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.connect import channel_socket_types
from jupyter_core.utils import ensure_async, run_sync
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError
from traitlets import Type
import zmq

from grader_worker.bridge import MIME
from grader_worker.zygote import KERNEL_OPTIONS

from .sandbox import PYTHON, Sandbox


class SandboxedKernelManager(KernelManager):
    """A KernelManager whose kernel command runs inside the sandbox and is interrupted by message."""

    sandbox: Sandbox | None = None

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        argv = [PYTHON, "-m", "ipykernel_launcher", "-f", self.connection_file, *KERNEL_OPTIONS, *(extra_arguments or [])]
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


MAX_MESSAGE_BYTES = 32 * 2**20  # one message from the kernel (a reply holds at most grader_worker.wire.MAX_REPLY_BYTES)
MAX_SUBMISSION_BYTES = 256 * 2**20  # every message from one submission's kernel together


class OverBudget(Exception):
    """The kernel sent more than the submission's byte budget."""


class ByteBudget:
    """Bytes one submission's kernel may still send, counted as messages arrive."""

    def __init__(self, limit: int = MAX_SUBMISSION_BYTES):
        self.limit = limit
        self.used = 0

    def take(self, size: int) -> None:
        self.used += size
        if self.used > self.limit:
            raise OverBudget(f"the code sent more than {self.limit // 2**20} MiB of output and replies")


class VerifiedChannel(AsyncZMQSocketChannel):
    """A channel that drops (and counts) messages that fail their signature check or do not parse.

    Only the kernel's session holds the key, but the student's code runs inside that kernel and can
    write to its sockets: a forged message is the student's misbehaviour, not a broken grader."""

    dropped = 0
    budget: ByteBudget | None = None

    async def _recv(self, **kwargs: Any) -> dict[str, Any]:
        frames = await self.socket.recv_multipart(**kwargs)
        if self.budget is not None:
            self.budget.take(sum(len(frame) for frame in frames))
        _, message = self.session.feed_identities(frames)
        return self.session.deserialize(message)

    async def get_msg(self, timeout: float | None = None) -> dict[str, Any]:  # noqa: D102
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not await self.socket.poll(None if left is None else int(left * 1000)):
                raise Empty
            try:
                return await self._recv()
            except OverBudget:
                raise
            except Exception:  # noqa: BLE001 - a bad signature or a malformed message
                self.dropped += 1


class VerifiedClient(AsyncKernelClient):
    """The grader's kernel client: async (nbclient's timeouts need it), and deaf to forged messages."""

    shell_channel_class = iopub_channel_class = stdin_channel_class = control_channel_class = Type(VerifiedChannel)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.budget = ByteBudget()
        self._monitors: dict[str, tuple[zmq.Socket, zmq.Socket]] = {}  # channel: (monitor socket, a plain view of it)

    def _create_connected_socket(self, channel: str, identity: bytes | None = None) -> zmq.Socket:
        """jupyter_client's socket, refusing any message over MAX_MESSAGE_BYTES (zmq drops the connection
        to a peer that sends one, before reading it), and watched for such disconnections."""
        sock = self.context.socket(channel_socket_types[channel])
        sock.linger = 1000
        sock.maxmsgsize = MAX_MESSAGE_BYTES
        if identity:
            sock.identity = identity
        monitor = sock.get_monitor_socket(zmq.EVENT_DISCONNECTED)
        self._monitors[channel] = (monitor, zmq.Socket.shadow(monitor.underlying))
        sock.connect(self._make_url(channel))
        return sock

    def stop_channels(self) -> None:  # noqa: D102
        super().stop_channels()
        for monitor, _view in self._monitors.values():
            monitor.close(linger=0)
        self._monitors.clear()

    def _budgeted(self, channel: VerifiedChannel) -> VerifiedChannel:
        channel.budget = self.budget
        return channel

    shell_channel = property(lambda self: self._budgeted(AsyncKernelClient.shell_channel.fget(self)))
    iopub_channel = property(lambda self: self._budgeted(AsyncKernelClient.iopub_channel.fget(self)))
    stdin_channel = property(lambda self: self._budgeted(AsyncKernelClient.stdin_channel.fget(self)))
    control_channel = property(lambda self: self._budgeted(AsyncKernelClient.control_channel.fget(self)))

    def dropped(self) -> int:
        channels = (self._shell_channel, self._iopub_channel, self._stdin_channel, self._control_channel)
        return sum(channel.dropped for channel in channels if channel is not None)

    def oversized(self) -> int:
        """How many connections to the kernel zmq dropped since the last call (for a message over the size
        limit); each such channel is connected afresh, so that later requests are answered."""
        count = 0
        for channel, (_monitor, view) in list(self._monitors.items()):
            events = 0
            while view.poll(0):
                view.recv_multipart()
                events += 1
            if events:
                count += events
                self._reconnect(channel)
        return count

    def _reconnect(self, channel: str) -> None:
        attribute = f"_{channel}_channel"
        old = getattr(self, attribute, None)
        if old is None:
            return
        old.close()
        self._monitors.pop(channel)[0].close(linger=0)
        setattr(self, attribute, None)
        getattr(self, f"{channel}_channel").start()


INTERRUPT_GRACE = 5.0  # seconds a cell has to unwind after it is interrupted at its time limit


class CappedClient(NotebookClient):
    """nbclient that keeps at most ``output_limit`` bytes of the student's output, then drops the rest,
    keeps only the last reply of the bridge per request, stores no comm or widget message and no display
    update, and that interrupts a cell over its time limit once, then gives up on it (the kernel is killed)."""

    output_limit = 1024 * 1024
    interrupted = False
    store_widget_state = False

    def handle_comm_msg(self, outs, msg, cell_index):  # noqa: D102 - nbclient hook: the grader is no widget frontend
        return None

    def _update_display_id(self, display_id, msg):  # noqa: D102 - nbclient hook: updates of earlier displays are not kept
        return None

    async def _async_handle_timeout(self, timeout: int, cell: Any = None) -> dict | None:  # noqa: D102 - nbclient hook
        """Interrupt once and wait a short grace (not another whole time limit: a batch of calls has a long
        one) for the cell to unwind; a cell still running then is given up on and its kernel killed."""
        if self.interrupted:
            raise CellTimeoutError.error_from_timeout_and_cell("Cell execution timed out", timeout, cell)
        self.interrupted = True
        await ensure_async(self.km.interrupt_kernel())
        deadline = time.monotonic() + min(timeout, INTERRUPT_GRACE)
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = await self.kc.shell_channel.get_msg(timeout=left)
            except Empty:
                break
            if msg.get("msg_type") == "execute_reply":  # (the only request on the shell channel now)
                return msg  # nbclient takes it as the cell's reply, and reads the cell's output up to idle
        raise CellTimeoutError.error_from_timeout_and_cell("Cell execution timed out", timeout, cell)

    def output(self, outs, msg, display_id, cell_index):  # noqa: D102 - nbclient hook
        content = msg.get("content", {})
        if MIME in (content.get("data") or {}):  # only the last reply counts: earlier ones (forged) are not kept
            outs[:] = [o for o in outs if MIME not in (o.get("data") or {})]
            return super().output(outs, msg, None, cell_index)
        size = len(json.dumps(content, default=str)) if msg["msg_type"] != "stream" else len(content.get("text", ""))
        self._output_bytes = getattr(self, "_output_bytes", 0) + size
        if self._output_bytes > self.output_limit:
            self._output_truncated = True
            return None
        return super().output(outs, msg, display_id, cell_index)


async def handshake(kc: Any, timeout: float) -> None:
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


