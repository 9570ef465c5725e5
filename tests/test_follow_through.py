"""Error carried forward: credit for answers consistent with the student's own earlier answers."""

from __future__ import annotations

from pathlib import Path

from grader import grade, load_assignment
from grader.rubric import parse_rubric

from .conftest import write

RIGHT = dict(y_hat=[14, 20], loss=200, dL_dy_hat=[12, 16], dL_dw=[44, 72, 100], dL_db=28,
             w_new=[1.56, 0.28, 2.0], b_new=0.72, y_hat_new=[8.84, 12.68], loss_new=61.064)


def answers(tmp_path: Path, name: str = "student", **changes) -> Path:
    values = {**RIGHT, **changes}
    return write(tmp_path / f"{name}.yaml", "\n".join(f"{k}: {v}" for k, v in values.items()))


def test_consistent_later_answer_gets_full_credit_and_says_why(tmp_path, conv1d):
    # y_hat wrong (bias forgotten); the loss computed correctly from it
    report = grade(answers(tmp_path, y_hat=[13, 19], loss=173), conv1d)
    assert report.check("y_hat").score == 0
    loss = report.check("loss")
    assert loss.score == 1 and loss.follow_through
    assert "consistent with your earlier answer" in loss.message and "y_hat" in loss.message


def test_inconsistent_later_answer_gets_nothing(tmp_path, conv1d):
    report = grade(answers(tmp_path, y_hat=[13, 19], loss=150), conv1d)
    assert report.check("loss").score == 0
    assert not report.check("loss").follow_through


def test_right_answer_after_wrong_one_is_marked_against_the_truth(tmp_path, conv1d):
    # the intermediate typo of a real hand-in: dL_dw written wrong, the update used the right value
    report = grade(answers(tmp_path, dL_dw=[44, 42, 100]), conv1d)
    assert report.check("dL_dw").score == 0
    assert report.check("w_new").score == 1 and not report.check("w_new").follow_through
    assert report.score == 8


def test_follow_through_chains_through_several_steps(tmp_path, conv1d):
    # wrong learning-rate step: w_new wrong, y_hat_new and loss_new follow from it
    w_new = [1.12, -0.44, 1.0]  # lr 0.02
    y_hat_new = [1 * 1.12 + 2 * -0.44 + 3 * 1.0 + 0.72, 2 * 1.12 + 3 * -0.44 + 4 * 1.0 + 0.72]
    loss_new = 0.5 * ((y_hat_new[0] - 2) ** 2 + (y_hat_new[1] - 4) ** 2)
    report = grade(answers(tmp_path, w_new=w_new, y_hat_new=y_hat_new, loss_new=loss_new), conv1d)
    assert report.check("w_new").score == 0
    assert report.check("y_hat_new").follow_through and report.check("y_hat_new").score == 1
    assert report.check("loss_new").score == 1


def test_follow_through_credit_is_configurable(tmp_path, root):
    text = (root / "rubrics" / "conv1d.yaml").read_text()
    half = text.replace("expected: {call: squared_error, args: [\"@y_hat\", \"$y\"]}",
                        "expected: {call: squared_error, args: [\"@y_hat\", \"$y\"]}\n        follow_through_credit: 0.5", 1)
    off = text.replace("expected: {call: squared_error, args: [\"@y_hat\", \"$y\"]}",
                       "expected: {call: squared_error, args: [\"@y_hat\", \"$y\"]}\n        follow_through: false", 1)
    submission = answers(tmp_path, y_hat=[13, 19], loss=173)
    assert grade(submission, load_assignment(parse_rubric(half))).check("loss").score == 0.5
    assert grade(submission, load_assignment(parse_rubric(off))).check("loss").score == 0
