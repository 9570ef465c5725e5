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
    assert "questions[0].checks[0].tolerence: unknown field (did you mean 'tolerance'?)" in text


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


FUNCTION = """\
id: tiny
title: Tiny
reference: reference.conv1d
defaults: &random_x {random: normal, shape: [9]}
questions:
  - id: forward
    checks:
      - kind: function
        function: conv1d_forward
        points: 1
        reference: conv1d_forward
        select: [0]
        random_cases:
          count: 2
          seed: 1
          args: [{random: normal, shape: [9]}, {random: normal, shape: [3]}, 0.5]
"""


def cli_problems(tmp_path, text):
    """What ``grader validate`` says about a broken rubric (exit code 2)."""
    path = write(tmp_path / "rubric.yaml", text)
    result = CliRunner().invoke(main, ["validate", str(path), "--no-examples"])
    assert result.exit_code == 2, result.output
    return result.output, path


def test_a_mistyped_key_inside_a_random_spec_is_reported_at_that_key(tmp_path):
    text, path = cli_problems(tmp_path, FUNCTION.replace("{random: normal, shape: [3]}", "{random: normal, shap: [3]}"))
    assert f"{path}:16: questions[0].checks[0].random_cases.args[1].shap: unknown field (did you mean 'shape'?)" in text
    assert "args[1].random:" not in text


def test_a_bad_random_distribution_is_reported_at_random(tmp_path):
    text, path = cli_problems(tmp_path, FUNCTION.replace("{random: normal, shape: [3]}", "{random: gauss, shape: [3]}"))
    assert f"{path}:16: questions[0].checks[0].random_cases.args[1].random: Input should be 'normal'" in text


def test_select_that_is_not_a_list_is_reported_at_select_not_at_function(tmp_path):
    text, path = cli_problems(tmp_path, FUNCTION.replace("select: [0]", "select: 0"))
    assert f"{path}:12: questions[0].checks[0].select: Input should be a valid list (got 0)" in text
    assert ".function:" not in text


def test_a_mistyped_key_in_a_call_is_reported_at_that_key(tmp_path):
    text, path = cli_problems(tmp_path, GOOD.replace('args: ["$x", [1, 1], 0]}', 'args: ["$x", [1, 1], 0], pik: 0}'))
    assert f"{path}:12: questions[0].checks[0].expected.pik: unknown field (did you mean 'pick'?)" in text


def test_a_field_from_a_yaml_anchor_is_found_through_the_merge_key(tmp_path):
    anchored = FUNCTION.replace("defaults: &random_x {random: normal, shape: [9]}\n", "") + """\
  - id: backward
    checks:
      - &fn_check
        kind: function
        points: 1
        reference: conv1d_backward
        cases: [{args: ["$x", [1.0, 1.0], 0.0, [1.0, 1.0, 1.0]]}]
        tolerance: {rtol: -1}
      - <<: *fn_check
        function: conv1d_backward
""".replace('"$x"', "[1.0, 2.0, 3.0, 4.0]")
    text, path = cli_problems(tmp_path, anchored)
    # both checks are wrong; the second's bad tolerance comes from the anchor, so its line is the anchor's
    assert f"{path}:23: questions[1].checks[0].tolerance.rtol: Input should be greater than or equal to 0 (got -1)" in text
    assert f"{path}:23: questions[1].checks[1].tolerance.rtol:" in text
