"""Staging: the one way a submission's files reach the grader's runner, here or on another machine.

``stage`` makes a private copy of one submission: regular files only, read without following links
(``O_NOFOLLOW``) and never opened unless they are regular files (no pipe, socket or device is ever
opened, so nothing can block or read /proc), readable by the sandbox's user (files 0644, folders
0755, whatever the originals were), and within a size budget. Everything left out is reported as a
run event. The sandbox only ever sees this copy: never the folder a single file lies in (the
class), never what a link points to. ``pack`` turns a staged copy into bytes for a dask worker and
``unpack`` turns them back, with the same guarantees.
"""

from __future__ import annotations

import errno
import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Iterable

from ..report import RunEvent
from ..escaping import one_line

MAX_FILES = 10_000
MAX_BYTES = 256 * 2**20
SKIPPED_NAMES = {"__pycache__", ".ipynb_checkpoints"}
_CHUNK = 2**20


@dataclass
class Staged:
    """A staged submission: a folder of regular files, and what was left out on the way."""

    folder: Path
    events: list[RunEvent] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # seconds spent making it (reported with the grading)

    def files(self) -> list[str]:
        """Relative POSIX paths of every file, sorted."""
        return sorted(p.relative_to(self.folder).as_posix() for p in self.folder.rglob("*") if p.is_file())


class _Budget:
    def __init__(self) -> None:
        self.files = MAX_FILES
        self.bytes = MAX_BYTES
        self.exhausted = False


def stage(source: Path, into: Path, *, exclude: Iterable[Path] = ()) -> Staged:
    """Copy one submission (a file or a folder) into the new folder ``into``.

    ``exclude``: paths under a folder submission that are not the student's work (a kit, the grader's
    own outputs); they are left out and listed in an info event. Hidden entries (names starting with a
    dot: ``.git``, ``.github``) and caches are left out the same way.
    """
    started = time.monotonic()
    source = Path(source)
    staged = Staged(Path(into))
    staged.folder.mkdir(mode=0o755)
    os.chmod(staged.folder, 0o755)
    budget = _Budget()
    try:
        mode = source.lstat().st_mode
    except OSError as exc:
        staged.events.append(_event(source.name, "error", f"cannot be read ({exc.strerror or exc}); not graded"))
        return staged
    if stat.S_ISREG(mode):
        _copy_file(source, staged.folder / source.name, source.name, staged, budget)
    elif stat.S_ISDIR(mode):
        excluded = {os.path.abspath(p) for p in exclude}
        hidden: list[str] = []
        _copy_tree(source, staged.folder, "", excluded, hidden, staged, budget)
        if hidden:
            staged.events.append(_event("(submission)", "info", "left out, not the student's work: " + ", ".join(hidden[:20])
                                        + (f" and {len(hidden) - 20} more" if len(hidden) > 20 else "")))
    else:
        staged.events.append(_event(source.name, "error", f"{_kind(mode)}: not graded (links are never followed)"))
    staged.timings["staging"] = round(time.monotonic() - started, 4)
    return staged


def _copy_tree(folder: Path, target: Path, relative: str, excluded: set[str], hidden: list[str], staged: Staged,
               budget: _Budget) -> None:
    try:
        with os.scandir(folder) as scan:
            entries = sorted(scan, key=lambda e: e.name)
    except OSError as exc:
        staged.events.append(_event(relative or ".", "warning", f"folder cannot be read ({exc.strerror or exc}): left out"))
        return
    for entry in entries:
        name = f"{relative}/{entry.name}" if relative else entry.name
        if entry.name.startswith(".") or entry.name in SKIPPED_NAMES or os.path.abspath(entry.path) in excluded:
            hidden.append(one_line(name))
            continue
        try:
            mode = entry.stat(follow_symlinks=False).st_mode
        except OSError as exc:
            staged.events.append(_event(name, "warning", f"cannot be read ({exc.strerror or exc}): left out"))
            continue
        if stat.S_ISDIR(mode):
            (target / entry.name).mkdir(mode=0o755)
            os.chmod(target / entry.name, 0o755)
            _copy_tree(Path(entry.path), target / entry.name, name, excluded, hidden, staged, budget)
        elif stat.S_ISREG(mode):
            _copy_file(Path(entry.path), target / entry.name, name, staged, budget)
        else:
            staged.events.append(_event(name, "warning", f"{_kind(mode)}: left out"))


def _copy_file(source: Path, target: Path, name: str, staged: Staged, budget: _Budget) -> None:
    """Copy one regular file, opened so that it cannot turn out to be a link or a pipe after all."""
    if budget.files <= 0:
        _over_budget(staged, budget, f"more than {MAX_FILES} files")
        return
    try:
        fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        why = "a symbolic link" if exc.errno == errno.ELOOP else f"cannot be read ({exc.strerror or exc})"
        staged.events.append(_event(name, "warning", f"{why}: left out"))
        return
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            staged.events.append(_event(name, "warning", f"{_kind(info.st_mode)}: left out"))
            return
        if info.st_size > budget.bytes:
            _over_budget(staged, budget, f"more than {MAX_BYTES // 2**20} MiB in all", name)
            return
        written = 0
        with open(target, "wb") as out:
            while chunk := os.read(fd, _CHUNK):
                written += len(chunk)
                if written > budget.bytes:
                    break
                out.write(chunk)
        if written > budget.bytes:
            target.unlink()
            _over_budget(staged, budget, f"more than {MAX_BYTES // 2**20} MiB in all", name)
            return
        os.chmod(target, 0o644)
        budget.files -= 1
        budget.bytes -= written
    except OSError as exc:
        staged.events.append(_event(name, "warning", f"cannot be read ({exc.strerror or exc}): left out"))
        target.unlink(missing_ok=True)
    finally:
        os.close(fd)


def _over_budget(staged: Staged, budget: _Budget, what: str, name: str | None = None) -> None:
    if name is not None:
        staged.events.append(_event(name, "limit", f"left out: the submission would hold {what}"))
    elif not budget.exhausted:
        budget.exhausted = True
        staged.events.append(_event("(submission)", "limit", f"files beyond the first {MAX_FILES} were left out"))


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _event(where: str, kind: str, message: str) -> RunEvent:
    return RunEvent(where=one_line(where), kind=kind, message=message)


# --- across machines ----------------------------------------------------------------------------------


def pack(staged: Staged) -> dict[str, Any]:
    """A staged submission as plain data: its files' bytes and its events (what a dask task carries)."""
    files = {relative: (staged.folder / relative).read_bytes() for relative in staged.files()}
    return {"files": files, "events": [event.model_dump() for event in staged.events], "timings": staged.timings}


def unpack(packed: dict[str, Any], into: Path) -> Staged:
    """A packed submission written out as a staged folder; a path that would leave it is refused."""
    staged = Staged(Path(into), [RunEvent.model_validate(e) for e in packed.get("events", [])], dict(packed.get("timings", {})))
    staged.folder.mkdir(mode=0o755)
    os.chmod(staged.folder, 0o755)
    for relative, data in packed["files"].items():
        parts = PurePosixPath(relative).parts
        if not parts or PurePosixPath(relative).is_absolute() or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"refusing a file outside the submission: {relative!r}")
        target = staged.folder.joinpath(*parts)
        for parent in reversed(target.relative_to(staged.folder).parents[:-1]):
            folder = staged.folder / parent
            if not folder.is_dir():
                folder.mkdir(mode=0o755)
                os.chmod(folder, 0o755)
        with open(target, "xb") as out:
            out.write(data)
        os.chmod(target, 0o644)
    return staged
