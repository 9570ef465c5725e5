"""Student kits: public checks only, no reference code, no hidden value, the same public verdicts."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import nbformat
import pytest
from click.testing import CliRunner
from nbclient import NotebookClient

from grader.cli import main

from .test_cli import hidden_numbers

EXAMPLES = ["all_right_files", "all_right.ipynb", "function_raises", "typo_in_gradient", "rounded.yaml", "malformed_value.yaml"]


@pytest.fixture(scope="module")
def kit(tmp_path_factory, root):
    out = tmp_path_factory.mktemp("kit") / "conv1d-kit"
    result = CliRunner().invoke(main, ["bundle", str(root / "rubrics/conv1d.yaml"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_kit_holds_no_reference_code_and_no_hidden_value(kit, conv1d):
    files = [p for p in kit.rglob("*") if p.is_file()]
    assert {p.name for p in files} == {"kit.json", "rubric.yaml", "README.md", "ASSIGNMENT.md"}
    text = "\n".join(p.read_text() for p in files)
    assert "def conv1d_forward" not in text and "import numpy" not in text
    assert "hidden" not in (kit / "rubric.yaml").read_text()
    leaks = [number for number in hidden_numbers(conv1d) if number in text]
    assert not leaks, leaks[:5]


def _check(rubric_or_kit, submission, cwd):
    """`grader check --json` in a fresh interpreter where the reference package cannot be imported."""
    code = "import sys; sys.modules['reference'] = None; from grader.cli import main; main()"
    proc = subprocess.run([sys.executable, "-c", code, "check", str(rubric_or_kit), str(submission), "--json"],
                          capture_output=True, text=True, cwd=cwd, timeout=120)
    return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else proc.stdout + proc.stderr


@pytest.mark.parametrize("example", EXAMPLES)
def test_kit_gives_the_instructors_public_verdicts(kit, root, tmp_path, example):
    submission = root / "submissions/conv1d" / example
    code, from_kit = _check(kit, submission, tmp_path)
    assert isinstance(from_kit, dict), from_kit
    instructor = CliRunner().invoke(main, ["check", str(root / "rubrics/conv1d.yaml"), str(submission), "--json"])
    expected = json.loads(instructor.output)
    verdicts = lambda r: {c["id"]: (c["status"], c["score"]) for q in r["questions"] for c in q["checks"]}  # noqa: E731
    assert verdicts(expected) and verdicts(from_kit) == verdicts(expected)  # (not two empty reports)
    assert code == instructor.exit_code


def test_follow_through_is_left_to_grading_in_the_kit(kit, root, tmp_path):
    # the kit has no reference to recompute from a wrong y_hat: loss is not credited there, but is when graded
    code, from_kit = _check(kit, root / "submissions/conv1d/forgot_bias", tmp_path)
    loss = next(c for q in from_kit["questions"] for c in q["checks"] if c["id"] == "loss")
    assert code == 1 and loss["status"] == "failed"


def test_check_inside_a_notebook(kit, tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("import numpy as np\ny_hat = np.array([14, 20])\nloss = 150\n"
                                                "from grader import check\nr1 = check('y_hat')\nr2 = check('loss')\n"
                                                "print('RESULT', r1.checks[0].status, r2.checks[0].status)")]
    env = {**os.environ, "GRADER_KIT": str(kit)}
    client = NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.km = client.create_kernel_manager()
    client.start_new_kernel(env=env)
    client.start_new_kernel_client()
    try:
        client.execute_cell(notebook.cells[0], 0)
    finally:
        client._cleanup_kernel()
    text = "".join(o.get("text", "") + "".join(o.get("data", {}).get(k, "") for k in ("text/plain", "text/html"))
                   for o in notebook.cells[0].outputs)
    assert "RESULT passed failed" in text
    assert "y_hat: 1 / 1" in text


def test_bundle_says_which_public_checks_give_away_an_answer(root, tmp_path):
    result = CliRunner().invoke(main, ["bundle", str(root / "rubrics/conv1d.yaml"), "--out", str(tmp_path / "kit")])
    assert result.exit_code == 0, result.output
    assert "What the kit gives away" in result.output
    assert "│ loss_new " in result.output and "the answer to loss_new (expected value)" in result.output
    assert "reference outputs on 2 public cases" in result.output  # conv1d_forward.public
    assert "conv1d_forward.hidden" not in result.output and "kit: hide" in result.output


def _hiding(root, tmp_path, check_line: str) -> tuple:
    text = (root / "rubrics/conv1d.yaml").read_text()
    assert check_line in text
    rubric = tmp_path / "rubrics" / "conv1d.yaml"
    rubric.parent.mkdir()
    rubric.write_text(text.replace(check_line, check_line.replace("expected:", "kit: hide\n        expected:")))
    result = CliRunner().invoke(main, ["bundle", str(rubric), "--out", str(tmp_path / "kit")])
    assert result.exit_code == 0, result.output
    return rubric, tmp_path / "kit", result.output


def test_kit_hide_keeps_an_expectation_out_of_the_kit_and_it_is_checked_at_grading(root, tmp_path):
    rubric, kit, output = _hiding(root, tmp_path, 'expected: {call: squared_error, args: ["@y_hat_new", "$y"]}')
    assert "kept out of the kit (kit: hide): loss_new" in output and "WARNING" not in output
    assert "61.06" not in (kit / "kit.json").read_text()  # L' = 61.064 is nowhere in the kit
    assert "loss_new" not in (kit / "rubric.yaml").read_text() and "loss_new" in (kit / "README.md").read_text()
    submission = root / "submissions/conv1d/all_right_files"
    in_kit = json.loads(CliRunner().invoke(main, ["check", str(kit), str(submission), "--json"]).output)
    assert "loss_new" not in {c["id"] for q in in_kit["questions"] for c in q["checks"]}
    graded = tmp_path / "graded"
    assert CliRunner().invoke(main, ["grade", str(rubric), str(submission), "--out", str(graded)]).exit_code == 0
    report = json.loads((graded / "all_right_files" / "report.json").read_text())
    loss_new = report["questions"][[q["id"] for q in report["questions"]].index("loss_new")]["checks"][0]
    assert loss_new["status"] == "passed" and loss_new["visibility"] == "public" and loss_new["expected"] == pytest.approx(61.064)


def test_kit_hide_on_an_answer_another_check_computes_is_flagged(root, tmp_path):
    _, kit, output = _hiding(root, tmp_path, 'expected: {call: conv1d_forward, args: ["$x", "$w", "$b"]}')
    # y_hat is dropped, and every check that builds on it; conv1d_forward's public case still computes [14, 20]
    assert "kept out of the kit (kit: hide): y_hat" in output
    assert "also left out (they use a kept-out answer): loss, dL_dy_hat, dL_dw" in output
    assert "WARNING kit: hide does not hide y_hat: its expected value is still in the kit, as a result of conv1d_forward" in output


def test_kit_hide_on_a_hidden_check_is_refused(tmp_path):
    from .test_rubric_errors import GOOD
    rubric = tmp_path / "r.yaml"
    rubric.write_text(GOOD.replace("        points: 1\n        expected", "        points: 1\n        visibility: hidden\n        kit: hide\n        expected"))
    result = CliRunner().invoke(main, ["bundle", str(rubric), "--out", str(tmp_path / "kit")])
    assert result.exit_code == 2 and "kit: hide applies to public checks" in result.output
