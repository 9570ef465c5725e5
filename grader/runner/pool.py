"""Warm zygotes per job slot, and the one policy for the grader's own faults.

Used alike by a local batch (one slot per thread) and by each dask worker process (one slot of its
own): an infrastructure fault (a kernel or zygote that would not start or stopped answering) is
retried once on a fresh zygote; a second fault is raised for the caller to report as not-gradable.
A student's code never causes a retry: its errors, crashes and timeouts are part of its report.
"""

from __future__ import annotations

import threading
from typing import Callable, TypeVar

from ..errors import InfrastructureError, ZygoteError
from .zygote import Zygote

T = TypeVar("T")
FAULTS = (InfrastructureError, ZygoteError)


class ZygotePool:
    """One warm zygote per job slot, started on first use; a slot whose zygote fails to start runs cold."""

    def __init__(self, use_bwrap: bool | None = None, warm: bool = True, disk_mb: int | None = None):
        self.use_bwrap = use_bwrap
        self.warm = warm
        self.disk_mb = disk_mb  # the size of the slots' writable folders (the rubric's limits.disk_mb)
        self._zygotes: dict[int, Zygote | None] = {}
        self._lock = threading.Lock()  # guards the two dicts
        self._starting: dict[int, threading.Lock] = {}  # a slot's own lock while its zygote starts

    def get(self, slot: int) -> Zygote | None:
        """The slot's zygote, started now if it has none (slots start theirs at the same time, not in turn)."""
        if not self.warm:
            return None
        with self._lock:
            starting = self._starting.setdefault(slot, threading.Lock())
        with starting:
            if slot not in self._zygotes:
                zygote = Zygote(slot, use_bwrap=self.use_bwrap, disk_mb=self.disk_mb)
                try:
                    zygote.start()
                except (ZygoteError, OSError):
                    zygote.close()
                    zygote = None
                with self._lock:
                    self._zygotes[slot] = zygote
            return self._zygotes[slot]

    def restart(self, slot: int) -> None:
        with self._lock:
            zygote = self._zygotes.pop(slot, None)
        if zygote is not None:
            zygote.close()

    def close(self) -> None:
        for slot in list(self._zygotes):
            self.restart(slot)

    def run(self, slot: int, attempt: Callable[[Zygote | None], T]) -> T:
        """``attempt(zygote)``; on an infrastructure fault, once more on a fresh zygote for the slot."""
        try:
            return attempt(self.get(slot))
        except FAULTS:
            self.restart(slot)
        return attempt(self.get(slot))
