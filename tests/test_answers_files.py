"""Answers files: bad values read well and lose nothing else."""

from __future__ import annotations

from grader import grade
from grader.submission import read_answers

from .conftest import write


def test_unclosed_list_names_file_line_and_answer(tmp_path):
    path = write(tmp_path / "answers.yaml", "y_hat: [14, 20]\nloss: 200\ndL_dw: [44, 72, 100\ndL_db: 28\n")
    answers, problems = read_answers(path)
    assert answers["y_hat"] == [14, 20] and answers["loss"] == 200 and answers["dL_db"] == 28
    assert any("answers.yaml:3: dL_dw: could not read the value" in p for p in problems)


def test_string_and_boolean_answers_get_a_clear_message(tmp_path, conv1d):
    path = write(tmp_path / "s.yaml", 'y_hat: "14, 20"\nloss: true\ndL_db: [28, abc]\n')
    report = grade(path, conv1d)
    assert "expected a number or a list of numbers, got str '14, 20'" in report.check("y_hat").message
    assert "got True" in report.check("loss").message
    assert "got str 'abc'" in report.check("dL_db").message


def test_wrong_shape_and_nan(tmp_path, conv1d):
    path = write(tmp_path / "s.yaml", "y_hat: [14, 20, 0]\ndL_dy_hat: [.nan, 16]\ndL_db: [28]\n")
    report = grade(path, conv1d)
    assert report.check("y_hat").message == "wrong shape: expected shape (2,), got shape (3,)"
    assert report.check("dL_dy_hat").message == "contains NaN or infinity"
    assert "expected a scalar, got shape (1,)" in report.check("dL_db").message


def test_ints_are_accepted_for_floats(tmp_path, conv1d):
    report = grade(write(tmp_path / "s.yaml", "loss: 200\nb_new: 0.72\n"), conv1d)
    assert report.check("loss").status == "passed" and report.check("b_new").status == "passed"


def test_json_answers_and_not_a_mapping(tmp_path, conv1d):
    assert grade(write(tmp_path / "a.json", '{"y_hat": [14, 20]}'), conv1d).check("y_hat").status == "passed"
    report = grade(write(tmp_path / "b.yaml", "- 14\n- 20\n"), conv1d)
    assert report.score == 0 and "expected a mapping of answer names to values" in report.events[0].message
