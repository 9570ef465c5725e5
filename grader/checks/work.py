"""The student's work as the scorer sees it: named answers and callable functions, whatever the form.

Answers come from answers files first, then from the student's running code (notebook namespace,
then modules). Functions are always called in the student's process, through the ``StudentProcess``
protocol. Objects (a model, a network) stay there too: the grader holds a *handle* and calls methods
on it; only plain data comes back.
"""

from __future__ import annotations

from typing import Any

from ..submissions.answers import Unreadable
from .outcome import Call, Outcome, StudentProcess

_NO_CODE = Outcome(missing=True)
_NOT_RUN = Outcome(error={"type": "NotRun", "message": "not run: an earlier case ran out of time"})


def _stops(outcome: Outcome) -> bool:
    """Whether the calls after this one in a batch are not run (a timeout; a dead kernel)."""
    return (outcome.error or {}).get("type") in ("Timeout", "KernelDied")


def wall_clock_cap(cpu_seconds: float) -> float:
    """The wall-clock limit behind a CPU-time budget: room for a machine several times slower."""
    return 3 * cpu_seconds + 30


class StudentWork:
    def __init__(self, answers: dict[str, Any] | None = None, process: StudentProcess | None = None):
        self.answers = answers or {}
        self.process = process
        self._cache: dict[str, Outcome] = {}
        self._has: dict[str, bool] = {}
        self._calls: dict[str, Outcome] = {}  # a call's identity -> its outcome (call_many)

    def answer(self, name: str) -> Outcome:
        if name not in self._cache:
            self._cache[name] = self._answer(name)
        return self._cache[name]

    def prefetch(self, names: list[str], callables: list[str] = ()) -> None:
        """Ask the student's process, in one round trip, for every answer not in an answers file and
        whether each of ``callables`` exists (the functions and classes the checks will call)."""
        wanted = [name for name in names if name not in self.answers and name not in self._cache]
        asked = [name for name in dict.fromkeys(callables) if name not in self._has]
        if self.process is not None and (wanted or asked):
            found = self.process.survey(wanted, asked)
            self._cache.update(found.answers)
            self._has.update(found.callables)

    def has(self, name: str, handle: int | None = None) -> bool:
        """Whether the student's code has a callable ``name`` (asked before preparing a call's inputs; the
        answer for a top-level name is kept for the rest of the scoring)."""
        if self.process is None:
            return False
        if handle is not None:
            return self.process.has(name, handle)
        if name not in self._has:
            self._has[name] = self.process.has(name)
        return self._has[name]

    def _answer(self, name: str) -> Outcome:
        if name in self.answers:
            value = self.answers[name]
            if isinstance(value, Unreadable):
                return Outcome(error={"type": "Unreadable", "message": value.reason})
            return Outcome(value=value)
        if self.process is not None:
            return self.process.get(name)
        return Outcome(missing=True)

    @property
    def has_code(self) -> bool:
        return self.process is not None

    def call(self, name: str, args: list, kwargs: dict, timeout: float | None = None, keep: bool = False) -> Outcome:
        """Call the student's function (or class) ``name``; ``keep``: hold the result there, get a handle."""
        if self.process is None:
            return _NO_CODE
        return self.process.call(name, args, kwargs, timeout=timeout, keep=keep)

    def call_many(self, calls: list[tuple[str, Call]], timeout: float | None = None) -> list[Outcome]:
        """Calls (a name and its ``Call``: the cases of one function check, or of all of them) in one
        request. A call asked before (the same function or fresh object, the same inputs: the gradient
        questions each read their part of one ``loss(X, y, reg)``) is answered from its first outcome, as
        a TA reads every gradient from one run of the cell. As in one batch, the calls after one that ran
        out of time (or found the kernel dead) are not run; a call not run in an earlier batch, behind
        another check's timeout, is asked now."""
        if self.process is None:
            return [_NO_CODE] * len(calls)
        keys = [call.identity(name) for name, call in calls]
        wanted: dict[str, tuple[str, Call]] = {}
        for key, named in zip(keys, calls):
            if key in self._calls:
                if _stops(self._calls[key]):
                    break
            else:
                wanted.setdefault(key, named)
        asked = dict(zip(wanted, self.process.call_many(list(wanted.values()), timeout=timeout))) if wanted else {}
        for key, outcome in asked.items():
            if (outcome.error or {}).get("type") != "NotRun":  # (asked again, it runs)
                self._calls[key] = outcome
        return [self._calls.get(key) or asked.get(key) or _NOT_RUN for key in keys]

    def call_method(self, handle: int, method: str, args: list, kwargs: dict, timeout: float | None = None,
                    keep: bool = False) -> Outcome:
        """``object.method(*args, **kwargs)`` on an object held in the student's process."""
        if self.process is None:
            return _NO_CODE
        return self.process.call(method, args, kwargs, timeout=timeout, keep=keep, handle=handle)

    def call_within(self, name: str, args: list, kwargs: dict, budget: float, keep: bool = False,
                    handle: int | None = None) -> Outcome:
        """A call (or, with ``handle``, a method call) that the student's process itself stops after
        ``budget`` CPU seconds (error type "BudgetExceeded"; the kernel lives on). The grader's own
        wall-clock limit, generous (a loaded machine is slower, not wrong), still backs it up."""
        if self.process is None:
            return _NO_CODE
        return self.process.call(name, args, kwargs, timeout=wall_clock_cap(budget), keep=keep, handle=handle, budget=budget)

    def update(self, handle: int, attr: str, value: Any, timeout: float | None = None) -> Outcome:
        """``getattr(object, attr).update(value)``: set the weights the grader chooses."""
        if self.process is None:
            return _NO_CODE
        return self.process.update(handle, attr, value, timeout=timeout)

    def seed(self, seed: int, threads: int = 1) -> Outcome:
        """Seed random/numpy/torch in the student's process, deterministic torch kernels, ``threads`` threads."""
        if self.process is None:
            return _NO_CODE
        return self.process.seed(seed, threads)

    def import_problems(self) -> list[str]:
        """Modules that failed to import, as 'file, line N: reason' (from the run log)."""
        return self.process.import_problems() if self.process is not None else []
