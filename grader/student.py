"""The student's work as the scorer sees it: named answers and callable functions, whatever the form.

Answers come from answers files first, then from the student's running code (notebook namespace,
then modules). Functions are always called in the student's sandboxed process.
"""

from __future__ import annotations

from typing import Any

from .runner.kernel import KernelSession, Outcome
from .submission import Unreadable


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

    def call(self, name: str, args: list, kwargs: dict, timeout: float | None = None) -> Outcome:
        if self.session is None:
            return Outcome(missing=True)
        return self.session.call(name, args, kwargs, timeout=timeout)
