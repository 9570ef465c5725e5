"""Grading fidelity: honest answers in unexpected but valid forms, conventions, partial credit, truthful feedback."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from grader import grade, load_assignment
from grader.cli import main
from grader.rubric import parse_rubric
from grader_worker.wire import WireError, from_wire, to_wire

from .conftest import write

RUBRIC = """
id: f
title: Fidelity
reference: reference.conv1d
given: {{x: [1, 2, 3, 4], w: [2, 1, 3], b: 1, y: [2, 4]}}
questions:
  - id: y_hat
    checks:
      - {{kind: value, points: 1, expected: {{call: conv1d_forward, args: ["$x", "$w", "$b"]}}, singleton_axes: {credit}}}
  - id: conv1d_forward
    checks:
      - kind: function
        points: 1
        partial: {partial}
        reference: conv1d_forward
        cases:
          - {{args: ["$x", "$w", "$b"]}}
          - {{args: ["$x", "$w"], kwargs: {{b: 0.0}}}}
"""


def assignment(credit: float = 0.5, partial: str = "per_case"):
    return load_assignment(parse_rubric(RUBRIC.format(credit=credit, partial=partial)))


@pytest.mark.parametrize("value", [np.array(3.5), torch.tensor(3.5), torch.tensor(3.5, requires_grad=True) * 1,
                                   np.longdouble(3.5), np.float32(3.5)])
def test_a_scalar_stays_a_scalar(value):
    back = from_wire(to_wire(value))
    assert np.shape(back) == () and float(back) == 3.5


def test_arrays_keep_shape_dtype_and_values():
    for array, dtype in ((np.arange(4.0, dtype=np.float16), np.float16), (np.arange(4.0, dtype=np.float32), np.float32),
                         (np.arange(4.0).astype(">f8"), np.float64), (np.arange(4, dtype=np.longdouble), np.float64),
                         (np.arange(12.0).reshape(3, 4)[:, ::2], np.float64), (np.arange(12.0).reshape(3, 4).T, np.float64)):
        back = from_wire(to_wire(array))
        assert back.dtype == dtype and back.dtype.isnative and back.shape == array.shape and np.array_equal(back, array)
    grad = torch.ones(2, 3, requires_grad=True) * 2
    assert from_wire(to_wire(grad)).tolist() == [[2.0] * 3] * 2
    assert from_wire(to_wire(torch.arange(6.0).reshape(2, 3).t())).tolist() == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
    with pytest.raises(WireError, match="meta device"):
        to_wire(torch.empty(3, device="meta"))


def test_right_values_with_a_singleton_axis_get_the_checks_credit_and_a_named_note(tmp_path):
    answers = write(tmp_path / "s" / "answers.yaml", "y_hat: [[14, 20]]\n")
    half = grade(answers.parent, assignment(0.5)).check("y_hat")
    assert half.score == 0.5 and half.status == "failed" and "(1, 2)" in half.note and "(2,)" in half.note
    strict = grade(answers.parent, assignment(0.0)).check("y_hat")
    assert strict.score == 0 and "shape" in strict.message
    wrong = write(tmp_path / "w" / "answers.yaml", "y_hat: [[14, 21]]\n")  # a singleton axis and a wrong value: 0
    assert grade(wrong.parent, assignment(0.5)).check("y_hat").score == 0


def test_partial_credit_per_case_or_all_or_nothing_and_keyword_arguments_shown(tmp_path):
    module = write(tmp_path / "s" / "conv.py", "import numpy as np\n\ndef conv1d_forward(x, w, b):\n"
                                               "    k = len(w)\n    return np.array([np.dot(x[i:i + k], w) for i in range(len(x) - k + 1)]) + 1\n")
    per_case = grade(module.parent, assignment(partial="per_case")).check("conv1d_forward")
    assert per_case.score == 0.5 and "1/2 cases passed (0.5 of 1 point, per case)" in per_case.message
    assert "b=0." in per_case.message  # the failing case, with its keyword argument
    strict = grade(module.parent, assignment(partial="all_or_nothing")).check("conv1d_forward")
    assert strict.score == 0 and "(all cases must pass)" in strict.message


def test_error_figures_are_the_failing_cases_and_none_is_relative_to_zero(tmp_path):
    module = write(tmp_path / "s" / "conv.py", "import numpy as np\n\ndef conv1d_forward(x, w, b):\n"
                                               "    k = len(w)\n    return np.array([np.dot(x[i:i + k], w) for i in range(len(x) - k + 1)]) + b + 0.0682\n")
    check = grade(module.parent, assignment()).check("conv1d_forward")
    assert check.max_abs_error == pytest.approx(0.0682) and "0.0682" in check.message


def test_a_mixed_convention_is_graded_against_the_losss_own(root):
    report = grade(root / "submissions" / "twolayer" / "mixed_convention", root / "rubrics" / "twolayer.yaml")
    w1 = report.check("grad_W1.public")
    assert w1.score == 0 and "graded against the reg * sum(W^2) convention" in w1.message
    assert report.check("grad_b1.public").score == 1  # the same in both conventions
    consistent = grade(root / "submissions" / "twolayer" / "half_convention", root / "rubrics" / "twolayer.yaml")
    assert consistent.check("grad_W1.public").score == 1 and "0.5 * reg" in (consistent.check("grad_W1.public").note or "")


def test_follow_through_rows_show_what_they_were_marked_against_and_the_kit_says_it_may_still_come(tmp_path, root):
    graded = grade(root / "submissions" / "conv1d" / "forgot_bias", root / "rubrics" / "conv1d.yaml").check("loss")
    assert graded.follow_through and graded.expected != graded.true_value and graded.true_value == 200
    kit = tmp_path / "kit"
    assert CliRunner().invoke(main, ["bundle", str(root / "rubrics" / "conv1d.yaml"), "--out", str(kit)]).exit_code == 0
    result = CliRunner().invoke(main, ["check", str(kit), str(root / "submissions" / "conv1d" / "forgot_bias"), "--json"])
    loss = next(c for q in json.loads(result.output)["questions"] for c in q["checks"] if c["id"] == "loss")
    assert loss["status"] == "failed" and "may still earn follow-through credit when graded" in loss["message"]


def test_validate_prints_the_margins_of_requirements_and_distractors(root):
    result = CliRunner().invoke(main, ["validate", str(root / "rubrics" / "backprop_conv2d.yaml"), "--jobs", "2"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "training requirements" in said and "margin +" in said
    assert "S_laplace: 0 of 1 cases" in said and "never told apart" in said
