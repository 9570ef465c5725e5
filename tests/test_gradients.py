"""Gradient checks (metric: rel_error) and assignment B's conventions."""

from __future__ import annotations

import numpy as np
import pytest

from grader import Assignment, RubricError, grade, load_assignment
from grader.checks.compare import compare_rel_error, rel_error
from grader.rubric import load_rubric, parse_rubric
from reference import twolayer

from .conftest import write

# A minimal TwoLayerNet whose regularisation factor and gradient noise the tests choose.
NET = '''
import numpy as np

REG_FACTOR = {factor}      # loss term REG_FACTOR * reg * sum(W^2)
NOISE = {noise}            # relative perturbation of every gradient


class TwoLayerNet:
    def __init__(self, input_size, hidden_size, output_size, std=1e-4):
        self.params = {{"W1": std * np.random.randn(input_size, hidden_size), "b1": np.zeros(hidden_size),
                       "W2": std * np.random.randn(hidden_size, output_size), "b2": np.zeros(output_size)}}

    def loss(self, X, y=None, reg=0.0):
        W1, b1, W2, b2 = (self.params[k] for k in ("W1", "b1", "W2", "b2"))
        h = np.maximum(0, X @ W1 + b1)
        scores = h @ W2 + b2
        if y is None:
            return scores
        N = len(X)
        p = np.exp(scores - scores.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        loss = -np.log(p[np.arange(N), y]).mean() + REG_FACTOR * reg * (np.sum(W1 ** 2) + np.sum(W2 ** 2))
        d = p.copy()
        d[np.arange(N), y] -= 1
        d /= N
        grads = {{"W2": h.T @ d + 2 * REG_FACTOR * reg * W2, "b2": d.sum(0)}}
        dh = (d @ W2.T) * (h > 0)
        grads["W1"] = X.T @ dh + 2 * REG_FACTOR * reg * W1
        grads["b1"] = dh.sum(0)
        return loss, {{k: v * (1 + NOISE) for k, v in grads.items()}}

    def predict(self, X):
        return np.argmax(self.loss(X), axis=1)
'''


@pytest.fixture(scope="module")
def twolayer_no_training(root) -> Assignment:
    """Assignment B without its training question (no training needed here)."""
    rubric = load_rubric(root / "rubrics" / "twolayer.yaml")
    rubric = rubric.model_copy(update={"questions": [q for q in rubric.questions if q.id not in ("train", "mlp")]})
    return load_assignment(rubric)


def net(tmp_path, name, factor=1.0, noise=0.0):
    write(tmp_path / name / "neural_net.py", NET.format(factor=factor, noise=noise))
    return tmp_path / name


def test_rel_error_is_cs231ns():
    a, b = np.array([1.0, 2.0, 0.0]), np.array([1.1, 2.0, 0.0])
    assert rel_error(a, b) == pytest.approx(twolayer.rel_error(a, b))
    assert rel_error([0.0], [1e-9]) == pytest.approx(0.1)  # the 1e-8 floor
    assert compare_rel_error(a, a * (1 + 1e-9), 1e-7).ok
    failing = compare_rel_error(a, b, 1e-7)
    assert not failing.ok and failing.rel_error == pytest.approx(0.1 / 2.1) and "above the threshold" in failing.message
    assert not compare_rel_error(a, b[:2], 1.0).ok  # shapes still must match
    grads = {"W": np.ones(2), "b": np.zeros(1)}
    assert compare_rel_error({"W": np.ones(2), "b": np.zeros(1)}, grads, 1e-7).ok
    assert "missing key" in compare_rel_error({"W": np.ones(2)}, grads, 1e-7).message


def test_both_reg_conventions_get_full_credit_and_the_note_names_the_one_used(tmp_path, twolayer_no_training):
    full = grade(net(tmp_path, "full", factor=1.0), twolayer_no_training)
    half = grade(net(tmp_path, "half", factor=0.5), twolayer_no_training)
    assert full.score == half.score == twolayer_no_training.rubric.max_points
    for check in ("loss.public", "loss.hidden", "grad_W1.public", "grad_W2.hidden"):
        assert full.check(check).note == "reg * sum(W^2) convention", check
        assert half.check(check).note == "0.5 * reg * sum(W^2) convention (accepted)", check
        assert full.check(check).mistake is None and half.check(check).mistake is None
    # bias gradients do not depend on reg: the two conventions cannot be told apart, so no claim
    assert full.check("grad_b1.public").note is None and half.check("grad_b2.hidden").note is None
    # a third factor is neither convention: failed, nothing named
    other = grade(net(tmp_path, "other", factor=2.0), twolayer_no_training)
    assert other.check("loss.public").score == 0 and other.check("loss.public").note is None
    assert other.check("grad_b1.public").score == 1  # unaffected


def test_gradient_threshold_passes_small_and_fails_large_relative_errors(tmp_path, twolayer_no_training):
    close = grade(net(tmp_path, "close", noise=1e-9), twolayer_no_training)
    far = grade(net(tmp_path, "far", noise=1e-5), twolayer_no_training)
    for name in ("grad_W1", "grad_b1", "grad_W2", "grad_b2"):
        public = close.check(f"{name}.public")
        assert public.score == 1 and public.threshold == 1e-7
        assert 5e-10 < public.rel_error < 1e-7  # the measured cs231n rel_error is reported
        assert close.check(f"{name}.hidden").score == 1
        bad = far.check(f"{name}.public")
        assert bad.score == 0 and bad.rel_error == pytest.approx(1e-5 / (2 + 1e-5), rel=1e-3)
        assert "above the threshold 1e-07" in bad.message
        hidden = far.check(f"{name}.hidden")
        assert hidden.score == 0 and hidden.rel_error is None  # hidden: no figures
    assert far.check("loss.public").score == 1  # the loss itself is right


def test_rel_error_settings_are_validated():
    base = """
id: g
title: G
reference: reference.twolayer
questions:
  - id: q
    checks:
      - kind: value
        points: 1
        expected: 1.0
"""
    with pytest.raises(RubricError, match="needs a threshold"):
        parse_rubric(base + "        metric: rel_error\n")
    with pytest.raises(RubricError, match="uses threshold, not tolerance"):
        parse_rubric(base + "        metric: rel_error\n        threshold: 1.0e-7\n        tolerance: {rtol: 0.1}\n")
    with pytest.raises(RubricError, match="threshold applies to metric: rel_error"):
        parse_rubric(base + "        threshold: 1.0e-7\n")
    assert parse_rubric(base + "        metric: rel_error\n        threshold: 1.0e-7\n").questions[0].checks[0].threshold == 1e-7


def test_value_check_with_rel_error(tmp_path):
    rubric = parse_rubric("""
id: g
title: G
reference: reference.conv1d
given: {x: [1, 2, 3, 4], w: [2, 1, 3]}
questions:
  - id: dw
    checks:
      - kind: value
        points: 1
        expected: {call: conv1d_backward, args: ["$x", "$w", 1, [12.0, 16.0]], pick: 1}
        metric: rel_error
        threshold: 1.0e-3
""")
    assignment = load_assignment(rubric)
    ok = grade(write(tmp_path / "a.yaml", "dw: [44.01, 72, 100]\n"), assignment).check("dw")
    assert ok.score == 1 and ok.rel_error == pytest.approx(0.01 / 88.01)
    bad = grade(write(tmp_path / "b.yaml", "dw: [45, 72, 100]\n"), assignment).check("dw")
    assert bad.score == 0 and "above the threshold" in bad.message
