"""The trust boundary, from the outside: what a student can make the grader print, and what a kit gives away.

(The hostile examples of submissions/hostile/ cover what runs inside the sandbox: tests/test_hostile.py.)
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.escaping import markdown, markdown_code, one_line, workflow_data

from .conftest import write

ROOT = Path(__file__).resolve().parent.parent
FORGED = "\n::error title=pwned::forged\nPoints 23/23\n**Score: 23 / 23**\n<b>bold</b> ##[error]legacy \x1b[2J\u202eevil"


def test_escaping_rules_leave_no_line_break_markup_or_control_character():
    assert "\n" not in one_line(FORGED) and "\x1b" not in one_line(FORGED) and "\u202e" not in one_line(FORGED)
    assert one_line("a\nb") == "a\\nb" and one_line("plain text") == "plain text"
    escaped = markdown("**bold** [link](http://x) <b> | `code` ~strike~")
    assert not re.search(r"(?<!\\)[*\[\]<>|`~]", escaped), escaped
    assert markdown_code("a`b") == "``a`b``" and markdown_code("`x`") == "`` `x` ``"
    assert workflow_data("50%\r\nnext") == "50%25%0D%0Anext"


def test_a_file_name_and_a_message_forge_nothing_in_ci_markdown_or_junit(tmp_path):
    """A student's file name (newlines and all) and exception text reach every output as text."""
    work = tmp_path / "work"
    write(work / "answers.yaml", "y_hat: [14, 20]\n")
    write(work / f"bad{FORGED.replace('/', '-')}.py", f"raise ValueError({FORGED!r})\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["ci", str(ROOT / "rubrics" / "conv1d.yaml"), str(work), "--junit", str(out / "junit.xml"),
                                       "--out", str(out)], env={"GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"), "GITHUB_OUTPUT": ""})
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    stop = next(i for i, line in enumerate(lines) if line.startswith("::stop-commands::"))
    token = lines[stop].split("::")[2]
    resume = lines.index(f"::{token}::")
    assert any("pwned" in line for line in lines[stop:resume]), "the forged text is not shown at all"
    outside = lines[:stop] + lines[resume + 1:]
    assert not [line for line in outside if "pwned" in line and line.startswith("::error title=pwned")]
    assert [line for line in lines if line.startswith("Points")] == [lines[-1]] == ["Points 1/23"]
    assert "\x1b" not in result.stdout
    summary = (tmp_path / "summary.md").read_text()
    assert not any(line.startswith(("**Score", "::", "Points")) for line in summary.splitlines())
    assert not re.search(r"(?<!\\)<b>", _without_code_spans(summary))  # (a code span shows <b> as it is)
    ET.parse(out / "junit.xml")

    graded = CliRunner().invoke(main, ["grade", str(ROOT / "rubrics" / "conv1d.yaml"), str(work), "--out", str(tmp_path / "graded")])
    assert graded.exit_code == 0, graded.output
    feedback = (tmp_path / "graded" / "work" / "feedback.md").read_text()
    assert not any(line.startswith(("**Score: 23", "::", "Points")) for line in feedback.splitlines())
    assert not re.search(r"(?<!\\)<b>", _without_code_spans(feedback)) and "\x1b" not in feedback
    page = (tmp_path / "graded" / "work" / "feedback.html").read_text()
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page


def _without_code_spans(text: str) -> str:
    return re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", text)


@pytest.mark.parametrize("rubric, graded_on", [("conv1d", ["X_val", "y_val"]), ("twolayer", ["X_test", "y_test"]),
                                               ("cnn_attention", ["X_val", "y_val", "X_test", "y_test"]),
                                               ("backprop_conv2d", ["X_val", "y_val"])])
def test_a_kit_holds_none_of_the_data_training_is_graded_on(tmp_path, rubric, graded_on):
    from reference.data import digits_array

    kit = tmp_path / "kit"
    assert CliRunner().invoke(main, ["bundle", str(ROOT / "rubrics" / f"{rubric}.yaml"), "--out", str(kit)]).exit_code == 0
    text = (kit / "kit.json").read_text()
    recorded = [value for entry in json.loads(text)["calls"].values() if isinstance(value := _decoded(entry["value"]), np.ndarray)]
    for name in graded_on:
        secret = digits_array(name)
        assert not any(value.shape == secret.shape and np.array_equal(value, secret) for value in recorded), f"{name} is in the kit"
    rubric_text = (kit / "rubric.yaml").read_text()
    assert "digits_public" in rubric_text and "kit_given" not in rubric_text


def _decoded(value):
    from grader_worker.wire import from_wire

    try:
        return from_wire(value)
    except Exception:  # noqa: BLE001 - a recorded value that is not an array
        return None


def test_a_lookup_table_from_the_kit_passes_no_experiment(tmp_path):
    """Everything a kit holds, memorised, is worth nothing: the grader measures on digits the kit lacks."""
    from grader_worker.wire import from_wire

    kit = tmp_path / "kit"
    assert CliRunner().invoke(main, ["bundle", str(ROOT / "rubrics" / "conv1d.yaml"), "--out", str(kit)]).exit_code == 0
    arrays = [from_wire(entry["value"]) for entry in json.loads((kit / "kit.json").read_text())["calls"].values()]
    images = [a for a in arrays if isinstance(a, np.ndarray) and a.ndim == 2 and a.shape[1] == 64]
    labels = [a for a in arrays if isinstance(a, np.ndarray) and a.ndim == 1 and a.dtype.kind in "iu"]
    table = {tuple(np.round(x, 4)): int(y) for X, Y in zip(images, labels) if len(X) == len(Y) for x, y in zip(X, Y)}
    assert len(table) > 200
    write(tmp_path / "cheat" / "experiment.py", f"""
import numpy as np
TABLE = {table!r}


class Lookup:
    def predict(self, X):
        return np.array([TABLE.get(tuple(np.round(x, 4)), 0) for x in np.asarray(X)])


def train_mlp(X, y):
    return Lookup()


def train_cnn(X, y):
    return Lookup()
""")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["grade", str(ROOT / "rubrics" / "conv1d.yaml"), str(tmp_path / "cheat"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "cheat" / "report.json").read_text())
    learn = next(c for q in report["questions"] for c in q["checks"] if c["id"] == "equivariance.learn")
    assert learn["status"] == "failed" and learn["metrics"]["mlp_val"] < 0.5, learn
