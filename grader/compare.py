"""Numeric comparison of a student's value with an expected one, in the grader's process.

Rules: shapes must match exactly; ints are accepted where floats are expected; NaN or inf in an
answer fails; ``|got - expected| <= atol + rtol * |expected|`` element-wise. Tuples (a function that
returns several arrays) are compared element by element. Messages never quote the expected value:
the caller decides whether it may be shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .rubric import Tolerance


class AnswerFormatError(ValueError):
    """The student's value is not numeric data of a usable form."""


@dataclass(frozen=True)
class Comparison:
    ok: bool
    message: str
    max_abs_error: float | None = None
    max_rel_error: float | None = None


def as_numeric(value: Any) -> np.ndarray:
    """A student's answer as a float array; strings, bools, ragged lists and None are refused."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "b":
            raise AnswerFormatError("expected numbers, got booleans")
        if value.dtype.kind not in "iuf":
            raise AnswerFormatError(f"expected real numbers, got an array of {value.dtype}")
        return value.astype(float)
    _check_plain_numbers(value)
    try:
        array = np.asarray(value, dtype=float)
    except (ValueError, TypeError):
        raise AnswerFormatError("expected a number or a rectangular list of numbers (rows of equal length)") from None
    return array


def _check_plain_numbers(value: Any, depth: int = 0) -> None:
    if isinstance(value, bool):
        raise AnswerFormatError(f"expected a number, got {value!r}")
    if isinstance(value, (int, float)):
        return
    if isinstance(value, np.ndarray):
        as_numeric(value)
        return
    if isinstance(value, (list, tuple)) and depth < 8:
        if not value:
            raise AnswerFormatError("expected numbers, got an empty list")
        for item in value:
            _check_plain_numbers(item, depth + 1)
        return
    shown = repr(value)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    raise AnswerFormatError(f"expected a number or a list of numbers, got {type(value).__name__} {shown}")


def compare(got: Any, expected: Any, tolerance: Tolerance) -> Comparison:
    """Compare ``got`` (student data) with ``expected`` (reference data)."""
    if isinstance(expected, tuple):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return Comparison(False, f"expected {len(expected)} return values (a tuple), got {_describe(got)}")
        worst: Comparison | None = None
        for index, (g, e) in enumerate(zip(got, expected)):
            part = compare(g, e, tolerance)
            if not part.ok:
                return Comparison(False, f"return value {index}: {part.message}", part.max_abs_error, part.max_rel_error)
            if worst is None or (part.max_abs_error or 0) > (worst.max_abs_error or 0):
                worst = part
        return Comparison(True, "all return values match", worst.max_abs_error if worst else None, worst.max_rel_error if worst else None)
    try:
        g = as_numeric(got)
    except AnswerFormatError as exc:
        return Comparison(False, str(exc))
    e = np.asarray(expected, dtype=float)
    if g.shape != e.shape:
        return Comparison(False, f"wrong shape: expected {_shape(e.shape)}, got {_shape(g.shape)}")
    if not np.all(np.isfinite(g)):
        return Comparison(False, "contains NaN or infinity")
    abs_err = np.abs(g - e)
    max_abs = float(abs_err.max()) if abs_err.size else 0.0
    rel = abs_err / np.maximum(np.abs(e), np.finfo(float).tiny)
    max_rel = float(rel.max()) if rel.size else 0.0
    ok = bool(np.all(abs_err <= tolerance.atol + tolerance.rtol * np.abs(e)))
    message = "matches" if ok else f"values differ (largest absolute error {max_abs:.3g}, relative {max_rel:.3g})"
    return Comparison(ok, message, max_abs, max_rel)


def _shape(shape: tuple) -> str:
    return "a scalar" if shape == () else f"shape {shape}"


def _describe(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)}"
    return f"a {type(value).__name__}"
