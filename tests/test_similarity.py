"""Similarity across a class: copied code is found through renaming, reordering and removed comments;
the class's common (starter) code does not count; notebooks are compared by their code cells; no
score changes; the overview shows student code escaped."""

from __future__ import annotations

import csv
import json

import nbformat
import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.similarity import similar_pairs, source_code

from .conftest import write

STARTER = '''
import numpy as np
import matplotlib.pyplot as plt


def load_data(path="data.npz"):
    """Starter code: load the training data given with the assignment."""
    with np.load(path) as archive:
        X, y = archive["X"], archive["y"]
    mean, std = X.mean(axis=0), X.std(axis=0) + 1e-8
    return (X - mean) / std, y


def plot_history(history, title="loss"):
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(np.arange(len(history)), history, label=title)
    ax.set_xlabel("epoch"); ax.set_ylabel(title); ax.legend()
    return fig
'''
ALICE = '''
def conv1d_forward(x, w, b):
    # slide the kernel over the input without flipping it
    kernel_size = len(w)
    outputs = []
    for start in range(len(x) - kernel_size + 1):
        window = x[start:start + kernel_size]
        total = 0.0
        for offset in range(kernel_size):
            total += window[offset] * w[offset]
        outputs.append(total + b)
    return np.array(outputs)


def conv1d_backward(x, w, b, dy):
    # gradients of the loss with respect to the input, the kernel and the bias ("</pre><script>alert(1)</script>")
    kernel_size = len(w)
    dx = np.zeros(len(x))
    dw = np.zeros(kernel_size)
    for start, grad in enumerate(dy):
        for offset in range(kernel_size):
            dx[start + offset] += grad * w[offset]
            dw[offset] += grad * x[start + offset]
    db = float(np.sum(dy))
    return dx, dw, db
'''
# Alice's code with every name changed, the functions swapped and the comments removed.
BOB = '''
def conv1d_backward(inp, kern, bias, upstream):
    k = len(kern)
    g_in = np.zeros(len(inp))
    g_k = np.zeros(k)
    for s, g in enumerate(upstream):
        for o in range(k):
            g_in[s + o] += g * kern[o]
            g_k[o] += g * inp[s + o]
    g_b = float(np.sum(upstream))
    return g_in, g_k, g_b


def conv1d_forward(inp, kern, bias):
    k = len(kern)
    res = []
    for s in range(len(inp) - k + 1):
        win = inp[s:s + k]
        acc = 0.0
        for o in range(k):
            acc += win[o] * kern[o]
        res.append(acc + bias)
    return np.array(res)
'''
CAROL = '''
def conv1d_forward(x, w, b):
    return np.convolve(x, np.asarray(w)[::-1], mode="valid") + b


def conv1d_backward(x, w, b, dy):
    dx = np.convolve(dy, w, mode="full")
    dw = np.correlate(x, dy, mode="valid")
    return dx, dw, np.sum(dy)
'''
DAN = '''
from numpy.lib.stride_tricks import sliding_window_view


def conv1d_forward(x, w, b):
    windows = sliding_window_view(np.asarray(x, dtype=float), len(w))
    return windows @ np.asarray(w, dtype=float) + b


def conv1d_backward(x, w, b, dy):
    dy = np.asarray(dy, dtype=float)
    windows = sliding_window_view(np.asarray(x, dtype=float), len(w))
    dw = windows.T @ dy
    dx = np.zeros(len(x))
    for i, g in enumerate(dy):
        dx[i:i + len(w)] += g * np.asarray(w)
    return dx, dw, dy.sum()
'''


def test_copies_match_through_renaming_reordering_and_removed_comments_and_starter_code_does_not_count():
    codes = {"alice": STARTER + ALICE, "bob": STARTER + BOB, "carol": STARTER + CAROL, "dan": STARTER + DAN}
    pairs = similar_pairs(codes)
    assert (pairs[0].a, pairs[0].b) == ("alice", "bob") and pairs[0].score > 0.8
    assert all(p.score < 0.3 for p in pairs[1:])  # the others share only the starter code
    matched = "".join(s.text for s in pairs[0].excerpt_b if s.matched)
    assert "g_in[s + o] += g * kern[o]" in matched and "def load_data" not in matched
    # the same two, without a class to tell common code: the starter alone makes them look alike
    alone = similar_pairs({"carol": STARTER + CAROL, "dan": STARTER + DAN})
    assert alone and alone[0].score > 0.5


def test_notebooks_are_compared_by_their_code_cells(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# My work\nI wrote it all myself, honestly."),
                      nbformat.v4.new_code_cell("%matplotlib inline\n!pip install nothing\n" + BOB)]
    nbformat.write(notebook, tmp_path / "work.ipynb")
    write(tmp_path / "helpers.py", "def helper():\n    return 1\n")
    code = source_code(tmp_path)
    assert "# ---- helpers.py" in code and "# ---- work.ipynb, cell 2" in code and "def conv1d_backward(inp" in code
    assert "honestly" not in code and "%matplotlib" not in code and "!pip" not in code
    codes = {"alice": STARTER + ALICE, "bob": STARTER + code, "carol": STARTER + CAROL, "dan": STARTER + DAN}
    assert similar_pairs(codes)[0].a == "alice" and similar_pairs(codes)[0].score > 0.8


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    folder = tmp_path_factory.mktemp("similarity") / "class"
    for name, code in (("alice", ALICE), ("carol", CAROL), ("dan", DAN)):
        write(folder / name / "conv1d.py", STARTER + code)
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(STARTER), nbformat.v4.new_code_cell(BOB)]
    nbformat.write(notebook, folder / "bob.ipynb")
    return folder


def test_grade_writes_similarity_csv_and_an_escaped_overview_section_and_no_score_changes(klass, root):
    rubric = str(root / "rubrics/conv1d.yaml")
    runner = CliRunner()
    with_similarity, without = klass.parent / "with", klass.parent / "without"
    first = runner.invoke(main, ["grade", rubric, str(klass), "--out", str(with_similarity), "--jobs", "2",
                                 "--format", "similarity", "--format", "overview", "--format", "gradebook", "--format", "json"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(main, ["grade", rubric, str(klass), "--out", str(without), "--jobs", "2", "--format", "gradebook"])
    assert second.exit_code == 0, second.output
    table = list(csv.reader((with_similarity / "similarity.csv").open()))
    assert table[0] == ["submission_a", "submission_b", "score", "similarity_a", "similarity_b", "matched_tokens"]
    assert table[1][:2] == ["alice", "bob"] and float(table[1][2]) > 0.8
    assert all(float(row[2]) < 0.3 for row in table[2:])
    assert [float(r[2]) for r in table[1:]] == sorted((float(r[2]) for r in table[1:]), reverse=True)
    assert (with_similarity / "gradebook.csv").read_text() == (without / "gradebook.csv").read_text()
    assert "code" not in json.loads((with_similarity / "alice" / "report.json").read_text())
    page = (with_similarity / "overview.html").read_text()
    assert 'id="similarity"' in page and "<mark>" in page
    assert "<script>" not in page and "&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page
