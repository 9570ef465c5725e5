"""The grader's side of the bridge's plain-data messages: requests encoded for the kernel, replies checked.

What the grader sends is its own data (``grader_worker.wire``), large arrays once per kernel, large
requests as a file beside the kernel's sockets; what comes back is student-controlled and is checked
field by field before anything uses it (``outcome``).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import uuid
from pathlib import Path
from typing import Any, Callable

from grader_worker import wire
from grader_worker.bridge import SHARED

from ..checks.outcome import Call, Outcome

SENT_LIMIT = 4 * wire.MAX_ARRAY_BYTES  # what the grader itself sends in one request (data of its own choosing)
INLINE_REQUEST_BYTES = 8 * 1024  # a larger request travels as a file in the IPC folder, not in the cell's source
SHARED_BYTES = 64 * 1024  # arrays larger than this (as sent) travel once per kernel


def shipped(value: Any, sent: set[str]) -> Any:
    """``value`` as plain data, each large array sent once per kernel (the bridge keeps it and hands every
    later call a copy; ``sent`` holds what this kernel has): a class's training data is not encoded and
    sent again for every step."""
    return _share(wire.to_wire(value, limit=SENT_LIMIT), sent)


def _share(data: Any, sent: set[str]) -> Any:
    if isinstance(data, list):
        return [_share(item, sent) for item in data]
    if isinstance(data, dict):
        if set(data) == {wire.ARRAY} and len(data[wire.ARRAY]) > SHARED_BYTES:
            key = hashlib.sha1(data[wire.ARRAY].encode("ascii")).hexdigest()
            if key in sent:
                return {SHARED: key}
            sent.add(key)
            return {SHARED: key, "value": data}
        return {key: _share(item, sent) for key, item in data.items()}
    return data


def case(name: str, call: Call, ship: Callable[[Any], Any]) -> dict:
    """One call of a ``call_many`` request: the name it calls, its inputs and any fresh object's."""
    encoded = {"name": name, "args": ship(list(call.args)), "kwargs": ship(call.kwargs)}
    if call.fresh is not None:
        fresh = call.fresh
        encoded["fresh"] = {"name": fresh.cls, "args": ship(list(fresh.args)), "kwargs": ship(fresh.kwargs),
                            "update": {attr: ship(value) for attr, value in fresh.update.items()}}
    return encoded


def request_file(folder: Path, payload: str) -> Path | None:
    """A large request written into the kernel's IPC folder (mounted at the same path in the sandbox), so
    that the cell which asks for it stays small: IPython transforms and compiles every cell's source,
    about 90 ms of the kernel's CPU per MB. A name of the grader's choosing, created afresh and never
    through a link the student's code may have put there; None (send it inline) if that fails."""
    path = folder / f"request-{uuid.uuid4().hex}.json"
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    except OSError:
        return None
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(payload)
    return path


def read_checkpoint(path: Path) -> Any:
    """The replies a batch had written when its kernel died or hung (``bridge._checkpoint``), or None. The
    file lies in a folder the student's code may write to: read without following a link, only if it is a
    plain file no larger than a reply may be, and parsed as untrusted JSON."""
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    status = os.fstat(handle)
    if not stat.S_ISREG(status.st_mode) or status.st_size > wire.MAX_REPLY_BYTES:
        os.close(handle)
        return None
    with os.fdopen(handle, "rb") as file:
        try:
            return json.loads(file.read(wire.MAX_REPLY_BYTES + 1))
        except (ValueError, UnicodeDecodeError, RecursionError):
            return None


def outcome(reply: Any) -> Outcome:
    """Validate a reply from the sandbox; it is student-controlled data."""
    if not isinstance(reply, dict):
        return Outcome(error={"type": "BadReply", "message": "malformed reply"})
    if reply.get("missing") is True:
        return Outcome(missing=True)
    if reply.get("ok") is True:
        cpu = float(reply["cpu"]) if isinstance(reply.get("cpu"), (int, float)) and reply["cpu"] >= 0 else None
        if isinstance(reply.get("handle"), int):
            return Outcome(handle=reply["handle"], cpu=cpu)
        try:
            return Outcome(value=wire.from_wire(reply.get("value")), cpu=cpu)
        except wire.WireError as exc:
            return Outcome(error={"type": "WireError", "message": str(exc)})
    error = reply.get("error")
    if not isinstance(error, dict):
        return Outcome(error={"type": "BadReply", "message": "malformed error"})
    where = error.get("where") if isinstance(error.get("where"), dict) else None
    return Outcome(error={"type": str(error.get("type", "Error"))[:100], "message": str(error.get("message", ""))[:2000], "where": where})
