"""Kernel-free tests of grader/checks (mutation-tested: README, "Mutation testing"), on the parts the other
core test files leave out: how a detector recognises a mistake that overflows (an unstable softmax that
gives NaN where the right answer is finite), and the margins ``grader validate`` reads off a training
requirement (how far the metrics are from making it fail).

Expected values come from first principles: the attention of assignment C written out in numpy below (as
reference/cnn_attention.py computes it, without importing torch with it), and the arithmetic of each
requirement, written out in its test.
"""

from __future__ import annotations

import reprlib

import numpy as np
import pytest

from grader.checks.compare import comparator
from grader.checks.distractors import Detection, _non_finite_alike, detect
from grader.checks.requirements import RelationError, holds, margin, parse
from grader.rubric import Distractor, Tolerance, ValueCheck

# --- distractors: a mistake recognised by where it overflows ---------------------------------------

# rubrics/cnn_attention.yaml: a score of 30 * 30 = 900 in the first row of x' x'^T; exp(900) overflows
X_LARGE = [[30, 2], [0, -1]]
UNSTABLE = Distractor(call="self_attention_identity_unstable", args=[],
                      message="Your softmax overflows on large scores (NaN): subtract each row's maximum before exp.")
SAME = comparator(ValueCheck(kind="value", points=1, expected=0, tolerance=Tolerance()))


def _attention(x, subtract_max: bool) -> np.ndarray:
    """softmax(x' x'^T) x' with x' = vec(x), the columns stacked (queries = keys = values, d_k = 1)."""
    xc = np.asarray(x, dtype=float).T.reshape(-1, 1)
    scores = xc @ xc.T
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(scores - scores.max(axis=1, keepdims=True) if subtract_max else scores)
        return (e / e.sum(axis=1, keepdims=True)) @ xc


def self_attention_identity(x):
    return _attention(x, subtract_max=True)


def self_attention_identity_unstable(x):
    """The mistake: exp of the raw scores, without each row's maximum subtracted."""
    return _attention(x, subtract_max=False)


def unstable_candidates():
    return [(UNSTABLE, lambda: self_attention_identity_unstable(X_LARGE))]


def truth():
    return self_attention_identity(X_LARGE)


def test_the_unstable_softmax_overflows_in_the_first_row_only():
    # (the premise of the tests below: NaN where the score is 900, right elsewhere)
    right, unstable = truth(), self_attention_identity_unstable(X_LARGE)
    assert np.allclose(right, [[30.0], [7.75], [30.0], [-0.63514646]])  # the second query is 0: weights 1/4, the mean of 30, 0, 2, -1
    assert np.all(np.isfinite(right)) and right.shape == unstable.shape == (4, 1)
    assert np.isnan(unstable[0, 0]) and np.allclose(unstable[1:], right[1:])


def test_an_answer_with_nan_where_the_unstable_softmax_overflows_names_the_mistake():
    got = self_attention_identity_unstable(X_LARGE)
    assert detect(got, truth(), unstable_candidates(), SAME) == Detection(UNSTABLE)
    as_lists = [[float("nan")]] + truth()[1:].tolist()  # (as it crosses the wire: nested lists)
    assert detect(as_lists, truth(), unstable_candidates(), SAME) == Detection(UNSTABLE)


def test_infinity_where_the_distractor_has_nan_matches_too():
    # inf/inf is NaN, but a student's softmax may keep exp(900) = inf in the row: either kind counts
    got = truth().copy()
    got[0, 0] = np.inf
    assert detect(got, truth(), unstable_candidates(), SAME) == Detection(UNSTABLE)
    got[0, 0] = -np.inf
    assert detect(got, truth(), unstable_candidates(), SAME) == Detection(UNSTABLE)


def test_nan_in_other_places_is_not_the_overflow():
    got = truth().copy()
    got[1, 0] = np.nan  # overflowed in a row whose scores are small: some other mistake
    assert detect(got, truth(), unstable_candidates(), SAME) is None
    got[0, 0] = np.nan  # NaN in the overflowing row and in another one
    assert detect(got, truth(), unstable_candidates(), SAME) is None


def test_nan_in_the_right_place_but_wrong_values_elsewhere_is_not_the_overflow():
    got = self_attention_identity_unstable(X_LARGE)
    got[2, 0] += 0.5
    assert detect(got, truth(), unstable_candidates(), SAME) is None
    got = self_attention_identity_unstable(X_LARGE)
    got[1:] *= 1 + 1e-3  # off by more than the tolerance (rtol 1e-6)
    assert detect(got, truth(), unstable_candidates(), SAME) is None


def test_a_finite_answer_wrong_only_in_the_overflowing_row_is_not_called_an_overflow():
    got = truth().copy()
    got[0, 0] = 0.0  # finite, wrong where the distractor has NaN, right elsewhere: no NaN, so not this mistake
    assert detect(got, truth(), unstable_candidates(), SAME) is None
    got[0, 0] = 1.0
    assert detect(got, truth(), unstable_candidates(), SAME) is None


def test_the_overflow_must_be_in_an_answer_of_the_same_shape():
    got = self_attention_identity_unstable(X_LARGE).reshape(1, 4)  # a row where a column is expected
    assert detect(got, truth(), unstable_candidates(), SAME) is None
    # a single number that numpy would spread over the whole column does not match it either
    column = Distractor(call="c", args=[], message="overflowed")
    assert detect([1.0], np.array([[2.0], [1.0]]), [(column, lambda: np.array([[np.nan], [1.0]]))], SAME) is None


def test_an_answer_that_is_not_numbers_never_matches_an_overflowing_distractor():
    for got in ("nan", None, {"out": [1.0]}, [[1.0, 2.0], [3.0]]):
        assert detect(got, truth(), unstable_candidates(), SAME) is None, got


def test_the_non_finite_rule_claims_nothing_for_finite_outputs_or_structured_ones():
    # its own contract: a claim only where the distractor's output has NaN or infinity
    assert not _non_finite_alike([1.0, 2.0], [1.0, 2.0], SAME)  # (equal finite values are the plain rule's business)
    assert not _non_finite_alike(2.0, 2.0, SAME)
    assert _non_finite_alike([np.nan, 2.0], [np.inf, 2.0], SAME)
    assert not _non_finite_alike({"W": [np.nan]}, {"W": [np.nan]}, SAME)



def _log_softmax(z, subtract_max: bool) -> np.ndarray:
    z = np.asarray(z, dtype=float)
    shift = z.max(axis=1, keepdims=True) if subtract_max else 0.0
    with np.errstate(over="ignore"):
        return z - shift - np.log(np.exp(z - shift).sum(axis=1, keepdims=True))


def test_a_finite_answer_is_not_called_a_mistake_whose_output_is_infinite_there():
    # log-softmax without the row maximum subtracted: log(exp(1000)) is inf, so the first row is -inf (not NaN)
    z = [[1000.0, 0.0], [1.0, 2.0]]
    right, unstable = _log_softmax(z, True), _log_softmax(z, False)
    assert np.all(np.isneginf(unstable[0])) and np.allclose(unstable[1], right[1]) and np.all(np.isfinite(right))
    overflow = Distractor(call="log_softmax_unstable", args=[], message="Your log-softmax overflows.")
    candidates = [(overflow, lambda: _log_softmax(z, False))]
    for row in ([0.0, 0.0], [-1e6, -1e6], [5.0, -3.0]):  # finite and wrong in the first row, right in the second
        got = np.vstack([row, right[1]])
        assert detect(got, right, candidates, SAME) is None, row
    assert detect(np.vstack([[-np.inf, -np.inf], right[1]]), right, candidates, SAME) == Detection(overflow)

# --- requirements: the margin of a training requirement ---------------------------------------------


def spare(text, **values):
    return margin(parse(text), values)


def test_a_less_than_requirement_has_the_gap_to_its_bound_as_margin():
    # "val_acc above 0.5" met by 0.25; "loss below 0.5" missed by 0.25 (binary fractions: exact)
    assert spare("a > b", a=0.75, b=0.5) == 0.25 and spare("a >= b", a=0.75, b=0.5) == 0.25
    assert spare("a < b", a=0.75, b=0.5) == -0.25 and spare("a <= b", a=0.75, b=0.5) == -0.25
    assert spare("a < b", a=0.25, b=1.0) == 0.75 and spare("a <= b", a=0.25, b=1.0) == 0.75
    assert spare("a > b", a=0.25, b=1.0) == -0.75 and spare("a >= b", a=0.25, b=1.0) == -0.75
    assert spare("a <= b", a=0.5, b=0.5) == 0.0  # met exactly: no room to spare


def test_the_margin_of_the_shift_requirement_is_the_difference_of_the_two_drops():
    # the module's own example: the CNN loses less accuracy under a shift than the MLP does
    metrics = dict(cnn_val=0.875, cnn_shift=0.75, mlp_val=0.875, mlp_shift=0.25)
    assert spare("cnn_val - cnn_shift < mlp_val - mlp_shift", **metrics) == (0.875 - 0.25) - (0.875 - 0.75) == 0.5
    assert holds(parse("cnn_val - cnn_shift < mlp_val - mlp_shift"), metrics)
    assert spare("max(xs) > 0.5", xs=[0.25, 0.625]) == 0.125 and spare("xs[-1] < xs[0]", xs=[1.0, 0.5, 0.25]) == 0.75


def test_a_chained_comparison_is_as_close_to_failing_as_its_tightest_link():
    assert spare("0 < a < 1", a=0.25) == 0.25 and spare("0 < a < 1", a=0.875) == 0.125
    assert spare("0 < a < 1", a=1.5) == -0.5 and spare("0 < a < 1", a=-0.5) == -0.5
    assert spare("0.5 > a > b", a=0.25, b=0.125) == 0.125  # 0.5 - 0.25 and 0.25 - 0.125


def test_and_takes_the_smaller_margin_or_the_larger_and_not_turns_it_round():
    assert spare("a < 1 and b > 2", a=0.5, b=2.25) == 0.25 and spare("a < 1 or b > 2", a=0.5, b=2.25) == 0.5
    assert spare("a < 1 and b > 2", a=1.5, b=2.25) == -0.5 and spare("a < 1 or b > 2", a=1.5, b=2.25) == 0.25
    assert spare("a < 1 and b > 2 and c < 0", a=0.5, b=2.25, c=-0.125) == 0.125
    assert spare("not a < 1", a=0.75) == -0.25 and spare("not a < 1", a=1.5) == 0.5
    assert spare("not (a < 1 and b > 2)", a=0.5, b=2.25) == -0.25


def test_requirements_that_are_not_comparisons_of_numbers_have_no_margin():
    assert spare("a == 1", a=1.0) is None and spare("a != 1", a=2.0) is None  # equality: met or not, no distance
    assert spare("a < 1 and b == 2", a=0.5, b=2) is None and spare("b == 2 or a < 1", a=0.5, b=2) is None
    assert spare("not a == 1", a=1.0) is None and spare("a < b == c", a=0.5, b=1.0, c=1.0) is None
    assert spare("a", a=True) is None and spare("a + 1", a=1.0) is None and spare("abs(a)", a=-1.0) is None


def test_a_margin_of_values_that_are_not_finite_numbers_is_refused_as_the_requirement_is():
    # (grader validate skips such a margin; the check itself reports the same error)
    for values, message in ((dict(a=float("nan")), "got nan, not a finite number"),
                            (dict(a=[0.5, 0.25]), "expected a number, got list [0.5, 0.25]"),
                            (dict(a="0.5"), "expected a number, got str '0.5'")):
        with pytest.raises(RelationError) as caught:
            spare("a < 1", **values)
        assert str(caught.value) == message
    with pytest.raises(RelationError, match="^no item 3 in a list of 2$"):
        spare("xs[3] < 1", xs=[1, 2])


# --- requirements: what a student reads about a value that is not a number -------------------------


def error(text, **values) -> str:
    with pytest.raises(RelationError) as caught:
        holds(parse(text), values)
    return str(caught.value)


def test_a_quoted_value_is_shown_in_full_up_to_40_characters_and_cut_to_37_and_dots_beyond():
    forty, forty_one = ["x" * 16, "y" * 16], ["x" * 17, "y" * 16]  # ['x...', 'y...']: 32 + 8, and 33 + 8 characters
    assert len(repr(forty)) == 40 and len(repr(forty_one)) == 41 and reprlib.repr(forty_one) == repr(forty_one)
    assert error("a < 1", a=forty) == f"expected a number, got list {forty!r}"
    assert error("a < 1", a=forty_one) == "expected a number, got list ['xxxxxxxxxxxxxxxxx', 'yyyyyyyyyyyyyy..."
    long = [0.1234567890123456] * 7
    assert error("a < 1", a=long) == "expected a number, got list [0.1234567890123456, 0.12345678901234..."


def test_integers_beyond_the_float_range_are_infinite_not_numbers_to_compare():
    huge = 10**400
    assert error("a < 1", a=huge) == "got inf, not a finite number"
    assert error("a < 1", a=-huge) == "got -inf, not a finite number"
    assert holds(parse("a == b"), dict(a=huge, b=huge * 2))  # both read as +inf
    assert not holds(parse("a == b"), dict(a=huge, b=-huge))  # +inf and -inf are not equal
    assert not holds(parse("a == b"), dict(a=-huge, b=float("inf")))
