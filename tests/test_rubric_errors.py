"""A broken rubric is reported with file, line, field and what was expected."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from grader import RubricError, load_assignment
from grader.cli import main
from grader.rubric import load_rubric

from .conftest import write

GOOD = """\
id: tiny
title: Tiny
reference: reference.conv1d
given:
  x: [1, 2, 3, 4]
questions:
  - id: y_hat
    points: 1
    checks:
      - kind: value
        points: 1
        expected: {call: conv1d_forward, args: ["$x", [1, 1], 0]}
"""


def problems(tmp_path, text):
    path = write(tmp_path / "rubric.yaml", text)
    with pytest.raises(RubricError) as info:
        load_assignment(path)
    return "\n".join(info.value.problems), path


def test_good_rubric_loads(tmp_path):
    assert load_assignment(write(tmp_path / "r.yaml", GOOD)).rubric.max_points == 1


def test_bad_field_names_file_line_and_field(tmp_path):
    text, path = problems(tmp_path, GOOD.replace("points: 1\n        expected", "points: lots\n        expected"))
    assert f"{path}:11:" in text
    assert "questions[0].checks[0].points" in text
    assert "valid number" in text and "'lots'" in text


def test_unknown_field_is_refused(tmp_path):
    text, _ = problems(tmp_path, GOOD.replace("        points: 1\n", "        points: 1\n        tolerence: {rtol: 1}\n"))
    assert "tolerence" in text and "Extra inputs are not permitted" in text


def test_unknown_reference_function_is_named(tmp_path):
    text, path = problems(tmp_path, GOOD.replace("conv1d_forward", "conv1d_forwrd"))
    assert str(path) in text and "'conv1d_forwrd'" in text and "reference.conv1d" in text


def test_unknown_reference_module(tmp_path):
    text, _ = problems(tmp_path, GOOD.replace("reference.conv1d", "reference.nope"))
    assert "cannot import 'reference.nope'" in text


def test_undefined_given_and_answer(tmp_path):
    text, _ = problems(tmp_path, GOOD.replace('"$x"', '"$z"'))
    assert "$z" in text and "not in 'given'" in text
    text, _ = problems(tmp_path, GOOD.replace('"$x"', '"@loss"'))
    assert "@loss" in text and "no value check answers" in text


def test_points_must_add_up(tmp_path):
    text, _ = problems(tmp_path, GOOD.replace("    points: 1\n    checks", "    points: 3\n    checks"))
    assert "points is 3.0 but the checks add up to 1.0" in text


def test_not_yaml(tmp_path):
    path = write(tmp_path / "r.yaml", "id: [unclosed\n")
    with pytest.raises(RubricError) as info:
        load_rubric(path)
    assert f"{path}:" in str(info.value) and "not valid YAML" in str(info.value)


def test_cli_reports_rubric_errors_with_exit_code_2(tmp_path):
    path = write(tmp_path / "r.yaml", GOOD.replace("conv1d_forward", "conv1d_forwrd"))
    submission = write(tmp_path / "s.yaml", "y_hat: [1, 2, 3]\n")
    result = CliRunner().invoke(main, ["check", str(path), str(submission)])
    assert result.exit_code == 2
    assert "conv1d_forwrd" in result.output


def test_schema_command_prints_the_rubric_schema():
    result = CliRunner().invoke(main, ["schema"])
    schema = json.loads(result.output)
    assert result.exit_code == 0 and "questions" in schema["properties"]
    kinds = json.dumps(schema)
    assert all(kind in kinds for kind in ('"value"', '"function"', '"manual"'))
