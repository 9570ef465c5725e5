"""Terminal tables fit the terminal: arrays are shortened to the width their cell has, never folded into columns."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.cli.common import out
from grader.cli.fit import fit_value

from .conftest import write

RUBRIC = """\
id: wide
title: Wide
reference: reference.conv1d
given:
  x: {call: sgd_step, args: [[%s], [%s], 1.0]}
questions:
  - id: y_hat
    checks:
      - kind: value
        points: 1
        expected: {call: conv1d_forward, args: ["$x", [1.0], 0.0]}
""" % (", ".join(str(i) for i in range(60)), ", ".join("0" for _ in range(60)))


@pytest.mark.parametrize("width", [80, 140])
def test_check_shortens_a_long_array_to_the_width(tmp_path, monkeypatch, width):
    monkeypatch.setattr(out, "width", width)
    rubric = write(tmp_path / "wide.yaml", RUBRIC)
    submission = write(tmp_path / "s.yaml", "y_hat: [%s]\n" % ", ".join("0.5" for _ in range(60)))
    result = CliRunner().invoke(main, ["check", str(rubric), str(submission)])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert all(len(line) <= width for line in lines), max(lines, key=len)
    expected = next(line for line in lines if "expected [" in line)
    got = next(line for line in lines if "got      [" in line)
    assert "0.0, 1.0, 2.0" in expected.replace(".,", ".0,") or "[0., 1., 2." in expected
    assert "..." in expected and "59." in expected
    assert ("(shape 60)" in expected) == (width == 140)  # said where it fits
    assert "0.5" in got and "…" not in got
    assert len(lines) < 14  # not sixty lines of one number each


def test_fit_value_keeps_structure_while_it_fits_and_says_the_shape():
    matrix = [[float(i * 9 + j) for j in range(9)] for i in range(9)]
    assert fit_value([1, 2, 3], 40) == "[1, 2, 3]"
    wide = fit_value(matrix, 60)
    assert len(wide) <= 60 and wide.startswith("[[0.") and "..." in wide and wide.endswith("80.]]") or "(shape 9x9)" in wide
    narrow = fit_value(matrix, 30)
    assert len(narrow) <= 30 and narrow.startswith("[0, ..., 80]")
    assert fit_value({"W1": [1, 2]}, 40) == '{"W1": [1, 2]}'
    assert fit_value("x" * 50, 10) == "x" * 9 + "…"
    assert fit_value([[1, 2], [3]], 40) == "[[1, 2], [3]]"  # ragged: as JSON


def test_validate_table_fits_the_width(tmp_path, root, monkeypatch):
    monkeypatch.setattr(out, "width", 72)
    examples = tmp_path / "conv1d"
    write(examples / "rounded.yaml", (root / "submissions/conv1d/rounded.yaml").read_text())
    write(examples / "manifest.yaml", "rubric: conv1d\nexamples:\n  - path: rounded.yaml\n    score: 16\n")
    result = CliRunner().invoke(main, ["validate", str(root / "rubrics/conv1d.yaml"), "--examples", str(examples)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert all(len(line) <= 72 for line in lines), max(lines, key=len)
    row = next(line for line in lines if "rounded.yaml" in line)
    assert "│ 16 " in row and "│ 10 " in row and "NO" in row and "score 10 != 16" in row
