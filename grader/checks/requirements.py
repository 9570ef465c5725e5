"""Requirements of training checks: small relations over named metrics, evaluated in the grader.

``require: "cnn_val - cnn_shift < mlp_val - mlp_shift"`` is parsed with Python's ``ast`` and only a
whitelist of node types is accepted (numbers, strings, names, + - * /, comparisons, and/or/not, a few
functions, subscripts), then walked by this module: nothing is ``eval``'d. Metric values may be
numbers, lists/arrays, or dicts (a student's ``{learning rate: accuracy}``); dict keys that read as
numbers match numerically, so ``lr_results[best_lr]`` works whatever type the keys crossed as.
"""

from __future__ import annotations

import ast
import math
import reprlib
import operator
from typing import Any, Mapping

import numpy as np


class RelationError(ValueError):
    """A requirement that does not parse, or that cannot be evaluated on these values."""


_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_COMPARE = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge}


def _argbest(value: Any, pick: Any) -> Any:
    if isinstance(value, dict):
        if not value:
            raise RelationError("argmax/argmin of an empty dict")
        return pick(value, key=lambda k: _number(value[k]))
    array = _array(value)
    return int(np.argmax(array) if pick is max else np.argmin(array))


_FUNCTIONS = {
    "abs": lambda x: abs(_number(x)),
    "min": lambda *xs: min(_number(x) for x in (xs[0].values() if len(xs) == 1 and isinstance(xs[0], dict) else _flat(xs))),
    "max": lambda *xs: max(_number(x) for x in (xs[0].values() if len(xs) == 1 and isinstance(xs[0], dict) else _flat(xs))),
    "mean": lambda x: float(np.mean(_array(list(x.values()) if isinstance(x, dict) else x))),
    "len": lambda x: len(x),
    "argmax": lambda x: _argbest(x, max),
    "argmin": lambda x: _argbest(x, min),
}
_ALLOWED = (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd, ast.BinOp,
            ast.Compare, ast.Name, ast.Load, ast.Constant, ast.Call, ast.Subscript, *_BINOPS, *_COMPARE, ast.Eq, ast.NotEq)


def parse(text: str) -> ast.Expression:
    """The requirement's syntax tree; anything outside the small language is refused."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise RelationError(f"not a valid expression: {exc.msg}") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise RelationError(f"{type(node).__name__} is not allowed in a requirement")
        if isinstance(node, ast.Constant) and (isinstance(node.value, bool) or not isinstance(node.value, (int, float, str))):
            raise RelationError(f"constant {node.value!r} is not allowed")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS or node.keywords:
                raise RelationError(f"only the functions {', '.join(sorted(_FUNCTIONS))} may be called, with positional arguments")
    return tree


def names(tree: ast.Expression) -> set[str]:
    """The metric names a requirement uses (function names excluded)."""
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in called}


def evaluate(tree: ast.Expression, values: Mapping[str, Any]) -> Any:
    return _eval(tree.body, values)


def holds(tree: ast.Expression, values: Mapping[str, Any]) -> bool:
    result = evaluate(tree, values)
    if isinstance(result, (bool, np.bool_)):
        return bool(result)
    raise RelationError(f"the requirement is not a comparison (it gives {result!r})")


def margin(tree: ast.Expression, values: Mapping[str, Any]) -> float | None:
    """How far the values are from making the requirement fail (positive: it holds with that much to
    spare; negative: it fails by that much), for comparisons of numbers joined by and/or/not; None for
    a requirement that is not of that kind."""
    return _margin(tree.body, values)


def _margin(node: ast.AST, values: Mapping[str, Any]) -> float | None:
    if isinstance(node, ast.BoolOp):
        parts = [_margin(v, values) for v in node.values]
        if any(p is None for p in parts):
            return None
        return min(parts) if isinstance(node.op, ast.And) else max(parts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = _margin(node.operand, values)
        return None if inner is None else -inner
    if isinstance(node, ast.Compare):
        gaps = []
        left = _eval(node.left, values)
        for op, right_node in zip(node.ops, node.comparators):
            right = _eval(right_node, values)
            if not isinstance(op, tuple(_COMPARE)):
                return None
            a, b = _number(left), _number(right)
            gaps.append(b - a if isinstance(op, (ast.Lt, ast.LtE)) else a - b)
            left = right
        return min(gaps)
    return None


def _eval(node: ast.AST, values: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.BoolOp):
        results = (_truth(_eval(v, values)) for v in node.values)
        return all(results) if isinstance(node.op, ast.And) else any(results)
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, values)
        if isinstance(node.op, ast.Not):
            return not _truth(operand)
        number = _number(operand)
        if isinstance(operand, (int, np.integer)) and not isinstance(operand, bool):
            number = int(operand)  # an int stays an int, so that xs[-1] is an index
        return -number if isinstance(node.op, ast.USub) else number
    if isinstance(node, ast.BinOp):
        left, right = _number(_eval(node.left, values)), _number(_eval(node.right, values))
        try:
            return _BINOPS[type(node.op)](left, right)
        except ZeroDivisionError:
            raise RelationError("division by zero") from None
    if isinstance(node, ast.Compare):
        left = _eval(node.left, values)
        for op, right_node in zip(node.ops, node.comparators):
            right = _eval(right_node, values)
            if isinstance(op, (ast.Eq, ast.NotEq)):
                ok = _equal(left, right) == isinstance(op, ast.Eq)
            else:
                ok = _COMPARE[type(op)](_number(left), _number(right))
            if not ok:
                return False
            left = right
        return True
    if isinstance(node, ast.Call):
        args = [_eval(a, values) for a in node.args]
        try:
            return _FUNCTIONS[node.func.id](*args)
        except RelationError:
            raise
        except (TypeError, ValueError) as exc:
            raise RelationError(f"{node.func.id}(): {exc}") from None
    if isinstance(node, ast.Subscript):
        return lookup(_eval(node.value, values), _eval(node.slice, values))
    raise RelationError(f"{type(node).__name__} is not allowed")


def lookup(container: Any, key: Any) -> Any:
    """``container[key]``; dict keys that read as numbers match a numeric key, lists take ints."""
    if isinstance(container, dict):
        if key in container:
            return container[key]
        for k, v in container.items():
            if _equal(k, key):
                return v
        raise RelationError(f"no entry {key!r} (the keys are {', '.join(map(str, list(container)[:8]))})")
    if isinstance(container, (list, tuple, np.ndarray)):
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool) and -len(container) <= key < len(container):
            return container[key]
        raise RelationError(f"no item {key!r} in a list of {len(container)}")
    raise RelationError(f"cannot look up {key!r} in a {type(container).__name__}")


def _equal(a: Any, b: Any) -> bool:
    na, nb = _maybe_number(a), _maybe_number(b)
    if na is not None and nb is not None:
        return math.isclose(na, nb, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, (list, tuple, np.ndarray)) or isinstance(b, (list, tuple, np.ndarray)):
        try:
            return bool(np.array_equal(np.asarray(a), np.asarray(b)))
        except (TypeError, ValueError):
            return False
    return bool(a == b) if isinstance(a, (str, bool, type(None), dict)) else False


def _maybe_number(value: Any) -> float | None:
    if isinstance(value, (bool, np.bool_)):
        return None
    try:
        if isinstance(value, (int, float, np.integer, np.floating)):
            return float(value)
        if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "iuf":
            return float(value.item())
        if isinstance(value, str):
            return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf  # (an int beyond the float range: not a finite number)
    except ValueError:
        return None
    return None


def _number(value: Any) -> float:
    number = _maybe_number(value) if not isinstance(value, str) else None
    if number is None:
        raise RelationError(f"expected a number, got {_describe(value)}")
    if not math.isfinite(number):
        raise RelationError(f"got {number}, not a finite number")
    return number


def _truth(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise RelationError(f"expected a comparison, got {_describe(value)}")


def _array(value: Any) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError, OverflowError):
        raise RelationError(f"expected finite numbers, got {_describe(value)}") from None
    if array.size == 0:
        raise RelationError("expected numbers, got an empty list")
    return array


def _flat(items: tuple) -> list:
    if len(items) == 1 and isinstance(items[0], (list, tuple, np.ndarray)):
        return list(np.ravel(_array(items[0])))
    return list(items)


def _describe(value: Any) -> str:
    text = reprlib.repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"
