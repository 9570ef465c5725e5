"""The three user commands end to end, and what students must never see."""

from __future__ import annotations

import csv
import json

import numpy as np
from click.testing import CliRunner

from grader.cli import main
from grader.checks.scorer import Scorer
from grader.manifest import load_manifest

from .conftest import write


def hidden_numbers(assignment) -> set[str]:
    """Every hidden expected value and hidden input, as the strings a report could contain."""
    scorer = Scorer(assignment.rubric, assignment.functions)
    expected = scorer.precompute()
    numbers: list[float] = []
    for check in assignment.rubric.checks():
        if check.visibility != "hidden":
            continue
        for value in expected[check.id]:
            numbers += _flatten(value)
        for args, kwargs in scorer._cases(check):
            numbers += _flatten(args) + _flatten(list(kwargs.values()))
    assert len(numbers) > 50
    return {text for v in numbers for text in (repr(float(v)), f"{v:.6g}", f"{v:.5f}") if abs(v) > 1e-3}


def _flatten(value) -> list[float]:
    if isinstance(value, (tuple, list)):
        return [x for item in value for x in _flatten(item)]
    return [float(x) for x in np.ravel(np.asarray(value, dtype=float))]


def test_grade_writes_gradebook_and_reports_and_leaks_no_hidden_value(tmp_path, root, conv1d):
    out = tmp_path / "results"
    result = CliRunner().invoke(main, ["grade", str(root / "rubrics/conv1d.yaml"), str(root / "submissions/conv1d"),
                                       "--out", str(out), "--jobs", "2"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((out / "gradebook.csv").open()))
    assert list(rows[0].keys()) == ["submission", "total", "max_total", *[q.id for q in conv1d.rubric.questions]]
    scores = {row["submission"]: float(row["total"]) for row in rows}
    assert scores["all_right"] == 16 and scores["forgot_bias"] == 11 and scores["malformed_value"] == 8
    report = json.loads((out / "forgot_bias" / "report.json").read_text())
    assert report["score"] == 11 and report["max_score"] == conv1d.rubric.max_points
    feedback = (out / "forgot_bias" / "feedback.md").read_text()
    assert "consistent with your earlier answer" in feedback
    # everything but the grader's own cache (its transcripts hold the students' answers to hidden cases)
    student_facing = [p.read_text() for p in out.rglob("*") if p.is_file() and ".cache" not in p.relative_to(out).parts]
    leaks = [number for number in hidden_numbers(conv1d) for text in student_facing + [result.output] if number in text]
    assert not leaks, f"hidden values in student-facing output: {leaks[:5]}"
    assert (out / ".cache").stat().st_mode & 0o077 == 0, "the cache is readable by others"
    assert not any(p.name == ".cache" for folder in out.iterdir() if folder.is_dir() for p in folder.rglob("*"))


def test_public_expected_values_are_shown_where_wrong(tmp_path, root):
    out = tmp_path / "results"
    CliRunner().invoke(main, ["grade", str(root / "rubrics/conv1d.yaml"), str(root / "submissions/conv1d/forgot_bias"), "--out", str(out)])
    report = json.loads((out / "forgot_bias" / "report.json").read_text())
    y_hat = report["questions"][0]["checks"][0]
    assert y_hat["expected"] == [14.0, 20.0] and y_hat["got"] == [13, 19]


def test_check_exit_codes(tmp_path, root):
    rubric = str(root / "rubrics/conv1d.yaml")
    runner = CliRunner()
    ok = runner.invoke(main, ["check", rubric, str(root / "submissions/conv1d/complete")])
    assert ok.exit_code == 0, ok.output
    assert "hidden" not in ok.output  # a self-check runs public checks only
    wrong = runner.invoke(main, ["check", rubric, str(root / "submissions/conv1d/forgot_bias")])
    assert wrong.exit_code == 1 and "forgot_bias: 9 / 19" in wrong.output  # 12 + the experiment's 4 + 3 manual
    as_json = json.loads(runner.invoke(main, ["check", rubric, str(root / "submissions/conv1d/forgot_bias"), "--json"]).output)
    y_hat = as_json["questions"][0]["checks"][0]
    assert y_hat["expected"] == [14.0, 20.0] and y_hat["status"] == "failed"
    assert all(c["visibility"] == "public" for q in as_json["questions"] for c in q["checks"])
    usage = runner.invoke(main, ["check", rubric])
    assert usage.exit_code == 2
    missing = runner.invoke(main, ["check", str(tmp_path / "nope.yaml"), str(root / "submissions/conv1d/rounded.yaml")])
    assert missing.exit_code == 2


def test_validate_passes_for_conv1d(root):
    result = CliRunner().invoke(main, ["validate", str(root / "rubrics/conv1d.yaml"), "--jobs", "2"])
    assert result.exit_code == 0, result.output
    assert "13/13 examples as the manifest says" in result.output


def test_validate_fails_when_an_example_scores_differently(tmp_path, root):
    examples = tmp_path / "conv1d"
    write(examples / "rounded.yaml", (root / "submissions/conv1d/rounded.yaml").read_text())
    write(examples / "manifest.yaml", "rubric: conv1d\nexamples:\n  - path: rounded.yaml\n    score: 16\n")
    # what rounded.yaml really scores comes from the bundled manifest (tests/test_examples.py holds it to that)
    true_score = next(e.score for e in load_manifest(root / "submissions/conv1d/manifest.yaml").examples
                      if e.path == "rounded.yaml")
    assert true_score != 16
    result = CliRunner().invoke(main, ["validate", str(root / "rubrics/conv1d.yaml"), "--examples", str(examples)],
                                env={"COLUMNS": "400"})  # one table row per example, nothing wrapped
    assert result.exit_code == 1, result.output
    row = next(line for line in result.output.splitlines() if "rounded.yaml" in line)
    cells = [c.strip() for c in row.split("│")[1:-1]]
    assert cells[:4] == ["rounded.yaml", "16", f"{true_score:g}", "NO"], row
    assert cells[4].startswith(f"score {true_score:g} != 16"), row
    assert "0/1 examples as the manifest says" in result.output


def test_manual_points_come_from_the_overrides_file(tmp_path, root):
    rubric = write(tmp_path / "r.yaml", (root / "rubrics/conv1d.yaml").read_text() + """
  - id: why_drop
    title: Why does accuracy drop on shifted digits?
    checks:
      - kind: manual
        points: 2
        prompt: Explain in two sentences.
""")
    overrides = write(tmp_path / "overrides.yaml", "rounded:\n  why_drop: {points: 1.5, comment: half the story}\n")
    out = tmp_path / "results"
    result = CliRunner().invoke(main, ["grade", str(rubric), str(root / "submissions/conv1d/rounded.yaml"),
                                       str(root / "submissions/conv1d/malformed_value.yaml"),
                                       "--out", str(out), "--overrides", str(overrides)])
    assert result.exit_code == 0, result.output
    rows = {r["submission"]: r for r in csv.DictReader((out / "gradebook.csv").open())}
    assert rows["rounded"]["why_drop"] == "1.5" and rows["rounded"]["total"] == "11.5"
    assert rows["malformed_value"]["why_drop"] == "0"
    pending = json.loads((out / "malformed_value" / "report.json").read_text())
    assert pending["questions"][-1]["checks"][0]["status"] == "pending"
