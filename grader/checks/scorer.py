"""Scoring: every check of a rubric against a student's work, in the grader's own process.

The scorer dispatches each check to its kind (``value``, ``function``, ``training``, ``manual``).
Training checks run last, so that a long or stuck training run cannot cost the other checks their
kernel. Hidden checks never put expected values, inputs or outputs into the report.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping

from ..errors import ExpressionError, ReferenceError_
from ..report import CheckResult, QuestionResult
from ..rubric import FunctionCheck, ManualCheck, Rubric, TrainingCheck, ValueCheck, answer_refs
from .conventions import apply_groups
from .expressions import Evaluator
from .function import FunctionChecker, callable_name
from .manual import score_manual
from .results import base_result
from .training import TrainingChecker
from .value import ValueChecker
from .work import StudentWork

__all__ = ["Scorer"]


class Scorer:
    def __init__(self, rubric: Rubric, functions: Mapping[str, Callable]):
        self.rubric = rubric
        self.functions = functions
        self.answer_checks = rubric.answer_checks()
        self._true = Evaluator(functions, rubric.given, self.true_answer)
        self._true_values: dict[str, Any] = {}
        self.function_checks = FunctionChecker(functions, self._true, rubric.limits.call_timeout)
        self.value_checks = ValueChecker(functions, rubric.given, self._true, self.true_answer)

    def true_answer(self, name: str) -> Any:
        """The reference value of an answer, computed once."""
        if name not in self._true_values:
            try:
                self._true_values[name] = self._true(self.answer_checks[name].expected)
            except ExpressionError as exc:
                raise ReferenceError_(f"reference for {name!r}: {exc}") from exc
        return self._true_values[name]

    def precompute(self) -> dict[str, Any]:
        """Every expected value of the rubric (answers, and reference outputs per function case).

        Proves that the references (and distractors) run; also what a student kit ships for its public
        checks. Experiments' inputs are evaluated too (their data comes from the references).
        """
        values: dict[str, Any] = {}
        for check in self.rubric.checks():
            try:
                if isinstance(check, ValueCheck):
                    values[check.id] = self._true(check.expected)
                    for distractor in check.distractors:
                        self._true(distractor.as_call())
                elif isinstance(check, FunctionCheck):
                    values[check.id] = []
                    for case in self.function_checks.cases(check):
                        values[check.id].append(self.function_checks.reference(check, case))
                        for distractor in check.distractors:
                            self.function_checks._reference_call(check, distractor.call, case, distractor.kwargs)
            except ExpressionError as exc:
                raise ReferenceError_(f"check {check.id}: {exc}") from exc
            except ReferenceError_:
                raise
            except Exception as exc:  # noqa: BLE001 - a distractor that fails on the rubric's own inputs
                raise ReferenceError_(f"check {check.id}: a distractor failed: {type(exc).__name__}: {exc}") from exc
        for name, experiment in self.rubric.experiments.items():
            for expr in experiment.expressions():
                if not answer_refs(expr):
                    try:
                        self._true(expr)
                    except ExpressionError as exc:
                        raise ReferenceError_(f"experiment {name}: {exc}") from exc
        return values

    def _cases(self, check: FunctionCheck) -> list[tuple[list, dict]]:
        """The student's inputs of each case of a function check."""
        return [(case.args, case.kwargs) for case in self.function_checks.cases(check)]

    def score(self, work: StudentWork, manual: Mapping[str, float | tuple[float, str]] | None = None,
              timings: dict[str, float] | None = None) -> list[QuestionResult]:
        """The questions' results; ``timings`` gets ``student_training``: the CPU seconds the student's own
        training steps took (what the grader's overhead on a training class is measured against)."""
        manual = manual or {}
        functions = [(c, c.function or q.id) for q in self.rubric.questions for c in q.checks if isinstance(c, FunctionCheck)]
        training = TrainingChecker(self.rubric, self.functions, work)
        # one round trip for every answer and for which functions exist, one for every function check's cases
        work.prefetch(list(self.answer_checks), [callable_name(c, name) for c, name in functions] + training.callables())
        self.function_checks.prefetch(functions, work)
        results: dict[int, CheckResult] = {}
        ordered = [(q, c) for q in self.rubric.questions for c in q.checks]
        # training checks last: a run that times out kills the kernel every other check needs
        for question, check in sorted(ordered, key=lambda qc: isinstance(qc[1], TrainingCheck)):
            started = time.monotonic()
            if isinstance(check, ValueCheck):
                result = self.value_checks.score(check, check.answer or question.id, work)
            elif isinstance(check, FunctionCheck):
                result = self.function_checks.score(check, check.function or question.id, work, base_result(check))
            elif isinstance(check, TrainingCheck):
                result = training.score(check, base_result(check))
            elif isinstance(check, ManualCheck):
                result = score_manual(check, question.id, manual)
            else:  # pragma: no cover - the rubric's models admit no other kind
                raise TypeError(f"unknown check kind {check.kind!r}")
            result.seconds = round(time.monotonic() - started, 4)
            results[id(check)] = result
        results.update(apply_groups([(check, results[id(check)]) for _, check in ordered]))
        if timings is not None:
            timings["student_training"] = round(sum(run.spent for run in training.runs.values()), 4)
        questions = []
        for question in self.rubric.questions:
            checks = [results[id(check)] for check in question.checks]
            questions.append(QuestionResult(id=question.id, title=question.title, checks=checks,
                                            score=round(sum(r.score for r in checks), 6), max_score=question.max_points))
        return questions
