"""Reference modules: the functions a rubric may call, from the table each module declares.

A reference module names what rubrics may call in ``RUBRIC_FUNCTIONS`` (a dict of name -> function),
so that a helper or an imported name is never callable by accident and no import exists only to be
exposed. References live beside the rubrics (``<project>/reference/``), not in the installed
package, so that installing the grader (a student does, for self-checks) never installs the solutions.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Callable

from .errors import RubricError
from .rubric import Rubric
from .rubric.model import called_names

TABLE = "RUBRIC_FUNCTIONS"


def load_reference(rubric: Rubric, rubric_path: str = "<rubric>") -> dict[str, Callable]:
    """The rubric's reference functions by name; every name the rubric calls must be in the table."""
    functions: dict[str, Callable] = {}
    if rubric.reference:
        make_importable(rubric.reference, rubric_path)
        try:
            module = importlib.import_module(rubric.reference)
        except Exception as exc:  # noqa: BLE001 - any import failure is a rubric problem
            raise RubricError(rubric_path, [f"{rubric_path}: reference: cannot import {rubric.reference!r}: {exc}"]) from None
        table = getattr(module, TABLE, None)
        if not isinstance(table, dict) or not all(isinstance(k, str) and callable(v) for k, v in table.items()):
            raise RubricError(rubric_path, [f"{rubric_path}: reference: {rubric.reference} has no {TABLE} table "
                                            "(a dict of the names a rubric may call -> functions)"])
        functions = dict(table)
    missing = sorted(name for name in called_names(rubric) if name not in functions)
    if missing:
        where = f"{rubric.reference}.{TABLE}" if rubric.reference else "(no reference module)"
        raise RubricError(rubric_path, [f"{rubric_path}: reference {where} has no function {name!r}" for name in missing])
    return functions


def make_importable(module: str, rubric_path: str) -> None:
    """Put the folder holding the reference package (beside the rubric, or one level up) on sys.path."""
    top = module.split(".")[0]
    path = Path(rubric_path)
    if not path.is_file():
        return
    for root in (path.resolve().parent, path.resolve().parent.parent):
        if (root / top).is_dir() or (root / f"{top}.py").is_file():
            if str(root) not in sys.path:
                sys.path.insert(0, str(root))
            return
