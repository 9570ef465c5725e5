"""``grader new ID``: a working, commented assignment that ``grader validate`` passes at once."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from grader.cli import main


def grader(*args, cwd):
    """The command in a fresh interpreter: the new reference package must be the one imported."""
    return subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_new_writes_a_commented_assignment_that_validates_at_once(tmp_path):
    result = CliRunner().invoke(main, ["new", "linear_relu", "--title", "Linear layer: z = Wx + b", "--root", str(tmp_path)])
    assert result.exit_code == 0, result.output
    files = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert files == {"reference/__init__.py", "reference/linear_relu.py", "rubrics/linear_relu.yaml", "rubrics/linear_relu.md",
                     "submissions/linear_relu/manifest.yaml", "submissions/linear_relu/right/answers.yaml",
                     "submissions/linear_relu/right/linear_relu.py", "submissions/linear_relu/wrong/answers.yaml",
                     "submissions/linear_relu/wrong/linear_relu.py"}
    rubric = (tmp_path / "rubrics/linear_relu.yaml").read_text()
    assert 'title: "Linear layer: z = Wx + b"' in rubric and "reference: reference.linear_relu" in rubric
    for name in ("rubrics/linear_relu.yaml", "reference/linear_relu.py", "submissions/linear_relu/manifest.yaml"):
        assert "CHANGE" in (tmp_path / name).read_text(), name  # each part says what to change
    assert "function: relu_forward_backward" in rubric and "select: [1]" in rubric and "*code_tolerance" in rubric
    checked = grader("validate", "rubrics/linear_relu.yaml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "2/2 examples as the manifest says" in checked.stdout
    wrong = grader("check", "rubrics/linear_relu.yaml", "submissions/linear_relu/wrong", "--json", cwd=tmp_path)
    assert '"mistake": "You left out the bias b."' in wrong.stdout and "consistent with your earlier answer for z" in wrong.stdout


def test_validate_without_examples_checks_the_rubric_alone(tmp_path):
    assert CliRunner().invoke(main, ["new", "solo", "--root", str(tmp_path)]).exit_code == 0
    for path in sorted((tmp_path / "submissions").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    missing = grader("validate", "rubrics/solo.yaml", cwd=tmp_path)
    assert missing.returncode == 2 and "--no-examples" in missing.stderr
    alone = grader("validate", "rubrics/solo.yaml", "--no-examples", cwd=tmp_path)
    assert alone.returncode == 0 and "rubric solo: 7 points, references run (examples not checked)" in alone.stdout
    (tmp_path / "reference/solo.py").write_text("raise RuntimeError('half-written')\n")
    broken = grader("validate", "rubrics/solo.yaml", "--no-examples", cwd=tmp_path)
    assert broken.returncode == 2 and "cannot import 'reference.solo'" in broken.stderr


def test_new_never_overwrites_and_refuses_a_bad_id(tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["new", "first", "--root", str(tmp_path)]).exit_code == 0
    (tmp_path / "rubrics/first.yaml").write_text("id: first  # my edits\n")
    again = runner.invoke(main, ["new", "first", "--root", str(tmp_path)])
    assert again.exit_code == 2 and "already exists (nothing was written)" in again.output
    assert (tmp_path / "rubrics/first.yaml").read_text() == "id: first  # my edits\n"
    for bad in ("Bad-Id", "class", "1st", "../evil"):
        result = runner.invoke(main, ["new", bad, "--root", str(tmp_path)])
        assert result.exit_code == 2 and "lower-case Python name" in result.output, bad
    assert not (tmp_path.parent / "evil.yaml").exists()
