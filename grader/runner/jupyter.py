"""jupyter_client and nbclient, adapted to a sandboxed, untrusted kernel.

``SandboxedKernelManager`` starts the kernel inside the sandbox; ``VerifiedClient`` drops messages
that fail their signature check (the student's code can write to the kernel's sockets);
``CappedClient`` keeps a bounded amount of output and interrupts a cell over its time limit once.
``handshake`` waits for a fresh kernel without jupyter_client's fixed polling delays.
"""

from __future__ import annotations

import json
import os
import sys
import time
from queue import Empty
from typing import Any

from jupyter_client import KernelManager
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_core.utils import ensure_async, run_sync
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError
from traitlets import Type

from grader_worker.bridge import MIME
from grader_worker.zygote import KERNEL_OPTIONS

from .sandbox import Sandbox


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


