"""Answers files: bad values read well and lose nothing else."""

from __future__ import annotations

import re
import time

import pytest

from grader import grade
from grader.submissions.answers import MAX_ANSWER_DEPTH, MAX_ANSWER_ELEMENTS, Unreadable, read_answers

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
    assert "the shape is (1,) where () is expected" in report.check("dL_db").message  # (right values: named, no credit here)
    assert report.check("dL_db").score == 0


def test_ints_are_accepted_for_floats(tmp_path, conv1d):
    report = grade(write(tmp_path / "s.yaml", "loss: 200\nb_new: 0.72\n"), conv1d)
    assert report.check("loss").status == "passed" and report.check("b_new").status == "passed"


def test_json_answers_and_not_a_mapping(tmp_path, conv1d):
    assert grade(write(tmp_path / "a.json", '{"y_hat": [14, 20]}'), conv1d).check("y_hat").status == "passed"
    report = grade(write(tmp_path / "b.yaml", "- 14\n- 20\n"), conv1d)
    assert report.score == 0 and "expected a mapping of answer names to values" in report.events[0].message


def _bomb(levels: int, merge: bool = False) -> str:
    """A 'billion laughs': each level refers ten times to the one before (lists, or mappings merged with <<)."""
    if merge:
        lines = ["l0: &l0 {" + ", ".join(f"k{i}: 1" for i in range(10)) + "}"]
        lines += [f"l{n}: &l{n} {{<<: [{', '.join([f'*l{n - 1}'] * 10)}]}}" for n in range(1, levels)]
    else:
        lines = ["l0: &l0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
        lines += [f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 10)}]" for n in range(1, levels)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("merge", [False, True], ids=["aliases", "merge-keys"])
def test_alias_bomb_is_refused_by_name_and_the_rest_kept(tmp_path, merge):
    path = write(tmp_path / "bomb.yaml", _bomb(8, merge) + "y_hat: *l7\nloss: 200\ndL_db: 28\n")
    started = time.monotonic()
    answers, problems = read_answers(path)
    assert time.monotonic() - started < 2
    assert isinstance(answers["y_hat"], Unreadable) and answers["loss"] == 200 and answers["dL_db"] == 28
    assert answers["y_hat"].reason == (f"bomb.yaml:9: y_hat: the value is too large "
                                       f"(more than {MAX_ANSWER_ELEMENTS} numbers/elements, aliases expanded)")
    assert answers["y_hat"].reason in problems and len(answers["l4"]) == 10  # small levels are kept


def test_alias_to_itself_is_refused(tmp_path):
    answers, problems = read_answers(write(tmp_path / "a.yaml", "y_hat: &y [1, *y]\nloss: 200\n"))
    assert answers["loss"] == 200 and problems == ["a.yaml:1: y_hat: the value contains itself (an alias inside its own anchor)"]


@pytest.mark.parametrize("depth", [17, 50_000])
def test_deep_nesting_is_refused_by_name_and_the_rest_kept(tmp_path, depth):
    deep = "[" * depth + "]" * depth
    for name, text in [("a.json", f'{{\n"y_hat": [14, 20],\n"dL_dw": {deep},\n"dL_db": 28\n}}\n'),
                       ("a.yaml", f"y_hat: [14, 20]\ndL_dw: {deep}\ndL_db: 28\n")]:
        answers, problems = read_answers(write(tmp_path / name, text))
        assert answers["y_hat"] == [14, 20] and answers["dL_db"] == 28, name
        assert isinstance(answers["dL_dw"], Unreadable) and len(problems) == 1, name
        assert re.match(rf"{re.escape(name)}(:\d+)?: dL_dw: .*nested more than {MAX_ANSWER_DEPTH} levels deep", problems[0]), problems


def test_a_large_answer_written_out_is_read(tmp_path):
    numbers = [round(0.001 * i, 3) for i in range(10**4)]
    rows = "".join(f"  - [{', '.join(map(str, numbers[i:i + 100]))}]\n" for i in range(0, 10**4, 100))
    answers, problems = read_answers(write(tmp_path / "big.yaml", f"y_hat: {numbers}\nw_new:\n{rows}loss: 200\n"))
    assert problems == [] and answers["y_hat"] == numbers and len(answers["w_new"]) == 100 and answers["loss"] == 200
    shared = "row: &row [" + ", ".join(["1"] * 100) + "]\n" + "y_hat: [" + ", ".join(["*row"] * 100) + "]\n"
    answers, problems = read_answers(write(tmp_path / "shared.yaml", shared))  # aliases: 10**4 numbers, within the cap
    assert problems == [] and len(answers["y_hat"]) == 100


def test_a_huge_wrong_answer_is_not_copied_into_the_report(tmp_path, conv1d):
    path = write(tmp_path / "s.json", '{"y_hat": [' + ", ".join(["1.5"] * 100_000) + '], "loss": 200}')
    report = grade(path, conv1d)
    y_hat = report.check("y_hat")
    assert y_hat.status == "failed" and "shape" in y_hat.message
    assert isinstance(y_hat.got, str) and "too large to show in full" in y_hat.got
    assert report.check("loss").got == 200
    assert len(report.model_dump_json()) < 20_000
