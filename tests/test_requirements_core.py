"""The requirement language of training checks (grader/checks/requirements.py): what parses, what each
operator and function gives, numeric dict keys, and the exact errors a rubric author or student reads.
"""

from __future__ import annotations

import reprlib

import numpy as np
import pytest

from grader.checks.requirements import RelationError, evaluate, holds, lookup, names, parse


def value(text, **values):
    return evaluate(parse(text), values)


def error(text, **values) -> str:
    with pytest.raises(RelationError) as caught:
        holds(parse(text), values)
    return str(caught.value)


def test_arithmetic_and_unary_operators():
    assert value("a + b", a=2, b=3) == 5 and value("a - b", a=2, b=3) == -1
    assert value("a * b", a=2, b=3) == 6 and value("a / b", a=3, b=2) == 1.5
    assert value("-a", a=2) == -2.0 and value("+a", a=np.float64(2.5)) == 2.5
    assert value("a - b - c", a=10, b=3, c=2) == 5  # left to right
    assert value("'text'") == "text" and value("3") == 3
    assert error("a / b < 1", a=1, b=0) == "division by zero"
    assert error("a + 1 < 2", a=[1, 2]) == "expected a number, got list [1, 2]"
    assert error("a < 1", a=float("nan")) == "got nan, not a finite number"
    assert error("a < 1", a=float("inf")) == "got inf, not a finite number"
    assert error("-a < 1", a="x") == "expected a number, got str 'x'"
    assert error("a < 1", a=True) == "expected a number, got bool True"


def test_comparisons_chain_and_equality_compares_whole_values():
    assert holds(parse("a < b"), dict(a=1, b=2)) and not holds(parse("a < b"), dict(a=2, b=2))
    assert holds(parse("a <= b"), dict(a=2, b=2)) and not holds(parse("a <= b"), dict(a=3, b=2))
    assert holds(parse("a > b"), dict(a=3, b=2)) and not holds(parse("a > b"), dict(a=2, b=2))
    assert holds(parse("a >= b"), dict(a=2, b=2)) and not holds(parse("a >= b"), dict(a=1, b=2))
    assert holds(parse("0 < a < 1"), dict(a=0.5)) and not holds(parse("0 < a < 1"), dict(a=1.5))
    assert not holds(parse("0 < a < 1"), dict(a=-1))  # the first comparison decides
    assert holds(parse("a == 0.3"), dict(a=0.1 + 0.2))  # numbers compare with a tolerance
    assert not holds(parse("a == 0.3"), dict(a=0.3001))
    assert holds(parse("a != 1"), dict(a=2)) and not holds(parse("a != 1"), dict(a=1.0))
    assert holds(parse("a == '0.5'"), dict(a=0.5))  # a number and a string that reads as it
    assert holds(parse("a == b"), dict(a=[1, 2], b=np.array([1.0, 2.0])))
    assert not holds(parse("a == b"), dict(a=[1, 2], b=[1, 3]))
    assert holds(parse("a == b"), dict(a="x", b="x")) and not holds(parse("a == b"), dict(a="x", b="y"))
    assert holds(parse("a == b"), dict(a={"k": 1}, b={"k": 1}))
    assert not holds(parse("a == b"), dict(a=[1, [2]], b=[1, 2]))  # not comparable as arrays: not equal
    assert not holds(parse("a == b"), dict(a=object(), b=1))
    assert holds(parse("a == b"), dict(a=np.array([2.0]), b=2))  # a one-element array is a number


def test_boolean_operators_need_comparisons():
    assert holds(parse("a < 1 and b < 1"), dict(a=0, b=0)) and not holds(parse("a < 1 and b < 1"), dict(a=0, b=2))
    assert holds(parse("a < 1 or b < 1"), dict(a=5, b=0)) and not holds(parse("a < 1 or b < 1"), dict(a=5, b=5))
    assert holds(parse("not a < 1"), dict(a=2)) and not holds(parse("not a < 1"), dict(a=0))
    assert holds(parse("a"), dict(a=np.bool_(True))) and not holds(parse("a"), dict(a=False))
    assert error("a and b < 1", a=1, b=0) == "expected a comparison, got int 1"
    assert error("not a", a=2.5) == "expected a comparison, got float 2.5"
    assert error("a + 1", a=1) == "the requirement is not a comparison (it gives 2.0)"


def test_functions():
    assert value("abs(a)", a=-2) == 2.0
    assert value("min(a, b)", a=3, b=2) == 2.0 and value("max(a, b)", a=3, b=2) == 3.0
    assert value("min(xs)", xs=[3, 1, 2]) == 1.0 and value("max(xs)", xs=np.array([[3, 1], [7, 2]])) == 7.0
    assert value("max(d)", d={"0.1": 0.5, "0.01": 0.9}) == 0.9 and value("min(d)", d={"0.1": 0.5, "0.01": 0.9}) == 0.5
    assert value("mean(xs)", xs=[1, 2, 6]) == 3.0 and value("mean(d)", d={"a": 1, "b": 3}) == 2.0
    assert value("len(xs)", xs=[1, 2, 3]) == 3 and value("len(d)", d={"a": 1}) == 1
    assert value("argmax(xs)", xs=[1, 5, 2]) == 1 and value("argmin(xs)", xs=[4, 0, 2]) == 1
    lr = {"0.1": 0.5, "0.01": 0.9, "0.001": 0.7}
    assert value("argmax(d)", d=lr) == "0.01" and value("argmin(d)", d=lr) == "0.1"
    assert error("argmax(d) < 1", d={}) == "argmax/argmin of an empty dict"
    assert error("argmin(d) < 1", d={}) == "argmax/argmin of an empty dict"
    assert error("mean(xs) < 1", xs=[]) == "expected numbers, got an empty list"
    assert error("argmax(xs) < 1", xs=["a"]) == "expected finite numbers, got list ['a']"
    assert error("len(x) < 1", x=3) == "len(): object of type 'int' has no len()"
    assert error("max(xs) < 1", xs=[]) == "expected numbers, got an empty list"
    assert error("abs(x) < 1", x="a") == "expected a number, got str 'a'"
    assert error("min(a, b) < 1", a=1, b="x") == "expected a number, got str 'x'"


def test_subscripts_with_numeric_keys():
    lr = {"0.01": 0.97, "0.0005": 0.9, "1e-05": 0.1}
    assert value("d[0.01]", d=lr) == 0.97 and value("d[best]", d=lr, best=1e-5) == 0.1
    assert value("d['0.0005']", d=lr) == 0.9
    assert value("d[1]", d={1.0: "one"}) == "one" and value("d[k]", d={"a": 1}, k="a") == 1
    assert value("xs[0]", xs=[4, 5]) == 4 and value("xs[1]", xs=np.array([4, 5])) == 5
    assert value("xs[i]", xs=[4, 5], i=np.int64(1)) == 5
    assert error("d[3] < 1", d={"1": 2, "x": 3}) == "no entry 3 (the keys are 1, x)"
    many = {str(i): i for i in range(10)}
    assert error("d[99] < 1", d=many) == "no entry 99 (the keys are 0, 1, 2, 3, 4, 5, 6, 7)"
    assert error("xs[2] < 1", xs=[1, 2]) == "no item 2 in a list of 2"
    assert error("xs[-3] < 1", xs=[1, 2]) == "no item -3 in a list of 2"
    assert error("xs[k] < 1", xs=[1, 2], k=True) == "no item True in a list of 2"
    assert error("xs[0.5] < 1", xs=[1, 2]) == "no item 0.5 in a list of 2"
    assert error("x[0] < 1", x=5) == "cannot look up 0 in a int"
    assert lookup({"a": 1}, "a") == 1


def test_names_are_the_metrics_not_the_functions():
    assert names(parse("max(a, b) < c and argmax(d) == e[f]")) == {"a", "b", "c", "d", "e", "f"}
    assert names(parse("1 < 2")) == set()


def test_only_the_small_language_parses():
    refusals = {
        '__import__("os")': "only the functions abs, argmax, argmin, len, max, mean, min may be called, with positional arguments",
        "f(x)": "only the functions abs, argmax, argmin, len, max, mean, min may be called, with positional arguments",
        "max(x, key=y)": "only the functions abs, argmax, argmin, len, max, mean, min may be called, with positional arguments",
        "x.real": "Attribute is not allowed in a requirement",
        "x ** 2": "Pow is not allowed in a requirement",
        "x % 2": "Mod is not allowed in a requirement",
        "[1, 2]": "List is not allowed in a requirement",
        "x if y else z": "IfExp is not allowed in a requirement",
        "a in b": "In is not allowed in a requirement",
        "a is b": "Is is not allowed in a requirement",
        "~a": "Invert is not allowed in a requirement",
        "True": "constant True is not allowed",
        "None": "constant None is not allowed",
        "b'x'": "constant b'x' is not allowed",
        "1j": "constant 1j is not allowed",
    }
    for text, message in refusals.items():
        with pytest.raises(RelationError) as caught:
            parse(text)
        assert str(caught.value) == message, text
    with pytest.raises(RelationError, match=r"^not a valid expression: "):
        parse("a <")
    assert parse("  a < 1  ").body is not None  # surrounding blanks are fine


def test_negative_subscripts_count_from_the_end():
    """``loss_history[-1] < 0.1`` in a require: unary minus made -1 a float, refused as an index."""
    assert value("xs[-1]", xs=(4, 5)) == 5 and value("xs[-2]", xs=[4, 5]) == 4
    assert holds(parse("losses[-1] < losses[0]"), dict(losses=[0.9, 0.5, 0.1]))
    assert type(value("-a", a=2)) is int and type(value("-a", a=np.int64(2))) is int and value("-a", a=2.5) == -2.5
    assert error("xs[-3] < 1", xs=[1, 2]) == "no item -3 in a list of 2"
    assert error("-a < 1", a=True) == "expected a number, got bool True"


def test_edges_of_equality_numbers_and_messages():
    import ast

    assert holds(parse("a == 0"), dict(a=1e-13)) and not holds(parse("a == 0"), dict(a=1e-11))  # absolute tolerance 1e-12
    assert not holds(parse("a == b"), dict(a=None, b=np.array([1, 2])))  # no array truthiness error
    assert holds(parse("a == b"), dict(a=None, b=None))
    assert not holds(parse("a == b"), dict(a={1}, b={1}))  # only str, bool, None and dicts compare by ==
    assert error("a < 1", a="0.5") == "expected a number, got str '0.5'"  # a string never is a number
    assert value("max(xs)", xs=["1", "2"]) == 2.0  # a list is read as numbers
    assert error("min(xs, ys) < 1", xs=[1], ys=[2]) == "expected a number, got list [1]"
    long = list(range(30))
    assert error("a < 1", a=long) == "expected a number, got list [0, 1, 2, 3, 4, 5, ...]"  # (reprlib: bounded, whatever the size)
    assert error("a < 1", a=[10**400]).startswith("expected a number, got list [1000")  # (and cheap to show)
    fits, over = ["x" * 20], ["x" * 31]
    assert error("a < 1", a=fits) == f"expected a number, got list {fits!r}"
    assert error("a < 1", a=over) == f"expected a number, got list {reprlib.repr(over)}" and len(reprlib.repr(over)) < 40
    # a tree that did not come from parse() is still refused node by node
    with pytest.raises(RelationError, match="^List is not allowed$"):
        evaluate(ast.parse("[1]", mode="eval"), {})
