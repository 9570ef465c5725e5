"""The student's work as the scorer sees it: named answers and callable functions, whatever the form.

Answers come from answers files first, then from the student's running code (notebook namespace,
then modules). Functions are always called in the student's sandboxed process. Objects (a model, a
network) stay there too: the grader holds a *handle* and calls methods on it; only plain data comes
back.
"""

from __future__ import annotations

from typing import Any

from .runner.kernel import KernelSession, Outcome
from .submission import Unreadable

_NO_CODE = Outcome(missing=True)


class StudentWork:
    def __init__(self, answers: dict[str, Any] | None = None, session: KernelSession | None = None):
        self.answers = answers or {}
        self.session = session
        self._cache: dict[str, Outcome] = {}

    def answer(self, name: str) -> Outcome:
        if name not in self._cache:
            self._cache[name] = self._answer(name)
        return self._cache[name]

    def _answer(self, name: str) -> Outcome:
        if name in self.answers:
            value = self.answers[name]
            if isinstance(value, Unreadable):
                return Outcome(error={"type": "Unreadable", "message": value.reason})
            return Outcome(value=value)
        if self.session is not None:
            return self.session.get(name)
        return Outcome(missing=True)

    @property
    def has_code(self) -> bool:
        return self.session is not None

    def call(self, name: str, args: list, kwargs: dict, timeout: float | None = None, keep: bool = False) -> Outcome:
        """Call the student's function (or class) ``name``; ``keep``: hold the result there, get a handle."""
        if self.session is None:
            return _NO_CODE
        return self.session.call(name, args, kwargs, timeout=timeout, keep=keep)

    def call_method(self, handle: int, method: str, args: list, kwargs: dict, timeout: float | None = None,
                    keep: bool = False) -> Outcome:
        """``object.method(*args, **kwargs)`` on an object held in the student's process."""
        if self.session is None:
            return _NO_CODE
        return self.session.call(method, args, kwargs, timeout=timeout, keep=keep, handle=handle)

    def call_within(self, name: str, args: list, kwargs: dict, budget: float, keep: bool = False,
                    handle: int | None = None) -> Outcome:
        """A call (or, with ``handle``, a method call) that the student's process itself stops after
        ``budget`` seconds (error type "BudgetExceeded"; the kernel lives on). The grader's own time limit,
        a little longer, still backs it up."""
        from grader_worker import wire

        request: dict[str, Any] = {"op": "call", "args": wire.to_wire(list(args)), "kwargs": wire.to_wire(kwargs),
                                   "keep": keep, "budget": budget}
        request.update({"handle": handle, "attr": name} if handle is not None else {"name": name})
        return self._op(request, budget + 5, f"calling {name}")

    def update(self, handle: int, attr: str, value: Any, timeout: float | None = None) -> Outcome:
        """``getattr(object, attr).update(value)``: set the weights the grader chooses."""
        from grader_worker import wire

        return self._op({"op": "update", "handle": handle, "attr": attr, "value": wire.to_wire(value)},
                        timeout, f"setting {attr}")

    def seed(self, seed: int, threads: int = 1) -> Outcome:
        """Seed random/numpy/torch in the student's process, deterministic torch kernels, ``threads`` threads."""
        return self._op({"op": "seed", "seed": int(seed), "threads": int(threads)}, 30, "seeding")

    def import_problems(self) -> list[str]:
        """Modules that failed to import, as 'file, line N: reason' (from the run log)."""
        events = getattr(self.session, "events", None) or []
        return [f"{event.where}: {event.message.removeprefix('import failed: ')}" for event in events
                if event.message.startswith("import failed")]

    def _op(self, request: dict, timeout: float | None, where: str) -> Outcome:
        # KernelSession exposes get/call; the bridge's other ops go through its request channel.
        if self.session is None:
            return _NO_CODE
        send = getattr(self.session, "_request", None)
        if send is None:  # a session that only reads values and calls functions (a notebook self-check)
            return Outcome(error={"type": "Unsupported", "message": f"{where} needs the grader's sandboxed kernel"})
        return send(request, timeout=timeout or self.session.call_timeout, where=where)
