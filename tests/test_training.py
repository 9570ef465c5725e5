"""Training checks: the student's code trains in the sandbox under fixed seeds; the grader measures."""

from __future__ import annotations

import random

import numpy as np
import pytest

from grader import RubricError, grade, load_assignment
from grader.checks.requirements import RelationError, evaluate, holds, names, parse
from grader.rubric import parse_rubric

from .conftest import write

STUDENT = '''
import random
import time
import numpy as np


class Threshold:
    """Predicts 1 where the first feature exceeds t."""

    def __init__(self, t):
        self.t = t

    def predict(self, X):
        return (np.asarray(X)[:, 0] > self.t).astype(int)

    def scores(self, X):
        X = np.asarray(X)
        return np.stack([self.t - X[:, 0], X[:, 0] - self.t], axis=1)   # argmax = predict


def fit(X, y):
    return Threshold(0.5)


def fit_badly(X, y):
    return Threshold(10.0)


def draws(X, y):
    import torch
    return {"random": random.random(), "numpy": float(np.random.rand()), "torch": float(torch.rand(1)),
            "threads": torch.get_num_threads(), "deterministic": torch.are_deterministic_algorithms_enabled()}


def slow(X, y):
    while True:  # computing: CPU time runs out
        pass


def steady(X, y):
    """About 1.5 CPU seconds of work, however long the machine takes to give them."""
    started = time.process_time()
    while time.process_time() - started < 1.5:
        pass
    return fit(X, y)


def raises(X, y):
    return undefined_name


def step(p, g, lr):
    return p - lr * g
'''

RUBRIC = """
id: t
title: Training checks
reference: reference.conv1d
given:
  X: [[0.1, 0], [0.9, 1], [0.2, 5], [0.7, 3], [0.8, 0], [0.3, 1]]
  y: [0, 1, 0, 1, 1, 0]
  y_wrong: [1, 1, 1, 1, 1, 1]
experiments:
  run:
    seed: 7
    time_budget: {budget}
    steps:
      - {{name: model, call: {fit}, args: ["$X", "$y"]}}
      - {{name: rng, call: draws, args: ["$X", "$y"], keep: false}}
    metrics:
      acc: {{accuracy: {{model: model, X: "$X", y: "$y"}}}}
      acc_wrong: {{accuracy: {{model: model, X: "$X", y: "$y_wrong"}}}}
      acc_scores: {{accuracy: {{model: model, method: scores, X: "$X", y: "$y"}}}}
      err: {{error_rate: {{model: model, X: "$X", y: "$y"}}}}
      numpy_draw: {{value: rng, path: [numpy]}}
      claimed: {{answer: claimed}}
questions:
  - id: fits
    checks:
      - {{kind: training, points: 2, experiment: run, require: "acc >= 0.9 and err <= 0.1 and acc_scores == acc"}}
  - id: relation
    checks:
      - {{kind: training, points: 1, experiment: run, require: "acc_wrong < acc"}}
  - id: claim
    checks:
      - {{kind: training, points: 1, experiment: run, require: "abs(claimed - acc) <= 0.05"}}
  - id: secret
    checks:
      - {{kind: training, points: 1, visibility: hidden, experiment: run, require: "acc >= 0.99"}}
  - id: step
    checks:
      - {{kind: function, points: 1, reference: sgd_step, cases: [{{args: [2.0, 1.0, 0.5]}}]}}
"""


def assignment(fit="fit", budget=30, replace=()):
    text = RUBRIC.format(fit=fit, budget=budget)
    for old, new in replace:
        assert old in text, old
        text = text.replace(old, new)
    return load_assignment(parse_rubric(text))


def submission(tmp_path, claimed=1.0):
    folder = tmp_path / "student"
    write(folder / "model.py", STUDENT)
    write(folder / "answers.yaml", f"claimed: {claimed}\n")
    return folder


def test_relations_language():
    tree = parse("lr[best] == max(lr) and abs(lr[best] - acc) <= 0.05 and best == argmax(lr)")
    assert names(tree) == {"lr", "best", "acc"}
    values = {"lr": {"0.01": 0.97, "0.0005": 0.9, "1e-05": 0.1}, "best": 0.01, "acc": 0.95}
    assert holds(tree, values)
    assert not holds(tree, {**values, "best": 0.0005})
    assert evaluate(parse("mean(xs) + len(xs)"), {"xs": [1.0, 3.0]}) == 4.0
    assert holds(parse("xs == ys and xs != 0.5"), {"xs": np.array([1, 2]), "ys": [1.0, 2.0]})  # arrays compare whole
    for bad in ['__import__("os")', "x.y", "lambda: 1", "True", "[1, 2]", "f(x=1)", "x if y else z"]:
        with pytest.raises(RelationError):
            parse(bad)
    with pytest.raises(RelationError, match="no entry"):
        evaluate(parse("d[3]"), {"d": {"1": 2}})
    with pytest.raises(RelationError, match="not a comparison"):
        holds(parse("a + 1"), {"a": 1})
    with pytest.raises(RelationError, match="expected a number"):
        holds(parse("a < 1"), {"a": "x"})


def test_requirements_pass_and_fail_on_the_graders_own_measurements(tmp_path):
    report = grade(submission(tmp_path), assignment())
    fits = report.check("fits")
    assert fits.status == "passed" and fits.score == 2
    assert fits.metrics == {"acc": 1.0, "acc_scores": 1.0, "err": 0.0}  # predictions and score argmax, measured here
    assert report.check("relation").score == 1 and report.check("relation").metrics["acc_wrong"] == pytest.approx(0.5)
    claim = report.check("claim")
    assert claim.score == 1 and "claimed = 1" in claim.message
    secret = report.check("secret")
    assert secret.score == 1 and secret.message == "requirement met" and secret.metrics is None
    bad = grade(submission(tmp_path, claimed=0.5), assignment(fit="fit_badly"))
    assert bad.check("fits").status == "failed" and bad.check("fits").score == 0
    assert bad.check("fits").metrics["acc"] == pytest.approx(0.5) and "not met" in bad.check("fits").message
    assert bad.check("claim").score == 1  # claimed 0.5, measured 0.5: the claim agrees
    assert bad.check("secret").score == 0 and bad.check("secret").message == "requirement not met"


def test_steps_run_under_fixed_seeds_with_one_thread_and_deterministic_torch(tmp_path):
    import torch

    draws = "".join(f"      {name}: {{value: rng, path: [{name}]}}\n" for name in ("random", "torch", "threads", "deterministic"))
    rubric = assignment(replace=[("      claimed: {answer: claimed}\n", "      claimed: {answer: claimed}\n" + draws),
                                 ('require: "acc_wrong < acc"', 'require: "numpy_draw >= 0 and random >= 0 and torch >= 0 and threads == 1 and deterministic == 1"')])
    first = grade(submission(tmp_path), rubric).check("relation")
    second = grade(submission(tmp_path), rubric).check("relation")
    assert first.status == "passed" and first.metrics == second.metrics
    random.seed(7)
    np.random.seed(7)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(7)
        expected_torch = float(torch.rand(1))
    assert first.metrics["numpy_draw"] == np.random.rand() and first.metrics["random"] == random.random()
    assert first.metrics["torch"] == pytest.approx(expected_torch)
    assert first.metrics["threads"] == 1 and first.metrics["deterministic"] is True


def test_a_run_over_its_time_budget_is_stopped_and_the_other_checks_still_count(tmp_path):
    report = grade(submission(tmp_path), assignment(fit="slow", budget=2))
    fits = report.check("fits")
    assert fits.status == "error" and fits.score == 0 and "time budget of 2 CPU seconds" in fits.message
    # the function check comes after the training question in the rubric but was scored first
    assert report.check("step").score == 1


def test_a_time_budget_counts_cpu_seconds_so_a_loaded_machine_gives_the_same_verdict(tmp_path):
    """1.5 CPU seconds of training fit a 3 s budget, even while six other processes compete for the two
    cores (its wall time then is well over 3 s)."""
    import multiprocessing
    import time as clock

    burners = [multiprocessing.Process(target=_burn, args=(40,), daemon=True) for _ in range(6)]
    for burner in burners:
        burner.start()
    try:
        started = clock.monotonic()
        report = grade(submission(tmp_path), assignment(fit="steady", budget=3))
        elapsed = clock.monotonic() - started
    finally:
        for burner in burners:
            burner.terminate()
    assert report.check("fits").status == "passed", (report.check("fits").message, elapsed)


def _burn(seconds: float) -> None:
    import os
    import time as clock

    os.setsid()  # a session (so a scheduling group) of its own, as the kernel has: each gets its fair share
    end = clock.monotonic() + seconds
    while clock.monotonic() < end:
        pass


def test_a_failing_or_missing_training_function_is_reported_with_its_reason(tmp_path):
    raised = grade(submission(tmp_path), assignment(fit="raises")).check("fits")
    assert raised.status == "error" and "raises() raised NameError" in raised.message and "model.py, line" in raised.message
    missing = grade(submission(tmp_path), assignment(fit="nope")).check("fits")
    assert missing.status == "failed" and "no function or class named 'nope'" in missing.message
    no_answer = grade(write(tmp_path / "only.yaml", "other: 1\n"), assignment()).check("claim")
    assert no_answer.score == 0 and "your answer 'claimed'" in no_answer.message


def test_training_rubric_errors_say_what_is_wrong():
    base = RUBRIC.format(fit="fit", budget=30)
    with pytest.raises(RubricError, match="not metrics of experiment 'run'"):
        parse_rubric(base.replace('require: "acc_wrong < acc"', 'require: "acc_typo < acc"'))
    with pytest.raises(RubricError, match="does not define"):
        parse_rubric(base.replace("experiment: run, require: \"acc_wrong", "experiment: nope, require: \"acc_wrong"))
    with pytest.raises(RubricError, match="Attribute is not allowed"):
        parse_rubric(base.replace('require: "acc_wrong < acc"', 'require: "acc.real < 1"'))
    with pytest.raises(RubricError, match="give that step keep: false"):
        parse_rubric(base.replace("{name: rng, call: draws, args: [\"$X\", \"$y\"], keep: false}", "{name: rng, call: draws, args: [\"$X\", \"$y\"]}"))
    with pytest.raises(RubricError, match="not an earlier step"):
        parse_rubric(base.replace("{name: rng, call: draws,", "{name: rng, of: later, call: draws,"))
