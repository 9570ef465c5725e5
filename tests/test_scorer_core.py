"""The scorer (grader/checks/scorer.py), kernel-free, beyond tests/test_function_scoring.py: what
``precompute`` leaves to grading time, the reference functions an experiment's inputs are computed with,
and the student's own training time that ``score`` reports in ``timings``.

Student code runs in test_function_scoring.py's process-free ``FakeProcess``; the figures expected here
are worked out from the inputs (the CPU seconds the fake process reports), never read back from the code.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from .test_function_scoring import REFERENCES, FakeProcess, draw_params
from grader.checks.scorer import Scorer
from grader.checks.work import StudentWork
from grader.errors import ReferenceError_
from grader.rubric import parse_rubric

# --- precompute: what needs the student's answers waits for grading ----------------------------------

OWN_RATE = """
id: r
title: Trained with the student's own learning rate
given: {x: [1.0, 2.0]}
experiments:
  run:
    seed: 3
    time_budget: 30
    steps:
      - {name: stats, call: train, args: ["$x", "@lr"], keep: false}
    metrics:
      final: {value: stats, path: [loss]}
questions:
  - id: trained
    checks:
      - {kind: training, points: 1, experiment: run, require: "final < 1"}
"""


def test_precompute_leaves_an_input_that_takes_a_students_answer_to_grading():
    # lr is the student's choice, graded by no value check: there is no true lr to compute it from
    scorer = Scorer(parse_rubric(OWN_RATE), REFERENCES)
    assert scorer.precompute() == {}
    trained = scorer.score(StudentWork(answers={"lr": 0.1}, process=FakeProcess({"train": lambda x, lr: {"loss": lr}})))
    assert trained[0].checks[0].status == "passed", trained[0].checks[0].message
    # the same experiment with an input the references compute, and a reference that fails on it: refused
    broken = OWN_RATE.replace('args: ["$x", "@lr"]', 'args: [{call: draw_params, args: [2, "$x"]}]')
    with pytest.raises(ReferenceError_, match="^experiment run: "):
        Scorer(parse_rubric(broken), REFERENCES).precompute()


# --- training: inputs from the references, and the student's training time ----------------------------

TWO_RUNS = """
id: t
title: Two training runs
given: {x: [1.0, 2.0]}
experiments:
  first:
    seed: 3
    time_budget: 30
    steps:
      - {name: stats, call: train, args: [{call: draw_params, args: [2, 5]}], keep: false}
    metrics:
      final: {value: stats, path: [loss]}
  second:
    seed: 4
    time_budget: 30
    steps:
      - {name: stats, call: train, args: ["$x"], keep: false}
    metrics:
      final: {value: stats, path: [loss]}
questions:
  - id: one
    checks:
      - {kind: training, points: 1, experiment: first, require: "final < 1"}
  - id: two
    checks:
      - {kind: training, points: 1, experiment: second, require: "final < 1"}
"""


class Timed(FakeProcess):
    """A process that reports the CPU seconds of each budgeted call (a training step), from ``cpu`` in order."""

    def __init__(self, namespace: dict, cpu: list[float]):
        super().__init__(namespace)
        self.cpu = list(cpu)

    def call(self, name, args, kwargs=None, timeout=None, keep=False, handle=None, budget=None):
        outcome = super().call(name, args, kwargs, timeout=timeout, keep=keep, handle=handle, budget=budget)
        return dataclasses.replace(outcome, cpu=self.cpu.pop(0)) if budget is not None else outcome


def test_an_experiments_inputs_are_computed_by_the_references_and_the_training_time_is_the_students_cpu():
    received = []

    def train(data):
        received.append(data)
        return {"loss": 0.5}

    process = Timed({"train": train}, cpu=[1.0, 0.123456])
    timings: dict[str, float] = {}
    questions = Scorer(parse_rubric(TWO_RUNS), REFERENCES).score(StudentWork(process=process), timings=timings)
    assert [q.checks[0].status for q in questions] == ["passed", "passed"], [q.checks[0].message for q in questions]
    assert np.array_equal(received[0]["w"], draw_params(2, 5)["w"]) and received[1].tolist() == [1.0, 2.0]
    # the CPU seconds of both runs' steps together, to 1/10000 s
    assert timings == {"student_training": round(1.0 + 0.123456, 4)} and timings["student_training"] == 1.1235


def test_without_training_the_students_training_time_is_zero():
    timings: dict[str, float] = {}
    Scorer(parse_rubric(TWO_RUNS.split("questions:")[0].split("experiments:")[0] + """questions:
  - id: why
    checks:
      - {kind: manual, points: 1}
"""), REFERENCES).score(StudentWork(), timings=timings)
    assert timings == {"student_training": 0}
