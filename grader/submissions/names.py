"""The name a submission goes by: one rule for reports, gradebook rows, report folders and lookups.

A name comes from the student's file or folder name, so it is student-controlled bytes: it is made
safe here, once, for file systems and for every output format (letters, digits, ``.``, ``-`` and
``_`` only; no leading dot or dash, no trailing dot; at most ``MAX_NAME`` characters). Within one
class the names are unique: clashes (``alice/`` and ``alice.yaml``, names that differ only in case or in characters made
safe, a name equal to a class output such as ``gradebook.csv``) are resolved the same way on every
run, whatever order the paths come in.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Iterable


MAX_NAME = 80
_UNSAFE = re.compile(r"[^\w.\-]+")


def safe_name(text: str) -> str:
    """``text`` as a name that is safe in a path, a CSV cell, HTML, Markdown and a command line."""
    name = _UNSAFE.sub("_", unicodedata.normalize("NFC", text)).lstrip(".-").rstrip("._-")
    return name[:MAX_NAME].rstrip("._-") or "submission"


def base_name(path: Path) -> str:
    """A file's stem or a folder's name (``.`` is the folder it stands for), before making it unique."""
    path = Path(path)
    if path.name in ("", ".", ".."):
        path = path.resolve()
    return safe_name(path.name if path.is_dir() or not path.suffix else path.stem)


def submission_name(path: Path) -> str:
    """The name of one submission graded on its own."""
    return base_name(path)


def unique_names(paths: Iterable[Path], reserved: Iterable[str] = ()) -> list[str]:
    """One name per path, in the order given, unique ignoring case and never one of ``reserved``.

    A file whose stem clashes keeps its suffix (``alice.yaml`` beside the folder ``alice``); a name that
    still clashes gets ``-2``, ``-3``, ... in the order of the paths' own text, so the same class gets the
    same names on every run."""
    paths = [Path(p) for p in paths]
    taken = {name.casefold() for name in reserved}
    first = [base_name(p) for p in paths]
    counts: dict[str, int] = {}
    for name in first:
        counts[name.casefold()] = counts.get(name.casefold(), 0) + 1
    wanted = [safe_name(p.name) if (counts[n.casefold()] > 1 or n.casefold() in taken) and p.suffix and not p.is_dir() else n
              for p, n in zip(paths, first)]
    names: list[str | None] = [None] * len(paths)
    for index in sorted(range(len(paths)), key=lambda i: (str(paths[i]), i)):
        name, number = wanted[index], 1
        while name.casefold() in taken:
            number += 1
            name = f"{wanted[index][:MAX_NAME - 4]}-{number}"
        taken.add(name.casefold())
        names[index] = name
    return [n for n in names if n is not None]


def aliases(name: str, path: Path | str) -> tuple[str, ...]:
    """The keys an overrides or timestamps file may use for a submission: its name, then its file name."""
    file_name = Path(path).name
    return (name, file_name) if file_name and file_name != name else (name,)
