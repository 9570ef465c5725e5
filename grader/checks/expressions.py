"""Evaluating rubric expressions in the grader's process: givens, answers, reference calls, random draws.

The same expression is evaluated twice for error carried forward: once with ``@answer`` bound to the
true (reference) answers, once bound to the student's own answers. ``%name`` is a value bound by a
function check's case (``let``), so that several places of one case share one random draw.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Mapping

import numpy as np

from ..errors import ExpressionError
from ..rubric import Call, Plain, RandomArray


class Evaluator:
    """Evaluates expressions against reference functions, the rubric's givens and a set of answers."""

    def __init__(self, functions: Mapping[str, Callable], given: Mapping[str, Any], answer: Callable[[str], Any]):
        self.functions = functions
        self.given_exprs = given
        self.answer = answer
        self._given: dict[str, Any] = {}

    def __call__(self, expr: Any, rng: np.random.Generator | None = None, bound: Mapping[str, Any] | None = None) -> Any:
        if isinstance(expr, Call):
            args = [self(arg, rng, bound) for arg in expr.args]
            kwargs = {key: self(value, rng, bound) for key, value in expr.kwargs.items()}
            try:
                result = self.functions[expr.call](*args, **kwargs)
            except Exception as exc:  # noqa: BLE001
                raise ExpressionError(f"{expr.call}() raised {type(exc).__name__}: {exc}") from exc
            return result[expr.pick] if expr.pick is not None else result
        if isinstance(expr, RandomArray):
            return draw(expr, rng)
        if isinstance(expr, Plain):
            return copy.deepcopy(expr.plain)
        if isinstance(expr, list):
            items = [self(item, rng, bound) for item in expr]
            return np.asarray(items, dtype=float) if _all_numeric(items) else items
        if isinstance(expr, str) and expr[:1] == "$":
            return self.given(expr[1:])
        if isinstance(expr, str) and expr[:1] == "@":
            return self.answer(expr[1:])
        if isinstance(expr, str) and expr[:1] == "%" and len(expr) > 1:
            if bound is None or expr[1:] not in bound:
                raise ExpressionError(f"{expr} is not bound here")
            return bound[expr[1:]]
        return expr

    def bind(self, let: Mapping[str, Any], rng: np.random.Generator | None = None) -> dict[str, Any]:
        """A case's ``let`` values, in order (each may use the ones before it)."""
        bound: dict[str, Any] = {}
        for name, expr in let.items():
            bound[name] = self(expr, rng, bound)
        return bound

    def given(self, name: str) -> Any:
        if name not in self._given:
            self._given[name] = self(self.given_exprs[name], np.random.default_rng(0))
        return _fresh(self._given[name])


def _fresh(value: Any) -> Any:
    """A copy of a cached given, so that a reference that changes its inputs in place cannot change it."""
    if isinstance(value, (np.ndarray, dict, list)):
        return copy.deepcopy(value)
    return value


def draw(spec: RandomArray, rng: np.random.Generator | None) -> Any:
    if spec.seed is not None:
        rng = np.random.default_rng(spec.seed)
    if rng is None:
        raise ExpressionError("a random value needs a seed (on itself or on its random_cases)")
    shape = tuple(spec.shape)
    if spec.random == "normal":
        value = rng.normal(0.0, spec.scale, size=shape)
    elif spec.random == "uniform":
        value = rng.uniform(spec.low, spec.high, size=shape)
    else:
        value = rng.integers(int(spec.low), int(spec.high), size=shape, endpoint=True)
    return value.item() if shape == () else value


def _all_numeric(items: list) -> bool:
    return all(
        isinstance(i, (int, float, np.number)) and not isinstance(i, bool)
        or isinstance(i, np.ndarray) and i.dtype.kind in "iuf"
        for i in items
    ) and len({np.shape(i) for i in items}) <= 1


__all__ = ["Evaluator", "ExpressionError", "draw"]
