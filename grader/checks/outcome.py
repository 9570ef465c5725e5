"""What checks need from a student's process, and what comes back from it.

``Outcome`` is one request's result as plain data; ``StudentProcess`` is the small protocol a check
uses (get a value, call a function or method, keep a handle, set weights, seed). The sandboxed kernel
session (``grader.runner.kernel``) implements it, and so does a notebook's own namespace
(``grader.selfcheck``). This module imports nothing of the grader, so that the runner can implement
the protocol without the checks ever importing the runner.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass
class Outcome:
    """What came back for one request: a value, or why there is none."""

    value: Any = None
    missing: bool = False
    error: dict | None = None
    handle: int | None = None
    cpu: float | None = None  # CPU seconds the call took in the student's process (calls with a budget)

    @property
    def ok(self) -> bool:
        return not self.missing and self.error is None


def unsupported(where: str) -> Outcome:
    return Outcome(error={"type": "Unsupported", "message": f"{where} needs the grader's sandboxed kernel"})


class StudentProcess(Protocol):
    """The student's running code, as checks see it: requests in, plain data out."""

    call_timeout: float

    def get(self, name: str, keep: bool = False) -> Outcome:
        """The value of a top-level name (``missing`` when there is none)."""

    def get_many(self, names: list[str]) -> dict[str, Outcome]:
        """Several values in one request."""

    def has(self, name: str, handle: int | None = None) -> bool:
        """Whether a callable ``name`` exists (a method of a kept object, with ``handle``), before its
        inputs are prepared."""

    def call(self, name: str, args: list, kwargs: dict | None = None, timeout: float | None = None, keep: bool = False,
             handle: int | None = None, budget: float | None = None) -> Outcome:
        """``name(*args, **kwargs)``, or with ``handle`` the method ``name`` of a kept object; ``keep``: hold the
        result there and return a handle; ``budget``: seconds after which the student's process stops the call."""

    def call_many(self, name: str, calls: list[tuple[list, dict]], timeout: float | None = None) -> list[Outcome]:
        """``name(*args, **kwargs)`` for each (args, kwargs), in one request, each within ``timeout``; a call
        that dies or runs out of time stops the batch (the calls after it come back with its error)."""

    def update(self, handle: int, attr: str, value: Any, timeout: float | None = None) -> Outcome:
        """``getattr(object, attr).update(value)``: set the weights the grader chooses."""

    def seed(self, seed: int, threads: int = 1) -> Outcome:
        """Seed random/numpy/torch, deterministic torch kernels, ``threads`` threads."""

    def import_problems(self) -> list[str]:
        """Modules that failed to import, as 'file, line N: reason'."""
