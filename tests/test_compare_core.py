"""grader/checks/compare.py, rule by rule: what counts as numeric data, the allclose and rel_error rules,
tuples and dicts item by item, and the exact messages a student reads.

Expected figures are recomputed here from the README's rules (``|got - expected| <= atol + rtol*|expected|``,
cs231n's ``max |a - b| / max(1e-8, |a| + |b|)``), never read back from the code under test.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from grader.checks.compare import (AnswerFormatError, Comparison, as_numeric, compare, compare_rel_error, comparator,
                                   rel_error)
from grader.rubric import Tolerance

TIGHT = Tolerance(rtol=0.0, atol=0.0)


def refused(value) -> str:
    with pytest.raises(AnswerFormatError) as caught:
        as_numeric(value)
    return str(caught.value)


# --- what counts as numeric data ------------------------------------------------------------------


def test_numbers_lists_and_arrays_become_float_arrays():
    for value, shape in ((3, ()), (2.5, ()), ([1, 2], (2,)), ([[1, 2], [3, 4]], (2, 2)), (np.arange(3), (3,)),
                         (np.array([1, 2], dtype=np.uint8), (2,)), ((1, 2.5), (2,)), ([np.array([1.0, 2.0])], (1, 2))):
        array = as_numeric(value)
        assert isinstance(array, np.ndarray) and array.dtype == np.float64 and array.shape == shape, value
        assert np.array_equal(array, np.asarray(value, dtype=float))


def test_refused_values_and_their_messages():
    assert refused(True) == "expected a number, got True"
    assert refused([1, False]) == "expected a number, got False"
    assert refused(np.array([True, False])) == "expected numbers, got booleans"
    assert refused([np.array([True])]) == "expected numbers, got booleans"  # an array inside a list is checked too
    assert refused(np.array(["a"])) == "expected real numbers, got an array of <U1"
    assert refused(np.array([1 + 2j])) == "expected real numbers, got an array of complex128"
    assert refused([]) == "expected numbers, got an empty list"
    assert refused([[1], []]) == "expected numbers, got an empty list"
    assert refused([[1, 2], [3]]) == "expected a number or a rectangular list of numbers (rows of equal length)"
    assert refused("14, 20") == "expected a number or a list of numbers, got str '14, 20'"
    assert refused(None) == "expected a number or a list of numbers, got NoneType None"
    assert refused([1, "x"]) == "expected a number or a list of numbers, got str 'x'"


def test_a_long_value_is_quoted_in_forty_characters():
    value = {"a": "x" * 30, "b": "y" * 30}
    message = refused(value)
    prefix = "expected a number or a list of numbers, got dict "
    assert message.startswith(prefix)
    shown = message[len(prefix):]
    assert len(shown) == 40 and shown == repr(value)[:37] + "..."
    exactly = {"k": "v" * 31}  # repr is exactly 40 characters: shown in full
    assert len(repr(exactly)) == 40
    assert refused(exactly) == prefix + repr(exactly)


def test_nesting_is_followed_eight_levels_deep_and_no_further():
    def nested(levels):
        value = 1
        for _ in range(levels):
            value = [value]
        return value

    assert as_numeric(nested(8)).shape == (1,) * 8
    assert refused(nested(9)).startswith("expected a number or a list of numbers, got list [")


# --- allclose ---------------------------------------------------------------------------------------


def test_allclose_is_atol_plus_rtol_times_expected():
    tolerance = Tolerance(rtol=0.1, atol=0.5)
    expected = np.array([10.0, -20.0])
    limit = 0.5 + 0.1 * np.abs(expected)  # 1.5 and 2.5
    assert compare(expected + limit, expected, tolerance).ok                  # on the bound: accepted
    assert compare(expected - limit, expected, tolerance).ok
    assert not compare(expected + limit * [1, 1.001], expected, tolerance).ok   # just past it on one element
    assert not compare(expected + limit * [1.001, 1], expected, tolerance).ok
    assert compare([10.0, -20.0], [10, -20], TIGHT).ok                          # exact, zero tolerance
    assert not compare([10.0, -20.0 + 1e-12], [10, -20], TIGHT).ok


def test_allclose_reports_the_largest_errors():
    got, expected = np.array([1.0, 4.0, 10.0]), np.array([2.0, 3.0, 4.0])
    result = compare(got, expected, TIGHT)
    abs_err = np.abs(got - expected)
    worst = int(np.argmax(abs_err))  # the relative error is the one where the absolute error is largest
    assert result == Comparison(False, f"values differ (largest absolute error {abs_err.max():.3g}, relative "
                                       f"{abs_err[worst] / expected[worst]:.3g})", abs_err.max(), abs_err[worst] / expected[worst],
                                problem="values")
    assert result.message == "values differ (largest absolute error 6, relative 1.5)"
    ok = compare([2.0, 3.5], [2.0, 3.0], Tolerance(rtol=0.5, atol=0.0))
    assert ok == Comparison(True, "matches", 0.5, 0.5 / 3.0)


def test_no_relative_error_against_a_zero_expected_value():
    result = compare([1.0], [0.0], TIGHT)
    assert result == Comparison(False, "values differ (largest absolute error 1)", 1.0, None, problem="values")
    assert compare([0.0], [0.0], TIGHT) == Comparison(True, "matches", 0.0, None)
    mixed = compare([0.5, 1.0], [0.0, 1.0], TIGHT)  # the largest error is against the 0: no relative figure
    assert mixed.message == "values differ (largest absolute error 0.5)" and mixed.max_rel_error is None
    overflow = compare([1e300], [1e-300], TIGHT)
    assert not overflow.ok and overflow.max_rel_error == np.inf


def test_empty_arrays_match_with_zero_errors():
    empty = np.zeros((0, 3))
    assert compare(empty, empty, TIGHT) == Comparison(True, "matches", 0.0, None)
    assert compare_rel_error(empty, empty, 1e-7) == Comparison(True, "relative error 0 (within the threshold 1e-07)", 0.0,
                                                               None, 0.0)


def test_shapes_must_match_exactly_and_non_finite_answers_fail():
    singleton = compare([1.0, 2.0], [[1.0, 2.0]], TIGHT)  # right values, one axis of length 1 missing
    assert singleton == Comparison(False, "the values are right, but the shape is (2,) where (1, 2) is expected (an axis "
                                          "of length 1 too many or too few)", 0.0, 0.0, problem="shape", singleton=True)
    assert compare([1.0], 1.0, TIGHT).singleton and compare(1.0, [1.0], TIGHT).singleton
    assert compare([[1.0, 3.0]], [1.0, 2.0], TIGHT) == Comparison(False, "wrong shape: expected shape (2,), got shape (1, 2)",
                                                                   problem="shape")  # wrong values too: no singleton credit
    assert compare([1.0, 2.0, 3.0], [[1.0, 2.0]], TIGHT) == Comparison(False, "wrong shape: expected shape (1, 2), got shape (3,)",
                                                                        problem="shape")
    assert compare([1.0], [[1.0], [2.0]], TIGHT) == Comparison(False, "wrong shape: expected shape (2, 1), got shape (1,)",
                                                                problem="shape")
    assert compare([1.0, np.nan], [1.0, 2.0], Tolerance(rtol=10, atol=10)) == Comparison(False, "contains NaN or infinity",
                                                                                         problem="not finite")
    assert compare(np.inf, np.inf, TIGHT) == Comparison(False, "contains NaN or infinity", problem="not finite")
    assert compare("12", 12, TIGHT) == Comparison(False, "expected a number or a list of numbers, got str '12'", problem="form")
    assert compare(7, 7.0, TIGHT).ok  # an int where a float is expected


# --- rel_error ---------------------------------------------------------------------------------------


def cs231n(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def test_rel_error_is_cs231ns_figure():
    a, b = np.array([1.0, -2.0, 3.0]), np.array([1.5, -2.0, 2.0])
    assert rel_error(a, b) == cs231n(a, b) == pytest.approx(0.2)
    assert rel_error([0.0], [1e-9]) == pytest.approx(1e-9 / 1e-8)    # the floor
    assert rel_error([0.0], [0.0]) == 0.0
    assert rel_error([], []) == 0.0
    assert rel_error(np.float32(1.0), 1.0 + 1e-9) == pytest.approx(1e-9 / 2, rel=1e-3)  # float64 arithmetic


def test_rel_error_threshold_is_inclusive_and_the_message_says_which_side():
    a = np.array([1.0, 2.0])
    b = np.array([1.0, 2.25])
    error = cs231n(a, b)
    at = compare_rel_error(a, b, error)
    assert at == Comparison(True, f"relative error {error:.2g} (within the threshold {error:g})", 0.25, None, error)
    below = compare_rel_error(a, b, error * 0.999)
    assert below == Comparison(False, f"relative error {error:.2g} (above the threshold {error * 0.999:g})", 0.25, None, error,
                               problem="values")
    assert below.message == "relative error 0.059 (above the threshold 0.0587647)"
    assert compare_rel_error([1.0, 2.0], [1.0], 1.0) == Comparison(False, "wrong shape: expected shape (1,), got shape (2,)",
                                                                   problem="shape")
    assert compare_rel_error([np.nan], [1.0], 1.0).message == "contains NaN or infinity"


# --- structures -------------------------------------------------------------------------------------


def test_tuples_are_compared_item_by_item():
    expected = (np.array([1.0, 2.0]), 3.0)
    assert compare([np.array([1.0, 2.0]), 3.0], expected, TIGHT) == Comparison(True, "all return values match", 0.0, 0.0)
    assert compare((np.array([1.0, 2.0]), 3.0), expected, TIGHT).ok
    wrong = compare((np.array([1.0, 2.0]), 5.0), expected, TIGHT)
    assert wrong == Comparison(False, "return value 1: values differ (largest absolute error 2, relative 0.667)", 2.0, 2 / 3,
                               problem="values")
    assert compare(([1.0], 3.0), expected, TIGHT).message == "return value 0: wrong shape: expected shape (2,), got shape (1,)"
    structure = {"problem": "structure"}
    assert compare((1.0,), expected, TIGHT) == Comparison(False, "expected 2 return values (a tuple), got a tuple of 1", **structure)
    assert compare([1.0, 2.0, 3.0], expected, TIGHT) == Comparison(False, "expected 2 return values (a tuple), got a list of 3",
                                                                    **structure)
    assert compare(np.array([1.0, 2.0]), expected, TIGHT) == Comparison(False, "expected 2 return values (a tuple), got a ndarray",
                                                                         **structure)
    row = compare((np.array([[1.0, 2.0]]), 3.0), expected, TIGHT)  # right up to a singleton axis, the rest right
    assert row.singleton and row.message.startswith("return value 0: the values are right")
    both = compare((np.array([[1.0, 2.0]]), 5.0), expected, TIGHT)  # and a real mistake: that one is reported
    assert not both.singleton and both.message.startswith("return value 1: values differ")
    assert compare((), (), TIGHT) == Comparison(True, "all return values match")


def test_the_worst_item_is_reported_when_all_match():
    tolerance = Tolerance(rtol=0.5, atol=0.0)
    small, large = compare(1.1, 1.0, tolerance), compare(2.5, 2.0, tolerance)
    both = compare((1.1, 2.5), (1.0, 2.0), tolerance)
    assert both.ok and both.message == "all return values match"
    assert (both.max_abs_error, both.max_rel_error) == (large.max_abs_error, large.max_rel_error)
    assert compare((2.5, 1.1), (2.0, 1.0), tolerance).max_abs_error == large.max_abs_error  # whatever the order
    assert small.max_abs_error < large.max_abs_error  # (so the two checks above could tell them apart)
    # with rel_error the worst is the largest relative error, not the largest absolute one
    grads = compare_rel_error({"W": [1000.0], "b": [1.0]}, {"W": [1000.5], "b": [1.01]}, 1.0)
    assert grads.ok and grads.message == "all entries match"
    assert grads.rel_error == pytest.approx(cs231n([1.0], [1.01])) and grads.max_abs_error == pytest.approx(0.01)
    exact_first = compare_rel_error({"a": [1.0], "b": [1.0]}, {"a": [1.0], "b": [1.5]}, 1.0)
    assert exact_first.rel_error == pytest.approx(0.2) and exact_first.max_abs_error == pytest.approx(0.5)


def test_dicts_are_compared_entry_by_entry():
    expected = {"W": np.ones(2), "b": 0.5}
    assert compare({"b": 0.5, "W": [1.0, 1.0], "extra": "ignored"}, expected, TIGHT) == Comparison(True, "all entries match", 0.0, 0.0)
    structure = {"problem": "structure"}
    assert compare({"W": [1.0, 1.0]}, expected, TIGHT) == Comparison(False, "missing key b", **structure)
    assert compare({}, expected, TIGHT) == Comparison(False, "missing keys W, b", **structure)
    assert compare([1.0], expected, TIGHT) == Comparison(False, "expected a dict with keys W, b, got a list of 1", **structure)
    assert compare(3.0, expected, TIGHT) == Comparison(False, "expected a dict with keys W, b, got a float", **structure)
    wrong = compare({"W": [1.0, 3.0], "b": 0.5}, expected, TIGHT)
    assert wrong == Comparison(False, "['W']: values differ (largest absolute error 2, relative 2)", 2.0, 2.0, problem="values")
    nested = compare_rel_error({"W": ([1.0], [2.0])}, {"W": ([1.0], [4.0])}, 0.1)
    assert nested.message == "['W']: return value 1: relative error 0.33 (above the threshold 0.1)"
    assert nested.rel_error == pytest.approx(1 / 3) and nested.max_abs_error == 2.0


def test_comparator_follows_the_checks_metric():
    by_tolerance = comparator(SimpleNamespace(metric="allclose", tolerance=Tolerance(rtol=0.0, atol=0.1), threshold=None))
    assert by_tolerance(1.05, 1.0).ok and not by_tolerance(1.2, 1.0).ok and by_tolerance(1.05, 1.0).rel_error is None
    by_rel_error = comparator(SimpleNamespace(metric="rel_error", tolerance=Tolerance(), threshold=0.1))
    assert by_rel_error(1.2, 1.0).ok  # rel_error 0.0909 <= 0.1 although |1.2 - 1| is far above the default tolerance
    assert not by_rel_error(1.3, 1.0).ok and by_rel_error(1.3, 1.0).rel_error == pytest.approx(0.3 / 2.3)
    no_metric = comparator(SimpleNamespace(tolerance=Tolerance(rtol=0.0, atol=0.1)))  # a check without a metric: allclose
    assert no_metric(1.05, 1.0).ok and not no_metric(1.2, 1.0).ok


def test_edges_of_quoting_worst_items_and_overflow():
    import warnings

    prefix = "expected a number or a list of numbers, got dict "
    forty_one = {"k": "v" * 32}
    assert len(repr(forty_one)) == 41
    assert refused(forty_one) == prefix + repr(forty_one)[:37] + "..."
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the overflow of a huge error over a tiny expected value is expected, not warned
        assert compare([1e300], [1e-300], TIGHT).max_rel_error == np.inf
    # the worst item is kept whatever comes after it: an exact item after a wrong-but-accepted one
    loose = Tolerance(rtol=1.0, atol=0.0)
    later_exact = compare_rel_error({"a": [1.0], "b": [1.0]}, {"a": [1.5], "b": [1.0]}, 1.0)
    assert later_exact.rel_error == pytest.approx(0.2) and later_exact.max_abs_error == pytest.approx(0.5)
    assert compare((1.5, 2.0), (1.0, 2.0), loose).max_abs_error == pytest.approx(0.5)
    # on a tie the first item stays the worst (same absolute error, different relative errors)
    tie = compare((1.5, 2.5), (1.0, 2.0), loose)
    assert tie.max_abs_error == 0.5 and tie.max_rel_error == 0.5


def test_a_scalar_is_named_as_such_in_shape_messages():
    assert compare([1.0], 1.0, TIGHT).message == ("the values are right, but the shape is (1,) where () is expected "
                                                  "(an axis of length 1 too many or too few)")
    assert compare(2.0, [[2.0]], TIGHT).message == ("the values are right, but the shape is () where (1, 1) is expected "
                                                    "(an axis of length 1 too many or too few)")
    assert compare([1.0, 2.0], 1.0, TIGHT) == Comparison(False, "wrong shape: expected a scalar, got shape (2,)", problem="shape")
    assert compare(1.0, [1.0, 2.0], TIGHT) == Comparison(False, "wrong shape: expected shape (2,), got a scalar", problem="shape")


def test_the_same_number_of_values_in_another_shape_is_a_wrong_shape_not_a_singleton_axis():
    # (2, 3) read in order is the (3, 2) expected, but no axis of length 1 is added or dropped: a transposed
    # or reshaped result is wrong, not right values in a singleton shape
    got, expected = np.arange(6.0).reshape(2, 3), np.arange(6.0).reshape(3, 2)
    assert np.array_equal(got.reshape(3, 2), expected)  # (what a reshape would wrongly accept)
    assert compare(got, expected, TIGHT) == Comparison(False, "wrong shape: expected shape (3, 2), got shape (2, 3)",
                                                       problem="shape")
    assert compare_rel_error(got, expected, 1e-7).singleton is False


def test_a_singleton_shape_keeps_the_figures_of_its_right_values():
    got, expected = np.array([[1.0, 2.0]]), np.array([1.0, 2.0 + 2e-9])
    figure = cs231n(got.reshape(2), expected)
    assert figure > 0  # (a figure that a dropped one would not equal)
    result = compare_rel_error(got, expected, 1e-7)
    assert result.singleton and result.problem == "shape" and not result.ok
    assert result.rel_error == pytest.approx(figure) and result.max_abs_error == pytest.approx(2e-9)
    allclose = compare(got, expected, Tolerance(rtol=1e-6, atol=0.0))
    assert allclose.singleton and allclose.max_abs_error == pytest.approx(2e-9)
    assert allclose.max_rel_error == pytest.approx(2e-9 / (2.0 + 2e-9))


def test_a_number_beyond_the_float_range_is_refused_with_its_reason():
    message = "a number too large to compare (beyond the float range, about 1.8e308)"
    assert refused(10**400) == message and refused([1, -(10**400)]) == message
    assert compare([10**400], [1.0], TIGHT) == Comparison(False, message, problem="form")


def test_an_expected_float32_value_is_compared_in_float64():
    # a reference that computes in float32 (a torch model, say): the tolerance rtol * |expected| is worked out
    # in float64, not rounded to float32 with the expected value
    expected, tolerance = np.array([1.0], dtype=np.float32), Tolerance(rtol=1e-6, atol=0.0)
    got = 1.0 + 0.9999999988e-6
    error = abs(got - 1.0)
    assert float(np.float32(1e-6)) < error <= 1e-6  # inside the bound in float64, outside it in float32
    assert compare([got], expected, tolerance).ok
    assert compare([got], expected.tolist(), tolerance).ok  # as for the same value in float64
    assert not compare([1.0 + 1.01e-6], expected, tolerance).ok


def test_no_finite_answer_matches_an_infinite_expected_value():
    # rtol * |inf| is inf: without a rule of its own every finite number would be within the tolerance
    # (numpy's allclose, too, matches inf only with the same inf)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and nothing is warned about on the way (inf / inf, 0 * inf)
        for expected in (np.inf, -np.inf, [1.0, np.inf], [[-np.inf], [2.0]]):
            got = np.where(np.isfinite(expected), expected, 5.0)
            for tolerance in (Tolerance(), Tolerance(rtol=0.5, atol=1.0), Tolerance(rtol=0.0, atol=1e300)):
                assert not np.allclose(got, expected, rtol=tolerance.rtol, atol=tolerance.atol)
                result = compare(got, expected, tolerance)
                assert not result.ok and result.problem == "values", (expected, tolerance)
                assert result.max_abs_error == np.inf
    with np.errstate(invalid="ignore"):
        assert not compare_rel_error(5.0, np.inf, 1.0).ok  # (rel_error: inf / inf is NaN, above any threshold)
