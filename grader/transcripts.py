"""Transcripts: every call the grader makes into a student's process, with its inputs' fingerprint and
its plain-data result, so that a changed rubric can be scored again without running any student code.

``RecordingProcess`` wraps the kernel session while a submission is graded and writes down each
request (``get``, ``has``, ``call``, ``update``, ``seed``; a survey as its gets and has) under a key made from what was asked:
the operation, the name, a fingerprint of the inputs, and, for a method of an object kept in the
student's process, the history of that object (the call that made it and every call on it since, so
that a net is told apart before and after training). ``ReplayProcess`` answers the same requests from
the transcript, in the grader's process alone; a request the transcript lacks (a new case, changed
inputs, a new experiment) raises ``NeedsRerun`` and the submission is run again. Only plain data is
kept: JSON, arrays as ``.npy`` bytes inside it (``grader_worker.wire``), never pickles.
"""

from __future__ import annotations

from typing import Any

from grader_worker import wire

from .checks.outcome import FINGERPRINTED, Call, Outcome, StudentProcess, Survey, fingerprint

FORMAT = 1


NO_CODE = {"format": FORMAT, "entries": {}, "events": [], "import_problems": []}  # the transcript of a submission without code


class NeedsRerun(Exception):
    """The transcript has no answer to this request: the student's code must run again."""


def _stored(outcome: Outcome, handle_key: str | None) -> dict:
    entry: dict[str, Any] = {"missing": outcome.missing, "error": outcome.error, "cpu": outcome.cpu}
    if handle_key is not None:
        entry["handle"] = handle_key
    elif outcome.ok:
        entry["value"] = wire.to_wire(outcome.value, limit=FINGERPRINTED)
    return entry


class RecordingProcess:
    """A StudentProcess that passes every request on and writes down what came back."""

    def __init__(self, inner: StudentProcess):
        self.inner = inner
        self.call_timeout = inner.call_timeout
        self.entries: dict[str, dict] = {}
        self._histories: dict[int, str] = {}  # a kept object's handle here -> its history key

    def _key(self, *parts: Any, handle: int | None = None) -> str:
        return fingerprint(self._histories.get(handle) if handle is not None else None, *parts)

    def _record(self, key: str, outcome: Outcome, handle: int | None = None) -> Outcome:
        handle_key = None
        if outcome.handle is not None:
            handle_key = key
            self._histories[outcome.handle] = key
        if handle is not None:  # whatever this did to the object, its next calls see it afterwards
            self._histories[handle] = fingerprint(self._histories.get(handle), key)
        self.entries[key] = _stored(outcome, handle_key)
        return outcome

    def get(self, name: str, keep: bool = False) -> Outcome:
        return self._record(self._key("get", name, keep), self.inner.get(name, keep))

    def survey(self, names: list[str], callables: list[str]) -> Survey:
        found = self.inner.survey(names, callables)
        for name, outcome in found.answers.items():
            self._record(self._key("get", name, False), outcome)
        for name, result in found.callables.items():
            self._record_has(name, None, result)
        return found

    def has(self, name: str, handle: int | None = None) -> bool:
        return self._record_has(name, handle, self.inner.has(name, handle))

    def _record_has(self, name: str, handle: int | None, result: bool) -> bool:
        self.entries[self._key("has", name, handle=handle)] = {"value": result}
        return result

    def call(self, name: str, args: list, kwargs: dict | None = None, timeout: float | None = None, keep: bool = False,
             handle: int | None = None, budget: float | None = None) -> Outcome:
        key = self._key("call", name, list(args), kwargs or {}, keep, budget is not None, handle=handle)
        outcome = self.inner.call(name, args, kwargs, timeout=timeout, keep=keep, handle=handle, budget=budget)
        return self._record(key, outcome, handle)

    def call_many(self, calls: list[tuple[str, Call]], timeout: float | None = None) -> list[Outcome]:
        outcomes = self.inner.call_many(calls, timeout=timeout)
        for (name, call), outcome in zip(calls, outcomes):
            self._record(self._key("call_many", call.identity(name)), outcome)
        return outcomes

    def update(self, handle: int, attr: str, value: Any, timeout: float | None = None) -> Outcome:
        key = self._key("update", attr, value, handle=handle)
        return self._record(key, self.inner.update(handle, attr, value, timeout=timeout), handle)

    def seed(self, seed: int, threads: int = 1) -> Outcome:
        return self._record(self._key("seed", seed, threads), self.inner.seed(seed, threads))

    def import_problems(self) -> list[str]:
        return self.inner.import_problems()

    def transcript(self, events: list[dict]) -> dict:
        """What a replay needs: the entries, the run's events and the import problems."""
        return {"format": FORMAT, "entries": self.entries, "events": events, "import_problems": self.import_problems()}


class ReplayProcess:
    """A StudentProcess that answers from a transcript, running nothing."""

    call_timeout = 0.0

    def __init__(self, transcript: dict):
        if transcript.get("format") != FORMAT:
            raise NeedsRerun("a transcript of another format")
        self.entries = transcript["entries"]
        self.problems = list(transcript.get("import_problems", []))
        self._histories: dict[int, str] = {}
        self._handles: dict[str, int] = {}

    def _key(self, *parts: Any, handle: int | None = None) -> str:
        return fingerprint(self._histories.get(handle) if handle is not None else None, *parts)

    def _replay(self, key: str, handle: int | None = None) -> Outcome:
        entry = self.entries.get(key)
        if entry is None:
            raise NeedsRerun(key)
        if handle is not None:
            self._histories[handle] = fingerprint(self._histories.get(handle), key)
        if "handle" in entry:
            number = self._handles.setdefault(entry["handle"], len(self._handles) + 1)
            self._histories[number] = entry["handle"]
            return Outcome(handle=number, cpu=entry.get("cpu"))
        value = wire.from_wire(entry["value"]) if "value" in entry else None
        return Outcome(value=value, missing=bool(entry.get("missing")), error=entry.get("error"), cpu=entry.get("cpu"))

    def get(self, name: str, keep: bool = False) -> Outcome:
        return self._replay(self._key("get", name, keep))

    def survey(self, names: list[str], callables: list[str]) -> Survey:
        return Survey({name: self.get(name) for name in names}, {name: self.has(name) for name in callables})

    def has(self, name: str, handle: int | None = None) -> bool:
        entry = self.entries.get(self._key("has", name, handle=handle))
        if entry is None:
            raise NeedsRerun(name)
        return bool(entry["value"])

    def call(self, name: str, args: list, kwargs: dict | None = None, timeout: float | None = None, keep: bool = False,
             handle: int | None = None, budget: float | None = None) -> Outcome:
        return self._replay(self._key("call", name, list(args), kwargs or {}, keep, budget is not None, handle=handle), handle)

    def call_many(self, calls: list[tuple[str, Call]], timeout: float | None = None) -> list[Outcome]:
        return [self._replay(self._key("call_many", call.identity(name))) for name, call in calls]

    def update(self, handle: int, attr: str, value: Any, timeout: float | None = None) -> Outcome:
        return self._replay(self._key("update", attr, value, handle=handle), handle)

    def seed(self, seed: int, threads: int = 1) -> Outcome:
        return self._replay(self._key("seed", seed, threads))

    def import_problems(self) -> list[str]:
        return self.problems
