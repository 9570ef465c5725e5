"""Finding the students in a class: which entries of a folder are submissions, and why the others are not.

A folder with sub-folders (or a manifest) is a class: each notebook, module, answers file or folder in
it is one student's submission. A folder of plain files is one student's submission. Nothing is left
out silently: every entry that is not graded comes back as ``Skipped`` with the reason, and the
command line and the class overview list them. Links are never followed, here or anywhere else.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from .answers import ANSWER_SUFFIXES
from ..escaping import one_line
from .names import aliases, unique_names

SUBMISSION_SUFFIXES = {".ipynb", ".py", *ANSWER_SUFFIXES}
CLASS_FILES = {"manifest.yaml", "manifest.yml", "overrides.yaml", "overrides.yml"}
ARCHIVE_SUFFIXES = {".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar"}
NOT_SUBMISSIONS = {"__pycache__", ".ipynb_checkpoints"}


@dataclass(frozen=True)
class Entry:
    """One student's submission and the name it goes by."""

    path: Path
    name: str

    @property
    def keys(self) -> tuple[str, ...]:
        """What an overrides or timestamps file may call it."""
        return aliases(self.name, self.path)


@dataclass(frozen=True)
class Skipped:
    """An entry that is not graded, and why."""

    path: Path
    reason: str

    @property
    def shown(self) -> str:
        return one_line(str(self.path))


@dataclass
class Found:
    entries: list[Entry] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def is_class_folder(folder: Path) -> bool:
    """A folder with sub-folders (or a manifest) holds a class; a folder of plain files is one student."""
    for child in Path(folder).iterdir():
        mode = child.lstat().st_mode
        if child.name in CLASS_FILES or (stat.S_ISDIR(mode) and not child.name.startswith(".") and child.name not in NOT_SUBMISSIONS):
            return True
    return False


def why_not(path: Path, *, in_class: bool) -> str | None:
    """Why ``path`` is not a submission (None when it is one)."""
    try:
        mode = path.lstat().st_mode
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if stat.S_ISLNK(mode):
        return "a symbolic link (links are never followed: give the file or folder itself)"
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        return "not a regular file or folder (a pipe, socket or device)"
    if not in_class:
        return None
    if path.name.startswith(".") or path.name in NOT_SUBMISSIONS:
        return "a hidden or cache entry (its name starts with a dot, or it is Python's cache)"
    if path.name in CLASS_FILES:
        return "the class's manifest or overrides file"
    if stat.S_ISDIR(mode):
        return None
    suffix = path.suffix.lower()
    if suffix in ARCHIVE_SUFFIXES:
        return f"an archive ({suffix}): archives are not unpacked; extract it into a folder of its own"
    if suffix not in SUBMISSION_SUFFIXES:
        kind = f"a {suffix} file" if suffix else "a file without a suffix"
        return f"{kind}: not a notebook (.ipynb), module (.py) or answers file (.yaml/.yml/.json)"
    return None


def find_submissions(items: Iterable[Path], class_folders: bool | None = None, reserved: Iterable[str] = ()) -> Found:
    """The submissions among ``items`` (class folders are opened), with unique names, and what was skipped.

    ``class_folders``: None decides per folder (``is_class_folder``); True treats every folder given as
    a class; False takes every item as one submission. ``reserved``: names no submission may take (the
    class's own output files).
    """
    found = Found()
    paths: list[Path] = []
    for item in map(Path, items):
        reason = why_not(item, in_class=False)
        if reason is not None:
            found.skipped.append(Skipped(item, reason))
            continue
        as_class = item.is_dir() and (class_folders or (class_folders is None and is_class_folder(item)))
        if not as_class:
            paths.append(item)
            continue
        for child in sorted(item.iterdir()):
            reason = why_not(child, in_class=True)
            if reason is None:
                paths.append(child)
            else:
                found.skipped.append(Skipped(child, reason))
    found.entries = [Entry(p, n) for p, n in zip(paths, unique_names(paths, reserved))]
    return found
