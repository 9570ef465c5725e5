"""The course pack: every rubric loads, its references and distractors run, its sheet matches it, and
the training thresholds hold for the references' own runs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from grader import load_assignment
from grader.rubric import TrainingCheck
from grader.checks.scorer import Scorer

ROOT = Path(__file__).resolve().parent.parent
PACK = ["conv1d", "twolayer", "cnn_attention", "backprop_conv2d"]


@pytest.mark.parametrize("assignment_id", PACK)
def test_rubric_references_and_sheet_agree(assignment_id):
    assignment = load_assignment(ROOT / "rubrics" / f"{assignment_id}.yaml")
    Scorer(assignment.rubric, assignment.functions).precompute()  # references, distractors, experiment data
    sheet = (ROOT / "rubrics" / assignment.rubric.sheet).read_text()
    total = re.search(r"Total (\d+(?:\.\d+)?)", sheet)
    assert total and float(total.group(1)) == assignment.rubric.max_points
    for question in assignment.rubric.questions:
        named = question.id in sheet or any(getattr(c, "function", None) and c.function in sheet for c in question.checks)
        assert named or isinstance(question.checks[0], TrainingCheck), f"{question.id} is not on the sheet"


def test_calibration_reports_the_reference_figures_and_the_requirements_hold(capsys):
    from reference.calibrate import main

    assert main(["twolayer"]) == 0
    out = capsys.readouterr().out
    assert "final_loss 0.01571" in out and "holds  train.toy: final_loss < 0.02 (margin +0.004" in out
    assert "holds  train.tuned: test_acc >= 0.9 (margin +0.07" in out
    assert "FAILS" not in out


def _numbers(value) -> list[float]:
    if isinstance(value, dict):
        return [x for item in value.values() for x in _numbers(item)]
    if isinstance(value, (tuple, list)):
        return [x for item in value for x in _numbers(item)]
    return [float(x) for x in np.ravel(np.asarray(value, dtype=float))]


def hidden_values(assignment) -> set[str]:
    """Every hidden input, case binding, expected and distractor output, as a report could print it."""
    scorer = Scorer(assignment.rubric, assignment.functions)
    checker = scorer.function_checks
    numbers: list[float] = []
    for check in assignment.rubric.checks():
        if check.visibility != "hidden" or check.kind != "function":
            continue
        for case in checker.cases(check):
            numbers += _numbers([case.args, case.kwargs, case.bound, checker.reference(check, case)])
            for d in check.distractors:
                numbers += _numbers(checker._reference_call(check, d.call, case, d.kwargs))
    fractional = [v for v in numbers if abs(v) > 1e-3 and v != round(v)]
    assert len(fractional) > 50
    # full precision: public cases print hundreds of numbers, and short prefixes would match by chance
    # (and short ones such as 8.5, a count's distractor, are no secret)
    return {text for v in fractional for text in (repr(v), f"{v:.8g}") if len(text) >= 8}


@pytest.mark.parametrize("assignment_id, example", [("twolayer", "relu_mask_missing"), ("cnn_attention", "row_major"),
                                                    ("backprop_conv2d", "flipped_kernel")])
def test_hidden_checks_name_mistakes_but_leak_no_values(assignment_id, example):
    from grader import grade
    from grader.reporters.markdown import render_markdown
    from grader.rubric import load_rubric

    rubric = load_rubric(ROOT / "rubrics" / f"{assignment_id}.yaml")
    rubric = rubric.model_copy(update={"questions": [q for q in rubric.questions
                                                     if not any(isinstance(c, TrainingCheck) for c in q.checks)]})
    assignment = load_assignment(rubric)
    report = grade(ROOT / "submissions" / assignment_id / example, assignment)
    hidden = [c for q in report.questions for c in q.checks if c.visibility == "hidden"]
    assert any(c.mistake for c in hidden), "the example should fail a hidden check with a named mistake"
    assert all(c.got is None and c.expected is None and c.rel_error is None and c.metrics is None for c in hidden)
    student_facing = report.model_dump_json() + render_markdown(report)
    leaks = [number for number in hidden_values(assignment) if number in student_facing]
    assert not leaks, f"hidden values in the report: {leaks[:5]}"
