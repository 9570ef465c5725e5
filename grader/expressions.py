"""Evaluating rubric expressions in the grader's process: givens, answers, reference calls, random draws.

The same expression is evaluated twice for error carried forward: once with ``@answer`` bound to the
true (reference) answers, once bound to the student's own answers.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Mapping

import numpy as np

from .rubric import Call, FunctionCheck, RandomArray, Rubric, RubricError, answer_refs, check_expressions, walk


class ExpressionError(Exception):
    """An expression could not be evaluated (a reference raised, an answer is unusable)."""


def load_reference(rubric: Rubric, rubric_path: str = "<rubric>") -> dict[str, Callable]:
    """The rubric's reference functions by name; every name the rubric calls must exist."""
    functions: dict[str, Callable] = {}
    if rubric.reference:
        try:
            module = importlib.import_module(rubric.reference)
        except Exception as exc:  # noqa: BLE001 - any import failure is a rubric problem
            raise RubricError(rubric_path, [f"{rubric_path}: reference: cannot import {rubric.reference!r}: {exc}"]) from None
        functions = {name: getattr(module, name) for name in dir(module) if callable(getattr(module, name))}
    missing = sorted(name for name in called_names(rubric) if name not in functions)
    if missing:
        where = rubric.reference or "(no reference module)"
        raise RubricError(rubric_path, [f"{rubric_path}: reference {where} has no function {name!r}" for name in missing])
    return functions


def called_names(rubric: Rubric) -> set[str]:
    """Every reference function the rubric calls, so that a missing one is caught at load time."""
    names: set[str] = set()
    exprs = [*rubric.given.values()]
    for check in rubric.checks():
        exprs += check_expressions(check)
        if isinstance(check, FunctionCheck):
            names.add(check.reference)
    for expr in exprs:
        names.update(node.call for node in walk(expr) if isinstance(node, Call))
    return names


class Evaluator:
    """Evaluates expressions against reference functions, the rubric's givens and a set of answers."""

    def __init__(self, functions: Mapping[str, Callable], given: Mapping[str, Any], answer: Callable[[str], Any]):
        self.functions = functions
        self.given_exprs = given
        self.answer = answer
        self._given: dict[str, Any] = {}

    def __call__(self, expr: Any, rng: np.random.Generator | None = None) -> Any:
        if isinstance(expr, Call):
            args = [self(arg, rng) for arg in expr.args]
            kwargs = {key: self(value, rng) for key, value in expr.kwargs.items()}
            try:
                result = self.functions[expr.call](*args, **kwargs)
            except Exception as exc:  # noqa: BLE001
                raise ExpressionError(f"{expr.call}() raised {type(exc).__name__}: {exc}") from exc
            return result[expr.pick] if expr.pick is not None else result
        if isinstance(expr, RandomArray):
            return draw(expr, rng)
        if isinstance(expr, list):
            items = [self(item, rng) for item in expr]
            return np.asarray(items, dtype=float) if _all_numeric(items) else items
        if isinstance(expr, str) and expr[:1] == "$":
            return self.given(expr[1:])
        if isinstance(expr, str) and expr[:1] == "@":
            return self.answer(expr[1:])
        return expr

    def given(self, name: str) -> Any:
        if name not in self._given:
            self._given[name] = self(self.given_exprs[name], np.random.default_rng(0))
        return self._given[name]


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


__all__ = ["Evaluator", "ExpressionError", "answer_refs", "draw", "load_reference"]
