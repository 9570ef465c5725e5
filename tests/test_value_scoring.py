"""Value checks and the scorer (grader/checks/value.py, scorer.py) on a small rubric whose reference
functions live in this file: truth first, then distractors and error carried forward, and what each
result says. Student work is a dict of answers (``StudentWork(answers=...)``): no kernel.

Every expected figure is worked out here by hand from the given inputs.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.checks.scorer import Scorer
from grader.checks.work import StudentWork
from grader.errors import ReferenceError_
from grader.rubric import parse_rubric
from grader.submissions.answers import Unreadable

CALLS: list[str] = []


def scale(x, k):
    CALLS.append("scale")
    return np.asarray(x, dtype=float) * k


def sq_err(y_hat, y):
    return 0.5 * float(np.sum((np.asarray(y_hat, dtype=float) - np.asarray(y, dtype=float)) ** 2))


def total(a, b):
    return float(np.sum(a) + np.sum(b))


def forgot_half(y_hat, y):
    return 2 * sq_err(y_hat, y)


def pairs(x):
    return (np.asarray(x, dtype=float), float(np.sum(x)))


def broken(*args):
    raise ZeroDivisionError("division by zero")


FUNCTIONS = dict(scale=scale, sq_err=sq_err, total=total, forgot_half=forgot_half, pairs=pairs, broken=broken)

RUBRIC = """
id: v
title: Value checks
given: {x: [1.0, 2.0], y: [0.0, 1.0], k: 3}
questions:
  - id: y_hat
    checks:
      - kind: value
        points: 1
        expected: {call: scale, args: ["$x", "$k"]}
        tolerance: {rtol: 0.01, atol: 0.0}
        feedback: {passed: "good forward pass", failed: "multiply by k"}
  - id: loss
    checks:
      - kind: value
        points: 2
        expected: {call: sq_err, args: ["@y_hat", "$y"]}
        feedback: {passed: "good loss", failed: "half the sum of squares"}
        distractors:
          - {call: forgot_half, args: ["@y_hat", "$y"], message: "You forgot the 1/2.", credit: 0.25}
  - id: sum_both
    checks:
      - kind: value
        points: 1
        expected: {call: total, args: ["@y_hat", "@loss"]}
  - id: hidden_loss
    checks:
      - kind: value
        points: 1
        answer: loss
        visibility: hidden
        expected: {call: sq_err, args: ["@y_hat", "$y"]}
        follow_through: false
  - id: s
    checks:
      - kind: value
        points: 1
        expected: {call: pairs, args: ["$x"], pick: 1}
"""

# the true answers, by hand: y_hat = 3 * [1, 2]; loss = (3^2 + 5^2) / 2; sum_both = 3 + 6 + 17; s = 1 + 2
Y_HAT, LOSS, SUM_BOTH, S = [3.0, 6.0], 17.0, 26.0, 3.0


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer(parse_rubric(RUBRIC), FUNCTIONS)


def scored(scorer: Scorer, **answers):
    questions = scorer.score(StudentWork(answers=answers))
    return {c.id: c for q in questions for c in q.checks}, {q.id: q for q in questions}


def test_right_answers_pass_with_full_points_and_their_values_shown(scorer):
    checks, questions = scored(scorer, y_hat=Y_HAT, loss=LOSS, sum_both=SUM_BOTH, s=S)
    y_hat = checks["y_hat"]
    assert y_hat.model_dump(exclude={"seconds"}) == dict(
        id="y_hat", kind="value", visibility="public", status="passed", score=1.0, max_score=1.0, message="correct",
        feedback="good forward pass", got=Y_HAT, expected=Y_HAT, rtol=0.01, atol=0.0, max_abs_error=0.0, max_rel_error=0.0,
        rel_error=None, threshold=None, follow_through=False, mistake=None, note=None, metrics=None, true_value=None)
    assert checks["loss"].score == 2 and checks["loss"].expected == LOSS and checks["loss"].feedback == "good loss"
    assert checks["sum_both"].score == 1 and checks["sum_both"].expected == SUM_BOTH
    assert checks["s"].score == 1 and checks["s"].expected == S  # pick: 1 of (array, sum)
    hidden = checks["hidden_loss"]
    assert hidden.status == "passed" and hidden.got is None and hidden.expected is None and hidden.max_abs_error is None
    assert [(q.id, q.score, q.max_score) for q in questions.values()] == [
        ("y_hat", 1, 1), ("loss", 2, 2), ("sum_both", 1, 1), ("hidden_loss", 1, 1), ("s", 1, 1)]
    assert all(c.seconds is not None and c.seconds >= 0 for c in checks.values())


def test_within_tolerance_passes_and_beyond_fails_with_the_hint(scorer):
    close, _ = scored(scorer, y_hat=[3.03, 6.0])        # rtol 0.01 of 3 is 0.03: on the bound
    assert close["y_hat"].status == "passed"
    off, _ = scored(scorer, y_hat=[3.04, 6.0])
    y_hat = off["y_hat"]
    assert (y_hat.status, y_hat.score, y_hat.feedback, y_hat.got, y_hat.expected) == ("failed", 0.0, "multiply by k", [3.04, 6.0], Y_HAT)
    assert y_hat.message == f"values differ (largest absolute error {0.04:.3g}, relative {0.04 / 3:.3g})"
    assert y_hat.max_abs_error == pytest.approx(0.04) and y_hat.max_rel_error == pytest.approx(0.04 / 3)


def test_missing_and_unreadable_answers(scorer):
    checks, questions = scored(scorer, loss=Unreadable("answers.yaml:2: loss: could not read the value"))
    assert (checks["y_hat"].status, checks["y_hat"].message, checks["y_hat"].feedback) == ("failed", "no answer 'y_hat' found", "multiply by k")
    loss = checks["loss"]
    assert (loss.status, loss.score, loss.message) == ("error", 0.0, "answers.yaml:2: loss: could not read the value")
    assert checks["hidden_loss"].message == "the answer could not be read"  # answer: loss (a hidden check: no file names)
    assert sum(q.score for q in questions.values()) == 0


def test_a_distractor_names_the_mistake_and_gives_its_credit(scorer):
    checks, questions = scored(scorer, y_hat=Y_HAT, loss=2 * LOSS)
    loss = checks["loss"]
    assert (loss.status, loss.score, loss.mistake, loss.feedback) == ("failed", 0.5, "You forgot the 1/2.", "half the sum of squares")
    assert loss.message == f"values differ (largest absolute error {LOSS:.3g}, relative 1). You forgot the 1/2."
    assert loss.got == 2 * LOSS and loss.expected == LOSS
    assert questions["loss"].score == 0.5
    hidden = checks["hidden_loss"]  # no distractors there: a plain hidden failure
    assert (hidden.score, hidden.message, hidden.mistake, hidden.got) == (0.0, "does not match on the hidden inputs (wrong values)",
                                                                          None, None)


def test_follow_through_credits_answers_consistent_with_wrong_earlier_ones(scorer):
    wrong_y_hat = [2.0, 4.0]
    own_loss = sq_err(wrong_y_hat, [0.0, 1.0])  # (4 + 9) / 2 = 6.5
    assert own_loss == 6.5
    checks, _ = scored(scorer, y_hat=wrong_y_hat, loss=own_loss, sum_both=6.0 + own_loss)
    loss = checks["loss"]
    assert loss.model_dump(include={"status", "score", "message", "follow_through", "feedback", "got", "expected",
                                    "true_value", "max_abs_error", "mistake"}) == dict(
        status="passed", score=2.0, message="consistent with your earlier answer for y_hat", follow_through=True,
        feedback="good loss", got=own_loss, expected=own_loss, true_value=LOSS, max_abs_error=0.0, mistake=None)
    # (marked against the loss recomputed from the student's own y_hat; the right answer shown beside it)
    assert loss.max_rel_error == 0.0 and loss.rel_error is None  # the figures of the comparison with the recomputed value
    both = checks["sum_both"]
    assert both.score == 1 and both.message == "consistent with your earlier answers for loss, y_hat"
    assert checks["hidden_loss"].score == 0  # follow_through: false


def test_follow_through_uses_the_true_value_for_answers_that_are_right_or_unusable(scorer):
    # y_hat wrong, loss right: sum_both recomputed from the student's y_hat and the true loss
    checks, _ = scored(scorer, y_hat=[2.0, 4.0], loss=LOSS, sum_both=6.0 + LOSS)
    assert checks["sum_both"].score == 1 and checks["sum_both"].message == "consistent with your earlier answer for y_hat"
    # y_hat wrong, loss not answered: the true loss stands in for it
    checks, _ = scored(scorer, y_hat=[2.0, 4.0], sum_both=6.0 + LOSS)
    assert checks["sum_both"].score == 1 and checks["sum_both"].follow_through
    # y_hat unreadable or not numeric: the truth stands in, so nothing is "consistent" with it
    for unusable in (Unreadable("bad"), "abc", [1.0, "x"]):
        checks, _ = scored(scorer, y_hat=unusable, loss=6.5)
        assert checks["loss"].score == 0 and not checks["loss"].follow_through, unusable
    # a y_hat of the wrong shape cannot be an input of the reference: no follow-through, no crash
    checks, _ = scored(scorer, y_hat=[2.0, 4.0, 1.0], loss=6.5)
    assert checks["loss"].score == 0 and checks["loss"].message.startswith("values differ")
    # an answer that is not consistent with the student's own either gets nothing
    checks, _ = scored(scorer, y_hat=[2.0, 4.0], loss=7.0)
    assert checks["loss"].score == 0 and not checks["loss"].follow_through


def test_an_earlier_answer_within_a_hair_of_the_truth_counts_as_right(scorer):
    # 1e-13 off: the same answer (tolerance 1e-9 relative); the later answer is marked against the truth
    checks, _ = scored(scorer, y_hat=[3.0 + 1e-13, 6.0], loss=sq_err([3.0 + 1e-13, 6.0], [0.0, 1.0]))
    assert checks["loss"].status == "passed" and not checks["loss"].follow_through
    # 1e-8 off is a different answer, though within the check's own rtol 0.01: the loss follows through from it
    near = [3.0 + 1e-8, 6.0]
    tight = parse_rubric(RUBRIC.replace("expected: {call: sq_err, args: [\"@y_hat\", \"$y\"]}\n        feedback",
                                        "expected: {call: sq_err, args: [\"@y_hat\", \"$y\"]}\n        tolerance: {rtol: 0.0, atol: 0.0}\n        feedback", 1))
    checks = {c.id: c for q in Scorer(tight, FUNCTIONS).score(StudentWork(answers=dict(y_hat=near, loss=sq_err(near, [0.0, 1.0]))))
              for c in q.checks}
    assert checks["y_hat"].status == "passed" and checks["loss"].follow_through and checks["loss"].score == 2


def test_partial_follow_through_credit_and_its_note():
    rubric = parse_rubric(RUBRIC.replace("expected: {call: sq_err, args: [\"@y_hat\", \"$y\"]}\n        feedback",
                                         "expected: {call: sq_err, args: [\"@y_hat\", \"$y\"]}\n        follow_through_credit: 0.5\n        feedback", 1))
    checks = {c.id: c for q in Scorer(rubric, FUNCTIONS).score(StudentWork(answers=dict(y_hat=[2.0, 4.0], loss=6.5)))
              for c in q.checks}
    loss = checks["loss"]
    assert (loss.status, loss.score, loss.follow_through) == ("failed", 1.0, True)
    assert loss.message == "consistent with your earlier answer for y_hat (50% credit for follow-through)"


def test_a_distractor_wins_over_follow_through_only_with_as_much_credit():
    def rubric(distractor_credit, follow_credit):
        text = RUBRIC.replace("credit: 0.25}", f"credit: {distractor_credit}}}").replace(
            "expected: {call: sq_err, args: [\"@y_hat\", \"$y\"]}\n        feedback",
            f"expected: {{call: sq_err, args: [\"@y_hat\", \"$y\"]}}\n        follow_through_credit: {follow_credit}\n        feedback", 1)
        return Scorer(parse_rubric(text), FUNCTIONS)

    # the true distractor output is 2 * 17 = 34; from the student's y_hat [2, 4] the loss would be 6.5
    # an answer of 34 matches the distractor; with y_hat wrong, follow-through does not apply to 34
    def loss(scorer_, value, y_hat=Y_HAT):
        return {c.id: c for q in scorer_.score(StudentWork(answers=dict(y_hat=y_hat, loss=value))) for c in q.checks}["loss"]

    assert loss(rubric(0.25, 1.0), 34.0).score == 0.5
    # a loss that is both the distractor's output (2 * 17 = 34) and consistent with the student's own y_hat
    # (sq_err([sqrt(68), 1], [0, 1]) = 68 / 2 = 34): the higher credit wins, the distractor on a tie
    y_hat = [np.sqrt(68.0), 1.0]
    assert sq_err(y_hat, [0.0, 1.0]) == pytest.approx(34.0)
    both = rubric(0.25, 1.0)
    follows = loss(both, 34.0, y_hat)
    assert follows.follow_through and follows.score == 2 and follows.mistake is None
    equal = loss(rubric(0.5, 0.5), 34.0, y_hat)
    assert not equal.follow_through and equal.mistake == "You forgot the 1/2." and equal.score == 1.0
    lower_follow = loss(rubric(0.75, 0.5), 34.0, y_hat)
    assert lower_follow.mistake == "You forgot the 1/2." and lower_follow.score == 1.5
    accepted = loss(rubric(1.0, 1.0), 34.0, y_hat)
    assert (accepted.status, accepted.score, accepted.note, accepted.mistake, accepted.feedback) == \
        ("passed", 2.0, "You forgot the 1/2.", None, None)
    assert accepted.message == "correct (You forgot the 1/2.)"


def test_a_convention_is_named_only_where_the_alternative_differs():
    text = RUBRIC.replace("credit: 0.25}", "credit: 1.0}").replace(
        "        feedback: {passed: \"good loss\"", "        convention: \"the 1/2 convention\"\n        feedback: {passed: \"good loss\"", 1)
    scorer = Scorer(parse_rubric(text), FUNCTIONS)
    right = {c.id: c for q in scorer.score(StudentWork(answers=dict(y_hat=Y_HAT, loss=LOSS))) for c in q.checks}["loss"]
    assert right.note == "the 1/2 convention" and right.message == "correct (the 1/2 convention)"
    # with y equal to the truth the loss is 0 both ways: the conventions cannot be told apart, no note
    same = Scorer(parse_rubric(text.replace("y: [0.0, 1.0]", "y: [3.0, 6.0]")), FUNCTIONS)
    zero = {c.id: c for q in same.score(StudentWork(answers=dict(y_hat=Y_HAT, loss=0.0))) for c in q.checks}["loss"]
    assert zero.status == "passed" and zero.note is None and zero.message == "correct"


def test_rel_error_value_checks_report_the_threshold_on_follow_through():
    text = RUBRIC.replace("expected: {call: sq_err, args: [\"@y_hat\", \"$y\"]}\n        feedback",
                          "expected: {call: sq_err, args: [\"@y_hat\", \"$y\"]}\n        metric: rel_error\n        threshold: 1.0e-6\n        feedback", 1)
    scorer = Scorer(parse_rubric(text), FUNCTIONS)
    loss = {c.id: c for q in scorer.score(StudentWork(answers=dict(y_hat=[2.0, 4.0], loss=6.5 * (1 + 1e-8)))) for c in q.checks}["loss"]
    assert loss.follow_through and loss.threshold == 1e-6 and loss.rtol is None
    assert loss.rel_error == pytest.approx(6.5e-8 / (13 + 6.5e-8), rel=1e-3) and loss.max_abs_error == pytest.approx(6.5e-8, rel=1e-3)


def test_true_answers_are_computed_once_and_reference_failures_are_named():
    rubric = parse_rubric(RUBRIC)
    scorer = Scorer(rubric, FUNCTIONS)
    CALLS.clear()
    assert np.array_equal(scorer.true_answer("y_hat"), Y_HAT) and scorer.true_answer("loss") == LOSS
    scorer.true_answer("y_hat")
    assert CALLS == ["scale"]  # cached: the loss used the cached y_hat too
    failing = Scorer(rubric, {**FUNCTIONS, "scale": broken})
    with pytest.raises(ReferenceError_, match=r"^reference for 'y_hat': scale\(\) raised ZeroDivisionError: division by zero$"):
        failing.true_answer("y_hat")
    with pytest.raises(ReferenceError_, match=r"^check y_hat: scale\(\) raised ZeroDivisionError"):
        failing.score(StudentWork(answers=dict(y_hat=Y_HAT)))


def test_precompute_proves_every_reference_and_distractor_runs():
    scorer = Scorer(parse_rubric(RUBRIC), FUNCTIONS)
    values = scorer.precompute()
    assert set(values) == {"y_hat", "loss", "sum_both", "hidden_loss", "s"}
    assert np.array_equal(values["y_hat"], Y_HAT) and values["loss"] == LOSS and values["sum_both"] == SUM_BOTH and values["s"] == S
    with pytest.raises(ReferenceError_, match=r"^check loss: forgot_half\(\) raised ZeroDivisionError"):
        Scorer(parse_rubric(RUBRIC), {**FUNCTIONS, "forgot_half": broken}).precompute()
    with pytest.raises(ReferenceError_, match=r"^check y_hat: scale\(\) raised"):
        Scorer(parse_rubric(RUBRIC), {**FUNCTIONS, "scale": broken}).precompute()


def test_precompute_runs_function_checks_distractors_and_experiment_inputs():
    from tests.test_function_scoring import REFERENCES, ref_affine

    text = """
id: p
title: Precompute
given: {x: [1.0, 2.0], data: {call: make_data, args: [3]}}
experiments:
  run:
    seed: 0
    time_budget: 10
    steps:
      - {name: stats, call: train, args: ["$data"], kwargs: {lr: "@lr"}, keep: false}
    metrics:
      final: {value: stats, path: [loss]}
questions:
  - id: lr
    checks:
      - {kind: value, points: 1, expected: 0.5}
  - id: affine
    checks:
      - kind: function
        points: 1
        reference: ref_affine
        distractors: [{call: ref_twice, message: "doubled"}]
        cases: [{args: ["$x", 2.0, 1.0]}, {args: ["$x", 3.0, 0.0]}]
  - id: trained
    checks:
      - {kind: training, points: 1, experiment: run, require: "final < 1"}
"""
    made = []
    functions = {**REFERENCES, "make_data": lambda n: made.append(n) or np.arange(float(n))}
    values = Scorer(parse_rubric(text), functions).precompute()
    assert values["lr"] == 0.5 and made == [3]  # the experiment's data was made from the references
    assert [list(v) for v in values["affine"]] == [list(ref_affine([1.0, 2.0], 2.0, 1.0)), [3.0, 6.0]]
    with pytest.raises(ReferenceError_, match=r"^check affine: a distractor failed: ZeroDivisionError: division by zero$"):
        Scorer(parse_rubric(text), {**functions, "ref_twice": broken}).precompute()
    with pytest.raises(ReferenceError_, match=r"^experiment run: make_data\(\) raised ZeroDivisionError: division by zero$"):
        Scorer(parse_rubric(text), {**functions, "make_data": broken}).precompute()


def test_manual_points_by_question_id_titles_and_timing():
    import time

    text = """
id: m
title: Manual and timing
questions:
  - id: why
    title: Why does it drop?
    checks:
      - {kind: manual, points: 2, id: why.essay}
  - id: slow
    checks:
      - {kind: value, points: 1, expected: {call: slow, args: []}}
"""
    def slow():
        time.sleep(0.02)
        return 1.0

    questions = Scorer(parse_rubric(text), {"slow": slow}).score(StudentWork(answers={"slow": 1.0}), manual={"why": 1.5})
    why, timed = questions[0], questions[1].checks[0]
    assert why.title == "Why does it drop?" and why.score == 1.5 and why.checks[0].message == "graded by a TA"
    assert questions[1].title is None
    assert isinstance(timed.seconds, float) and 0.02 <= timed.seconds < 5 and timed.seconds == round(timed.seconds, 4)
