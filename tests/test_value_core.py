"""Value checks (grader/checks/value.py) where error carried forward meets its limits, scored without a
kernel (``StudentWork(answers=...)``) on small rubrics whose reference functions live in this file.

What a student reads when follow-through is withheld because their wrong earlier answer makes a step
trivial (all zeros, or an input left unchanged) and where that rule must not fire; what a student kit
says when it cannot recompute a step from a wrong earlier answer; partial credit for right values with
an axis of length 1 too many or too few; and how a convention group holds a gradient to the convention
of the student's own loss. Every expected figure is worked out by hand from the given inputs.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.checks.compare import comparator
from grader.checks.scorer import Scorer
from grader.checks.work import StudentWork
from grader.kit import RecordedReference, Recorder
from grader.rubric import parse_rubric


def scale(x, k):
    return np.asarray(x, dtype=float) * k


def relu(h):
    return np.maximum(np.asarray(h, dtype=float), 0.0)


def total(h):
    return float(np.sum(h))


def diff(a, b):
    return np.asarray(a, dtype=float) - np.asarray(b, dtype=float)


def mul(w, eps):
    return float(w) * eps


def positives(h):
    h = np.asarray(h, dtype=float)
    return h[h > 0]


def doubled_positives(m):  # one return value per row: ragged where rows have different numbers of positive entries
    return tuple(2 * row[row > 0] for row in np.asarray(m, dtype=float))


FUNCTIONS = dict(scale=scale, relu=relu, total=total, diff=diff, mul=mul, positives=positives,
                 doubled_positives=doubled_positives)

RUBRIC = """
id: t
title: Trivial steps
given: {x: [1.0, -2.0], k: 3.0, p: [1.0, 2.0], xs: [0.001, -0.002], m: [[1.0, 2.0], [3.0, 4.0]],
        eps_15: 1.0e-15, eps_12: 1.0e-12, half: 0.5}
questions:
  - id: h
    checks:
      - {kind: value, points: 1, expected: {call: scale, args: ["$x", "$k"]}}
  - id: a
    checks:
      - kind: value
        points: 1
        expected: {call: relu, args: ["@h"]}
        feedback: {passed: "good ReLU", failed: "apply the ReLU to h"}
  - id: a_hidden
    checks:
      - {kind: value, points: 1, answer: a, visibility: hidden, expected: {call: relu, args: ["@h"]}}
  - id: n
    checks:
      - {kind: value, points: 1, expected: {call: total, args: ["@h"]}}
  - id: g
    checks:
      - {kind: value, points: 1, expected: {call: scale, args: ["$p", "$k"]}}
  - id: b
    checks:
      - {kind: value, points: 1, expected: {call: relu, args: ["@g"]}}
  - id: kk
    checks:
      - {kind: value, points: 1, expected: 3.0}
  - id: z
    checks:
      - {kind: value, points: 1, expected: {call: scale, args: ["$x", "@kk"]}}
  - id: zs
    checks:
      - {kind: value, points: 1, expected: {call: scale, args: ["$xs", "@kk"]}}
  - id: u
    checks:
      - {kind: value, points: 1, expected: {call: scale, args: ["$p", 2.0]}}
  - id: v
    checks:
      - {kind: value, points: 1, expected: {call: scale, args: ["$p", 0.5]}}
  - id: d
    checks:
      - {kind: value, points: 1, expected: {call: diff, args: ["@u", "@v"]}}
  - id: w0
    checks:
      - {kind: value, points: 1, expected: 0.0}
  - id: w3
    checks:
      - {kind: value, points: 1, expected: 3.0}
  - id: t0
    checks:
      - {kind: value, points: 1, expected: {call: mul, args: ["@w0", "$eps_15"]}, tolerance: {rtol: 0.01, atol: 0.0}}
  - id: t12
    checks:
      - {kind: value, points: 1, expected: {call: mul, args: ["@w3", "$eps_12"]}, tolerance: {rtol: 0.01, atol: 0.0}}
  - id: th
    checks:
      - {kind: value, points: 1, expected: {call: mul, args: ["@w3", "$half"]}, tolerance: {rtol: 0.01, atol: 0.0}}
  - id: pos
    checks:
      - {kind: value, points: 1, expected: {call: positives, args: ["@h"]}}
  - id: mm
    checks:
      - {kind: value, points: 1, expected: "$m"}
  - id: rg
    checks:
      - {kind: value, points: 1, expected: {call: doubled_positives, args: ["@mm"]}}
  - id: row
    checks:
      - kind: value
        points: 2
        expected: {call: scale, args: ["$p", "$k"]}
        singleton_axes: 0.5
        feedback: {failed: "return a vector, not a row"}
  - id: row_hidden
    checks:
      - {kind: value, points: 2, answer: row, visibility: hidden, expected: {call: scale, args: ["$p", "$k"]}, singleton_axes: 0.5}
"""

# the true answers, by hand: h = 3 * [1, -2]; a = relu(h); n = 3 - 6; g = b = 3 * [1, 2]; z = 3 * x
H, A, N, G = [3.0, -6.0], [3.0, 0.0], -3.0, [3.0, 6.0]


@pytest.fixture(scope="module")
def rubric():
    return parse_rubric(RUBRIC)


@pytest.fixture(scope="module")
def scorer(rubric) -> Scorer:
    return Scorer(rubric, FUNCTIONS)


def scored(scorer: Scorer, **answers):
    return {c.id: c for q in scorer.score(StudentWork(answers=answers)) for c in q.checks}


def against_truth(rubric, check_id: str, got) -> str:
    """What the comparison with the true answer says (compare.py's message), worked out independently."""
    check = next(c for c in rubric.checks() if c.id == check_id)
    truth = Scorer(rubric, FUNCTIONS)._true(check.expected)
    return comparator(check)(got, truth).message


def trivial(earlier: str, how: str) -> str:
    return f"no follow-through credit: with your earlier {earlier} this step becomes trivial ({how}), while the right answer is not"


# --- follow-through withheld where the step becomes trivial -----------------------------------------


def test_a_step_that_comes_out_all_zeros_from_a_wrong_earlier_answer_earns_no_follow_through(scorer, rubric):
    checks = scored(scorer, h=[0.0, 0.0], a=[0.0, 0.0], n=0.0)
    a = checks["a"]  # relu([0, 0]) is [0, 0], while the right answer [3, 0] is not all zeros
    assert (a.status, a.score, a.follow_through, a.feedback, a.got, a.expected) == ("failed", 0.0, False, "apply the ReLU to h",
                                                                                      [0.0, 0.0], A)
    assert a.message == f"{against_truth(rubric, 'a', [0.0, 0.0])}; {trivial('answer for h', 'all zeros')}"
    assert a.message.startswith("values differ")
    n = checks["n"]  # a single number that is zero counts as all zeros too (0 + 0 against 3 - 6)
    assert (n.score, n.message) == (0.0, f"{against_truth(rubric, 'n', 0.0)}; {trivial('answer for h', 'all zeros')}")


def test_a_hidden_check_withholds_follow_through_without_showing_values(scorer):
    hidden = scored(scorer, h=[0.0, 0.0], a=[0.0, 0.0])["a_hidden"]
    assert (hidden.score, hidden.got, hidden.expected, hidden.max_abs_error) == (0.0, None, None, None)
    assert hidden.message == f"does not match on the hidden inputs (wrong values); {trivial('answer for h', 'all zeros')}"
    unchanged = scored(scorer, h=[1.0, 2.0], a=[1.0, 2.0])["a_hidden"]
    assert unchanged.message == f"does not match on the hidden inputs (wrong values); {trivial('answer for h', 'it leaves h unchanged')}"


def test_zeros_from_two_wrong_earlier_answers_name_both(scorer, rubric):
    d = scored(scorer, u=[5.0, 5.0], v=[5.0, 5.0], d=[0.0, 0.0])["d"]  # the right d is [2, 4] - [0.5, 1] = [1.5, 3]
    assert (d.score, d.follow_through) == (0.0, False)
    assert d.message == f"{against_truth(rubric, 'd', [0.0, 0.0])}; {trivial('answers for u, v', 'all zeros')}"


def test_a_step_that_leaves_a_wrong_earlier_answer_unchanged_earns_no_follow_through(scorer, rubric):
    # an h with no negative entries goes through the ReLU unchanged; the true h = [3, -6] does not
    a = scored(scorer, h=[1.0, 2.0], a=[1.0, 2.0])["a"]
    assert (a.status, a.score, a.follow_through, a.feedback) == ("failed", 0.0, False, "apply the ReLU to h")
    assert a.message == f"{against_truth(rubric, 'a', [1.0, 2.0])}; {trivial('answer for h', 'it leaves h unchanged')}"


def test_a_step_that_leaves_a_given_input_unchanged_earns_no_follow_through(scorer, rubric):
    z = scored(scorer, kk=1.0, z=[1.0, -2.0])["z"]  # 1 * x is x; the right answer 3 * x is not
    assert (z.score, z.follow_through) == (0.0, False)
    assert z.message == f"{against_truth(rubric, 'z', [1.0, -2.0])}; {trivial('answer for kk', 'it leaves x unchanged')}"


def test_a_step_that_is_the_identity_for_the_true_input_too_follows_through(scorer):
    # g = 3 * [1, 2] has no negative entries either: the ReLU leaves the true g unchanged as well
    b = scored(scorer, g=[2.0, 4.0], b=[2.0, 4.0])["b"]
    assert (b.status, b.score, b.follow_through, b.message) == ("passed", 1.0, True, "consistent with your earlier answer for g")
    assert (b.expected, b.true_value) == ([2.0, 4.0], G)


def test_an_input_changed_by_a_small_factor_is_changed(scorer):
    # unchanged means equal within one part in 1e9 (and 1e-12 absolute): a factor 1.2, 1 + 1e-7 or,
    # on inputs of size 1e-3, 1 + 1e-8 changes x, so the step follows through from the wrong kk
    for kk, z_id, x in ((1.2, "z", [1.0, -2.0]), (1 + 1e-7, "z", [1.0, -2.0]), (1 + 1e-8, "zs", [0.001, -0.002])):
        own = [kk * v for v in x]
        check = scored(scorer, kk=kk, **{z_id: own})[z_id]
        assert (check.score, check.follow_through, check.message) == (1.0, True, "consistent with your earlier answer for kk"), kk


def test_a_step_that_is_zero_only_in_truth_or_tiny_both_ways_follows_through(scorer):
    # the true w0 is 0, so the true t0 = 0 * 1e-15 = 0 and th-like steps are 0: a recomputed value that is
    # (numerically) zero where the right answer is zero too is not "trivial"
    t0 = scored(scorer, w0=2.0, t0=2e-15)["t0"]  # 2 * 1e-15: fails the truth 0 with atol 0, matches 2e-15
    assert (t0.status, t0.score, t0.follow_through) == ("passed", 1.0, True)
    # the true w3 is 3, so th = 3 * 0.5 = 1.5; from w3 = 2 it is 1.0: neither zero nor an input unchanged
    th = scored(scorer, w3=2.0, th=1.0)["th"]
    assert (th.score, th.follow_through, th.expected, th.true_value) == (1.0, True, 1.0, 1.5)


def test_within_1e_12_of_zero_counts_as_zero(scorer, rubric):
    # the true t12 = 3 * 1e-12; from w3 = 1 it is exactly 1e-12: all zeros (1e-12 is the bound, included)
    t12 = scored(scorer, w3=1.0, t12=1e-12)["t12"]
    assert (t12.score, t12.follow_through) == (0.0, False)
    assert t12.message == f"{against_truth(rubric, 't12', 1e-12)}; {trivial('answer for w3', 'all zeros')}"


def test_an_empty_or_ragged_recomputed_value_is_not_trivial(scorer):
    # no positive entry in the student's h: positives(h) is empty, the true one is [3]; empty is not "all zeros"
    # (an empty array from the student's code: an answers file cannot hold an empty list)
    pos = scored(scorer, h=[-1.0, -2.0], pos=np.array([]))["pos"]
    assert (pos.score, pos.follow_through, pos.expected, pos.true_value) == (1.0, True, [], [3.0])
    # rows with different numbers of positive entries: doubled, ([2], [6, 8]), neither numbers of one shape
    # (so not "all zeros") nor the student's mm unchanged; the true answer is [[2, 4], [6, 8]]
    rg = scored(scorer, mm=[[1.0, -2.0], [3.0, 4.0]], rg=[[2.0], [6.0, 8.0]])["rg"]
    assert (rg.score, rg.follow_through, rg.message) == (1.0, True, "consistent with your earlier answer for mm")
    assert rg.true_value == [[2.0, 4.0], [6.0, 8.0]]



def zeros32(n):
    return np.zeros(int(n), dtype=np.float32)


FLOAT32 = """
id: f32
title: A reference in float32
given: {n: 1, big: 1.0e+12}
questions:
  - id: z
    checks:
      - {kind: value, points: 1, expected: {call: zeros32, args: ["$n"]}}
  - id: y
    checks:
      - {kind: value, points: 1, expected: {call: scale, args: ["@z", "$big"]}}
"""


def test_an_earlier_answer_is_wrong_for_follow_through_beyond_1e_12_of_a_float32_true_answer():
    # "wrong" for follow-through is beyond rtol 1e-9 and atol 1e-12 of the true answer, in float64 even where the
    # reference computes in float32 (there, 1e-12 rounds down to 9.9999998e-13)
    rubric = parse_rubric(FLOAT32)
    scorer = Scorer(rubric, {**FUNCTIONS, "zeros32": zeros32})
    near = 9.99999999e-13
    assert float(np.float32(1e-12)) < near <= 1e-12
    checks = {c.id: c for q in scorer.score(StudentWork(answers=dict(z=[near], y=[near * 1e12]))) for c in q.checks}
    assert checks["z"].status == "passed"
    y = checks["y"]  # z counts as right: y is marked against the true y = 0 alone
    truth = scorer._true(next(c for c in rubric.checks() if c.id == "y").expected)
    assert (y.score, y.follow_through, y.message) == (0.0, False, comparator(rubric.questions[1].checks[0])([near * 1e12], truth).message)
    beyond = {c.id: c for q in scorer.score(StudentWork(answers=dict(z=[2e-12], y=[2.0]))) for c in q.checks}["y"]
    assert (beyond.score, beyond.follow_through, beyond.message) == (1.0, True, "consistent with your earlier answer for z")

# --- student kits: follow-through decided when graded ------------------------------------------------


@pytest.fixture(scope="module")
def kit(rubric) -> Scorer:
    """A scorer as a student kit has it: the references replaced by the recorded calls of the true answers."""
    recorder = Recorder(FUNCTIONS)
    Scorer(rubric, recorder).precompute()
    return Scorer(rubric, RecordedReference(recorder.calls))


def test_a_kit_says_follow_through_from_a_wrong_earlier_answer_is_decided_when_graded(kit, rubric):
    checks = scored(kit, h=H, a=A)
    assert checks["a"].status == "passed"  # the recorded true calls still answer
    a = scored(kit, h=[1.0, -1.0], a=[1.0, 0.0])["a"]  # relu of the student's own h is not in the kit
    assert (a.status, a.score, a.follow_through, a.feedback, a.got, a.expected) == ("failed", 0.0, False, "apply the ReLU to h",
                                                                                      [1.0, 0.0], A)
    assert a.message == (f"{against_truth(rubric, 'a', [1.0, 0.0])}; this may still earn follow-through credit when graded "
                         "(from your earlier answer for h; the kit cannot compute that)")
    d = scored(kit, u=[5.0, 5.0], v=[4.0, 4.0], d=[1.0, 1.0])["d"]
    assert d.message == (f"{against_truth(rubric, 'd', [1.0, 1.0])}; this may still earn follow-through credit when graded "
                         "(from your earlier answers for u, v; the kit cannot compute that)")


# --- right values, a singleton axis too many ----------------------------------------------------------


def test_right_values_with_an_extra_axis_of_length_1_earn_the_singleton_credit(scorer, rubric):
    checks = scored(scorer, row=[[3.0, 6.0]])
    row = checks["row"]
    said = against_truth(rubric, "row", [[3.0, 6.0]])
    assert said.startswith("the values are right, but the shape is")
    assert (row.status, row.score, row.max_score, row.feedback, row.got, row.expected) == (
        "failed", 1.0, 2.0, "return a vector, not a row", [[3.0, 6.0]], G)  # 0.5 of 2 points
    assert (row.note, row.message) == (said, f"{said} (1 of 2 for the right values)")
    hidden = checks["row_hidden"]
    assert (hidden.score, hidden.got, hidden.expected, hidden.note) == (1.0, None, None, None)  # (the note names the expected shape)
    assert hidden.message == "does not match on the hidden inputs (wrong shape) (1 of 2 for the right values)"


def test_an_extra_axis_with_wrong_values_or_without_singleton_credit_earns_nothing(scorer, rubric):
    wrong = scored(scorer, row=[[3.0, 7.0]])["row"]
    assert (wrong.score, wrong.note, wrong.message) == (0.0, None, against_truth(rubric, "row", [[3.0, 7.0]]))
    assert wrong.message.startswith("wrong shape")
    plain = scored(scorer, g=[[3.0, 6.0]])["g"]  # the same answer where the check gives no singleton credit
    assert (plain.score, plain.note, plain.message) == (0.0, None, against_truth(rubric, "g", [[3.0, 6.0]]))


# --- convention groups: a value check's convention, as its group reads it -----------------------------


def reg_loss(w, reg):
    return reg * float(np.sum(np.asarray(w, dtype=float) ** 2))


def reg_loss_half(w, reg):
    return 0.5 * reg_loss(w, reg)


def reg_grad(w, reg):
    return 2 * reg * np.asarray(w, dtype=float)


def reg_grad_half(w, reg):
    return reg * np.asarray(w, dtype=float)


GROUP = """
id: c
title: Conventions
given: {w: [1.0, 2.0], w_loss: [1.0, 2.0], reg: 0.1}
questions:
  - id: loss
    checks:
      - kind: value
        points: 1
        expected: {call: reg_loss, args: ["$w_loss", "$reg"]}
        convention: "reg * sum(W^2) convention"
        convention_group: regularisation
        distractors:
          - {call: reg_loss_half, args: ["$w_loss", "$reg"], credit: 1.0, message: "0.5 * reg * sum(W^2) convention (accepted)"}
  - id: grad
    checks:
      - kind: value
        points: 1
        expected: {call: reg_grad, args: ["$w", "$reg"]}
        convention: "reg * sum(W^2) convention"
        convention_group: regularisation
        distractors:
          - {call: reg_grad_half, args: ["$w", "$reg"], credit: 1.0, message: "0.5 * reg * sum(W^2) convention (accepted)"}
"""
GROUP_FUNCTIONS = dict(reg_loss=reg_loss, reg_loss_half=reg_loss_half, reg_grad=reg_grad, reg_grad_half=reg_grad_half)
# by hand: loss = 0.1 * (1 + 4) = 0.5, half 0.25; grad = 2 * 0.1 * [1, 2] = [0.2, 0.4], half [0.1, 0.2]
LOSS, LOSS_HALF, GRAD, GRAD_HALF = 0.5, 0.25, [0.2, 0.4], [0.1, 0.2]
STANDARD_NAME, HALF_NAME = "reg * sum(W^2) convention", "0.5 * reg * sum(W^2) convention"


def group_scored(text: str, **answers):
    return {c.id: c for q in Scorer(parse_rubric(text), GROUP_FUNCTIONS).score(StudentWork(answers=answers)) for c in q.checks}


def test_a_gradient_of_the_other_convention_than_the_students_loss_is_graded_against_the_losss():
    checks = group_scored(GROUP, loss=LOSS, grad=GRAD_HALF)
    assert (checks["loss"].score, checks["loss"].note) == (1.0, STANDARD_NAME)
    grad = checks["grad"]
    assert (grad.status, grad.score) == ("failed", 0.0)
    assert grad.message == (f"correct ({HALF_NAME} (accepted)); this follows the {HALF_NAME}, but your loss uses the "
                            f"{STANDARD_NAME}: graded against the {STANDARD_NAME}")
    # a loss in the accepted alternative holds the gradient to that one
    checks = group_scored(GROUP, loss=LOSS_HALF, grad=GRAD)
    assert (checks["loss"].status, checks["loss"].score, checks["loss"].note) == ("passed", 1.0, f"{HALF_NAME} (accepted)")
    grad = checks["grad"]
    assert grad.score == 0.0 and grad.message == (f"correct ({STANDARD_NAME}); this follows the {STANDARD_NAME}, but your "
                                                  f"loss uses the {HALF_NAME}: graded against the {HALF_NAME}")
    both = group_scored(GROUP, loss=LOSS_HALF, grad=GRAD_HALF)
    assert (both["grad"].status, both["grad"].score, both["grad"].message) == ("passed", 1.0, f"correct ({HALF_NAME} (accepted))")


def test_a_loss_whose_conventions_coincide_holds_the_gradient_to_neither():
    # with w_loss = 0 both conventions give a loss of 0: the student's loss says nothing of theirs
    checks = group_scored(GROUP.replace("w_loss: [1.0, 2.0]", "w_loss: [0.0, 0.0]"), loss=0.0, grad=GRAD_HALF)
    assert (checks["loss"].status, checks["loss"].note) == ("passed", None)
    grad = checks["grad"]
    assert (grad.status, grad.score, grad.message) == ("passed", 1.0, f"correct ({HALF_NAME} (accepted))")
