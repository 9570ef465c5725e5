"""`grader ci` and `grader init-ci`: JUnit, annotations, the job summary, the Points line, exit codes."""

from __future__ import annotations

import base64
import json
from pathlib import Path
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
import yaml
from click.testing import CliRunner

from grader.submissions.staging import stage
from grader.cli import main

from grader.rubric import load_rubric

from .conftest import write
from .test_cli import hidden_numbers

MAX = f"{load_rubric(Path(__file__).resolve().parent.parent / 'rubrics/conv1d.yaml').max_points:g}"
NO_GITHUB = {"GITHUB_STEP_SUMMARY": "", "GITHUB_OUTPUT": ""}  # when these tests themselves run on GitHub Actions


@pytest.fixture(scope="module")
def failing_run(tmp_path_factory, root):
    """`grader ci` on forgot_bias (11 points, hidden checks included), under GitHub's environment variables."""
    tmp = tmp_path_factory.mktemp("ci")
    summary = write(tmp / "summary.md", "# An earlier step's summary\n\n")
    outputs = write(tmp / "github_output", "earlier=1\n")
    env = {"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(outputs)}
    result = CliRunner().invoke(main, ["ci", str(root / "rubrics/conv1d.yaml"), str(root / "submissions/conv1d/forgot_bias"),
                                       "--junit", str(tmp / "reports/junit.xml"), "--out", str(tmp / "reports")], env=env)
    return tmp, result


def failed_checks(report: dict) -> set[tuple[str, str]]:
    return {(q["id"], c["id"]) for q in report["questions"] for c in q["checks"] if c["status"] in ("failed", "error")}


def test_ci_writes_one_testcase_per_check_and_fails_with_the_failed_checks(failing_run, conv1d):
    tmp, result = failing_run
    assert result.exit_code == 1, result.output
    report = json.loads((tmp / "reports/report.json").read_text())
    assert report["score"] == 11 and report["max_score"] == conv1d.rubric.max_points
    suites = ET.parse(tmp / "reports/junit.xml").getroot()
    cases = suites.findall("./testsuite/testcase")
    checks = [(q.id, c.id) for q in conv1d.rubric.questions for c in q.checks]
    assert [(c.get("classname"), c.get("name")) for c in cases] == checks
    failures = {(c.get("classname"), c.get("name")): c.find("failure") for c in cases if c.find("failure") is not None}
    assert set(failures) == failed_checks(report) == {("y_hat", "y_hat"), ("y_hat_new", "y_hat_new"),
                                                      ("conv1d_forward", "conv1d_forward.public"),
                                                      ("conv1d_forward", "conv1d_forward.hidden"),
                                                      # forgot_bias has no train_mlp/train_cnn for the experiment
                                                      ("equivariance", "equivariance.learn"), ("equivariance", "equivariance.drop"),
                                                      ("equivariance", "equivariance.cnn_less")}
    messages = {(q["id"], c["id"]): c["message"] for q in report["questions"] for c in q["checks"]}
    assert all(element.get("message") == messages[key] for key, element in failures.items())
    suite = suites.find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == (str(len(checks)), "7", "0")


def test_ci_prints_annotations_and_the_points_line(failing_run):
    _, result = failing_run
    lines = result.stdout.splitlines()
    errors = [line for line in lines if line.startswith("::error ")]
    assert len(errors) == 7
    assert any(line.startswith("::error title=y_hat (0/1 points)::values differ") for line in errors)
    assert any("conv1d_forward / conv1d_forward.hidden" in line and "hidden inputs" in line for line in errors)
    assert f"::notice title=Autograding complete::Points 11/{MAX}" in lines
    assert lines[-1] == f"Points 11/{MAX}"
    assert lines.count(f"Points 11/{MAX}") == 1


def test_ci_appends_the_summary_and_the_step_outputs(failing_run, conv1d):
    tmp, _ = failing_run
    summary = (tmp / "summary.md").read_text()
    assert summary.startswith("# An earlier step's summary\n")
    assert f"## conv1d: forgot_bias: 11/{MAX} points" in summary
    assert summary.count("| ❌ |") == 7 and "conv1d_forward.hidden (hidden)" in summary
    outputs = dict(line.split("=", 1) for line in (tmp / "github_output").read_text().splitlines())
    assert outputs["earlier"] == "1" and outputs["points"] == "11" and outputs["max-points"] == MAX
    classroom = json.loads(base64.b64decode(outputs["result"]))
    assert classroom["status"] == "fail" and classroom["max_score"] == conv1d.rubric.max_points
    assert sum(t["score"] for t in classroom["tests"]) == 11 and len(classroom["tests"]) == len(conv1d.rubric.checks())


def test_ci_leaks_no_hidden_value(failing_run, conv1d):
    tmp, result = failing_run
    outputs = (tmp / "github_output").read_text()
    classroom = base64.b64decode(outputs.split("result=")[1].split()[0]).decode()
    texts = [result.output, classroom] + [p.read_text() for p in tmp.rglob("*") if p.is_file()]
    leaks = [number for number in hidden_numbers(conv1d) for text in texts if number in text]
    assert not leaks, leaks[:5]


def test_ci_with_a_student_kit_passes_and_exits_0(tmp_path, root):
    kit = tmp_path / "kit"
    assert CliRunner().invoke(main, ["bundle", str(root / "rubrics/conv1d.yaml"), "--out", str(kit)]).exit_code == 0
    result = CliRunner().invoke(main, ["ci", str(kit), str(root / "submissions/conv1d/complete"),  # with the experiment
                                       "--junit", str(tmp_path / "junit.xml"), "--out", str(tmp_path)], env=NO_GITHUB)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "Points 16/19"  # the three free-text questions await a TA
    assert "::error" not in result.stdout
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert len(suite.findall("testcase")) == 17 and suite.get("failures") == "0"
    assert not list(suite.iter("failure"))


def test_ci_exits_2_on_a_bad_rubric(tmp_path, root):
    bad = write(tmp_path / "bad.yaml", "id: bad\ntitle: Bad\nquestions:\n  - id: q\n    checks: [{kind: nonsense}]\n")
    result = CliRunner().invoke(main, ["ci", str(bad), str(root / "submissions/conv1d/rounded.yaml"),
                                       "--junit", str(tmp_path / "junit.xml"), "--out", str(tmp_path)], env=NO_GITHUB)
    assert result.exit_code == 2, result.output
    assert "bad.yaml" in result.output and not (tmp_path / "junit.xml").exists()


def test_staging_leaves_out_the_kit_dot_folders_and_the_graders_outputs(tmp_path):
    repo = tmp_path / "repo"
    for name in ("answers.yaml", "conv1d.py", "notes/extra.py", "kit/rubric.yaml", "kit/kit.json", ".github/workflows/grade.yml",
                 ".git/config", "junit.xml", "grading/report.json", "report.json", "__pycache__/x.pyc"):
        write(repo / name, "x: 1\n")
    staged = stage(repo, tmp_path / "stage", exclude=[repo / "kit", repo / "junit.xml", repo / "grading", repo / "report.json"])
    assert staged.files() == ["answers.yaml", "conv1d.py", "notes/extra.py"]
    left_out = " ".join(e.message for e in staged.events)
    assert all(name in left_out for name in (".git", ".github", "kit", "junit.xml", "grading", "report.json", "__pycache__"))


def test_init_ci_writes_a_workflow_whose_grading_step_runs(tmp_path, root):
    repo = tmp_path / "student-repo"
    spec = "git+https://github.com/example-course/dl-grader@v0.1.0"
    result = CliRunner().invoke(main, ["init-ci", "--install", spec, "--bundle", str(root / "rubrics/conv1d.yaml"), "--repo", str(repo)])
    assert result.exit_code == 0, result.output
    for file in (root / "submissions/conv1d/complete").iterdir():
        shutil.copy(file, repo / file.name)
    again = CliRunner().invoke(main, ["init-ci", "--install", spec, "--repo", str(repo)])
    assert again.exit_code == 2 and "--force" in again.output

    workflow = yaml.safe_load((repo / ".github/workflows/grade.yml").read_text())
    assert workflow["name"] == "Autograding Tests"
    assert "push" in workflow.get("on", workflow.get(True))  # PyYAML reads the key `on` as True
    job = workflow["jobs"]["run-autograding-tests"]
    steps = job["steps"]
    assert steps[0]["uses"].startswith("actions/checkout@") and steps[1]["uses"].startswith("actions/setup-python@")
    install = next(s for s in steps if s.get("id") == "install")["run"]
    assert spec in install and "download.pytorch.org/whl/cpu" in install
    assert steps[-1]["if"] == "always()" and steps[-1]["uses"].startswith("actions/upload-artifact@")

    env = {**os.environ, **job["env"], "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
           "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"), "GITHUB_OUTPUT": str(tmp_path / "outputs")}
    runs = [s["run"] for s in steps if "run" in s and s.get("id") != "install"]
    assert len(runs) == 1 and runs[0].startswith("grader ci kit .")
    proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", runs[0]], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1] == "Points 16/19"  # the three free-text questions await a TA
    assert json.loads((repo / "grading/report.json").read_text())["score"] == 16
    assert ET.parse(repo / "junit.xml").getroot().find("testsuite").get("tests") == "17"
    assert "16/19 points" in (tmp_path / "summary.md").read_text()


BROKEN_RUBRIC = """\
id: broken
title: A reference that raises
reference: broken_reference_for_ci
given: {x: 1}
questions:
  - id: a
    checks:
      - {kind: value, points: 1, expected: {call: answer, args: ["$x"]}}
"""


def test_ci_exits_2_when_the_submission_cannot_be_graded(tmp_path, monkeypatch):
    write(tmp_path / "broken_reference_for_ci.py", "def answer(x):\n    raise RuntimeError('reference is broken')\n\n\nRUBRIC_FUNCTIONS = {'answer': answer}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    rubric = write(tmp_path / "broken.yaml", BROKEN_RUBRIC)
    answers = write(tmp_path / "work/answers.yaml", "a: 1\n")
    summary = write(tmp_path / "summary.md", "")
    result = CliRunner().invoke(main, ["ci", str(rubric), str(answers), "--junit", str(tmp_path / "junit.xml"), "--out", str(tmp_path)],
                                env={**NO_GITHUB, "GITHUB_STEP_SUMMARY": str(summary)})
    assert result.exit_code == 2, result.output
    assert "::error title=Could not grade::" in result.stdout and "Points" not in result.stdout
    case = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite/testcase")
    assert case.find("error").get("type") == "not-gradable" and "reference is broken" in case.find("error").get("message")
    assert "could not be graded" in summary.read_text()
