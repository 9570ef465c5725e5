"""The course pack's mistake catalogue: each known mistake has an example submission (submissions/<id>/,
scored by its manifest), and grading it names the mistake on the public check and on the hidden one,
where the hidden message names it and shows no values. Right submissions get no mistake named.

Training questions are left out here (they name no mistakes; tests/test_examples.py grades them).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np
import pytest

from grader import Report, grade, load_assignment
from grader.checks.compare import comparator
from grader.checks.distractors import detect
from grader.rubric import Distractor, Tolerance, TrainingCheck, ValueCheck, load_rubric

ROOT = Path(__file__).resolve().parent.parent

# (assignment, example, public checks, hidden checks, a phrase of the mistake's message)
CATALOGUE = [
    # B: two-layer net
    ("twolayer", "reg_biases", ["loss.public", "grad_b1.public", "grad_b2.public"],
     ["loss.hidden", "grad_b1.hidden", "grad_b2.hidden"], "regularisation includes the biases"),
    ("twolayer", "unstable_softmax", ["loss.public"], ["loss.hidden"], "softmax overflows on large scores"),
    ("twolayer", "relu_mask_from_grad", ["grad_W1.public", "grad_b1.public"], ["grad_W1.hidden", "grad_b1.hidden"],
     "ReLU mask comes from the upstream gradient"),
    ("twolayer", "relu_mask_missing", ["grad_W1.public", "grad_b1.public"], ["grad_W1.hidden", "grad_b1.hidden"],
     "skips the ReLU"),
    ("twolayer", "no_reg_in_grad", ["grad_W1.public", "grad_W2.public"], ["grad_W1.hidden", "grad_W2.hidden"],
     "gradient lacks the regularisation term"),
    ("twolayer", "reg_in_grad_only", ["loss.public"], ["loss.hidden"], "missing from the loss"),
    ("twolayer", "loss_mistakes", ["loss.public"], ["loss.hidden"], "missing from the loss"),
    ("twolayer", "loss_mistakes", ["grad_W1.public", "grad_b1.public", "grad_W2.public", "grad_b2.public"],
     ["grad_W1.hidden", "grad_b1.hidden", "grad_W2.hidden", "grad_b2.hidden"], "summed over the batch"),
    # A: 1-D convolution (pen-and-paper answers have public value checks only)
    ("conv1d", "forgot_bias", ["y_hat", "conv1d_forward.public"], ["conv1d_forward.hidden"], "out the bias"),
    ("conv1d", "mean_bias_grad", ["dL_db", "conv1d_backward.public"], ["conv1d_backward.hidden"], "not their mean"),
    ("conv1d", "mean_loss", ["loss", "dL_dy_hat"], [], "mean over the outputs"),
    # C: convolution as a matrix, parameter counts, attention
    ("cnn_attention", "unstable_softmax", ["self_attention_identity.public"], ["self_attention_identity.hidden"],
     "softmax overflows on large scores"),
    ("cnn_attention", "row_major", ["conv_matrix.public", "self_attention_identity.public"],
     ["conv_matrix.hidden", "self_attention_identity.hidden"], "row"),
    ("cnn_attention", "more_mistakes", ["conv_matrix.public"], ["conv_matrix.hidden"], "flipped kernel"),
    ("cnn_attention", "more_mistakes", ["self_attention_identity.public"], ["self_attention_identity.hidden"],
     "normalises each row"),
    ("cnn_attention", "bias_mistakes", ["count_params_cnn.public"], ["count_params_cnn.hidden"], "bias"),
    # D: backprop and 2-D convolution
    ("backprop_conv2d", "flipped_kernel", ["S_sobel_x", "S_sobel_y", "corr2d.public"], ["corr2d.hidden"], "flipped the kernel"),
    ("backprop_conv2d", "no_output_derivative", ["sigmoid_net_grads.public"], ["sigmoid_net_grads.hidden"], "output deltas"),
    ("backprop_conv2d", "no_hidden_derivative", ["sigmoid_net_grads.public"], ["sigmoid_net_grads.hidden"], "hidden deltas"),
]

RIGHT = [("twolayer", "all_right"), ("twolayer", "half_convention"), ("conv1d", "all_right_files"),
         ("cnn_attention", "all_right_files"), ("backprop_conv2d", "all_right")]

# A hidden check's message: the count, a problem from the fixed vocabulary, then the named mistake.
HIDDEN = re.compile(r"^\d+ of \d+ hidden cases failed( \([\d.]+ of \d+ points?, per case\))?: does not match on the hidden inputs "
                    r"\((wrong values|NaN or infinity)\)\. (?P<mistake>.+)$")


@functools.lru_cache(maxsize=None)
def assignment(assignment_id: str):
    rubric = load_rubric(ROOT / "rubrics" / f"{assignment_id}.yaml")
    rubric = rubric.model_copy(update={"questions": [q for q in rubric.questions
                                                     if not any(isinstance(c, TrainingCheck) for c in q.checks)]})
    return load_assignment(rubric)


@functools.lru_cache(maxsize=None)
def graded(assignment_id: str, example: str) -> Report:
    return grade(ROOT / "submissions" / assignment_id / example, assignment(assignment_id))


def messages(assignment_id: str, check_id: str) -> set[str]:
    """Every message the rubric can give for a mistake on this check."""
    check = next(c for c in assignment(assignment_id).rubric.checks() if c.id == check_id)
    return {d.message for d in check.distractors if d.credit < 1}


@pytest.mark.parametrize("assignment_id, example, public, hidden, phrase", CATALOGUE,
                         ids=[f"{a}/{e}:{p}" for a, e, _, _, p in CATALOGUE])
def test_each_mistake_is_named_on_public_and_hidden_checks(assignment_id, example, public, hidden, phrase):
    report = graded(assignment_id, example)
    for check_id in public + hidden:
        result = report.check(check_id)
        assert result.score < result.max_score, f"{check_id} should fail"
        assert result.mistake and phrase in result.mistake, f"{check_id}: {result.mistake!r}"
        assert result.mistake in messages(assignment_id, check_id)  # the rubric's own words, nothing else
        assert result.mistake in result.message
    for check_id in public:
        assert report.check(check_id).visibility == "public"
    for check_id in hidden:
        result = report.check(check_id)
        assert result.visibility == "hidden"
        match = HIDDEN.match(result.message)
        assert match and match.group("mistake") == result.mistake, result.message
        assert result.got is None and result.expected is None
        assert result.max_abs_error is None and result.max_rel_error is None and result.rel_error is None


@pytest.mark.parametrize("assignment_id, example", RIGHT)
def test_right_submissions_get_no_mistake_named(assignment_id, example):
    report = graded(assignment_id, example)
    failing = [c.id for q in report.questions for c in q.checks if c.kind != "manual" and c.score < c.max_score]
    assert not failing
    named = [(c.id, c.mistake) for q in report.questions for c in q.checks if c.mistake]
    assert not named


@pytest.mark.parametrize("assignment_id, example", [("twolayer", "reg_biases"), ("twolayer", "unstable_softmax"),
                                                    ("conv1d", "mean_bias_grad"), ("cnn_attention", "unstable_softmax")])
def test_reports_of_the_new_examples_leak_no_hidden_values(assignment_id, example):
    from grader.reporters.markdown import render_markdown

    from .test_course_pack import hidden_values

    report = graded(assignment_id, example)
    student_facing = report.model_dump_json() + render_markdown(report)
    leaks = [number for number in hidden_values(assignment(assignment_id)) if number in student_facing]
    assert not leaks, f"hidden values in the report: {leaks[:5]}"


def test_regularised_biases_are_right_where_the_biases_are_zero():
    # the toy net's biases are zero: the bias trick is right there, and no claim is made on that case
    report = graded("twolayer", "reg_biases")
    loss = report.check("loss.public")
    assert loss.score == pytest.approx(1 / 3) and loss.message.startswith("1/3 cases passed (0.333 of 1 point, per case); case 2 ")
    for name in ("grad_b1", "grad_b2"):
        assert report.check(f"{name}.public").message.startswith("1/2 cases passed (0.5 of 1 point, per case); case 2 ")
        assert report.check(f"{name}.hidden").score == 0
    for name in ("grad_W1", "grad_W2"):  # the weight gradients are right
        assert report.check(f"{name}.public").score == 1 and report.check(f"{name}.hidden").score == 1


def test_an_unstable_softmax_fails_only_the_large_score_cases():
    report = graded("twolayer", "unstable_softmax")
    public, hidden = report.check("loss.public"), report.check("loss.hidden")
    assert public.score == pytest.approx(2 / 3) and public.message.startswith("2/3 cases passed (0.667 of 1 point, per case); case 3 ")
    assert "contains NaN or infinity" in public.message
    assert hidden.score == pytest.approx(0.8) and hidden.message.startswith("1 of 5 hidden cases failed (0.8 of 1 point, per case): ")
    assert "(NaN or infinity)" in hidden.message
    attention = graded("cnn_attention", "unstable_softmax")
    assert attention.check("self_attention_identity.public").score == pytest.approx(0.5)
    assert attention.check("self_attention_identity.hidden").score == pytest.approx(0.8)


def test_the_large_score_cases_overflow_only_without_the_maximum_subtracted():
    from reference import twolayer
    X, y, params = twolayer.toy("X"), twolayer.toy("y"), twolayer.toy("params")
    large = twolayer.with_large_scores(params)
    assert twolayer.scores(X, large).min() > 800
    right, _ = twolayer.net_loss(large, X, y, reg=0.05)
    assert right == pytest.approx(twolayer.net_loss(params, X, y, reg=0.05)[0], rel=1e-12)  # softmax is shift invariant
    naive, grads = twolayer.net_loss(large, X, y, reg=0.05, variant="unstable_softmax")
    assert np.isnan(naive) and not np.isfinite(grads["W1"]).all()
    assert twolayer.net_loss(params, X, y, reg=0.05, variant="unstable_softmax")[0] == pytest.approx(right, rel=1e-12)


def test_an_overflowing_distractor_matches_answers_non_finite_in_the_same_places():
    same = comparator(ValueCheck(kind="value", points=1, expected=0, tolerance=Tolerance(rtol=1e-6)))
    naive = Distractor(call="naive", args=[], message="overflows")
    truth = np.array([30.0, 7.75, 30.0, -0.635])
    overflowing = np.array([np.nan, 7.75, 30.0, -0.635])
    assert detect(overflowing, truth, [(naive, lambda: overflowing)], same).message == "overflows"
    assert detect(np.array([np.inf, 7.75, 30.0, -0.635]), truth, [(naive, lambda: overflowing)], same) is not None
    assert detect(np.float64(np.inf), 1.3, [(naive, lambda: np.nan)], same) is not None  # a NaN or an inf loss alike
    # NaN elsewhere, or wrong finite values, or no NaN at all: no claim
    assert detect(np.array([30.0, np.nan, 30.0, -0.635]), truth, [(naive, lambda: overflowing)], same) is None
    assert detect(np.array([np.nan, 7.0, 30.0, -0.635]), truth, [(naive, lambda: overflowing)], same) is None
    assert detect(np.array([np.nan, 7.75, 30.0, -0.635]), truth, [(naive, lambda: truth + 1)], same) is None
    # a structured output is not compared by its non-finite places
    assert detect({"a": np.nan}, {"a": 1.0}, [(naive, lambda: {"a": np.nan})], same) is None
