"""Numeric comparison of a student's value with an expected one, in the grader's process.

Rules: shapes must match exactly; ints are accepted where floats are expected; NaN or inf in an
answer fails; ``|got - expected| <= atol + rtol * |expected|`` element-wise, or, for gradient checks
(``metric: rel_error``), cs231n's relative error ``max |a - b| / max(1e-8, |a| + |b|)`` in float64 at
most a threshold. Tuples (a function that returns several arrays) and dicts (a grads dict) are
compared item by item. Messages never quote the expected value: the caller decides whether it may be
shown.
"""

from __future__ import annotations

import reprlib
from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np

from ..rubric import Tolerance


class AnswerFormatError(ValueError):
    """The student's value is not numeric data of a usable form."""


# Quotes a student's value in a message: a few levels and items only, so that a huge or deeply nested
# value is neither copied into the report nor walked in full (a plain repr() of it is slow or recurses).
_QUOTE = reprlib.Repr()
_QUOTE.maxlevel, _QUOTE.maxstring, _QUOTE.maxother = 3, 40, 40


@dataclass(frozen=True)
class Comparison:
    """The verdict on one value; ``problem`` names what is wrong in a fixed vocabulary (PROBLEMS), the only
    part of a failure a hidden check may show."""

    ok: bool
    message: str
    max_abs_error: float | None = None
    max_rel_error: float | None = None
    rel_error: float | None = None
    problem: str | None = None
    singleton: bool = False  # wrong only in singleton axes: the values are right (a (1, H) gradient for (H,))


PROBLEMS = {"shape": "wrong shape", "values": "wrong values", "form": "not numbers of a usable form",
            "not finite": "NaN or infinity", "structure": "wrong number or names of parts"}


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
    except OverflowError:
        raise AnswerFormatError("a number too large to compare (beyond the float range, about 1.8e308)") from None
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
    shown = _QUOTE.repr(value)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    raise AnswerFormatError(f"expected a number or a list of numbers, got {type(value).__name__} {shown}")


Comparator = Callable[[Any, Any], Comparison]


def comparator(check: Any) -> Comparator:
    """The comparison a value or function check asks for (its ``metric``)."""
    if getattr(check, "metric", "allclose") == "rel_error":
        return lambda got, expected: compare_rel_error(got, expected, check.threshold)
    return lambda got, expected: compare(got, expected, check.tolerance)


def compare(got: Any, expected: Any, tolerance: Tolerance) -> Comparison:
    """Compare ``got`` (student data) with ``expected`` (reference data): allclose with a tolerance."""
    return _structured(got, expected, lambda g, e: _allclose(g, e, tolerance))


def compare_rel_error(got: Any, expected: Any, threshold: float) -> Comparison:
    """cs231n's relative error ``max |a - b| / max(1e-8, |a| + |b|)`` in float64, at most ``threshold``."""
    return _structured(got, expected, lambda g, e: _rel_error(g, e, threshold))


def rel_error(a: Any, b: Any) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def _structured(got: Any, expected: Any, leaf: Callable[[np.ndarray, np.ndarray], Comparison]) -> Comparison:
    if isinstance(expected, tuple):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return Comparison(False, f"expected {len(expected)} return values (a tuple), got {_describe(got)}", problem="structure")
        return _items([(f"return value {i}", g, e) for i, (g, e) in enumerate(zip(got, expected))], leaf, "all return values match")
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return Comparison(False, f"expected a dict with keys {', '.join(map(str, expected))}, got {_describe(got)}",
                              problem="structure")
        missing = [k for k in expected if k not in got]
        if missing:
            return Comparison(False, f"missing key{'s' if len(missing) > 1 else ''} {', '.join(map(str, missing))}",
                              problem="structure")
        return _items([(f"[{k!r}]", got[k], e) for k, e in expected.items()], leaf, "all entries match")
    try:
        g = as_numeric(got)
    except AnswerFormatError as exc:
        return Comparison(False, str(exc), problem="form")
    e = np.asarray(expected, dtype=float)
    if g.shape != e.shape:
        if g.size == e.size and np.squeeze(g).shape == np.squeeze(e).shape and np.all(np.isfinite(g)):
            values = leaf(g.reshape(e.shape), e)
            if values.ok:
                return Comparison(False, f"the values are right, but the shape is {_bare(g.shape)} where {_bare(e.shape)} is "
                                         "expected (an axis of length 1 too many or too few)", values.max_abs_error, values.max_rel_error,
                                  values.rel_error, problem="shape", singleton=True)
        return Comparison(False, f"wrong shape: expected {_shape(e.shape)}, got {_shape(g.shape)}", problem="shape")
    if not np.all(np.isfinite(g)):
        return Comparison(False, "contains NaN or infinity", problem="not finite")
    return leaf(g, e)


def _items(items: list[tuple[str, Any, Any]], leaf: Callable, ok_message: str) -> Comparison:
    worst: Comparison | None = None
    first_failure: Comparison | None = None
    for label, g, e in items:
        part = _structured(g, e, leaf)
        if not part.ok:
            if first_failure is None:
                first_failure = replace(part, message=f"{label}: {part.message}")
            if not part.singleton:  # a real failure: the one to report
                return replace(part, message=f"{label}: {part.message}")
            continue
        if worst is None or (part.rel_error or part.max_abs_error or 0) > (worst.rel_error or worst.max_abs_error or 0):
            worst = part
    if first_failure is not None:  # every item right, some only up to singleton axes
        return first_failure
    if worst is None:
        return Comparison(True, ok_message)
    return Comparison(True, ok_message, worst.max_abs_error, worst.max_rel_error, worst.rel_error)


def _rel_error(g: np.ndarray, e: np.ndarray, threshold: float) -> Comparison:
    error = rel_error(g, e)
    max_abs = float(np.max(np.abs(g - e))) if g.size else 0.0
    ok = error <= threshold
    message = f"relative error {error:.2g}" + (" (within" if ok else " (above") + f" the threshold {threshold:g})"
    return Comparison(ok, message, max_abs, None, error, None if ok else "values")


def _allclose(g: np.ndarray, e: np.ndarray, tolerance: Tolerance) -> Comparison:
    abs_err = np.abs(g - e)
    max_abs = float(abs_err.max()) if abs_err.size else 0.0
    # the relative error where the absolute error is largest; none against an expected 0
    worst = np.unravel_index(int(np.argmax(abs_err)), abs_err.shape) if abs_err.size else None
    with np.errstate(over="ignore", invalid="ignore"):
        max_rel = float(abs_err[worst] / abs(e[worst])) if worst is not None and e[worst] != 0 else None
    # an infinite expected value is matched by no (finite) answer: ``rtol * inf`` would admit any number
    ok = bool(np.all(np.isfinite(e))) and bool(np.all(abs_err <= tolerance.atol + tolerance.rtol * np.abs(e)))
    relative = f", relative {max_rel:.3g}" if max_rel is not None else ""
    message = "matches" if ok else f"values differ (largest absolute error {max_abs:.3g}{relative})"
    return Comparison(ok, message, max_abs, max_rel, problem=None if ok else "values")


def _bare(shape: tuple) -> str:
    return "()" if shape == () else str(shape)


def _shape(shape: tuple) -> str:
    return "a scalar" if shape == () else f"shape {shape}"


def _describe(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)}"
    return f"a {type(value).__name__}"
