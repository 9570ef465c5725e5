"""Answers the grader's requests inside the student's kernel, in plain data only.

The grader sends one JSON request per execution; ``serve`` runs it against the notebook's namespace
(and any imported student modules) and publishes the reply as a display message of type ``MIME``.
The student can break or forge what this module sends, but only about their own work: every
comparison and every score is computed in the grader's process.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from . import wire

MIME = "application/vnd.dl-grader.reply+json"

_modules: list[Any] = []
_handles: dict[int, Any] = {}
_shared: dict[str, Any] = {}  # data the grader sent once for this kernel, by content key; every use gets a copy
SHARED = "__shared__"


def serve(request_json: str) -> None:
    """Handle one request and publish the reply (a dict with ``ok`` and ``value`` or ``error``)."""
    try:
        request = json.loads(request_json)
        with _capped_output():
            reply = _HANDLERS[request["op"]](request)
    except BaseException as exc:  # noqa: BLE001 - KeyboardInterrupt (time limit) and SystemExit too
        reply = {"ok": False, "error": _describe(exc)}
    _publish(reply)


def _publish(reply: dict) -> None:
    """Send a reply to the grader (a display message of type ``MIME``; the last one of a request counts)."""
    from IPython.display import publish_display_data

    try:
        text = json.dumps(reply, allow_nan=False)
    except (TypeError, ValueError) as exc:
        text = json.dumps({"ok": False, "error": {"type": "WireError", "message": str(exc)}})
    if len(text) > wire.MAX_REPLY_BYTES:  # (the same array many times over, say): the grader would refuse it
        text = json.dumps({"ok": False, "error": {"type": "WireError", "message": (
            f"the value is too large to send ({len(text) // 2**20} MiB as plain data; at most {wire.MAX_REPLY_BYTES // 2**20} MiB)")}})
    publish_display_data({MIME: json.loads(text)})


def serve_file(path: str) -> None:
    """``serve`` for a request the grader wrote to a file (a large one: the cell's source stays small)."""
    try:
        with open(path, encoding="utf-8") as file:
            request_json = file.read()
    except OSError as exc:
        _publish({"ok": False, "error": {"type": "NoRequest", "message": f"the request could not be read: {exc}"}})
        return
    serve(request_json)


OUTPUT_KEPT = 64 * 1024  # characters of printed text a request passes on; the rest is counted, not sent


class _CappedStream:
    """Stands in for sys.stdout/sys.stderr while the grader's request runs: what a student's function prints
    (10 MB on every call, say) stays in the kernel beyond the first ``OUTPUT_KEPT`` characters, so that the
    reply is not stuck behind, or dropped with, an oversized output message. The grader's own byte
    budget still stands behind it for writes that go around sys.stdout."""

    def __init__(self, stream: Any) -> None:
        self.stream, self.kept, self.dropped = stream, [], 0
        self.room = OUTPUT_KEPT

    def write(self, text: Any) -> int:
        text = str(text)
        self.kept.append(text[:self.room])
        self.dropped += max(0, len(text) - self.room)
        self.room = max(0, self.room - len(text))
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:  # (encoding, fileno, ...: what a progress bar may ask)
        return getattr(self.stream, name)

    def pass_on(self) -> None:
        text = "".join(self.kept) + (f"\n[{self.dropped} more characters printed while grading, not shown]\n" if self.dropped else "")
        if text:
            self.stream.write(text)
            self.stream.flush()


class _capped_output:
    """sys.stdout and sys.stderr as ``_CappedStream`` for one request."""

    def __enter__(self) -> None:
        self.saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _CappedStream(sys.stdout), _CappedStream(sys.stderr)

    def __exit__(self, *exc: Any) -> None:
        capped = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = self.saved
        for stream in capped:
            if isinstance(stream, _CappedStream):
                stream.pass_on()


def _load_modules(request: dict) -> dict:
    """Import the student's module files; one failing never stops the others."""
    results = []
    for path in map(Path, request["paths"]):
        if str(path.parent) not in sys.path:
            sys.path.insert(0, str(path.parent))
    for path in map(Path, request["paths"]):
        try:
            spec = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[path.stem] = module
            spec.loader.exec_module(module)
            _modules.append(module)
            results.append({"path": str(path), "ok": True})
        except BaseException as exc:  # noqa: BLE001
            sys.modules.pop(path.stem, None)
            results.append({"path": str(path), "ok": False, "error": _describe(exc, path)})
    return {"ok": True, "value": results}


def _lookup(name: str) -> Any:
    from IPython import get_ipython

    shell = get_ipython()
    namespaces = [shell.user_ns] if shell is not None else []
    namespaces += [vars(module) for module in reversed(_modules)]
    for namespace in namespaces:
        if name in namespace:
            return namespace[name]
    raise LookupError(name)


def _target(request: dict) -> Any:
    if "handle" in request:
        obj = _handles[int(request["handle"])]
        return getattr(obj, request["attr"]) if request.get("attr") else obj
    return _lookup(request["name"])


def _reply(value: Any, keep: bool) -> dict:
    if keep:
        handle = len(_handles) + 1
        _handles[handle] = value
        return {"ok": True, "handle": handle, "type": type(value).__name__}
    return {"ok": True, "value": wire.to_wire(value)}


def _has(request: dict) -> dict:
    """Whether the name (or the kept object's attribute) exists and can be called: asked before the grader
    prepares a call's inputs, so that a missing function costs no data."""
    try:
        return {"ok": True, "value": callable(_target(request))}
    except (LookupError, AttributeError):
        return {"ok": True, "value": False}


def _survey(request: dict) -> dict:
    """Several ``get`` and ``has`` requests in one round trip: {"many": {name: reply}, "has": {name: bool}};
    a value that cannot be sent is that name's error, as its own ``get`` would reply."""
    return {"ok": True, "many": {name: _answered(_get, {"name": name}) for name in request["names"]},
            "has": {name: _has({"name": name})["value"] for name in request["callables"]}}


def _answered(handler: Any, request: dict) -> dict:
    try:
        return handler(request)
    except Exception as exc:  # noqa: BLE001 - reported for this name alone
        return {"ok": False, "error": _describe(exc)}


def _data(value: Any) -> Any:
    """Plain data from the grader, with its shared parts (sent once per kernel) filled in: copies, so
    that code changing its inputs in place never changes what a later call receives."""
    if isinstance(value, list):
        return [_data(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_data(item) for item in value)
    if isinstance(value, dict):
        if SHARED in value:
            key = str(value[SHARED])
            if "value" in value:
                _shared[key] = value["value"]
            return copy.deepcopy(_shared[key])
        return {key: _data(item) for key, item in value.items()}
    return value


def _get(request: dict) -> dict:
    try:
        value = _target(request)
    except LookupError:
        return {"ok": False, "missing": True}
    return _reply(value, bool(request.get("keep")))


def _call(request: dict) -> dict:
    try:
        function = _target(request)
    except LookupError:
        return {"ok": False, "missing": True}
    if not callable(function):
        return {"ok": False, "error": {"type": "TypeError", "message": f"{request.get('name') or request.get('attr')} is not callable"}}
    args = _decoded(request.get("args", []))
    kwargs = _decoded(request.get("kwargs", {}))
    budget = request.get("budget")
    if budget:
        started = time.process_time()
        reply = _reply(_within(float(budget), lambda: function(*args, **kwargs)), bool(request.get("keep")))
        return {**reply, "cpu": time.process_time() - started}
    return _reply(function(*args, **kwargs), bool(request.get("keep")))


class CallTimeout(BaseException):
    """One call of a batch ran past its time limit (the grader's own limit still backs this up)."""


def _call_many(request: dict) -> dict:
    """Several calls in one round trip (the cases of every function check), each of the function its
    ``name`` says and with its own wall-clock limit; the first that runs out of time stops the batch,
    and the rest are not run. A case with ``fresh`` calls the method ``name`` of a new object:
    ``fresh["update"]`` (the weights the grader sets). When the batch moves on to another function, the
    replies so far are written to the ``checkpoint`` file the grader named: a later case that kills or
    hangs the kernel then costs its own function's cases, not those of the functions before it."""
    replies: list[dict] = []
    seconds = float(request.get("each", 10))
    stopped = False  # a case ran out of time, or the grader interrupted the batch
    cases = request["cases"]
    for index, case in enumerate(cases):
        if index and case["name"] != cases[index - 1]["name"] and not stopped and request.get("checkpoint"):
            _checkpoint(request["checkpoint"], replies)
        if stopped:
            replies.append({"ok": False, "error": {"type": "NotRun", "message": "not run: an earlier case ran out of time"}})
            continue
        try:
            replies.append(_limited(seconds, lambda case=case: _case(case)))
        except CallTimeout:
            replies.append({"ok": False, "error": {"type": "Timeout", "message": f"did not finish within {seconds:g} s"}})
            stopped = True
        except KeyboardInterrupt as exc:
            replies.append({"ok": False, "error": _describe(exc)})
            stopped = True
        except BaseException as exc:  # noqa: BLE001 - the student's error, for this case alone
            replies.append({"ok": False, "error": _describe(exc)})
    return {"ok": True, "many": replies}


def _checkpoint(path: str, replies: list[dict]) -> None:
    """The replies so far, written whole or not at all (a file is on disk when this returns, whatever the
    next case does to the process; a message could still be on its way out)."""
    try:
        with open(path + ".part", "w", encoding="utf-8") as file:
            json.dump({"many": replies}, file, allow_nan=False)
        os.replace(path + ".part", path)
    except (OSError, TypeError, ValueError):
        pass  # (no checkpoint: a crash later in the batch costs the earlier functions' cases too)


def _case(case: dict) -> dict:
    name = case["name"]
    if "fresh" not in case:
        return _call(case)
    fresh = case["fresh"]
    try:
        made = _lookup(fresh["name"])
    except LookupError:
        return {"ok": False, "missing": True}
    obj = made(*_decoded(fresh.get("args", [])), **_decoded(fresh.get("kwargs", {})))
    for attr, value in fresh.get("update", {}).items():
        if not hasattr(obj, attr):
            return {"ok": False, "error": {"type": "AttributeError", "message": f"{fresh['name']} object has no attribute {attr!r} to set"}}
        getattr(obj, attr).update(_decoded(value))
    if not callable(getattr(obj, name, None)):
        return {"ok": False, "error": {"type": "AttributeError", "message": f"{fresh['name']} object has no method {name!r}"}}
    return _reply(getattr(obj, name)(*_decoded(case.get("args", [])), **_decoded(case.get("kwargs", {}))), False)


def _limited(seconds: float, run: Any) -> Any:
    """``run()`` stopped by SIGALRM after ``seconds`` of wall time."""
    import signal

    def alarm(signum: int, frame: Any) -> None:
        raise CallTimeout

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return run()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _describe(exc: BaseException, path: Path | None = None) -> dict:
    """An exception as plain data: type, message and the deepest line of student code."""
    frames = traceback.extract_tb(exc.__traceback__)
    student = [f for f in frames if "grader_worker" not in f.filename]
    line = None
    if isinstance(exc, SyntaxError):
        line = {"file": Path(exc.filename or "").name, "line": exc.lineno, "code": (exc.text or "").strip()}
    elif student:
        last = student[-1]
        line = {"file": Path(last.filename).name, "line": last.lineno, "code": (last.line or "").strip()}
    try:
        message = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    except BaseException:  # noqa: BLE001 - a student's exception whose __str__ fails
        message = "<message could not be printed>"
    return {"type": type(exc).__name__, "message": message[:2000], "where": line}


class BudgetExceeded(BaseException):
    """Raised in the student's code when a call's time budget (a training run's, say) is used up."""


def _within(seconds: float, run: Any) -> Any:
    """``run()`` stopped after ``seconds`` of CPU time of this process (all its threads): a call with a
    ``budget``. CPU time, not wall time, so that a verdict does not depend on how loaded the machine is.

    The kernel survives (only this call is stopped), unlike the grader's own (wall-clock) time limit,
    which interrupts or kills the kernel; that limit still applies to code that swallows the signal or
    waits without computing.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return run()

    def alarm(signum: int, frame: Any) -> None:
        raise BudgetExceeded(f"did not finish within its time budget of {seconds:g} CPU seconds")

    previous = signal.signal(signal.SIGPROF, alarm)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        return run()
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


def _seed(request: dict) -> dict:
    """Seed random, numpy and torch, force deterministic torch kernels and a thread count.

    The grader sends this before each training step, so a student's training runs the same way every
    time it is graded. torch is seeded now if the code imported it, else the moment it does (importing
    it only to seed it would cost a second in every numpy-only kernel). What was done comes back.
    """
    import random

    import numpy

    seed, threads = int(request["seed"]), int(request.get("threads", 1))
    random.seed(seed)
    numpy.random.seed(seed)
    torch = sys.modules.get("torch")
    if torch is not None:
        _seed_torch(torch, seed, threads)
    else:
        _SeedTorchOnImport.install(seed, threads)
    return {"ok": True, "value": {"random": True, "numpy": True, "torch": "now" if torch is not None else "on import"}}


def _seed_torch(torch: Any, seed: int, threads: int) -> None:
    import os

    torch.manual_seed(seed)
    _deterministic_torch(torch)
    torch.set_num_threads(threads)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


class _SeedTorchOnImport:
    """An import hook that seeds torch right after its first import (then removes itself)."""

    _installed: _SeedTorchOnImport | None = None

    def __init__(self, seed: int, threads: int):
        self.seed, self.threads = seed, threads

    @classmethod
    def install(cls, seed: int, threads: int) -> None:
        if cls._installed in sys.meta_path:
            sys.meta_path.remove(cls._installed)
        cls._installed = cls(seed, threads)
        sys.meta_path.insert(0, cls._installed)

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "torch":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec("torch")
        if spec is None or spec.loader is None:
            return spec
        run_module, seed, threads = spec.loader.exec_module, self.seed, self.threads

        def run_and_seed(module: Any) -> None:
            run_module(module)
            _seed_torch(module, seed, threads)

        spec.loader.exec_module = run_and_seed
        return spec


def _deterministic_torch(torch: Any) -> None:
    """``torch.use_deterministic_algorithms(True)``, without its first-call import of torch._inductor
    (about 2 s) when inductor is not loaded: its setting only matters to torch.compile, which would
    load it later."""
    setter = getattr(torch._C, "_set_deterministic_algorithms", None)
    if "torch._inductor.config" in sys.modules or setter is None:
        torch.use_deterministic_algorithms(True)
    else:
        setter(True)


def _update(request: dict) -> dict:
    """``getattr(handle's object, attr).update(value)``: set an object's weights (a params dict, say)."""
    try:
        target = getattr(_handles[int(request["handle"])], request["attr"])
    except (KeyError, AttributeError):
        return {"ok": False, "missing": True}
    target.update(_decoded(request["value"]))
    return {"ok": True, "value": None}


def _decoded(data: Any) -> Any:
    """``wire.from_wire`` of the grader's data, its shared parts filled in (``_data``)."""
    return _data(wire.from_wire(data))


_HANDLERS = {"load_modules": _load_modules, "get": _get, "survey": _survey, "has": _has, "call": _call,
             "call_many": _call_many, "seed": _seed, "update": _update}
