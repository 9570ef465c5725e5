"""What checks need from a student's process, and what comes back from it.

``Outcome`` is one request's result as plain data; ``StudentProcess`` is the small protocol a check
uses (get a value, call a function or method, keep a handle, set weights, seed). The sandboxed kernel
session (``grader.runner.kernel``) implements it, and so does a notebook's own namespace
(``grader.selfcheck``). This module imports nothing of the grader, so that the runner can implement
the protocol without the checks ever importing the runner.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Protocol

from grader_worker import wire

FINGERPRINTED = 64 * wire.MAX_ARRAY_BYTES  # (the grader's own data: fingerprinted, never sent)


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


@dataclass
class Fresh:
    """A new object for one call: ``cls(*args, **kwargs)``, then ``getattr(obj, attr).update(value)`` for
    each of ``update`` (the weights the grader chooses)."""

    cls: str
    args: list = field(default_factory=list)
    kwargs: dict = field(default_factory=dict)
    update: dict = field(default_factory=dict)


@dataclass
class Call:
    """One call of a batch (``StudentProcess.call_many``, beside the name it calls): the function's ``(*args, **kwargs)``, or, with
    ``fresh``, the method of that name on a new object."""

    args: list
    kwargs: dict = field(default_factory=dict)
    fresh: Fresh | None = None

    def identity(self, name: str) -> str:
        """What tells this call apart from every other: the same identity, the same question."""
        fresh = self.fresh
        return fingerprint(name, self.args, self.kwargs, *((fresh.cls, fresh.args, fresh.kwargs, fresh.update) if fresh else ()))


@dataclass
class Survey:
    """What ``StudentProcess.survey`` found: answers by name (those it could read) and which callables exist."""

    answers: dict[str, Outcome] = field(default_factory=dict)
    callables: dict[str, bool] = field(default_factory=dict)


def fingerprint(*parts: Any) -> str:
    """A short hash of plain data (arrays by their bytes, dtype and shape)."""
    encoded = json.dumps(wire.to_wire(list(parts), limit=FINGERPRINTED), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).hexdigest()[:32]


def unsupported(where: str) -> Outcome:
    return Outcome(error={"type": "Unsupported", "message": f"{where} needs the grader's sandboxed kernel"})


class StudentProcess(Protocol):
    """The student's running code, as checks see it: requests in, plain data out."""

    call_timeout: float

    def get(self, name: str, keep: bool = False) -> Outcome:
        """The value of a top-level name (``missing`` when there is none)."""

    def survey(self, names: list[str], callables: list[str]) -> Survey:
        """In one request: the values of ``names`` and whether each of ``callables`` exists and can be
        called (what every check will ask for, asked before any of them is scored)."""

    def has(self, name: str, handle: int | None = None) -> bool:
        """Whether a callable ``name`` exists (a method of a kept object, with ``handle``), before its
        inputs are prepared."""

    def call(self, name: str, args: list, kwargs: dict | None = None, timeout: float | None = None, keep: bool = False,
             handle: int | None = None, budget: float | None = None) -> Outcome:
        """``name(*args, **kwargs)``, or with ``handle`` the method ``name`` of a kept object; ``keep``: hold the
        result there and return a handle; ``budget``: seconds after which the student's process stops the call."""

    def call_many(self, calls: list[tuple[str, Call]], timeout: float | None = None) -> list[Outcome]:
        """Each call (a name and its ``Call``, of any functions) in one request, each within ``timeout``; one
        that dies or runs out of time stops the batch (the calls after it come back with its error, or as
        ``NotRun``)."""

    def update(self, handle: int, attr: str, value: Any, timeout: float | None = None) -> Outcome:
        """``getattr(object, attr).update(value)``: set the weights the grader chooses."""

    def seed(self, seed: int, threads: int = 1) -> Outcome:
        """Seed random/numpy/torch, deterministic torch kernels, ``threads`` threads."""

    def import_problems(self) -> list[str]:
        """Modules that failed to import, as 'file, line N: reason'."""
