"""Re-scoring without re-running: a rubric change the transcripts can answer runs no student code."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.runner import kernel
from grader.transcripts import NeedsRerun, ReplayProcess, fingerprint

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ["all_right_files", "forgot_bias", "function_raises", "cnn_is_mlp"]


@pytest.fixture()
def graded(tmp_path):
    """A small class graded once with the shipped rubric (code, answers, a training experiment)."""
    klass = tmp_path / "class"
    for name in EXAMPLES:
        shutil.copytree(ROOT / "submissions" / "conv1d" / name, klass / name)
    rubric = tmp_path / "conv1d.yaml"
    shutil.copy(ROOT / "rubrics" / "conv1d.yaml", rubric)
    out = tmp_path / "out"
    first = CliRunner().invoke(main, ["grade", str(rubric), str(klass), "--out", str(out), "--format", "json"])
    assert first.exit_code == 0, first.output
    return klass, rubric, out


def scores(out: Path) -> dict[str, float]:
    return {p.parent.name: json.loads(p.read_text())["score"] for p in out.glob("*/report.json")}


def change(rubric: Path, old: str, new: str) -> None:
    text = rubric.read_text()
    assert old in text, old
    rubric.write_text(text.replace(old, new, 1))


def test_points_tolerances_and_requirements_change_without_running_any_student_code(graded, monkeypatch):
    klass, rubric, out = graded
    before = scores(out)
    assert (out / ".cache" / "transcripts").is_dir() and len(list((out / ".cache" / "transcripts").glob("*.json"))) == len(EXAMPLES)
    change(rubric, "  - id: y_hat\n    title: Forward pass\n    points: 1\n    checks:\n      - kind: value\n        points: 1",
           "  - id: y_hat\n    title: Forward pass\n    points: 3\n    checks:\n      - kind: value\n        points: 3")
    change(rubric, 'require: "mlp_val >= 0.9 and cnn_val >= 0.9"', 'require: "mlp_val >= 0.5 and cnn_val >= 0.5"')

    def no_kernel(self):  # re-scoring must not start one
        raise AssertionError("a kernel was started")

    monkeypatch.setattr(kernel.KernelSession, "start", no_kernel)
    again = CliRunner().invoke(main, ["grade", str(rubric), str(klass), "--out", str(out), "--format", "json"])
    assert again.exit_code == 0, again.output
    assert f"{len(EXAMPLES)} re-scored without running" in " ".join(again.output.split())
    after = scores(out)
    y_hat_right = {"all_right_files", "function_raises", "cnn_is_mlp"}  # forgot_bias has y_hat wrong
    for name, score in before.items():
        assert after[name] == pytest.approx(score + (2 if name in y_hat_right else 0)), name
    report = json.loads((out / "cnn_is_mlp" / "report.json").read_text())
    assert next(c for q in report["questions"] for c in q["checks"] if c["id"] == "equivariance.learn")["status"] == "passed"


def test_a_change_the_transcripts_cannot_answer_runs_the_code_again(graded):
    klass, rubric, out = graded
    change(rubric, "          count: 5\n          seed: 20261", "          count: 6\n          seed: 20261")  # a new hidden case
    again = CliRunner().invoke(main, ["grade", str(rubric), str(klass), "--out", str(out), "--format", "json"])
    assert again.exit_code == 0, again.output
    said = " ".join(again.output.split())
    assert "re-scored" not in said  # every submission with code needed the new call; the answers-only ones... none here
    hidden = json.loads((out / "all_right_files" / "report.json").read_text())
    assert next(c for q in hidden["questions"] for c in q["checks"] if c["id"] == "conv1d_forward.hidden")["message"] == "6/6 cases passed"
    change(rubric, "title: Forward pass", "title: The forward pass")  # answerable again, but --rerun runs the code anyway
    forced = CliRunner().invoke(main, ["grade", str(rubric), str(klass), "--out", str(out), "--format", "json", "--rerun"])
    assert forced.exit_code == 0 and "re-scored" not in " ".join(forced.output.split())


def test_a_replay_answers_only_what_was_asked():
    transcript = {"format": 1, "entries": {fingerprint(None, "get", "y_hat", False): {"missing": False, "error": None, "cpu": None,
                                                                                      "value": [14, 20]}}, "events": []}
    replay = ReplayProcess(transcript)
    assert replay.get("y_hat").value == [14, 20]
    with pytest.raises(NeedsRerun):
        replay.get("loss")
    with pytest.raises(NeedsRerun):
        replay.call("conv1d_forward", [[1.0]], {})
