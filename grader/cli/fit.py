"""Terminal tables that fit the terminal: values shortened to a width instead of wrapped into columns.

Rich folds a long cell into as many lines as it needs; a 3x9 matrix of floats becomes forty lines
of one number each. Here a value is written on one line of at most the width its cell has:
arrays keep their first and last items (numpy's own summarising, ``...``) and say their shape.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

import numpy as np
from rich.console import Console

BORDER = 3  # a column's two padding spaces and its bar
MIN_WIDTH = 24


def free_width(console: Console, fixed: Iterable[int]) -> int:
    """What is left of the console's width for the last column once the fixed columns have theirs."""
    fixed = list(fixed)
    return max(MIN_WIDTH, console.width - sum(fixed) - BORDER * (len(fixed) + 1) - 1)


def fit_value(value: Any, width: int) -> str:
    """``value`` on one line of at most ``width`` characters (arrays shortened, their shape said)."""
    array = _numeric(value)
    if array is not None and array.ndim > 0:
        full = _line(array, threshold=array.size + 1, edgeitems=3)
        if len(full) <= width:
            return full
        shape = f" (shape {'x'.join(map(str, array.shape))})"
        summaries = [_line(array, threshold=0, edgeitems=edge) for edge in (3, 2, 1)]
        flat = array.ravel()
        summaries.append(f"[{flat[0]:.4g}, ..., {flat[-1]:.4g}]")
        for text in (t for s in summaries for t in (s + shape, s)):
            if len(text) <= width:
                return text
        return _cut(summaries[-1] + shape, width)
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return _cut(text, width)


def _numeric(value: Any) -> np.ndarray | None:
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):  # ragged
        return None
    return array if array.dtype.kind in "biuf" else None


def _line(array: np.ndarray, threshold: int, edgeitems: int) -> str:
    text = np.array2string(array, precision=4, separator=", ", threshold=threshold, edgeitems=edgeitems,
                           max_line_width=10**9, suppress_small=True)
    return " ".join(text.split()).replace("[ ", "[").replace(" ]", "]").replace(" ,", ",")


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(1, width - 1)] + "…"
