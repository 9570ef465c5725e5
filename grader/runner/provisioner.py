"""The ``dl-grader-zygote`` kernel provisioner: jupyter_client starts a kernel by asking the slot's zygote
(``grader.runner.zygote``) to fork one, instead of starting a process."""

from __future__ import annotations

import signal
import time
from typing import Any

from jupyter_client.provisioning import LocalProvisioner
from traitlets import Int

from ..errors import ZygoteError
from .zygote import ZYGOTES, Zygote


class ZygoteProvisioner(LocalProvisioner):
    """Launches a kernel by asking the slot's zygote to fork one (instead of starting a process)."""

    zygote_id = Int(0, config=True)
    zygote_pid: int | None = None

    @property
    def zygote(self) -> Zygote:
        return ZYGOTES[self.zygote_id]

    @property
    def has_process(self) -> bool:
        return self.zygote_pid is not None

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> dict:
        zygote = self.zygote
        reply = zygote.request(op="spawn", connection_file=self.parent.connection_file, env=kwargs.get("env") or zygote.sandbox.environment(),
                               cwd=zygote.sandbox.home, limits=zygote.sandbox.limit_values())
        self.zygote_pid = reply["pid"]
        zygote.kernels_started += 1
        return self.connection_info

    async def poll(self) -> int | None:
        if self.zygote_pid is None:
            return 0
        try:
            return self.zygote.request(op="poll", pid=self.zygote_pid)["returncode"]
        except (ZygoteError, KeyError):
            return -1

    async def wait(self) -> int | None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            code = await self.poll()
            if code is not None:
                self.zygote_pid = None
                return code
            time.sleep(0.02)
        return None

    async def send_signal(self, signum: int) -> None:
        if self.zygote_pid is not None:
            try:
                self.zygote.request(op="signal", pid=self.zygote_pid, signal=int(signum))
            except (ZygoteError, KeyError):
                pass

    async def kill(self, restart: bool = False) -> None:
        await self.send_signal(signal.SIGKILL)

    async def terminate(self, restart: bool = False) -> None:
        await self.send_signal(signal.SIGTERM)

    async def cleanup(self, restart: bool = False) -> None:
        self.zygote_pid = None

    def get_provisioner_info(self) -> dict:  # noqa: D102 - nothing to persist
        return {}

