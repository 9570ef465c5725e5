"""Gradescope: results.json from `grade --format gradescope`, and the autograder zip run as Gradescope runs it."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile

from click.testing import CliRunner

from grader.cli import main
from grader.gradescope import extract

from .conftest import write
from .test_cli import hidden_numbers


def assert_valid_results(results: dict, score: float, max_score: float) -> None:
    """The fields Gradescope reads, with the types it expects."""
    assert results["score"] == score
    assert isinstance(results["execution_time"], int) and results["stdout_visibility"] == "hidden"
    tests = results["tests"]
    for test in tests:
        assert {"name", "number", "score", "max_score", "output", "visibility"} <= set(test)
        # a manual (TA-graded) check that is still pending has no status yet
        assert test.get("status") in ("passed", "failed") or test["output"].startswith("Graded by hand")
        assert test["visibility"] in ("visible", "after_published")
        assert 0 <= test["score"] <= test["max_score"]
    assert len({t["number"] for t in tests}) == len(tests)
    assert sum(t["score"] for t in tests) == score and sum(t["max_score"] for t in tests) == max_score


def test_grade_format_gradescope_writes_results_json_without_hidden_values(tmp_path, root, conv1d):
    out = tmp_path / "results"
    result = CliRunner().invoke(main, ["grade", str(root / "rubrics/conv1d.yaml"), str(root / "submissions/conv1d/forgot_bias"),
                                       "--out", str(out), "--format", "gradescope"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (out / "forgot_bias").iterdir()) == ["results.json"]
    text = (out / "forgot_bias/results.json").read_text()
    results = json.loads(text)
    assert_valid_results(results, 11, conv1d.rubric.max_points)
    by_name = {t["name"].split("[")[-1].rstrip("]"): t for t in results["tests"]}
    hidden = {c.id for c in conv1d.rubric.checks() if c.visibility == "hidden"}
    assert hidden == {"conv1d_forward.hidden", "conv1d_backward.hidden"}
    assert all(by_name[i]["visibility"] == "after_published" for i in hidden)
    assert all(t["visibility"] == "visible" for i, t in by_name.items() if i not in hidden)
    assert by_name["conv1d_forward.hidden"]["status"] == "failed" and by_name["conv1d_backward.hidden"]["status"] == "passed"
    assert by_name["y_hat"]["status"] == "failed" and "expected [14.0, 20.0]" in by_name["y_hat"]["output"]
    leaks = [number for number in hidden_numbers(conv1d) if number in text]
    assert not leaks, leaks[:5]


def test_gradescope_package_refuses_a_kit_and_a_bad_rubric(tmp_path, root):
    bad = write(tmp_path / "bad.yaml", "id: bad\ntitle: Bad\nquestions: 3\n")
    assert CliRunner().invoke(main, ["gradescope-package", str(bad), "--out", str(tmp_path)]).exit_code == 2
    kit = tmp_path / "kit"
    assert CliRunner().invoke(main, ["bundle", str(root / "rubrics/conv1d.yaml"), "--out", str(kit)]).exit_code == 0
    result = CliRunner().invoke(main, ["gradescope-package", str(kit / "rubric.yaml"), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "student kit" in result.output
    assert not list(tmp_path.glob("*.zip"))


def test_autograder_zip_grades_like_gradescope(tmp_path, root):
    built = CliRunner().invoke(main, ["gradescope-package", str(root / "rubrics/conv1d.yaml"), "--out", str(tmp_path / "dist")])
    assert built.exit_code == 0, built.output
    archive = tmp_path / "dist/autograder.zip"
    with zipfile.ZipFile(archive) as zipped:
        names = set(zipped.namelist())
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in zipped.infolist()}
    assert {"setup.sh", "run_autograder", "rubric/conv1d.yaml", "lib/reference/conv1d.py",
            "dl-grader/pyproject.toml", "dl-grader/grader/api.py", "dl-grader/grader/cli/grade.py", "dl-grader/grader_worker/bridge.py"} <= names
    assert modes["setup.sh"] & stat.S_IXUSR and modes["run_autograder"] & stat.S_IXUSR
    assert not any(n.startswith("dl-grader/reference") or "__pycache__" in n for n in names)

    # Gradescope's layout: the zip in source/, run_autograder copied up, the student's files in submission/
    ag = tmp_path / "autograder"
    extract(archive, ag / "source")
    shutil.copy2(ag / "source/run_autograder", ag / "run_autograder")
    shutil.copytree(root / "submissions/conv1d/complete", ag / "submission")  # with the experiment
    setup = (ag / "source/setup.sh").read_text()
    assert "download.pytorch.org/whl/cpu" in setup and 'pip install "$SOURCE/dl-grader"' in setup

    env = {**os.environ, "AUTOGRADER_ROOT": str(ag), "GRADER_PYTHON": sys.executable, "GRADER_SKIP_INSTALL": "1"}
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([str(ag / "source/setup.sh")], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "rubric conv1d loads" in proc.stdout, proc.stdout + proc.stderr
    # the references come from the zip's lib/, ahead of any installed copy
    where = subprocess.run([sys.executable, "-c", "import reference.conv1d as m; print(m.__file__)"], capture_output=True,
                           text=True, env={**env, "PYTHONPATH": str(ag / "source/lib")}, cwd=tmp_path, timeout=60)
    assert where.stdout.strip() == str(ag / "source/lib/reference/conv1d.py"), where.stderr

    proc = subprocess.run([str(ag / "run_autograder")], env=env, cwd=ag, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads((ag / "results/results.json").read_text())
    assert_valid_results(results, 20, 23)  # the three free-text questions await a TA
    assert all(t["status"] == "passed" for t in results["tests"] if "status" in t)
    assert {t["visibility"] for t in results["tests"] if "hidden" in t["name"]} == {"after_published"}


def test_gradescope_run_writes_no_results_for_a_submission_it_could_not_grade(tmp_path, monkeypatch):
    # Gradescope then reports an autograder failure to the staff, not a zero
    write(tmp_path / "broken_reference_for_gs.py", "def answer(x):\n    raise RuntimeError('reference is broken')\n\n\nRUBRIC_FUNCTIONS = {'answer': answer}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    rubric = write(tmp_path / "broken.yaml", "id: broken\ntitle: Broken\nreference: broken_reference_for_gs\ngiven: {x: 1}\n"
                   "questions:\n  - id: a\n    checks:\n      - {kind: value, points: 1, expected: {call: answer, args: ['$x']}}\n")
    write(tmp_path / "ag/submission/answers.yaml", "a: 1\n")
    result = CliRunner().invoke(main, ["gradescope-run", "--root", str(tmp_path / "ag"), "--rubric", str(rubric)])
    assert result.exit_code == 1 and "reference is broken" in result.output
    assert not (tmp_path / "ag/results/results.json").exists()
